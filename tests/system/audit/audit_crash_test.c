/* Must show: the audit trail survives SIGKILL under load.
 *
 * Each cycle: THREADS clients POST /api/v1/tenants as fast as they can over
 * keep-alive HTTPS connections; after a random 0.1-0.5 s the server gets
 * SIGKILL; it is restarted on the same data dir, and then
 *   - every mutation a client saw acknowledged (201) exists, with its audit
 *     row (matched by the response's X-Request-Id),
 *   - nothing answered 503 took effect,
 *   - tenants and tenant.create audit rows are equally many (change and audit
 *     row commit together or not at all),
 *   - `virtportal audit verify` (chain, checkpoints, external file) exits 0,
 *   - PRAGMA integrity_check is ok.
 * Prints cycles, acknowledged writes, lost writes (goal: 0), and how many
 * unanswered requests (killed in flight) took effect anyway (allowed: their
 * outcome is unknown to the client).
 *
 *   audit_crash_test            (VP_CRASH_CYCLES=100, VP_CRASH_THREADS=12,
 *                                VP_CRASH_PACE_US=10000, VP_CRASH_SEED=<n> to replay a run)
 * Each client pauses VP_CRASH_PACE_US between requests: the checks after every
 * restart read the whole database, so an unpaced load on a fast machine grows
 * it (and the run time) quadratically; paced, 100 cycles stay at a few minutes
 * with every kill still landing among requests in flight.
 * Exit 0 when every cycle held, 1 otherwise. */
#include <curl/curl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>
#include <fcntl.h>
#include <unistd.h>

#include "harness.h"

enum { MAX_THREADS = 64 };

struct rec {
    char slug[32], rid[48];
    long status; /* 0: no answer */
};

struct client {
    int id, cycle;
    struct vp_proc *p;
    const char *token;
    int pace_us;
    struct rec *recs;
    size_t n, cap;
    pthread_t t;
};

static atomic_bool stop;
static int pace_us; /* pause between one client's requests (main sets it before the load) */

struct totals {
    long cycles, acked, lost, refused, refused_stored, unanswered, unanswered_stored;
    long verify_failures, integrity_failures, mismatch;
    double restart_s, check_s; /* time spent restarting and checking */
};

static size_t
on_header(char *b, size_t size, size_t n, void *arg)
{
    struct rec *r = arg;
    size_t len = size * n;
    if (len > 14 && !strncasecmp(b, "X-Request-Id: ", 14)) {
        size_t v = len - 14;
        while (v && (b[14 + v - 1] == '\r' || b[14 + v - 1] == '\n'))
            v--;
        snprintf(r->rid, sizeof(r->rid), "%.*s", (int)v, b + 14);
    }
    return len;
}

static size_t
on_body(char *b, size_t size, size_t n, void *arg)
{
    return size * n;
}

static struct rec *
rec_next(struct client *c)
{
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 256;
        struct rec *nr = realloc(c->recs, cap * sizeof(*nr));
        if (!nr)
            return NULL;
        c->recs = nr;
        c->cap = cap;
    }
    struct rec *r = &c->recs[c->n++];
    memset(r, 0, sizeof(*r));
    return r;
}

static void *
client_main(void *arg)
{
    struct client *c = arg;
    CURL *h = curl_easy_init();
    char url[128], auth[4200], body[128];
    snprintf(url, sizeof(url), "%s/api/v1/tenants", c->p->base);
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", c->token);
    struct curl_slist *hl = curl_slist_append(NULL, "Content-Type: application/json");
    hl = curl_slist_append(hl, auth);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CAINFO, c->p->cert);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 10L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    for (int k = 0; !atomic_load(&stop); k++) {
        struct rec *r = rec_next(c);
        if (!r)
            break;
        snprintf(r->slug, sizeof(r->slug), "c%d-t%d-%d", c->cycle, c->id, k);
        snprintf(body, sizeof(body), "{\"slug\":\"%s\",\"name\":\"crash %s\"}", r->slug, r->slug);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
        if (curl_easy_perform(h) == CURLE_OK)
            curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
        if (r->status == 0)
            break; /* the server is gone: this request has no answer */
        usleep((useconds_t)c->pace_us);
    }
    curl_slist_free_all(hl);
    curl_easy_cleanup(h);
    return NULL;
}

static int64_t
q_int(sqlite3_stmt *s, const char *arg)
{
    sqlite3_reset(s);
    sqlite3_bind_text(s, 1, arg, -1, SQLITE_STATIC);
    return sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : -1;
}

/* Checks one cycle's records against the database (read-only, live). */
static void
check_records(sqlite3 *db, struct client *cl, int nthreads, struct totals *t)
{
    sqlite3_stmt *ten = NULL, *aud = NULL;
    sqlite3_prepare_v2(db, "SELECT count(*) FROM tenant WHERE slug = ?1", -1, &ten, NULL);
    sqlite3_prepare_v2(db,
                       "SELECT count(*) FROM audit WHERE request_id = ?1 AND "
                       "action = 'tenant.create' AND outcome = 'ok'",
                       -1, &aud, NULL);
    sqlite3_exec(db, "BEGIN", NULL, NULL, NULL); /* one snapshot */
    for (int i = 0; i < nthreads; i++) {
        for (size_t k = 0; k < cl[i].n; k++) {
            struct rec *r = &cl[i].recs[k];
            int64_t have = q_int(ten, r->slug);
            if (r->status == 201) {
                t->acked++;
                if (have != 1 || !r->rid[0] || q_int(aud, r->rid) != 1) {
                    t->lost++;
                    fprintf(stderr, "LOST: %s (request %s): tenant %lld\n", r->slug, r->rid,
                            (long long)have);
                }
            } else if (r->status == 503) {
                t->refused++;
                t->refused_stored += have != 0;
            } else if (r->status == 0) {
                t->unanswered++;
                t->unanswered_stored += have == 1;
            }
        }
    }
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    sqlite3_finalize(ten);
    sqlite3_finalize(aud);
}

static int64_t
one_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *s = NULL;
    int64_t v = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
}

static bool
integrity_ok(sqlite3 *db)
{
    sqlite3_stmt *s = NULL;
    bool ok = sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &s, NULL) == SQLITE_OK &&
              sqlite3_step(s) == SQLITE_ROW &&
              !strcmp((const char *)sqlite3_column_text(s, 0), "ok");
    sqlite3_finalize(s);
    return ok;
}

/* `virtportal audit verify --data-dir DIR`, quietly; 0 when the chain holds. */
static int
cli_verify(const char *dir)
{
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        dup2(fd, 1);
        execl(vp_binary(), vp_binary(), "audit", "verify", "--data-dir", dir, (char *)NULL);
        _exit(127);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void
check_database(struct vp_proc *p, struct client *cl, int nthreads, struct totals *t)
{
    char path[400];
    snprintf(path, sizeof(path), "%s/virtportal.db", p->dir);
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        t->integrity_failures++;
        return;
    }
    sqlite3_busy_timeout(db, 5000);
    check_records(db, cl, nthreads, t);
    if (!integrity_ok(db))
        t->integrity_failures++;
    int64_t diff = one_int(db, "SELECT (SELECT count(*) FROM tenant) - (SELECT count(*) FROM "
                               "audit WHERE action = 'tenant.create' AND outcome = 'ok')");
    if (diff != 0) {
        t->mismatch++;
        fprintf(stderr, "tenants and tenant.create rows differ by %lld\n", (long long)diff);
    }
    sqlite3_close(db);
    if (cli_verify(p->dir) != 0) {
        t->verify_failures++;
        fprintf(stderr, "audit verify failed on %s\n", p->dir);
    }
}

static int
env_int(const char *name, int def, int lo, int hi)
{
    const char *v = getenv(name);
    char *end = NULL;
    long n = v ? strtol(v, &end, 10) : def;
    return v && (!end || *end || n < lo || n > hi) ? def : (int)n;
}

/* One cycle: load, SIGKILL at a random moment, restart, check. */
static int
cycle(struct vp_proc *p, const char *token, int c, int nthreads, struct totals *t)
{
    struct client cl[MAX_THREADS] = {0};
    atomic_store(&stop, false);
    for (int i = 0; i < nthreads; i++) {
        cl[i] = (struct client){.id = i, .cycle = c, .p = p, .token = token, .pace_us = pace_us};
        pthread_create(&cl[i].t, NULL, client_main, &cl[i]);
    }
    usleep((useconds_t)(100000 + rand() % 400000)); /* 0.1-0.5 s of load */
    vp_kill(p);
    atomic_store(&stop, true);
    for (int i = 0; i < nthreads; i++)
        pthread_join(cl[i].t, NULL);
    struct timespec a, b, d;
    clock_gettime(CLOCK_MONOTONIC, &a);
    int rc = vp_restart(p, NULL);
    clock_gettime(CLOCK_MONOTONIC, &b);
    if (rc == 0)
        check_database(p, cl, nthreads, t);
    clock_gettime(CLOCK_MONOTONIC, &d);
    t->restart_s += (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
    t->check_s += (double)(d.tv_sec - b.tv_sec) + (double)(d.tv_nsec - b.tv_nsec) / 1e9;
    for (int i = 0; i < nthreads; i++)
        free(cl[i].recs);
    t->cycles++;
    return rc;
}

int
main(void)
{
    if (!getenv("VP_BINARY") && getenv("VP_BINARY_DIR")) {
        char b[600];
        snprintf(b, sizeof(b), "%s/virtportal", getenv("VP_BINARY_DIR"));
        setenv("VP_BINARY", b, 1);
    }
    int cycles = env_int("VP_CRASH_CYCLES", 100, 1, 100000);
    int nthreads = env_int("VP_CRASH_THREADS", 12, 1, MAX_THREADS);
    pace_us = env_int("VP_CRASH_PACE_US", 10000, 0, 1000000);
    unsigned seed =
        (unsigned)env_int("VP_CRASH_SEED", (int)(time(NULL) & 0x7fffffff), 0, 0x7fffffff);
    srand(seed);
    struct vp_proc p;
    if (vp_start(&p, NULL) < 0) {
        fprintf(stderr, "cannot start the server\n");
        return 1;
    }
    char *token = vp_login(&p, "admin", p.admin_password);
    if (!token) {
        vp_stop(&p);
        return 1;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct totals t = {0};
    int rc = 0;
    for (int c = 0; c < cycles && rc == 0; c++)
        rc = cycle(&p, token, c, nthreads, &t);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("crash test (seed %u, %d client threads): %ld cycles in %.1f s\n", seed, nthreads,
           t.cycles, secs);
    printf("time restarting: %.1f s, checking: %.1f s\n", t.restart_s, t.check_s);
    printf("acknowledged writes: %ld, lost: %ld\n", t.acked, t.lost);
    printf("unanswered (killed in flight): %ld, of which stored: %ld\n", t.unanswered,
           t.unanswered_stored);
    printf("refused (503): %ld, of which stored: %ld\n", t.refused, t.refused_stored);
    printf("chain verify failures: %ld, integrity_check failures: %ld, tenant/audit "
           "mismatches: %ld\n",
           t.verify_failures, t.integrity_failures, t.mismatch);
    bool ok = rc == 0 && t.cycles == cycles && t.acked > 0 && !t.lost && !t.refused_stored &&
              !t.verify_failures && !t.integrity_failures && !t.mismatch;
    printf("%s\n", ok ? "PASS" : "FAIL");
    free(token);
    if (ok)
        vp_stop(&p);
    else
        vp_kill(&p); /* keep the data dir for a look */
    return ok ? 0 : 1;
}
