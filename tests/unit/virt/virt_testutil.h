/* Helpers for the virt tests: a scratch directory with a demo inventory, a
 * connection manager that records the events it receives. Everything runs
 * on libvirt's in-process test driver; no daemon. */
#ifndef VP_VIRT_TESTUTIL_H
#define VP_VIRT_TESTUTIL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "virt.h"

struct rec_event {
    int64_t host;
    char uuid[VIRT_UUID_LEN + 1];
    enum virt_change kind;
};

/* A sink that keeps every event and host state change it sees. */
struct recorder {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct rec_event ev[4096];
    size_t nev;
    int states[64]; /* last state per host id < 64 */
    unsigned nstates;
};

static inline void
rec_change(void *ctx, int64_t host, const char *uuid, enum virt_change kind)
{
    struct recorder *r = ctx;
    pthread_mutex_lock(&r->lock);
    if (r->nev < sizeof(r->ev) / sizeof(r->ev[0])) {
        struct rec_event *e = &r->ev[r->nev++];
        e->host = host;
        snprintf(e->uuid, sizeof(e->uuid), "%s", uuid ? uuid : "");
        e->kind = kind;
    }
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->lock);
}

static inline void
rec_state(void *ctx, int64_t host, enum virt_host_state st, const char *error)
{
    struct recorder *r = ctx;
    (void)error;
    pthread_mutex_lock(&r->lock);
    if (host >= 0 && host < 64)
        r->states[host] = (int)st;
    r->nstates++;
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->lock);
}

static inline void
rec_init(struct recorder *r)
{
    memset(r, 0, sizeof(*r));
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->cond, NULL);
}

/* Waits up to timeout_ms for an event (uuid, kind) on host; true if seen. */
static inline bool
rec_wait(struct recorder *r, int64_t host, const char *uuid, enum virt_change kind, int timeout_ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += timeout_ms / 1000;
    ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    bool found = false;
    pthread_mutex_lock(&r->lock);
    for (;;) {
        for (size_t i = 0; i < r->nev && !found; i++)
            found =
                r->ev[i].host == host && r->ev[i].kind == kind && strcmp(r->ev[i].uuid, uuid) == 0;
        if (found || pthread_cond_timedwait(&r->cond, &r->lock, &ts) != 0)
            break;
    }
    pthread_mutex_unlock(&r->lock);
    return found;
}

/* Waits up to timeout_ms until the sink saw host in state st. */
static inline bool
rec_wait_state(struct recorder *r, int64_t host, enum virt_host_state st, int timeout_ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += timeout_ms / 1000 + 1;
    bool ok = false;
    pthread_mutex_lock(&r->lock);
    while (!(ok = r->states[host] == (int)st))
        if (pthread_cond_timedwait(&r->cond, &r->lock, &ts) != 0)
            break;
    ok = r->states[host] == (int)st;
    pthread_mutex_unlock(&r->lock);
    return ok;
}

/* A fresh scratch directory under $TMPDIR (or /tmp); caller frees the string. */
static inline char *
scratch_dir(void)
{
    const char *base = getenv("TMPDIR");
    char tmpl[512];
    snprintf(tmpl, sizeof(tmpl), "%s/vp-virt-XXXXXX", base && *base ? base : "/tmp");
    char *d = mkdtemp(tmpl);
    return d ? strdup(d) : NULL;
}

/* Removes the files a test wrote and the directory itself. */
static inline void
scratch_rm(char *dir, char **paths, size_t n)
{
    for (size_t i = 0; i < n; i++)
        unlink(paths[i]);
    if (dir)
        rmdir(dir);
    free(dir);
}

/* "test://" + path into buf. */
static inline const char *
test_uri(char *buf, size_t cap, const char *path)
{
    snprintf(buf, cap, "test://%s", path);
    return buf;
}

#endif
