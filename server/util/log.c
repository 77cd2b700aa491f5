#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

/* The sink is a file descriptor written with one writev() per line, no lock:
 * lines up to PIPE_BUF bytes never interleave on a pipe, and O_APPEND keeps
 * lines whole in a file. log_open/log_close run at start and exit, while no
 * other thread logs; log_enabled and log_event only read the descriptor. */
static atomic_int log_fd = -1;
static int log_owned = -1; /* a descriptor opened here, closed by log_close */

static const char *const level_names[] = {"debug", "info", "warn", "error"};

int
log_open(const char *sink)
{
    log_close();
    if (!strcmp(sink, "off"))
        return 0;
    int fd = 2;
    if (strcmp(sink, "stderr") && sink[0]) {
        fd = open(sink, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666);
        if (fd < 0)
            return -1;
        log_owned = fd;
    }
    atomic_store(&log_fd, fd);
    return 0;
}

bool
log_enabled(void)
{
    return atomic_load(&log_fd) >= 0;
}

void
log_close(void)
{
    atomic_store(&log_fd, -1);
    if (log_owned >= 0)
        close(log_owned);
    log_owned = -1;
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

/* Writes line[0..n) and its '\n' in one system call. */
static void
write_line(const char *line, size_t n)
{
    int fd = atomic_load(&log_fd);
    if (fd < 0)
        return;
    struct iovec v[2] = {{(void *)line, n}, {"\n", 1}};
    ssize_t w;
    do
        w = writev(fd, v, 2);
    while (w < 0 && errno == EINTR);
}

void
log_event(enum log_level level, const char *msg, json_t *fields)
{
    if (!log_enabled()) {
        json_decref(fields);
        return;
    }
    char ts[40];
    timestamp(ts, sizeof(ts));
    json_t *line = json_pack("{s:s,s:s,s:s}", "ts", ts, "level", level_names[level], "msg", msg);
    if (line && fields)
        json_object_update(line, fields);
    json_decref(fields);
    /* dumped on the stack; a line longer than the buffer is rare */
    const size_t flags = JSON_COMPACT | JSON_PRESERVE_ORDER;
    char buf[4096];
    size_t n = line ? json_dumpb(line, buf, sizeof(buf), flags) : 0;
    char *text = n > sizeof(buf) ? json_dumps(line, flags) : NULL;
    json_decref(line);
    if (text)
        write_line(text, strlen(text));
    else if (n > 0 && n <= sizeof(buf))
        write_line(buf, n);
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
