/* Logging: one line per event on stderr, prefixed with time, level and node name.
 * Thread-safe (one write(2) per line), so freeDiameter threads may log too. */
#ifndef IMS_LOG_H
#define IMS_LOG_H

enum log_level { LOGL_ERR, LOGL_WARN, LOGL_INFO, LOGL_DEBUG };

/* Sets the node name (copied, at most 63 bytes kept) and the most verbose level printed. */
void log_init(const char *node, enum log_level level);
/* Parses "err", "warn", "info" or "debug"; returns -1 for anything else. */
int log_level_parse(const char *name);
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* True when messages of this level are printed (skip building costly arguments). */
int log_enabled(enum log_level level);

#define log_err(...)   log_msg(LOGL_ERR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOGL_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOGL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOGL_DEBUG, __VA_ARGS__)

#endif
