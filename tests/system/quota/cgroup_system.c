/* quota_cgroup_system: the cgroup v2 backend (server/quota/cgroup.c) on a
 * real cgroup v2, inside the TCG guest of tests/system/lib/cgroup-guest-run.sh
 * (cgroup_no_v1=all, 1 vCPU, 256 MiB, scratch disk /dev/vda).
 *
 * It creates the tenant partition with the backend, writes the limits, then
 * checks that the kernel enforces them on processes placed below it:
 *   - a CPU burner is throttled to cpu.max (cpu.stat nr_throttled and
 *     throttled_usec > 0; usage_usec over the wall time near the quota);
 *   - a memory hog above memory.max is OOM-killed (memory.events oom_kill);
 *   - a direct (O_DIRECT) read of /dev/vda is throttled by io.max (rate far
 *     below an unthrottled read of the same disk, near rbps);
 *   - forks beyond pids.max fail;
 * and that the backend and the sampler read the usage back, that limits
 * reset to "max" and that the partition is removed. Exit 0 when everything holds; 1 on the first
 * failure (the line before says which); 2 when not run on cgroup v2.
 * The ratio checks have wide margins: they tell "enforced" from "not
 * enforced" (a factor of 5 or more), not the precision of the kernel. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cgroup.h"
#include "db.h"
#include "identity.h"
#include "sampler.h"

#define SLUG "systest"
#define CPU_QUOTA_US 20000 /* 0.2 of a core per 100 ms */
#define MEM_MAX (48LL << 20)
#define PIDS_MAX 32
#define RBPS (1LL << 20) /* 1 MiB/s */
#define READ_BYTES (3LL << 20)

static char part[512];
static int failures;

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (cond) {                                                                                \
            printf("ok   ");                                                                       \
        } else {                                                                                   \
            printf("FAIL ");                                                                       \
            failures++;                                                                            \
        }                                                                                          \
        printf(__VA_ARGS__);                                                                       \
        printf("\n");                                                                              \
        fflush(stdout);                                                                            \
    } while (0)

static double
now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int
slurp(const char *path, char *buf, size_t n)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    ssize_t got = read(fd, buf, n - 1);
    close(fd);
    buf[got > 0 ? got : 0] = '\0';
    return got < 0 ? -1 : 0;
}

static int
put(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY);
    if (fd < 0)
        return -1;
    ssize_t n = write(fd, text, strlen(text));
    close(fd);
    return n == (ssize_t)strlen(text) ? 0 : -1;
}

/* part/<name>: a child cgroup for one experiment (like a VM's scope). */
static void
child_cgroup(const char *name, char *out, size_t n)
{
    snprintf(out, n, "%s/%s", part, name);
    if (mkdir(out, 0755) < 0 && errno != EEXIST)
        printf("mkdir %s: %s\n", out, strerror(errno));
}

/* In a child process: move myself into cgroup dir. */
static void
join(const char *dir)
{
    char p[600], pid[32];
    snprintf(p, sizeof(p), "%s/cgroup.procs", dir);
    snprintf(pid, sizeof(pid), "%d", getpid());
    if (put(p, pid) < 0) {
        printf("cannot join %s: %s\n", dir, strerror(errno));
        _exit(3);
    }
}

static int64_t
stat_key(const char *file, const char *key)
{
    char p[600], buf[4096];
    snprintf(p, sizeof(p), "%s/%s", part, file);
    if (slurp(p, buf, sizeof(buf)) < 0)
        return -1;
    size_t kl = strlen(key);
    for (char *l = buf; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
        if (!strncmp(l, key, kl) && l[kl] == ' ')
            return strtoll(l + kl + 1, NULL, 10);
    return -1;
}

/* ---- the experiments ---- */

static void
cpu_burner(void)
{
    char dir[600];
    child_cgroup("burn", dir, sizeof(dir));
    int64_t u0 = stat_key("cpu.stat", "usage_usec");
    double t0 = now_s();
    pid_t pid = fork();
    if (pid == 0) {
        join(dir);
        volatile unsigned long x = 0;
        while (now_s() - t0 < 3.0)
            x++;
        _exit(0);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    double wall = now_s() - t0;
    int64_t used = stat_key("cpu.stat", "usage_usec") - u0;
    int64_t thr = stat_key("cpu.stat", "throttled_usec");
    int64_t nthr = stat_key("cpu.stat", "nr_throttled");
    double share = (double)used / (wall * 1e6);
    printf("cpu: %.2f s wall, usage %" PRId64 " us (%.3f of a core, cpu.max %.2f), "
           "throttled %" PRId64 " us in %" PRId64 " periods\n",
           wall, used, share, CPU_QUOTA_US / 100000.0, thr, nthr);
    CHECK(nthr > 0 && thr > 0, "cpu: the burner was throttled (cpu.stat nr_throttled > 0)");
    CHECK(share < 0.2 * 1.5 && share > 0.2 * 0.3,
          "cpu: it got about its 0.2 core (%.3f), not the whole vCPU", share);
    rmdir(dir);
}

static void
memory_hog(void)
{
    char dir[600];
    child_cgroup("hog", dir, sizeof(dir));
    int64_t k0 = stat_key("memory.events", "oom_kill");
    pid_t pid = fork();
    if (pid == 0) {
        join(dir);
        size_t chunk = 1 << 20;
        for (int i = 0; i < 160; i++) { /* 160 MiB in a 48 MiB partition */
            char *p = mmap(NULL, chunk, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            if (p == MAP_FAILED)
                _exit(4);
            memset(p, i + 1, chunk);
        }
        _exit(0); /* survived: memory.max did not hold */
    }
    int st = 0;
    waitpid(pid, &st, 0);
    int64_t kills = stat_key("memory.events", "oom_kill") - k0;
    printf("memory: hog %s (signal %d), memory.events oom_kill +%" PRId64 "\n",
           WIFSIGNALED(st) ? "killed" : "exited", WIFSIGNALED(st) ? WTERMSIG(st) : 0, kills);
    CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "memory: the hog was killed (SIGKILL)");
    CHECK(kills >= 1, "memory: memory.events oom_kill >= 1 in the partition");
    rmdir(dir);
}

/* Reads READ_BYTES of the device with O_DIRECT from `offset`; seconds or -1. */
static double
direct_read(const char *dev, off_t offset)
{
    int fd = open(dev, O_RDONLY | O_DIRECT);
    if (fd < 0)
        return -1;
    void *buf = NULL;
    if (posix_memalign(&buf, 4096, 65536)) {
        close(fd);
        return -1;
    }
    double t0 = now_s();
    long long done = 0;
    while (done < READ_BYTES) {
        ssize_t n = pread(fd, buf, 65536, offset + done);
        if (n <= 0)
            break;
        done += n;
    }
    double dt = now_s() - t0;
    free(buf);
    close(fd);
    return done == READ_BYTES ? dt : -1;
}

static void
io_reader(const char *dev)
{
    char dir[600];
    child_cgroup("io", dir, sizeof(dir));
    double base = direct_read(dev, 32LL << 20); /* the root cgroup: no limit */
    int64_t r0 = 0;
    struct quota_cgroup_usage u;
    err e = {0};
    if (quota_cgroup_read(NULL, SLUG, &u, &e) == 0)
        r0 = u.io_rbytes;
    double t0 = now_s();
    pid_t pid = fork();
    if (pid == 0) {
        join(dir);
        _exit(direct_read(dev, 0) < 0 ? 5 : 0);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    double dt = now_s() - t0;
    quota_cgroup_read(NULL, SLUG, &u, &e);
    double rate = READ_BYTES / dt, base_rate = base > 0 ? READ_BYTES / base : 0;
    printf("io: unthrottled %.0f KiB/s, in the partition %.0f KiB/s (io.max rbps %lld KiB/s), "
           "io.stat rbytes +%" PRId64 "\n",
           base_rate / 1024, rate / 1024, RBPS / 1024, u.io_rbytes - r0);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "io: the direct read completed");
    CHECK(rate < RBPS * 1.6, "io: the read was held near io.max (%.0f KiB/s)", rate / 1024);
    CHECK(base_rate > 5 * rate, "io: an unthrottled read of the same disk is far faster");
    CHECK(u.io_rbytes - r0 >= READ_BYTES, "io: io.stat counted the bytes in the partition");
    rmdir(dir);
}

static void
fork_bomb(void)
{
    char dir[600];
    child_cgroup("pids", dir, sizeof(dir));
    pid_t pid = fork();
    if (pid == 0) {
        join(dir);
        int made = 0, err_no = 0;
        pid_t kids[64];
        for (int i = 0; i < 64; i++) {
            pid_t k = fork();
            if (k == 0) {
                pause();
                _exit(0);
            }
            if (k < 0) {
                err_no = errno;
                break;
            }
            kids[made++] = k;
        }
        for (int i = 0; i < made; i++)
            kill(kids[i], SIGKILL), waitpid(kids[i], NULL, 0);
        printf("pids: %d forks before '%s'\n", made, err_no ? strerror(err_no) : "no error");
        _exit(made < PIDS_MAX && err_no == EAGAIN ? 0 : 6);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "pids: forks beyond pids.max %d failed", PIDS_MAX);
    rmdir(dir);
}

/* The sampler (server/quota/sampler.c) records the partition's usage for
 * the tenant whose slug it carries, into a real database file. */
static int
keep_sample(void *arg, const struct quota_sample *s, err *e)
{
    *(struct quota_sample *)arg = *s;
    return 0;
}

static void
sampler(bool disk)
{
    static const unsigned char key[32] = "quota-system-test-audit-key-0123";
    struct db_options o = {.path = "/tmp/quota-system.db", .audit_key = key, .audit_key_len = 32};
    err e = {0};
    db *d = db_open(&o, &e);
    struct db_audit a = {.actor = "test", .action = "tenant.create"};
    int64_t tid = 0;
    int n = -1;
    struct quota_sample got = {0};
    int rc = !d || db_tenant_create(d, SLUG, "System test", &a, &tid, &e) < 0 ||
             db_tenant_create(d, "nopartition", "No partition", &a, NULL, &e) < 0 ||
             quota_sampler_run(d, NULL, 0, 100, &n, &e) < 0 ||
             db_quota_samples_latest(d, tid, keep_sample, &got, &e) < 0;
    printf("sampler: %d sample(s); mode %s, cpu %" PRId64 " us, oom_kills %" PRId64
           ", io read %" PRId64 " B%s%s\n",
           n, db_quota_mode_name(got.mode), got.cpu_usage_usec, got.oom_kills, got.io_read_bytes,
           rc ? ": " : "", rc ? e.detail : "");
    CHECK(rc == 0 && n == 1 && got.tenant_id == tid && got.mode == QUOTA_MODE_CGROUP &&
              got.cpu_usage_usec > 0 && got.oom_kills >= 1 &&
              (!disk || got.io_read_bytes >= READ_BYTES),
          "sampler: the partition's usage was recorded for its tenant only");
    db_close(d);
}

/* ---- setup and teardown through the backend ---- */

static int
dev_of(const char *name, unsigned *maj, unsigned *min)
{
    char p[128], buf[32];
    snprintf(p, sizeof(p), "/sys/block/%s/dev", name);
    if (slurp(p, buf, sizeof(buf)) < 0)
        return -1;
    char *colon = strchr(buf, ':');
    if (!colon)
        return -1;
    *maj = (unsigned)strtoul(buf, NULL, 10);
    *min = (unsigned)strtoul(colon + 1, NULL, 10);
    return 0;
}

static bool
file_has(const char *file, const char *want)
{
    char p[600], buf[512];
    snprintf(p, sizeof(p), "%s/%s", part, file);
    return slurp(p, buf, sizeof(buf)) == 0 && strstr(buf, want);
}

static int
apply(bool with_io, unsigned maj, unsigned min)
{
    struct quota_io_limit io = {maj, min, RBPS, -1, -1, -1};
    struct quota_cgroup_limits l = {.cpu_quota_us = CPU_QUOTA_US,
                                    .cpu_period_us = 100000,
                                    .memory_max_bytes = MEM_MAX,
                                    .pids_max = PIDS_MAX,
                                    .io_weight = -1,
                                    .io = with_io ? &io : NULL,
                                    .nio = with_io ? 1 : 0};
    err e = {0};
    int rc = quota_cgroup_apply(NULL, SLUG, &l, &e);
    CHECK(rc == 0, "apply: partition %s created and limits written%s%s", part, rc ? ": " : "",
          rc ? e.detail : "");
    if (rc)
        return -1;
    char want[64];
    snprintf(want, sizeof(want), "%u:%u rbps=%lld", maj, min, RBPS);
    CHECK(file_has("cpu.max", "20000 100000"), "apply: cpu.max = 20000 100000");
    CHECK(file_has("memory.max", "50331648"), "apply: memory.max = 48 MiB");
    CHECK(file_has("pids.max", "32"), "apply: pids.max = 32");
    if (with_io)
        CHECK(file_has("io.max", want), "apply: io.max = %s", want);
    return 0;
}

static void
reset_and_remove(void)
{
    struct quota_cgroup_limits none = {-1, 0, -1, -1, -1, NULL, 0};
    err e = {0};
    int rc = quota_cgroup_apply(NULL, SLUG, &none, &e);
    CHECK(rc == 0 && file_has("cpu.max", "max 100000") && file_has("memory.max", "max") &&
              file_has("pids.max", "max"),
          "reset: limits back to max%s%s", rc ? ": " : "", rc ? e.detail : "");
    rc = quota_cgroup_remove(NULL, SLUG, &e);
    struct stat st;
    CHECK(rc == 0 && stat(part, &st) < 0, "remove: the partition is gone%s%s", rc ? ": " : "",
          rc ? e.detail : "");
}

int
main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    struct statfs sf;
    if (statfs(QUOTA_CGROUP_ROOT, &sf) < 0 || (unsigned long)sf.f_type != CGROUP2_SUPER_MAGIC) {
        printf("not on cgroup v2: run me through tests/system/lib/cgroup-guest-run.sh\n");
        return 2;
    }
    err e = {0};
    CHECK(quota_cgroup_probe(NULL, QUOTA_CTRL_ALL, &e) == 0,
          "probe: %s is cgroup v2 with "
          "cpu, memory, io, pids%s%s",
          QUOTA_CGROUP_ROOT, e.detail[0] ? ": " : "", e.detail);
    if (quota_cgroup_path(NULL, SLUG, part, sizeof(part), &e) < 0)
        return 1;
    unsigned maj = 0, min = 0;
    bool disk = dev_of("vda", &maj, &min) == 0;
    if (!disk)
        printf("io: NOT TESTED: the guest has no /dev/vda (io.max needs a block device)\n");
    if (apply(disk, maj, min) < 0)
        return 1;
    cpu_burner();
    memory_hog();
    if (disk)
        io_reader("/dev/vda");
    fork_bomb();
    sampler(disk);
    struct quota_cgroup_usage u;
    int rc = quota_cgroup_read(NULL, SLUG, &u, &e);
    printf("usage: cpu %" PRId64 " us (throttled %" PRId64 "), memory %" PRId64
           " B, oom_kill %" PRId64 ", io read %" PRId64 " B, pids %" PRId64 "\n",
           u.cpu_usage_usec, u.cpu_throttled_usec, u.memory_current, u.memory_oom_kill, u.io_rbytes,
           u.pids_current);
    CHECK(rc == 0 && u.cpu_usage_usec > 0 && u.cpu_throttled_usec > 0 && u.memory_oom_kill >= 1,
          "read: the backend reads the usage back");
    reset_and_remove();
    printf("%s: %d failure(s)\n", failures ? "FAILED" : "PASSED", failures);
    return failures ? 1 : 0;
}
