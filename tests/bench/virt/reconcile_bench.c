/* reconcile_bench: what a full inventory snapshot of a 10,000-VM host costs,
 * as a ratio to the bare minimum (virConnectListAllDomains + virDomainGetInfo
 * on every domain) measured in the same run on the same connection.
 *
 *   build-x/tests/bench/virt/virt_reconcile_bench [ndomains]
 *   build-x/tests/bench/virt/virt_reconcile_bench --uri qemu+tcp://127.0.0.1:16509/system
 *
 * The first form generates a test-driver host with ndomains (default 10,000)
 * domains; the second measures an existing host (e.g. a real libvirtd with
 * many defined domains), where every per-domain call is a round trip.
 *
 * Goal: warm snapshot <= 3x bare (the SQLite upsert comes on top). Not a
 * ctest case: timings are noisy on a shared machine, so this prints numbers
 * and exits 0; each figure is the median of several runs. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "virt.h"

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

static double
time_bare(virt_hosts *h, size_t *n)
{
    double t[RUNS];
    err e = {0};
    for (int i = 0; i < RUNS; i++) {
        double t0 = now_s();
        if (virt_host_bare_scan(h, 1, n, &e) < 0)
            die("bare scan", &e);
        t[i] = now_s() - t0;
    }
    return median(t, RUNS);
}

static double
time_snapshot(virt_hosts *h, unsigned flags, int runs, size_t *ndom, size_t *fetched)
{
    double t[RUNS];
    err e = {0};
    for (int i = 0; i < runs; i++) {
        struct virt_inventory inv;
        double t0 = now_s();
        if (virt_host_snapshot(h, 1, flags, &inv, &e) < 0)
            die("snapshot", &e);
        t[i] = now_s() - t0;
        *ndom = inv.ndomains;
        *fetched = inv.xml_fetched;
        virt_inventory_free(&inv);
    }
    return median(t, runs);
}

/* Writes a test-driver host with `want` domains; fills uri. */
static void
generate(size_t want, char *dir, char *path, size_t pathcap, char *uri, size_t uricap)
{
    err e = {0};
    struct virt_demo d;
    if (!mkdtemp(dir))
        exit(1);
    snprintf(path, pathcap, "%s/big.xml", dir);
    snprintf(uri, uricap, "test://%s", path);
    if (virt_demo_build(1, 1, want, &d, &e) < 0 || virt_demo_write_host(&d.hosts[0], path, &e) < 0)
        die("generating", &e);
    virt_demo_free(&d);
}

int
main(int argc, char **argv)
{
    bool given = argc > 2 && strcmp(argv[1], "--uri") == 0;
    size_t want = argc > 1 && !given ? (size_t)strtoul(argv[1], NULL, 10) : 10000;
    char dir[] = "/tmp/vp-bench-XXXXXX";
    char path[128] = "", uri[1100];
    double t0 = now_s();
    if (given)
        snprintf(uri, sizeof(uri), "%s", argv[2]);
    else
        generate(want, dir, path, sizeof(path), uri, sizeof(uri));
    double t_gen = now_s() - t0;
    err e = {0};

    virt_hosts *h = virt_hosts_new(NULL, NULL, &e);
    t0 = now_s();
    if (!h || virt_hosts_add(h, 1, uri, &e) < 0 ||
        virt_hosts_wait(h, 1, VIRT_HOST_CONNECTED, 600000, &e) < 0)
        die("connecting", &e);
    double t_open = now_s() - t0;

    size_t n_bare = 0, n_snap = 0, fetched = 0;
    double bare = time_bare(h, &n_bare);
    double cold = time_snapshot(h, 0, 1, &n_snap, &fetched);
    size_t cold_fetched = fetched;
    double warm = time_snapshot(h, 0, RUNS, &n_snap, &fetched);
    size_t warm_fetched = fetched;
    double warm_dom = time_snapshot(h, VIRT_SNAPSHOT_DOMAINS_ONLY, RUNS, &n_snap, &fetched);
    double full = time_snapshot(h, VIRT_SNAPSHOT_FULL, 3, &n_snap, &fetched);
    double bare2 = time_bare(h, &n_bare); /* again, to see drift */

    printf("domains                 %zu (bare saw %zu)\n", n_snap, n_bare);
    printf("host                    %s\n", uri);
    printf("generate + write file   %.3f s\n", t_gen);
    printf("open                    %.3f s\n", t_open);
    printf("bare list+GetInfo       %.4f s   (again at the end: %.4f s)\n", bare, bare2);
    printf("snapshot cold           %.4f s   %.2fx bare  (%zu XML fetched)\n", cold, cold / bare,
           cold_fetched);
    printf("snapshot warm           %.4f s   %.2fx bare  (%zu XML fetched)\n", warm, warm / bare,
           warm_fetched);
    printf("snapshot warm, no pools %.4f s   %.2fx bare\n", warm_dom, warm_dom / bare);
    printf("snapshot FULL (refetch) %.4f s   %.2fx bare\n", full, full / bare);
    virt_hosts_free(h);
    if (!given) {
        unlink(path);
        rmdir(dir);
    }
    return 0;
}
