/* db_bench: durable mutations per second through db_mutate from many threads.
 *
 *   db_bench [SECONDS=5] [THREADS=64] [READERS=4] [MODE=all] [hold]
 *   MODE: all | group-full | single-full | group-off
 *   hold: readers keep their read snapshot open almost all the time (slow
 *         requests), the worst case for keeping the WAL bounded
 *
 * Each mutation inserts a tenant and its audit row (HMAC chained), like a
 * POST through the API would. Modes: group commit with synchronous=FULL (ours),
 * one commit per mutation with FULL (the per-request baseline), and group
 * commit with synchronous=OFF (the non-durable ceiling). READERS threads do
 * point SELECTs meanwhile so the WAL has readers to contend with, as in the
 * server. Prints throughput, latency, batch size and the WAL file's peak size
 * (sampled every 2 ms). Not a ctest: timing belongs here, not in tests. */
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "db_internal.h"

struct mode {
    const char *name;
    enum db_commit_mode commit;
    enum db_sync sync;
};

static const struct mode modes[] = {
    {"group-full", DB_COMMIT_GROUP, DB_SYNC_FULL},
    {"single-full", DB_COMMIT_SINGLE, DB_SYNC_FULL},
    {"group-off", DB_COMMIT_GROUP, DB_SYNC_OFF},
};

static atomic_bool stop;
static bool readers_hold; /* readers keep their snapshot between reads */

struct params {
    int seconds, threads, readers;
};

struct writer {
    db *d;
    int id;
    long ok, failed;
    double *lat_us;
    size_t nlat, cap;
};

struct run {
    db *d;
    struct writer *w; /* one per writer thread */
    char wal[PATH_MAX + 32];
    long long wal_peak; /* written by the monitor thread, read after it is joined */
    long ok, failed;
    double secs;
};

static double
now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static int
apply_insert(db_conn *c, void *arg, struct db_audit *audit, err *e)
{
    DB_STMT s = db_conn_stmt(c, "INSERT INTO tenant(slug, name) VALUES (?1, ?1)", e);
    if (!s)
        return -1;
    sqlite3_bind_text(s, 1, arg, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    return rc == SQLITE_DONE ? 0 : db_sqlite_err(e, rc);
}

static void
lat_add(struct writer *w, double us)
{
    if (w->nlat == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 4096;
        double *n = realloc(w->lat_us, cap * sizeof(*n));
        if (!n)
            return;
        w->lat_us = n;
        w->cap = cap;
    }
    w->lat_us[w->nlat++] = us;
}

static void *
writer_main(void *p)
{
    struct writer *w = p;
    char slug[48], rid[48];
    for (long i = 0; !atomic_load(&stop); i++) {
        snprintf(slug, sizeof(slug), "b-%d-%ld", w->id, i);
        snprintf(rid, sizeof(rid), "req-%d-%ld", w->id, i);
        struct db_audit a = {.actor = "bench",
                             .user_id = 1,
                             .source_ip = "127.0.0.1",
                             .user_agent = "db_bench",
                             .request_id = rid,
                             .action = "tenant.create",
                             .target = slug};
        err e = {0};
        double t0 = now_us();
        if (db_mutate(w->d, apply_insert, slug, &a, &e) == 0) {
            w->ok++;
            lat_add(w, now_us() - t0);
        } else {
            w->failed++;
        }
    }
    return NULL;
}

/* One point SELECT, its statement reset before returning: a request that
 * reads and is done, which is what the server's handlers do. */
static void
reader_one(db_conn *c, unsigned *seed, const struct timespec *pause)
{
    err e = {0};
    DB_STMT s = db_conn_stmt(c, "SELECT name FROM tenant WHERE id = ?1", &e);
    if (!s)
        return;
    sqlite3_bind_int64(s, 1, rand_r(seed) % 10000 + 1);
    sqlite3_step(s);
    if (readers_hold) /* a slow request: keeps its snapshot while it "works" */
        nanosleep(pause, NULL);
}

static void *
reader_main(void *p)
{
    db *d = p;
    err e = {0};
    db_conn *c = db_reader(d, &e);
    unsigned seed = (unsigned)(uintptr_t)&e;
    struct timespec pause = {0, 500000};
    while (c && !atomic_load(&stop)) {
        reader_one(c, &seed, &pause);
        if (!readers_hold)
            nanosleep(&pause, NULL);
    }
    return NULL;
}

static void *
wal_monitor(void *p)
{
    struct run *r = p;
    struct timespec pause = {0, 2000000};
    while (!atomic_load(&stop)) {
        struct stat st;
        if (stat(r->wal, &st) == 0 && st.st_size > r->wal_peak)
            r->wal_peak = st.st_size;
        nanosleep(&pause, NULL);
    }
    return NULL;
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void
latency_report(struct writer *w, int n, double *p50, double *p99)
{
    size_t total = 0;
    for (int i = 0; i < n; i++)
        total += w[i].nlat;
    double *all = malloc((total ? total : 1) * sizeof(*all));
    size_t k = 0;
    for (int i = 0; i < n; i++)
        for (size_t j = 0; j < w[i].nlat; j++)
            all[k++] = w[i].lat_us[j];
    qsort(all, total, sizeof(*all), cmp_double);
    *p50 = total ? all[total / 2] / 1000 : 0;
    *p99 = total ? all[total * 99 / 100] / 1000 : 0;
    free(all);
}

static int
rm_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    return remove(path);
}

static const unsigned char key[32] = "bench-key-bench-key-bench-key-32";

/* Runs the load on r->d for pa->seconds; fills r->ok, r->failed, r->secs. */
static void
run_load(struct run *r, const struct params *pa)
{
    pthread_t *wt = calloc((size_t)pa->threads, sizeof(*wt));
    pthread_t *rt = calloc((size_t)pa->readers + 1, sizeof(*rt));
    pthread_t mon;
    atomic_store(&stop, false);
    pthread_create(&mon, NULL, wal_monitor, r);
    for (int i = 0; i < pa->readers; i++)
        pthread_create(&rt[i], NULL, reader_main, r->d);
    double t0 = now_us();
    for (int i = 0; i < pa->threads; i++) {
        r->w[i] = (struct writer){.d = r->d, .id = i};
        pthread_create(&wt[i], NULL, writer_main, &r->w[i]);
    }
    sleep((unsigned)pa->seconds);
    atomic_store(&stop, true);
    for (int i = 0; i < pa->threads; i++) {
        pthread_join(wt[i], NULL);
        r->ok += r->w[i].ok;
        r->failed += r->w[i].failed;
    }
    r->secs = (now_us() - t0) / 1e6;
    for (int i = 0; i < pa->readers; i++)
        pthread_join(rt[i], NULL);
    pthread_join(mon, NULL);
    free(wt);
    free(rt);
}

static void
run_report(const struct mode *m, struct run *r, const struct params *pa)
{
    struct db_stats st;
    db_stats(r->d, &st);
    double p50, p99;
    latency_report(r->w, pa->threads, &p50, &p99);
    struct db_audit_verify_result vr;
    err e = {0};
    int vrc = db_audit_verify_live(r->d, 0, &vr, &e);
    printf("%-12s %9.0f mutations/s  (%ld ok, %ld failed in %.1f s)  avg batch %6.1f  max batch "
           "%4llu  p50 %7.2f ms  p99 %7.2f ms  WAL peak %6.1f MiB  checkpoints %llu "
           "(truncate %llu)  chain %s\n",
           m->name, r->ok / r->secs, r->ok, r->failed, r->secs,
           st.commits ? (double)st.jobs / st.commits : 0.0, (unsigned long long)st.max_batch_seen,
           p50, p99, r->wal_peak / 1048576.0, (unsigned long long)st.wal_checkpoints,
           (unsigned long long)st.wal_truncates,
           vrc == 0 ? db_audit_problem_name(vr.problem) : "not verified");
    fflush(stdout);
}

/* Runs one mode on a fresh database; returns mutations per second. */
static double
run_mode(const struct mode *m, const struct params *pa)
{
    const char *base = getenv("TMPDIR");
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s/vp-db-bench-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 0;
    }
    char path[PATH_MAX + 16];
    snprintf(path, sizeof(path), "%s/bench.db", dir);
    struct run r = {.w = calloc((size_t)pa->threads, sizeof(*r.w))};
    snprintf(r.wal, sizeof(r.wal), "%s-wal", path);
    struct db_options o = {.path = path,
                           .audit_key = key,
                           .audit_key_len = sizeof(key),
                           .commit_mode = m->commit,
                           .sync = m->sync};
    err e = {0};
    double rate = 0;
    if ((r.d = db_open(&o, &e))) {
        run_load(&r, pa);
        run_report(m, &r, pa);
        db_close(r.d);
        rate = r.ok / r.secs;
    } else {
        fprintf(stderr, "db_open: %s\n", e.detail);
    }
    for (int i = 0; i < pa->threads; i++)
        free(r.w[i].lat_us);
    free(r.w);
    nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    return rate;
}

static int
int_arg(int argc, char **argv, int i, int def, int min, int max)
{
    if (argc <= i)
        return def;
    char *end;
    errno = 0;
    long v = strtol(argv[i], &end, 10);
    if (errno || *end || v < min || v > max) {
        fprintf(stderr, "argument %d must be %d..%d\n", i, min, max);
        exit(2);
    }
    return (int)v;
}

int
main(int argc, char **argv)
{
    struct params pa = {int_arg(argc, argv, 1, 5, 1, 3600), int_arg(argc, argv, 2, 64, 1, 1024),
                        int_arg(argc, argv, 3, 4, 0, 256)};
    const char *only = argc > 4 ? argv[4] : "all";
    readers_hold = argc > 5 && !strcmp(argv[5], "hold");
    printf("db_bench: %d s per mode, %d writer threads, %d reader threads\n", pa.seconds,
           pa.threads, pa.readers);
    double rate[3] = {0};
    for (int i = 0; i < 3; i++)
        if (!strcmp(only, "all") || !strcmp(only, modes[i].name))
            rate[i] = run_mode(&modes[i], &pa);
    if (rate[0] > 0 && rate[2] > 0)
        printf("group-full / group-off = %.2f   group-full / single-full = %.1fx\n",
               rate[0] / rate[2], rate[1] > 0 ? rate[0] / rate[1] : 0.0);
    return 0;
}
