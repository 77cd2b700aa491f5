/* webhook: delivers the webhook outbox. See webhook.h. */
#include "webhook.h"

#include <curl/curl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "log.h"
#include "notify.h"
#include "requests.h"

enum { BATCH = 16, MAX_BACKOFF_MS = 3600 * 1000 };

struct webhook_worker {
    struct vp_app *app; /* borrowed */
    pthread_t thread;
    pthread_mutex_t mu; /* guards the wait */
    pthread_cond_t wake;
    atomic_bool stop;
    bool failing; /* the outbox could not be read last time (worker thread only) */
};

/* One due delivery, copied out of the reader's row. */
struct job {
    int64_t delivery_id;
    int attempts;
    char *url, *secret, *event, *payload;
};

void
webhook_sign(const char *secret, const void *body, size_t len, char out[72])
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    HMAC(EVP_sha256(), secret, (int)strlen(secret), body, len, mac, &n);
    memcpy(out, "sha256=", 7);
    for (unsigned int i = 0; i < n && i < 32; i++)
        snprintf(out + 7 + 2 * i, 3, "%02x", mac[i]);
    out[7 + 2 * (n < 32 ? n : 32)] = '\0';
}

int64_t
webhook_backoff_ms(int base_ms, int attempts)
{
    int64_t d = base_ms > 0 ? base_ms : 1;
    for (int i = 1; i < attempts && d < MAX_BACKOFF_MS; i++)
        d *= 2;
    return d < MAX_BACKOFF_MS ? d : MAX_BACKOFF_MS;
}

/* The portal's clock in milliseconds (wall clock + the test offset). */
static int64_t
now_ms(const struct vp_app *app)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000 +
           (int64_t)atomic_load(&app->clock_offset_s) * 1000;
}

static int64_t
mono_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* RFC 3339 UTC with milliseconds, the stores' text form. */
static void
time_text(int64_t ms, char out[32])
{
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    char base[24];
    strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, 32, "%s.%03dZ", base, (int)(ms % 1000));
}

/* ---- one attempt ---- */

struct attempt {
    struct webhook_worker *w;
    bool allow_private;
    bool blocked; /* the target resolved to an address we may not reach */
};

static curl_socket_t
open_socket(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
    struct attempt *at = arg;
    const void *ip = NULL;
    if (a->family == AF_INET)
        ip = &((const struct sockaddr_in *)&a->addr)->sin_addr;
    else if (a->family == AF_INET6)
        ip = &((const struct sockaddr_in6 *)&a->addr)->sin6_addr;
    if (!ip || (!at->allow_private && api_webhooks_private_addr(a->family, ip))) {
        at->blocked = true;
        return CURL_SOCKET_BAD;
    }
    return socket(a->family, a->socktype, a->protocol);
}

static size_t
discard(char *data, size_t size, size_t n, void *arg)
{
    return size * n; /* the receiver's answer is not kept */
}

static int
progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    struct attempt *at = arg;
    return atomic_load(&at->w->stop) ? 1 : 0; /* shutting down: abort */
}

static struct curl_slist *
headers_of(const struct job *j, int64_t ts)
{
    char line[200], sig[72];
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    h = curl_slist_append(h, "User-Agent: virtportal-webhook/1");
    h = curl_slist_append(h, "Expect:"); /* no 100-continue round trip */
    snprintf(line, sizeof(line), "X-VP-Event: %s", j->event);
    h = curl_slist_append(h, line);
    snprintf(line, sizeof(line), "X-VP-Delivery: %" PRId64, j->delivery_id);
    h = curl_slist_append(h, line);
    snprintf(line, sizeof(line), "X-VP-Timestamp: %" PRId64, ts);
    h = curl_slist_append(h, line);
    webhook_sign(j->secret, j->payload, strlen(j->payload), sig);
    snprintf(line, sizeof(line), "X-VP-Signature: %s", sig);
    return curl_slist_append(h, line);
}

static void
curl_setup(CURL *c, const struct job *j, struct curl_slist *h, struct attempt *at, int timeout_ms)
{
    curl_easy_setopt(c, CURLOPT_URL, j->url);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, j->payload);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(j->payload));
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_PROXY, ""); /* never via a proxy from the environment */
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, open_socket);
    curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, at);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, at);
}

/* POSTs j once: *status the HTTP status (0: none), error a client-safe
 * sentence ("" when delivered). false when aborted by shutdown. */
static bool
post_once(struct webhook_worker *w, const struct job *j, int *status, char *error, size_t n)
{
    struct attempt at = {w, w->app->cfg.webhooks_allow_private != 0, false};
    CURL *c = curl_easy_init();
    struct curl_slist *h = c ? headers_of(j, now_ms(w->app) / 1000) : NULL;
    CURLcode rc = CURLE_OUT_OF_MEMORY;
    long code = 0;
    if (c && h) {
        curl_setup(c, j, h, &at, w->app->cfg.webhooks_timeout_ms);
        rc = curl_easy_perform(c);
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    }
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    *status = rc == CURLE_OK ? (int)code : 0;
    error[0] = '\0';
    if (rc == CURLE_ABORTED_BY_CALLBACK)
        return false;
    if (at.blocked)
        snprintf(error, n, "The target resolved to a private or loopback address.");
    else if (rc != CURLE_OK)
        snprintf(error, n, "%s", curl_easy_strerror(rc)); /* libcurl's fixed sentences */
    else if (code < 200 || code > 299)
        snprintf(error, n, "The receiver answered HTTP %ld.", code);
    return true;
}

static void
deliver(struct webhook_worker *w, const struct job *j)
{
    int status = 0;
    char error[256], at[32], next[32];
    int64_t t0 = mono_ms();
    if (!post_once(w, j, &status, error, sizeof(error)))
        return; /* shutting down: it stays pending */
    int64_t now = now_ms(w->app);
    time_text(now, at);
    int attempts = j->attempts + 1;
    enum db_delivery_state st = !error[0] ? DB_DELIVERY_DELIVERED
                                : attempts >= w->app->cfg.webhooks_max_attempts
                                    ? DB_DELIVERY_FAILED
                                    : DB_DELIVERY_PENDING;
    time_text(now + webhook_backoff_ms(w->app->cfg.webhooks_retry_base_ms, attempts), next);
    struct db_webhook_result res = {j->delivery_id, at, status, error[0] ? error : NULL,
                                    mono_ms() - t0, st, next};
    err e = {0};
    if (db_webhook_record(w->app->db, &res, &e) < 0 && e.kind != ERR_NOT_FOUND)
        log_msg(LOG_WARN, "webhooks: cannot record delivery %" PRId64 ": %s", j->delivery_id,
                e.detail);
}

/* ---- the loop ---- */

struct batch {
    struct job j[BATCH];
    size_t n;
};

static char *
dup_or_empty(const char *s)
{
    return strdup(s ? s : "");
}

static int
collect(void *arg, const struct db_webhook_job *dj, err *e)
{
    struct batch *b = arg;
    struct job *j = &b->j[b->n];
    *j = (struct job){dj->delivery_id,         dj->attempts,
                      dup_or_empty(dj->url),   dup_or_empty(dj->secret),
                      dup_or_empty(dj->event), dup_or_empty(dj->payload)};
    if (!j->url || !j->secret || !j->event || !j->payload) {
        free(j->url), free(j->secret), free(j->event), free(j->payload);
        return err_set(e, ERR_INTERNAL, "out of memory");
    }
    b->n++;
    return 0;
}

static void
batch_free(struct batch *b)
{
    for (size_t i = 0; i < b->n; i++) {
        explicit_bzero(b->j[i].secret, strlen(b->j[i].secret));
        free(b->j[i].url), free(b->j[i].secret), free(b->j[i].event), free(b->j[i].payload);
    }
    b->n = 0;
}

/* Delivers what is due; returns how many were attempted. */
static size_t
pass(struct webhook_worker *w)
{
    struct batch b = {.n = 0};
    char now[32];
    err e = {0};
    time_text(now_ms(w->app), now);
    bool failed = db_webhook_due(w->app->db, now, BATCH, collect, &b, &e) < 0;
    if (failed != w->failing) /* said once when it starts failing, once when it recovers */
        log_msg(failed ? LOG_WARN : LOG_INFO, "webhooks: %s%s",
                failed ? "cannot read the outbox: " : "the outbox is readable again",
                failed ? e.detail : "");
    w->failing = failed;
    size_t n = b.n;
    for (size_t i = 0; i < b.n && !atomic_load(&w->stop); i++)
        deliver(w, &b.j[i]);
    batch_free(&b);
    return n;
}

static void *
webhook_main(void *arg)
{
    struct webhook_worker *w = arg;
    while (!atomic_load(&w->stop)) {
        if (pass(w) == BATCH)
            continue; /* more may be due: no pause */
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        int64_t ns = t.tv_nsec + (int64_t)w->app->cfg.webhooks_poll_ms * 1000000;
        t.tv_sec += ns / 1000000000;
        t.tv_nsec = ns % 1000000000;
        pthread_mutex_lock(&w->mu);
        while (!atomic_load(&w->stop) && pthread_cond_timedwait(&w->wake, &w->mu, &t) == 0)
            ;
        pthread_mutex_unlock(&w->mu);
    }
    return NULL;
}

struct webhook_worker *
webhook_start(struct vp_app *app, err *e)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        err_set(e, ERR_UNAVAILABLE, "cannot initialise libcurl for webhooks");
        return NULL;
    }
    struct webhook_worker *w = calloc(1, sizeof(*w));
    if (!w) {
        err_set(e, ERR_INTERNAL, "out of memory");
        return NULL;
    }
    w->app = app;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->wake, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&w->mu, NULL);
    if (pthread_create(&w->thread, NULL, webhook_main, w) != 0) {
        pthread_cond_destroy(&w->wake);
        pthread_mutex_destroy(&w->mu);
        free(w);
        err_set(e, ERR_UNAVAILABLE, "cannot start the webhook delivery thread");
        return NULL;
    }
    return w;
}

void
webhook_stop(struct webhook_worker *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    atomic_store(&w->stop, true);
    pthread_cond_signal(&w->wake);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    pthread_cond_destroy(&w->wake);
    pthread_mutex_destroy(&w->mu);
    free(w);
}
