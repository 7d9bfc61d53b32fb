/* Prometheus text exposition format 0.0.4, as served by every daemon's GET /metrics:
 * a growable buffer that writes "# HELP" and "# TYPE" once per metric family, then one
 * line per sample. Emit all samples of a family consecutively (the format forbids a
 * family appearing twice). */
#ifndef IMS_PROM_H
#define IMS_PROM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Content-Type of the exposition format (for rest_text()). */
#define PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
/* Longest metric name accepted (longer ones are dropped with a log line). */
#define PROM_MAX_NAME 127

/* Zero-initialise ({0}) or prom_init() before use. */
struct prom {
	char *buf;                      /* owned; text so far, NUL-terminated once non-empty */
	size_t len;                     /* bytes in buf, without the NUL */
	size_t cap;                     /* allocated size of buf */
	bool failed;                    /* memory ran out: prom_take() returns NULL */
	char family[PROM_MAX_NAME + 1]; /* family whose HELP/TYPE were written last */
};

void prom_init(struct prom *p);
/* Releases the text without taking it; p is empty afterwards. */
void prom_free(struct prom *p);

/* Appends one sample of a counter family name (conventionally ending in _total).
 * help is the family's description (escaped here; NULL for no HELP line). labels is the
 * inside of the braces, already formatted, e.g. "result=\"2001\"", or NULL/"" for none;
 * build it with prom_label() when values come from outside. */
void prom_counter(struct prom *p, const char *name, const char *help, const char *labels,
                  uint64_t value);
/* The same for a gauge; NaN and infinities are written as the format spells them. */
void prom_gauge(struct prom *p, const char *name, const char *help, const char *labels,
                double value);

/* Appends name="value" (value escaped: backslash, double quote, newline) to the label
 * string in buf, after a comma if buf is not empty. Returns 0, or -ENOSPC and leaves buf
 * unchanged when it would not fit in size bytes. */
int prom_label(char *buf, size_t size, const char *name, const char *value);

/* Returns the text built so far (malloc'd, NUL-terminated, "" when nothing was added;
 * the caller frees it) and empties p. NULL if memory ran out at any point. */
char *prom_take(struct prom *p);

#endif
