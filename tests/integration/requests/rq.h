/* rq: the world of the quota-request tests, built by the test itself.
 *
 * A fresh data dir with two tenants (10 acme, 20 globex), one host (16 cores,
 * 64 GiB), VMs (acme: 3 x 2 vCPUs / 2 GiB / 20 GiB; globex: 1 x 8 vCPUs) and
 * quotas (acme: vms 10, vcpus 8, memory_mib 16384; globex: vcpus 16), seeded
 * in SQL while the server is stopped (the inventory keeps those tables in
 * production); users from `virtportal user add`: admin (harness), admin2
 * (global admin), alice (acme member), carol (acme tenant-admin), dave (acme,
 * bound by the API to a custom role "quota-steward" = quota.read +
 * quota.request + quota.approve in acme), bob (globex member).
 *
 * Also: plain-SQL reads of the live database (read-only connection) to check
 * that a refused request changed nothing, and a tiny HTTP receiver on
 * 127.0.0.1 for webhook deliveries. */
#ifndef VP_RQ_H
#define VP_RQ_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "harness.h"

#define RQ_PW "Requests-Test-Passw0rd-7!"

enum rq_user { RQ_ADMIN, RQ_ADMIN2, RQ_ALICE, RQ_CAROL, RQ_DAVE, RQ_BOB, RQ_NUSERS };

extern struct vp_proc rq_srv;
extern char *rq_tok[RQ_NUSERS]; /* access tokens */
extern int64_t rq_uid[RQ_NUSERS];

/* Builds the world and starts the server with `extra` flags (NULL-terminated,
 * may be NULL); the test-only flags server.test_hooks=1 and a 1 s expiry
 * interval are always added. 0 or -1. */
int rq_world(const char *const *extra);

/* Stops the server and removes the data dir. */
void rq_world_end(void);

/* SIGTERM, then starts again on the same data dir with `extra` flags (plus
 * the always-added ones) and logs everyone in again. 0 or -1. */
int rq_restart(const char *const *extra);

/* Logs everyone in again (moving the clock past the access tokens' life
 * ends them, as real time would). 0 or -1. */
int rq_relogin(void);

/* One JSON call as `who` (RQ_NUSERS = anonymous); fails the test unless the
 * status is `want`. Returns the parsed body (caller decrefs; may be NULL). */
json_t *rq_call(enum rq_user who, const char *method, const char *path, long want, const char *fmt,
                ...) __attribute__((format(printf, 5, 6)));

/* The same without failing: returns the status, *body (may be NULL) the
 * parsed body (caller decrefs). Thread-safe. */
long rq_try(enum rq_user who, const char *method, const char *path, const char *body, json_t **out);

/* Asserts a problem+json of `status`; when field is given, errors[0].field. */
void rq_expect_problem(enum rq_user who, const char *method, const char *path, const char *body,
                       long status, const char *field);

/* A one-row, one-column integer query on the live database file; -1 on error. */
int64_t rq_sql_int(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A digest of what a refused request must not change: quota rows, requests,
 * notifications, deliveries and "ok" audit rows (as text, caller frees). */
char *rq_snapshot(void);

/* "a.b.c" through objects (NULL when absent). */
json_t *rq_get(json_t *j, const char *path);
json_int_t rq_int(json_t *j, const char *path);
const char *rq_str(json_t *j, const char *path);

/* Creates a pending request of `who` for tenant_id with deltas `deltas`
 * (JSON object text); returns its id. */
int64_t rq_request(enum rq_user who, int64_t tenant_id, const char *deltas);

/* RFC 3339 of the wall clock + secs. */
void rq_time(int64_t secs, char out[32]);

/* ---- webhook receiver ---- */

enum { RQ_MAX_HITS = 32 };

struct rq_hit {
    char event[64], delivery[32], timestamp[32], signature[80];
    char *body; /* malloc'd */
    int status; /* what we answered */
};

struct rq_receiver {
    int fd, port;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    int script[RQ_MAX_HITS]; /* status to answer per hit; 0 = 200 */
    bool hold;               /* when true, hold every answer until released */
    bool stop;
    struct rq_hit hits[RQ_MAX_HITS];
    int nhits;
};

/* Starts a receiver on 127.0.0.1:0 answering script[i] to the i-th request. */
int rq_receiver_start(struct rq_receiver *rv, const int *script, int nscript);
void rq_receiver_stop(struct rq_receiver *rv);

/* Waits (up to 30 s) until the receiver has seen n requests; true if so. */
bool rq_receiver_wait(struct rq_receiver *rv, int n);

/* How many requests the receiver has seen. */
int rq_receiver_count(struct rq_receiver *rv);

/* Holds or releases answers (hold: the receiver keeps reading requests but
 * does not answer until released). */
void rq_receiver_hold(struct rq_receiver *rv, bool hold);

/* Does hit's X-VP-Signature match HMAC-SHA256(secret, body)? */
bool rq_signature_ok(const struct rq_hit *h, const char *secret);

#endif
