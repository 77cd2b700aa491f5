/* expiry: reverts ended quota grants periodically. See expiry.h. */
#include "expiry.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "log.h"
#include "quota_request.h"
#include "session.h"

struct expiry_job {
    struct vp_app *app; /* borrowed */
    pthread_t thread;
    pthread_mutex_t mu; /* guards stop */
    pthread_cond_t wake;
    bool stop;
    bool failing; /* the last pass failed (job thread only, and expiry_start) */
};

int
expiry_run_once(struct vp_app *app, int *expired, err *e)
{
    char now[32];
    int64_t *tenants = NULL;
    size_t n = 0;
    int count = 0;
    db_time_format(app_now(app), now, sizeof(now));
    int rc = db_quota_request_expire_due(app->db, now, &count, &tenants, &n, e);
    for (size_t i = 0; i < n && app->quota_runtime_push; i++)
        app->quota_runtime_push(app, tenants[i]);
    free(tenants);
    if (count)
        log_msg(LOG_INFO, "quota requests: %d grant(s) ended and were reverted", count);
    if (expired)
        *expired = count;
    return rc;
}

/* One pass; a failure is logged when it starts and when it ends, not at
 * every pass. */
static void
pass(struct expiry_job *j)
{
    err e = {0};
    bool failed = expiry_run_once(j->app, NULL, &e) < 0;
    if (failed && !j->failing)
        log_msg(LOG_WARN, "quota requests: reverting ended grants failed: %s", e.detail);
    else if (!failed && j->failing)
        log_msg(LOG_INFO, "quota requests: reverting ended grants works again");
    j->failing = failed;
}

static void *
expiry_main(void *arg)
{
    struct expiry_job *j = arg;
    pthread_mutex_lock(&j->mu);
    while (!j->stop) {
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        t.tv_sec += j->app->cfg.requests_expiry_interval_s;
        while (!j->stop && pthread_cond_timedwait(&j->wake, &j->mu, &t) == 0)
            ; /* woken without stop: a spurious wake-up, keep waiting */
        if (j->stop)
            break;
        pthread_mutex_unlock(&j->mu);
        pass(j);
        pthread_mutex_lock(&j->mu);
    }
    pthread_mutex_unlock(&j->mu);
    return NULL;
}

struct expiry_job *
expiry_start(struct vp_app *app, err *e)
{
    struct expiry_job *j = calloc(1, sizeof(*j));
    if (!j) {
        err_set(e, ERR_INTERNAL, "out of memory");
        return NULL;
    }
    j->app = app;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&j->wake, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&j->mu, NULL);
    pass(j); /* what ended while the portal was down */
    if (pthread_create(&j->thread, NULL, expiry_main, j) != 0) {
        pthread_cond_destroy(&j->wake);
        pthread_mutex_destroy(&j->mu);
        free(j);
        err_set(e, ERR_UNAVAILABLE, "cannot start the grant expiry thread");
        return NULL;
    }
    return j;
}

void
expiry_stop(struct expiry_job *j)
{
    if (!j)
        return;
    pthread_mutex_lock(&j->mu);
    j->stop = true;
    pthread_cond_signal(&j->wake);
    pthread_mutex_unlock(&j->mu);
    pthread_join(j->thread, NULL);
    pthread_cond_destroy(&j->wake);
    pthread_mutex_destroy(&j->mu);
    free(j);
}
