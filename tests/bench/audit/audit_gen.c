/* audit_gen DATA_DIR [N=1000000] [THREADS=8]: appends N audit events to the
 * database of a data dir (made by `virtportal user add`), through db_audit_event
 * with the data dir's own audit key, so the chain is the real thing and the
 * server verifies it. For the export benchmark (run.sh); not a test.
 *
 * Fast because it is a bulk load: synchronous=OFF and up to 4096 events per
 * transaction (group commit from THREADS threads). The server is not running. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db.h"
#include "secret.h"

static atomic_long next;
static long total;
static db *d;

static const char *const actions[] = {"tenant.create", "tenant.update", "vm.start",
                                      "vm.stop",       "user.update",   "auth.login",
                                      "quota.set",     "token.create"};

static void *
gen(void *arg)
{
    char rid[48], target[48], ua[64];
    long i;
    while ((i = atomic_fetch_add(&next, 1)) < total) {
        snprintf(rid, sizeof(rid), "bench-%08lx", (unsigned long)i);
        snprintf(target, sizeof(target), "tenant/%ld", i % 500 + 1);
        snprintf(ua, sizeof(ua), "bench-client/%ld", i % 7);
        json_t *det =
            json_pack("{s:{s:i,s:s},s:{s:i,s:s}}", "before", "vcpus", (int)(i % 16), "name",
                      "old-name", "after", "vcpus", (int)(i % 16 + 1), "name", "new-name");
        struct db_audit a = {.actor = i % 3 ? "admin" : "alice",
                             .user_id = i % 3 ? 1 : 2,
                             .tenant_id = i % 500 + 1,
                             .source_ip = "192.0.2.10",
                             .user_agent = ua,
                             .request_id = rid,
                             .action = actions[i % 8],
                             .target = target,
                             .outcome = i % 50 ? "ok" : "denied",
                             .details = det};
        err e = {0};
        int rc = db_audit_event(d, &a, &e);
        json_decref(det);
        if (rc < 0) {
            fprintf(stderr, "audit_gen: %s\n", e.detail);
            exit(1);
        }
    }
    return NULL;
}

int
main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: audit_gen DATA_DIR [N] [THREADS]\n");
        return 2;
    }
    total = argc > 2 ? strtol(argv[2], NULL, 10) : 1000000;
    int threads = argc > 3 ? (int)strtol(argv[3], NULL, 10) : 8;
    if (total < 1 || threads < 1 || threads > 64)
        return 2;
    char path[600], keyp[600];
    snprintf(path, sizeof(path), "%s/virtportal.db", argv[1]);
    snprintf(keyp, sizeof(keyp), "%s/secrets/audit.key", argv[1]);
    unsigned char key[64];
    size_t klen = 0;
    err e = {0};
    if (auth_secret_file_load_or_create(keyp, sizeof(key), key, &klen, &e) < 0) {
        fprintf(stderr, "audit_gen: %s: %s\n", keyp, e.detail);
        return 1;
    }
    struct db_options o = {.path = path,
                           .audit_key = key,
                           .audit_key_len = klen,
                           .sync = DB_SYNC_OFF,
                           .max_batch = 4096};
    if (!(d = db_open(&o, &e))) {
        fprintf(stderr, "audit_gen: %s\n", e.detail);
        return 1;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pthread_t t[64];
    for (int i = 0; i < threads; i++)
        pthread_create(&t[i], NULL, gen, NULL);
    for (int i = 0; i < threads; i++)
        pthread_join(t[i], NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    db_close(d);
    double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("generated %ld audit events in %.1f s (%.0f/s)\n", total, s, (double)total / s);
    return 0;
}
