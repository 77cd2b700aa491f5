/* log: structured JSON lines (one object per line) to stderr or a file.
 * Never log secrets: callers pass only fields that are safe to keep. */
#ifndef VP_LOG_H
#define VP_LOG_H

#include <jansson.h>
#include <stdbool.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

/* Opens the sink: "stderr", "off" or a file path (appended). Returns 0/-1. */
int log_open(const char *sink);
void log_close(void);

/* Is anything being logged? (callers skip building fields when not) */
bool log_enabled(void);

/* Writes {"ts","level","msg", ...fields}; `fields` is consumed (may be NULL). */
void log_event(enum log_level level, const char *msg, json_t *fields);

/* printf-style convenience for messages without fields. */
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
