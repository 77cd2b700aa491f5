/* cgroup: tenant partitions on a cgroup v2 tree by plain file I/O. See
 * cgroup.h. Every directory is statfs()-checked before anything is created or
 * written in it, and files are opened without O_CREAT: on anything that is
 * not cgroup2 (a tmpfs, a v1 hierarchy) nothing is ever written. */
#include "cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

enum { PATH_CAP = 1024, READ_CAP = 65536 };

static const char *const ctrl_names[] = {"cpu", "memory", "io", "pids"};
enum { NCTRL = 4 };

/* ---- filesystem checks ---- */

static const char *
fs_name(long type, char *buf, size_t n)
{
    switch ((unsigned long)type) {
    case TMPFS_MAGIC:
        return "tmpfs";
    case CGROUP_SUPER_MAGIC:
        return "a cgroup v1 hierarchy";
    case SYSFS_MAGIC:
        return "sysfs";
    case PROC_SUPER_MAGIC:
        return "procfs";
    case EXT4_SUPER_MAGIC:
        return "ext2/3/4";
    default:
        snprintf(buf, n, "filesystem type 0x%lx", (unsigned long)type);
        return buf;
    }
}

/* 0 when `path` is on cgroup2; else ERR_UNAVAILABLE (ERR_NOT_FOUND when it
 * does not exist) with a sentence naming the path and what it is. */
static int
check_v2(const char *path, err *e)
{
    struct statfs sf;
    if (statfs(path, &sf) < 0) {
        int saved = errno;
        return err_set(e, saved == ENOENT ? ERR_NOT_FOUND : ERR_UNAVAILABLE,
                       "%s cannot be examined: %s", path, strerror(saved));
    }
    if ((unsigned long)sf.f_type == CGROUP2_SUPER_MAGIC)
        return 0;
    char buf[48];
    return err_set(e, ERR_UNAVAILABLE, "%s is not a cgroup v2 filesystem (%s)", path,
                   fs_name((long)sf.f_type, buf, sizeof(buf)));
}

/* ---- small file I/O ---- */

/* Reads `path` into buf[n] (NUL-terminated); bytes read or -1 (ERR_NOT_FOUND
 * when missing). */
static long
read_text(const char *path, char *buf, size_t n, err *e)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return err_set(e, errno == ENOENT ? ERR_NOT_FOUND : ERR_UNAVAILABLE, "cannot read %s: %s",
                       path, strerror(errno));
    size_t len = 0;
    ssize_t got;
    while (len + 1 < n && (got = read(fd, buf + len, n - 1 - len)) > 0)
        len += (size_t)got;
    close(fd);
    buf[len] = '\0';
    return (long)len;
}

/* Writes `text` to an existing cgroup file in one write(). Never creates. */
static int
write_text(const char *path, const char *text, err *e)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return err_set(e, errno == ENOENT ? ERR_NOT_FOUND : ERR_UNAVAILABLE, "cannot open %s: %s",
                       path, strerror(errno));
    size_t len = strlen(text);
    ssize_t put = write(fd, text, len);
    int saved = errno;
    close(fd);
    if (put == (ssize_t)len)
        return 0;
    if (put < 0 && (saved == EINVAL || saved == ENODEV || saved == ERANGE))
        return err_set(e, ERR_INVALID, "the kernel refused '%s' for %s: %s", text, path,
                       strerror(saved));
    return err_set(e, ERR_UNAVAILABLE, "cannot write '%s' to %s: %s", text, path,
                   put < 0 ? strerror(saved) : "short write");
}

static int
join(char *buf, size_t n, const char *dir, const char *name, err *e)
{
    int len = snprintf(buf, n, "%s/%s", dir, name);
    if (len < 0 || (size_t)len >= n)
        return err_set(e, ERR_INVALID, "cgroup path too long");
    return 0;
}

/* Is `word` one of the space-separated words of `list`? */
static bool
has_word(const char *list, const char *word)
{
    size_t wl = strlen(word);
    for (const char *p = list; (p = strstr(p, word)) != NULL; p += wl) {
        bool start = p == list || p[-1] == ' ' || p[-1] == '\n';
        bool end = p[wl] == '\0' || p[wl] == ' ' || p[wl] == '\n';
        if (start && end)
            return true;
    }
    return false;
}

/* ---- controllers ---- */

static int
controllers_of(const char *dir, const char *file, char *buf, size_t n, err *e)
{
    char path[PATH_CAP];
    if (join(path, sizeof(path), dir, file, e) < 0)
        return -1;
    return read_text(path, buf, n, e) < 0 ? -1 : 0;
}

/* Every controller of `ctrls` must be in dir's cgroup.controllers. */
static int
require_available(const char *dir, unsigned ctrls, err *e)
{
    char have[256];
    if (controllers_of(dir, "cgroup.controllers", have, sizeof(have), e) < 0)
        return -1;
    have[strcspn(have, "\n")] = '\0';
    for (int i = 0; i < NCTRL; i++)
        if ((ctrls & (1u << i)) && !has_word(have, ctrl_names[i]))
            return err_set(e, ERR_UNAVAILABLE,
                           "the cgroup v2 controller '%s' is not available in %s "
                           "(cgroup.controllers: %s)",
                           ctrl_names[i], dir, have[0] ? have : "none");
    return 0;
}

/* Enables `ctrls` for dir's children (cgroup.subtree_control), one at a time
 * so an error names the controller. With !required, refusals are ignored
 * (the partition itself: limits on it hold whether or not its children get
 * controllers of their own). */
static int
enable_for_children(const char *dir, unsigned ctrls, bool required, err *e)
{
    char on[256], path[PATH_CAP], cmd[16];
    if (controllers_of(dir, "cgroup.subtree_control", on, sizeof(on), e) < 0 ||
        join(path, sizeof(path), dir, "cgroup.subtree_control", e) < 0)
        return -1;
    for (int i = 0; i < NCTRL; i++) {
        if (!(ctrls & (1u << i)) || has_word(on, ctrl_names[i]))
            continue;
        snprintf(cmd, sizeof(cmd), "+%s", ctrl_names[i]);
        err we = {0};
        if (write_text(path, cmd, &we) == 0 || !required)
            continue;
        return err_set(e, ERR_UNAVAILABLE, "cannot enable the '%s' controller in %s: %s",
                       ctrl_names[i], path, we.detail);
    }
    return 0;
}

/* Controllers the limits need (a limit of -1 needs none). */
static unsigned
needed_ctrls(const struct quota_cgroup_limits *l)
{
    unsigned c = 0;
    if (l->cpu_quota_us >= 0)
        c |= QUOTA_CTRL_CPU;
    if (l->memory_max_bytes >= 0)
        c |= QUOTA_CTRL_MEMORY;
    if (l->pids_max >= 0)
        c |= QUOTA_CTRL_PIDS;
    if (l->io_weight >= 0)
        c |= QUOTA_CTRL_IO;
    for (size_t i = 0; i < l->nio; i++) {
        const struct quota_io_limit *d = &l->io[i];
        if (d->rbps >= 0 || d->wbps >= 0 || d->riops >= 0 || d->wiops >= 0)
            c |= QUOTA_CTRL_IO;
    }
    return c;
}

/* ---- paths ---- */

static const char *
root_of(const struct quota_cgroup_cfg *c)
{
    return c && c->root ? c->root : QUOTA_CGROUP_ROOT;
}

static int
check_slug(const char *slug, err *e)
{
    size_t n = slug ? strlen(slug) : 0;
    bool ok = n >= 1 && n <= 63;
    for (size_t i = 0; ok && i < n; i++)
        ok = (slug[i] >= 'a' && slug[i] <= 'z') || (slug[i] >= '0' && slug[i] <= '9') ||
             slug[i] == '-';
    return ok ? 0 : err_set(e, ERR_INVALID, "a tenant slug is [a-z0-9-]{1,63}");
}

/* The template: relative, exactly one "%s", no other '%', no empty, "." or
 * ".." component. */
static int
check_template(const char *t, err *e)
{
    const char *s = strstr(t, "%s");
    bool ok = t[0] && t[0] != '/' && s && !strchr(s + 2, '%') && strchr(t, '%') == s &&
              !strstr(t, "//") && t[strlen(t) - 1] != '/';
    for (const char *p = t; ok && *p; p = strchr(p, '/') ? strchr(p, '/') + 1 : p + strlen(p)) {
        size_t len = strcspn(p, "/");
        ok = !(len == 1 && p[0] == '.') && !(len == 2 && p[0] == '.' && p[1] == '.');
    }
    return ok ? 0
              : err_set(e, ERR_INVALID,
                        "the cgroup partition template must be a relative path with one %%s");
}

int
quota_cgroup_path(const struct quota_cgroup_cfg *c, const char *slug, char *buf, size_t n, err *e)
{
    const char *t = c && c->partition ? c->partition : QUOTA_CGROUP_PARTITION;
    const char *root = root_of(c);
    if (check_slug(slug, e) < 0 || check_template(t, e) < 0)
        return -1;
    if (root[0] != '/')
        return err_set(e, ERR_INVALID, "the cgroup root must be an absolute path");
    const char *s = strstr(t, "%s");
    int len = snprintf(buf, n, "%s/%.*s%s%s", root, (int)(s - t), t, slug, s + 2);
    if (len < 0 || (size_t)len >= n)
        return err_set(e, ERR_INVALID, "cgroup path too long");
    return 0;
}

/* ---- probe ---- */

int
quota_cgroup_probe(const struct quota_cgroup_cfg *c, unsigned ctrls, err *e)
{
    const char *root = root_of(c);
    if (check_v2(root, e) < 0) {
        if (e)
            e->kind = ERR_UNAVAILABLE;
        return -1;
    }
    return require_available(root, ctrls, e);
}

/* ---- apply ---- */

/* Creates `dir` (whose parent was checked to be cgroup2) when missing. */
static int
make_child(const char *dir, err *e)
{
    if (mkdir(dir, 0755) < 0 && errno != EEXIST)
        return err_set(e, ERR_UNAVAILABLE, "cannot create the cgroup %s: %s", dir, strerror(errno));
    err ce = {0};
    if (check_v2(dir, &ce) == 0)
        return 0;
    return err_set(e, ERR_UNAVAILABLE, "%s", ce.detail);
}

/* From the root down to the partition `part` (root + "/" + relative path):
 * each level is checked, offers `ctrls` and enables them for its children. */
static int
make_partition(const char *root, const char *part, unsigned ctrls, err *e)
{
    char cur[PATH_CAP];
    snprintf(cur, sizeof(cur), "%s", root);
    for (const char *p = part + strlen(root) + 1;;) {
        if (check_v2(cur, e) < 0) {
            if (e)
                e->kind = ERR_UNAVAILABLE;
            return -1;
        }
        if (require_available(cur, ctrls, e) < 0 || enable_for_children(cur, ctrls, true, e) < 0)
            return -1;
        const char *slash = strchr(p, '/');
        size_t len = slash ? (size_t)(slash - p) : strlen(p), cl = strlen(cur);
        if (cl + 1 + len >= sizeof(cur))
            return err_set(e, ERR_INVALID, "cgroup path too long");
        cur[cl] = '/';
        memcpy(cur + cl + 1, p, len);
        cur[cl + 1 + len] = '\0';
        if (make_child(cur, e) < 0)
            return -1;
        if (!slash)
            break;
        p = slash + 1;
    }
    /* for the VMs' own cgroups below the partition, where the kernel allows */
    return enable_for_children(cur, ctrls, false, e);
}

static const char *
fmt_limit(char *buf, size_t n, int64_t v)
{
    if (v < 0)
        return "max";
    snprintf(buf, n, "%" PRId64, v);
    return buf;
}

/* One file of the partition. A reset to "max" of a controller that is not
 * enabled (the file is absent) has nothing to undo and is skipped. */
static int
write_limit(const char *dir, const char *file, const char *value, bool needed, err *e)
{
    char path[PATH_CAP];
    if (join(path, sizeof(path), dir, file, e) < 0)
        return -1;
    err we = {0};
    if (write_text(path, value, &we) == 0 || (we.kind == ERR_NOT_FOUND && !needed))
        return 0;
    if (we.kind == ERR_NOT_FOUND)
        return err_set(e, ERR_UNAVAILABLE, "%s does not exist (controller not enabled)", path);
    if (e)
        *e = we;
    return -1;
}

static int
write_io(const char *dir, const struct quota_cgroup_limits *l, err *e)
{
    for (size_t i = 0; i < l->nio; i++) {
        const struct quota_io_limit *d = &l->io[i];
        char v[4][24], line[160];
        snprintf(line, sizeof(line), "%u:%u rbps=%s wbps=%s riops=%s wiops=%s", d->major, d->minor,
                 fmt_limit(v[0], sizeof(v[0]), d->rbps), fmt_limit(v[1], sizeof(v[1]), d->wbps),
                 fmt_limit(v[2], sizeof(v[2]), d->riops), fmt_limit(v[3], sizeof(v[3]), d->wiops));
        bool set = d->rbps >= 0 || d->wbps >= 0 || d->riops >= 0 || d->wiops >= 0;
        if (write_limit(dir, "io.max", line, set, e) < 0)
            return -1;
    }
    return 0;
}

static int
write_limits(const char *dir, const struct quota_cgroup_limits *l, err *e)
{
    char a[24], b[48];
    int64_t period = l->cpu_period_us > 0 ? l->cpu_period_us : QUOTA_CGROUP_PERIOD_US;
    char cpu[64];
    snprintf(cpu, sizeof(cpu), "%s %" PRId64, fmt_limit(a, sizeof(a), l->cpu_quota_us), period);
    if (write_limit(dir, "cpu.max", cpu, l->cpu_quota_us >= 0, e) < 0 ||
        write_limit(dir, "memory.max", fmt_limit(a, sizeof(a), l->memory_max_bytes),
                    l->memory_max_bytes >= 0, e) < 0 ||
        write_limit(dir, "pids.max", fmt_limit(a, sizeof(a), l->pids_max), l->pids_max >= 0, e) < 0)
        return -1;
    if (l->io_weight >= 0) {
        snprintf(b, sizeof(b), "default %" PRId64, l->io_weight);
        if (write_limit(dir, "io.weight", b, true, e) < 0)
            return -1;
    }
    return write_io(dir, l, e);
}

int
quota_cgroup_apply(const struct quota_cgroup_cfg *c, const char *slug,
                   const struct quota_cgroup_limits *l, err *e)
{
    char part[PATH_CAP];
    if (quota_cgroup_path(c, slug, part, sizeof(part), e) < 0 ||
        make_partition(root_of(c), part, needed_ctrls(l), e) < 0)
        return -1;
    return write_limits(part, l, e);
}

/* ---- usage ---- */

/* The number after "key " on a line of text; 0 when absent or malformed. */
static int64_t
kv_get(const char *text, const char *key)
{
    size_t kl = strlen(key);
    for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
        if (strncmp(p, key, kl) || p[kl] != ' ')
            continue;
        char *end = NULL;
        errno = 0;
        long long v = strtoll(p + kl + 1, &end, 10);
        return errno || end == p + kl + 1 || v < 0 ? 0 : v;
    }
    return 0;
}

/* Sums "name=value" fields of io.stat over all device lines. */
static void
io_stat_sum(const char *text, struct quota_cgroup_usage *u)
{
    static const char *const keys[] = {"rbytes=", "wbytes=", "rios=", "wios="};
    int64_t *dst[] = {&u->io_rbytes, &u->io_wbytes, &u->io_rios, &u->io_wios};
    for (const char *p = text; *p; p++) {
        if (p != text && p[-1] != ' ')
            continue;
        for (int k = 0; k < 4; k++) {
            size_t kl = strlen(keys[k]);
            if (strncmp(p, keys[k], kl))
                continue;
            char *end = NULL;
            errno = 0;
            long long v = strtoll(p + kl, &end, 10);
            if (!errno && end != p + kl && v > 0)
                *dst[k] += v;
        }
    }
}

/* The text of dir/file into buf, "" when the file does not exist. */
static int
read_opt(const char *dir, const char *file, char *buf, size_t n, err *e)
{
    char path[PATH_CAP];
    err re = {0};
    buf[0] = '\0';
    if (join(path, sizeof(path), dir, file, e) < 0)
        return -1;
    if (read_text(path, buf, n, &re) >= 0 || re.kind == ERR_NOT_FOUND)
        return 0;
    if (e)
        *e = re;
    return -1;
}

static int
read_all(const char *dir, char *buf, struct quota_cgroup_usage *u, err *e)
{
    if (read_opt(dir, "cpu.stat", buf, READ_CAP, e) < 0)
        return -1;
    u->cpu_usage_usec = kv_get(buf, "usage_usec");
    u->cpu_throttled_usec = kv_get(buf, "throttled_usec");
    u->cpu_nr_periods = kv_get(buf, "nr_periods");
    u->cpu_nr_throttled = kv_get(buf, "nr_throttled");
    if (read_opt(dir, "memory.events", buf, READ_CAP, e) < 0)
        return -1;
    u->memory_oom = kv_get(buf, "oom");
    u->memory_oom_kill = kv_get(buf, "oom_kill");
    u->memory_max_events = kv_get(buf, "max");
    if (read_opt(dir, "io.stat", buf, READ_CAP, e) < 0)
        return -1;
    io_stat_sum(buf, u);
    char one[64];
    if (read_opt(dir, "memory.current", one, sizeof(one), e) < 0)
        return -1;
    u->memory_current = strtoll(one, NULL, 10);
    if (read_opt(dir, "pids.current", one, sizeof(one), e) < 0)
        return -1;
    u->pids_current = strtoll(one, NULL, 10);
    return 0;
}

int
quota_cgroup_read(const struct quota_cgroup_cfg *c, const char *slug, struct quota_cgroup_usage *u,
                  err *e)
{
    char part[PATH_CAP];
    memset(u, 0, sizeof(*u));
    if (quota_cgroup_path(c, slug, part, sizeof(part), e) < 0 || check_v2(part, e) < 0)
        return -1;
    char *buf = malloc(READ_CAP);
    if (!buf)
        return err_set(e, ERR_UNAVAILABLE, "out of memory");
    int rc = read_all(part, buf, u, e);
    free(buf);
    return rc;
}

int
quota_cgroup_remove(const struct quota_cgroup_cfg *c, const char *slug, err *e)
{
    char part[PATH_CAP];
    err ce = {0};
    if (quota_cgroup_path(c, slug, part, sizeof(part), e) < 0)
        return -1;
    if (check_v2(part, &ce) < 0) {
        if (ce.kind == ERR_NOT_FOUND)
            return 0;
        if (e)
            *e = ce;
        return -1;
    }
    if (rmdir(part) == 0 || errno == ENOENT)
        return 0;
    if (errno == EBUSY || errno == ENOTEMPTY)
        return err_set(e, ERR_CONFLICT, "the cgroup %s still holds cgroups or processes", part);
    return err_set(e, ERR_UNAVAILABLE, "cannot remove %s: %s", part, strerror(errno));
}

/* ---- budget -> limits ---- */

/* An amount shared by n devices, at least 1 each (0 in io.max is not "none"). */
static int64_t
per_device(int64_t amount, size_t n)
{
    if (amount < 0)
        return -1;
    int64_t v = amount / (int64_t)n;
    return v > 0 ? v : 1;
}

void
quota_cgroup_limits_of(const struct quota_limits *b, const unsigned (*devs)[2], size_t ndevs,
                       struct quota_io_limit *io_out, struct quota_cgroup_limits *out)
{
    int64_t cpu = b->v[QUOTA_CPU_CORES], mem = b->v[QUOTA_MEMORY_MAX_MIB];
    /* millicores -> quota per period: 1000 millicores = one full period */
    out->cpu_period_us = QUOTA_CGROUP_PERIOD_US;
    out->cpu_quota_us = cpu < 0 ? -1 : cpu * QUOTA_CGROUP_PERIOD_US / 1000;
    if (out->cpu_quota_us >= 0 && out->cpu_quota_us < 1000)
        out->cpu_quota_us = 1000; /* the kernel's minimum quota */
    out->memory_max_bytes = mem < 0 ? -1 : mem * 1024 * 1024;
    out->pids_max = b->v[QUOTA_PIDS_MAX];
    out->io_weight = b->v[QUOTA_IO_WEIGHT];
    for (size_t i = 0; i < ndevs; i++)
        io_out[i] = (struct quota_io_limit){
            devs[i][0],
            devs[i][1],
            per_device(b->v[QUOTA_IO_READ_BPS], ndevs),
            per_device(b->v[QUOTA_IO_WRITE_BPS], ndevs),
            per_device(b->v[QUOTA_IO_READ_IOPS], ndevs),
            per_device(b->v[QUOTA_IO_WRITE_IOPS], ndevs),
        };
    out->io = io_out;
    out->nio = ndevs;
}

/* ---- block devices for io.max ---- */

/* Reads "MAJ:MIN" from the `dev` file of sysfs directory `dir`. */
static int
read_dev_file(const char *dir, unsigned *major, unsigned *minor, err *e)
{
    char path[PATH_MAX], text[32];
    if (join(path, sizeof(path), dir, "dev", e) < 0 || read_text(path, text, sizeof(text), e) < 0)
        return -1;
    char *end;
    unsigned long ma = strtoul(text, &end, 10);
    if (*end != ':')
        return err_set(e, ERR_UNAVAILABLE, "%s: not MAJ:MIN", path);
    unsigned long mi = strtoul(end + 1, &end, 10);
    if (*end && *end != '\n')
        return err_set(e, ERR_UNAVAILABLE, "%s: not MAJ:MIN", path);
    *major = (unsigned)ma, *minor = (unsigned)mi;
    return 0;
}

int
quota_cgroup_block_device(const char *path, const char *sysfs, unsigned *major, unsigned *minor,
                          err *e)
{
    struct stat st;
    if (stat(path, &st) < 0)
        return err_set(e, errno == ENOENT ? ERR_NOT_FOUND : ERR_UNAVAILABLE, "%s: %s", path,
                       strerror(errno));
    dev_t dev = S_ISBLK(st.st_mode) ? st.st_rdev : st.st_dev;
    char dir[PATH_MAX], probe[PATH_MAX];
    int n = snprintf(dir, sizeof(dir), "%s/dev/block/%u:%u", sysfs ? sysfs : "/sys", major(dev),
                     minor(dev));
    if (n < 0 || (size_t)n >= sizeof(dir))
        return err_set(e, ERR_INVALID, "sysfs path too long");
    if (access(dir, F_OK) < 0)
        return err_set(e, ERR_UNAVAILABLE, "%s is not on a block device (device %u:%u)", path,
                       major(dev), minor(dev));
    *major = major(dev), *minor = minor(dev);
    /* a partition's directory sits in its disk's: io.max takes the disk */
    if (join(probe, sizeof(probe), dir, "partition", e) < 0)
        return -1;
    if (access(probe, F_OK) < 0)
        return 0;
    return join(probe, sizeof(probe), dir, "..", e) < 0 ? -1
                                                        : read_dev_file(probe, major, minor, e);
}
