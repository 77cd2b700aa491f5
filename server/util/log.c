#include "log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static FILE *log_file; /* guarded by log_lock; NULL = off */
static int log_owned;  /* log_file was opened here */

static const char *const level_names[] = {"debug", "info", "warn", "error"};

int
log_open(const char *sink)
{
    pthread_mutex_lock(&log_lock);
    if (log_owned && log_file)
        fclose(log_file);
    log_owned = 0;
    if (!strcmp(sink, "off")) {
        log_file = NULL;
    } else if (!strcmp(sink, "stderr") || !sink[0]) {
        log_file = stderr;
    } else {
        log_file = fopen(sink, "ae");
        log_owned = log_file != NULL;
    }
    int rc = (log_file || !strcmp(sink, "off")) ? 0 : -1;
    pthread_mutex_unlock(&log_lock);
    return rc;
}

bool
log_enabled(void)
{
    return log_file != NULL; /* unlocked read: at worst one line more or less while switching */
}

void
log_close(void)
{
    pthread_mutex_lock(&log_lock);
    if (log_owned && log_file)
        fclose(log_file);
    log_file = NULL;
    log_owned = 0;
    pthread_mutex_unlock(&log_lock);
}

static void
timestamp(char *buf, size_t len)
{
    struct timeval tv;
    struct tm tm;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, len - n, ".%03ldZ", (long)(tv.tv_usec / 1000));
}

void
log_event(enum log_level level, const char *msg, json_t *fields)
{
    if (!log_file) { /* unlocked read: worst case one line more or less while switching */
        json_decref(fields);
        return;
    }
    char ts[40];
    timestamp(ts, sizeof(ts));
    json_t *line = json_pack("{s:s,s:s,s:s}", "ts", ts, "level", level_names[level], "msg", msg);
    if (line && fields)
        json_object_update(line, fields);
    json_decref(fields);
    char *text = line ? json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(line);
    if (!text)
        return;
    pthread_mutex_lock(&log_lock);
    if (log_file) {
        fputs(text, log_file);
        fputc('\n', log_file);
        fflush(log_file);
    }
    pthread_mutex_unlock(&log_lock);
    free(text);
}

void
log_msg(enum log_level level, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    log_event(level, buf, NULL);
}
