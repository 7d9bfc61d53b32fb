/* Prometheus text exposition format 0.0.4 writer. The format: "# HELP name text" with
 * backslash and newline escaped, "# TYPE name counter|gauge", then samples
 * "name{label="value",...} number" with backslash, double quote and newline escaped in
 * label values; one family's lines must be contiguous. */
#include "prom.h"

#include "log.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void prom_init(struct prom *p)
{
	*p = (struct prom){0};
}

void prom_free(struct prom *p)
{
	free(p->buf);
	prom_init(p);
}

/* Makes room for n more bytes plus the NUL. Returns 0 or -ENOMEM (p->failed set). */
static int prom_reserve(struct prom *p, size_t n)
{
	size_t cap = p->cap ? p->cap : 1024;
	char *grown;

	if (p->failed)
		return -ENOMEM;
	if (p->len + n + 1 <= p->cap)
		return 0;
	while (cap < p->len + n + 1)
		cap *= 2;
	grown = realloc(p->buf, cap);
	if (!grown) {
		p->failed = true;
		return -ENOMEM;
	}
	p->buf = grown;
	p->cap = cap;
	return 0;
}

static void prom_put(struct prom *p, const char *s, size_t n)
{
	if (prom_reserve(p, n) < 0)
		return;
	memcpy(p->buf + p->len, s, n);
	p->len += n;
	p->buf[p->len] = '\0';
}

static void prom_puts(struct prom *p, const char *s)
{
	prom_put(p, s, strlen(s));
}

/* HELP text escaping: backslash and newline only (double quotes stay as they are). */
static void prom_put_help(struct prom *p, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			prom_put(p, "\\\\", 2);
		else if (*s == '\n')
			prom_put(p, "\\n", 2);
		else
			prom_put(p, s, 1);
	}
}

/* Metric names: [a-zA-Z_:][a-zA-Z0-9_:]*. */
static bool prom_name_ok(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > PROM_MAX_NAME || (name[0] >= '0' && name[0] <= '9'))
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == ':'))
			return false;
	}
	return true;
}

/* Writes the family header when name differs from the previous sample's family, then
 * "name{labels} ". Returns false (nothing written) for a bad name. */
static bool prom_start(struct prom *p, const char *name, const char *help, const char *type,
                       const char *labels)
{
	if (!prom_name_ok(name)) {
		log_warn("prom: bad metric name '%s' dropped", name);
		return false;
	}
	if (strcmp(p->family, name) != 0) {
		if (help) {
			prom_puts(p, "# HELP ");
			prom_puts(p, name);
			prom_puts(p, " ");
			prom_put_help(p, help);
			prom_puts(p, "\n");
		}
		prom_puts(p, "# TYPE ");
		prom_puts(p, name);
		prom_puts(p, " ");
		prom_puts(p, type);
		prom_puts(p, "\n");
		snprintf(p->family, sizeof(p->family), "%s", name);
	}
	prom_puts(p, name);
	if (labels && labels[0]) {
		prom_puts(p, "{");
		prom_puts(p, labels);
		prom_puts(p, "}");
	}
	prom_puts(p, " ");
	return true;
}

void prom_counter(struct prom *p, const char *name, const char *help, const char *labels,
                  uint64_t value)
{
	char num[24];

	if (!prom_start(p, name, help, "counter", labels))
		return;
	snprintf(num, sizeof(num), "%" PRIu64 "\n", value);
	prom_puts(p, num);
}

void prom_gauge(struct prom *p, const char *name, const char *help, const char *labels,
                double value)
{
	char num[40];

	if (!prom_start(p, name, help, "gauge", labels))
		return;
	if (isnan(value)) {
		snprintf(num, sizeof(num), "NaN\n");
	} else if (isinf(value)) {
		snprintf(num, sizeof(num), "%sInf\n", value > 0 ? "+" : "-");
	} else {
		/* Shortest of the two that reads back as the same double. */
		snprintf(num, sizeof(num), "%.15g", value);
		if (strtod(num, NULL) != value)
			snprintf(num, sizeof(num), "%.17g", value);
		snprintf(num + strlen(num), sizeof(num) - strlen(num), "\n");
	}
	prom_puts(p, num);
}

int prom_label(char *buf, size_t size, const char *name, const char *value)
{
	size_t start = strnlen(buf, size);
	size_t len = start;

	if (start == size)
		return -ENOSPC;
	if (len) {
		if (len + 1 >= size)
			goto out_nospc;
		buf[len++] = ',';
	}
	if (len + strlen(name) + 2 >= size)
		goto out_nospc;
	memcpy(buf + len, name, strlen(name));
	len += strlen(name);
	buf[len++] = '=';
	buf[len++] = '"';
	for (const char *s = value; *s; s++) {
		const char *esc = *s == '\\'   ? "\\\\"
		                  : *s == '"'  ? "\\\""
		                  : *s == '\n' ? "\\n"
		                               : NULL;
		size_t n = esc ? 2 : 1;

		if (len + n >= size)
			goto out_nospc;
		memcpy(buf + len, esc ? esc : s, n);
		len += n;
	}
	if (len + 1 >= size)
		goto out_nospc;
	buf[len++] = '"';
	buf[len] = '\0';
	return 0;
out_nospc:
	buf[start] = '\0';
	return -ENOSPC;
}

char *prom_take(struct prom *p)
{
	char *text = p->buf;

	if (p->failed) {
		prom_free(p);
		return NULL;
	}
	if (!text)
		text = strdup("");
	prom_init(p);
	return text;
}
