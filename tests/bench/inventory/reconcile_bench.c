/* inventory_reconcile_bench: what a complete inventory reconcile of a
 * 10,000-VM host costs — the virt snapshot, the diff against the cached
 * rows and the SQLite write, through server/inventory.c on a real database
 * file (synchronous=FULL, as in production) — as a ratio to the bare minimum
 * measured in the same run on the same connection: virConnectListAllDomains
 * + virDomainGetInfo on every domain.
 *
 *   inventory_reconcile_bench [ndomains]          (default 10000)
 *   inventory_reconcile_bench --write PATH [n]    only write the test-driver
 *                                                 file (for run.sh's HTTP part)
 *
 * Figures: "cold" is the first reconcile after connecting (every domain's
 * XML fetched, every row inserted); "warm" the periodic one when nothing
 * changed (XML cache valid, no row written); "full" the periodic safety net
 * that re-reads every domain's XML. Goal: warm <= 3x bare. Medians of
 * several runs; timings are noisy on a shared machine, so this prints and
 * exits 0 (not a ctest case). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../db/inventory.h"
#include "inventory.h"

enum { RUNS = 7 };

static double
now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double
median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(*v), cmp_double);
    return v[n / 2];
}

static void
die(const char *what, const err *e)
{
    fprintf(stderr, "%s: %s\n", what, e->detail);
    exit(1);
}

static void
write_host(const char *path, size_t n)
{
    err e = {0};
    struct virt_demo d;
    if (virt_demo_build(1, 1, n, &d, &e) < 0 || virt_demo_write_host(&d.hosts[0], path, &e) < 0)
        die("generating", &e);
    virt_demo_free(&d);
}

static double
time_bare(struct inventory *inv, int64_t id)
{
    double t[RUNS];
    err e = {0};
    for (int i = 0; i < RUNS; i++) {
        size_t n = 0;
        double t0 = now_s();
        if (virt_host_bare_scan(inventory_virt(inv), id, &n, &e) < 0)
            die("bare scan", &e);
        t[i] = now_s() - t0;
    }
    return median(t, RUNS);
}

/* Median of `runs` reconciles; *last gets the figures of the median run. */
static double
time_reconcile(struct inventory *inv, int64_t id, bool full, int runs,
               struct inventory_reconcile_stats *last)
{
    struct inventory_reconcile_stats st[RUNS];
    double t[RUNS];
    err e = {0};
    for (int i = 0; i < runs; i++) {
        if (inventory_reconcile(inv, id, full, 600000, &st[i], &e) < 0)
            die("reconcile", &e);
        t[i] = st[i].total_s;
    }
    double m = median(t, runs);
    for (int i = 0; i < runs; i++)
        if (st[i].total_s == m)
            *last = st[i];
    return m;
}

static void
print_row(const char *what, const struct inventory_reconcile_stats *s, double bare)
{
    printf("%-26s %8.4f s  %5.2fx bare  (snapshot %.4f, diff %.4f, sqlite %.4f; %zu XML "
           "fetched, %zu rows written)\n",
           what, s->total_s, s->total_s / bare, s->snapshot_s, s->diff_s, s->db_s, s->xml_fetched,
           s->written);
}

static db *
open_db(const char *dir)
{
    char path[600];
    snprintf(path, sizeof(path), "%s/bench.db", dir);
    unsigned char key[32];
    for (size_t i = 0; i < sizeof(key); i++)
        key[i] = (unsigned char)(rand() & 0xff);
    struct db_options o = {.path = path, .audit_key = key, .audit_key_len = sizeof(key)};
    err e = {0};
    db *d = db_open(&o, &e);
    if (!d)
        die("opening the database", &e);
    return d;
}

/* Registers the host and waits for its first (cold) reconcile. */
static int64_t
register_host(db *d, struct inventory *inv, const char *uri, double *t_connect)
{
    err e = {0};
    struct db_audit a = {.actor = "bench", .action = "host.create"};
    int64_t id = 0;
    double t0 = now_s();
    if (inventory_host_create(inv, "big", uri, &a, &id, &e) < 0 ||
        inventory_host_wait(inv, id, 600000, &e) < 0)
        die("connecting", &e);
    *t_connect = now_s() - t0;
    struct db_host *h = malloc(sizeof(*h));
    for (int i = 0; i < 6000; i++) { /* the first reconcile follows the connect */
        if (db_host_get(d, id, h, &e) < 0)
            die("reading the host", &e);
        if (h->reconciled_at[0])
            break;
        usleep(100000);
    }
    if (!h->reconciled_at[0])
        die("waiting for the first reconcile", &(err){.detail = "timeout"});
    printf("domains cached            %lld\n", (long long)h->alloc.vms);
    free(h);
    return id;
}

int
main(int argc, char **argv)
{
    if (argc > 2 && !strcmp(argv[1], "--write")) {
        write_host(argv[2], argc > 3 ? strtoul(argv[3], NULL, 10) : 10000);
        return 0;
    }
    size_t want = argc > 1 ? strtoul(argv[1], NULL, 10) : 10000;
    char dir[] = "/tmp/vp-inv-bench-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    char path[128], uri[160];
    snprintf(path, sizeof(path), "%s/big.xml", dir);
    snprintf(uri, sizeof(uri), "test://%s", path);
    write_host(path, want);
    db *d = open_db(dir);
    err e = {0};
    struct inventory_opts o = {.reconcile_s = 86400}; /* only the runs below */
    struct inventory *inv = inventory_start(d, &o, &e);
    if (!inv)
        die("starting the inventory", &e);
    double t_connect = 0;
    int64_t id = register_host(d, inv, uri, &t_connect);
    struct inventory_reconcile_stats cold, warm, full;
    if (inventory_last_reconcile(inv, id, &cold, &e) < 0)
        die("figures", &e);
    double bare = time_bare(inv, id);
    time_reconcile(inv, id, false, RUNS, &warm);
    time_reconcile(inv, id, true, 3, &full);
    double bare2 = time_bare(inv, id);
    printf("open (test driver)        %.3f s\n", t_connect);
    printf("bare list+GetInfo         %8.4f s  (again at the end: %.4f s)\n", bare, bare2);
    print_row("reconcile cold (import)", &cold, bare);
    print_row("reconcile warm (periodic)", &warm, bare);
    print_row("reconcile full XML re-read", &full, bare);
    inventory_stop(inv);
    db_close(d);
    static const char *const files[] = {"bench.db", "bench.db-wal", "bench.db-shm", "bench.db.lock",
                                        "big.xml"};
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        char f[700];
        snprintf(f, sizeof(f), "%s/%s", dir, files[i]);
        unlink(f);
    }
    rmdir(dir);
    return 0;
}
