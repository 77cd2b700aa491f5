/* The cgroup v2 backend refuses anything that is not cgroup v2, and then
 * writes nothing: this host's real /sys/fs/cgroup (a writable tmpfs with v1
 * hierarchies below it, PITFALLS), fake roots built on a tmpfs and on an
 * ext4 directory that look like a cgroup tree, a v1 hierarchy, and a cgroup2
 * mount that lacks the controllers. Paths and templates are validated. The
 * writes themselves are tested for real in tests/system/quota (a guest with a
 * real cgroup v2). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cgroup.h"

static unsigned long
fs_type(const char *path)
{
    struct statfs sf;
    return statfs(path, &sf) == 0 ? (unsigned long)sf.f_type : 0;
}

static bool
exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static struct quota_cgroup_limits
some_limits(void)
{
    static const struct quota_io_limit io[] = {{8, 0, 1 << 20, -1, 100, -1}};
    return (struct quota_cgroup_limits){.cpu_quota_us = 50000,
                                        .memory_max_bytes = 64 << 20,
                                        .pids_max = 100,
                                        .io_weight = 200,
                                        .io = io,
                                        .nio = 1};
}

/* The host's own /sys/fs/cgroup, through the default configuration. */
static void
test_host_root_refused(void **state)
{
    unsigned long t = fs_type(QUOTA_CGROUP_ROOT);
    if (t == CGROUP2_SUPER_MAGIC)
        skip(); /* a real cgroup v2 host: nothing to refuse here */
    bool had_slice = exists(QUOTA_CGROUP_ROOT "/machine.slice");
    err e = {0};
    assert_int_equal(quota_cgroup_probe(NULL, QUOTA_CTRL_ALL, &e), -1);
    assert_int_equal(e.kind, ERR_UNAVAILABLE);
    if (t == TMPFS_MAGIC)
        assert_string_equal(e.detail, "/sys/fs/cgroup is not a cgroup v2 filesystem (tmpfs)");
    else
        assert_non_null(strstr(e.detail, "is not a cgroup v2 filesystem"));
    struct quota_cgroup_limits l = some_limits();
    err ae = {0};
    assert_int_equal(quota_cgroup_apply(NULL, "acme", &l, &ae), -1);
    assert_int_equal(ae.kind, ERR_UNAVAILABLE);
    assert_string_equal(ae.detail, e.detail);
    assert_int_equal(exists(QUOTA_CGROUP_ROOT "/machine.slice"), had_slice); /* nothing made */
    assert_false(exists(QUOTA_CGROUP_ROOT "/machine.slice/virtportal-acme.slice"));
    struct quota_cgroup_usage u;
    assert_int_equal(quota_cgroup_read(NULL, "acme", &u, &ae), -1);
}

/* A directory that looks like a cgroup v2 root: the interface files exist
 * (so a backend that only checked for files would happily write). */
static void
fake_tree(const char *root)
{
    static const char *const files[][2] = {
        {"cgroup.controllers", "cpuset cpu io memory hugetlb pids rdma misc\n"},
        {"cgroup.subtree_control", ""},
        {"cgroup.procs", ""},
    };
    for (size_t i = 0; i < 3; i++) {
        char p[512];
        snprintf(p, sizeof(p), "%s/%s", root, files[i][0]);
        FILE *f = fopen(p, "w");
        assert_non_null(f);
        fputs(files[i][1], f);
        fclose(f);
    }
}

static int
count_entry(const char *p, const struct stat *st, int type, struct FTW *ftw)
{
    return 0;
}

/* Entries below root, and the size of all files (written bytes show). */
static void
snapshot(const char *root, int *entries, long *bytes)
{
    DIR *d = opendir(root);
    assert_non_null(d);
    *entries = 0, *bytes = 0;
    for (struct dirent *de; (de = readdir(d));) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        char p[512];
        struct stat st;
        snprintf(p, sizeof(p), "%s/%s", root, de->d_name);
        assert_int_equal(stat(p, &st), 0);
        (*entries)++, *bytes += st.st_size;
    }
    closedir(d);
}

static int
rm_entry(const char *p, const struct stat *st, int type, struct FTW *ftw)
{
    return remove(p);
}

/* Builds a fake tree under `base`, runs the backend on it, checks that it
 * refused with `want` in the detail and changed nothing. */
static void
refuses_fake_root(const char *base, const char *want)
{
    char root[256];
    snprintf(root, sizeof(root), "%s/vp-fake-cgroup-XXXXXX", base);
    assert_non_null(mkdtemp(root));
    fake_tree(root);
    int n0, n1;
    long b0, b1;
    snapshot(root, &n0, &b0);
    struct quota_cgroup_cfg cfg = {.root = root};
    struct quota_cgroup_limits l = some_limits();
    err e = {0};
    assert_int_equal(quota_cgroup_probe(&cfg, QUOTA_CTRL_ALL, &e), -1);
    assert_int_equal(e.kind, ERR_UNAVAILABLE);
    char expect[400];
    snprintf(expect, sizeof(expect), "%s is not a cgroup v2 filesystem (%s)", root, want);
    assert_string_equal(e.detail, expect);
    err ae = {0};
    assert_int_equal(quota_cgroup_apply(&cfg, "acme", &l, &ae), -1);
    assert_string_equal(ae.detail, expect);
    err re = {0};
    assert_int_equal(quota_cgroup_remove(&cfg, "acme", &re), 0); /* nothing there */
    snapshot(root, &n1, &b1);
    assert_int_equal(n1, n0); /* no machine.slice */
    assert_int_equal(b1, b0); /* no "+cpu" in the fake subtree_control */
    nftw(root, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    (void)count_entry;
}

static void
test_fake_root_on_tmpfs_refused(void **state)
{
    if (fs_type("/dev/shm") != TMPFS_MAGIC)
        skip();
    refuses_fake_root("/dev/shm", "tmpfs");
}

static void
test_fake_root_on_ext4_refused(void **state)
{
    const char *base = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    if (fs_type(base) != EXT4_SUPER_MAGIC)
        skip();
    refuses_fake_root(base, "ext2/3/4");
}

static void
test_v1_hierarchy_refused(void **state)
{
    const char *v1 = "/sys/fs/cgroup/cpu";
    if (fs_type(v1) != CGROUP_SUPER_MAGIC)
        skip();
    struct quota_cgroup_cfg cfg = {.root = v1};
    err e = {0};
    assert_int_equal(quota_cgroup_probe(&cfg, QUOTA_CTRL_CPU, &e), -1);
    assert_string_equal(e.detail,
                        "/sys/fs/cgroup/cpu is not a cgroup v2 filesystem (a cgroup v1 hierarchy)");
}

/* A cgroup2 mount without the controllers (this host's unified/ has only
 * hugetlb): refused before anything is created. */
static void
test_v2_without_controllers_refused(void **state)
{
    const char *u = "/sys/fs/cgroup/unified";
    if (fs_type(u) != CGROUP2_SUPER_MAGIC)
        skip();
    FILE *f = fopen("/sys/fs/cgroup/unified/cgroup.controllers", "r");
    char have[256] = "";
    assert_non_null(f);
    assert_non_null(fgets(have, sizeof(have), f) ?: have);
    fclose(f);
    if (strstr(have, "cpu"))
        skip();
    struct quota_cgroup_cfg cfg = {.root = u};
    err e = {0};
    assert_int_equal(quota_cgroup_probe(&cfg, QUOTA_CTRL_CPU, &e), -1);
    assert_int_equal(e.kind, ERR_UNAVAILABLE);
    assert_non_null(
        strstr(e.detail, "controller 'cpu' is not available in /sys/fs/cgroup/unified"));
    bool had = exists("/sys/fs/cgroup/unified/machine.slice");
    struct quota_cgroup_limits l = some_limits();
    assert_int_equal(quota_cgroup_apply(&cfg, "acme", &l, &e), -1);
    assert_int_equal(exists("/sys/fs/cgroup/unified/machine.slice"), had);
}

static void
test_paths(void **state)
{
    char p[512];
    err e = {0};
    assert_int_equal(quota_cgroup_path(NULL, "acme-2", p, sizeof(p), &e), 0);
    assert_string_equal(p, "/sys/fs/cgroup/machine.slice/virtportal-acme-2.slice");
    struct quota_cgroup_cfg c = {.root = "/mnt/cg", .partition = "tenants/%s"};
    assert_int_equal(quota_cgroup_path(&c, "t1", p, sizeof(p), &e), 0);
    assert_string_equal(p, "/mnt/cg/tenants/t1");
    static const char *const bad_slugs[] = {"", "../etc", "Acme", "a/b", "a.b", "a b",
                                            /* 64 characters: one too many */
                                            ("0123456789012345678901234567890123456789012345678901"
                                             "234567890123")};
    for (size_t i = 0; i < sizeof(bad_slugs) / sizeof(bad_slugs[0]); i++) {
        err be = {0};
        assert_int_equal(quota_cgroup_path(NULL, bad_slugs[i], p, sizeof(p), &be), -1);
        assert_int_equal(be.kind, ERR_INVALID);
    }
    static const char *const bad_templates[] = {"/abs/%s", "a/../%s", "./%s",  "x",
                                                "%s/%s",   "%d-%s",   "a//%s", "%s/"};
    for (size_t i = 0; i < sizeof(bad_templates) / sizeof(bad_templates[0]); i++) {
        struct quota_cgroup_cfg bc = {.partition = bad_templates[i]};
        err be = {0};
        if (quota_cgroup_path(&bc, "acme", p, sizeof(p), &be) == 0)
            fail_msg("template '%s' accepted", bad_templates[i]);
        assert_int_equal(be.kind, ERR_INVALID);
    }
    struct quota_cgroup_cfg rel = {.root = "sys/fs/cgroup"};
    assert_int_equal(quota_cgroup_path(&rel, "acme", p, sizeof(p), &e), -1);
    char tiny[16];
    assert_int_equal(quota_cgroup_path(NULL, "acme", tiny, sizeof(tiny), &e), -1);
}

/* ---- block devices for io.max, on a sysfs tree of the test's own ---- */

static void
put_file(const char *dir, const char *name, const char *text)
{
    char p[512];
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* mkdir -p */
static int
make_dirs(const char *path)
{
    char p[512];
    snprintf(p, sizeof(p), "%s", path);
    for (char *c = p + 1; *c; c++) {
        if (*c != '/')
            continue;
        *c = '\0';
        if (mkdir(p, 0755) < 0 && errno != EEXIST)
            return -1;
        *c = '/';
    }
    return mkdir(p, 0755) < 0 && errno != EEXIST ? -1 : 0;
}

/* A sysfs with disk 8:0 and its partition 8:1; dev/block/<the test file's
 * device> links to the disk (partition = false) or to the partition. */
static void
fake_sysfs(const char *root, dev_t dev, bool partition)
{
    char d[512], link[600];
    snprintf(d, sizeof(d), "%s/devices/sda/sda1", root);
    assert_int_equal(make_dirs(d), 0);
    put_file(d, "partition", "1\n");
    put_file(d, "dev", "8:1\n");
    snprintf(d, sizeof(d), "%s/devices/sda", root);
    put_file(d, "dev", "8:0\n");
    snprintf(d, sizeof(d), "%s/dev/block", root);
    assert_int_equal(make_dirs(d), 0);
    snprintf(link, sizeof(link), "%s/%u:%u", d, major(dev), minor(dev));
    assert_int_equal(symlink(partition ? "../../devices/sda/sda1" : "../../devices/sda", link), 0);
}

static void
test_block_device(void **state)
{
    (void)state;
    char root[] = "/tmp/vp-fake-sysfs-XXXXXX", file[600];
    assert_non_null(mkdtemp(root));
    snprintf(file, sizeof(file), "%s/disk.qcow2", root);
    put_file(root, "disk.qcow2", "image");
    struct stat st;
    assert_int_equal(stat(file, &st), 0);
    unsigned ma = 0, mi = 0;
    err e = {0};
    /* not in sysfs: on no block device (a tmpfs, an overlay) */
    assert_int_equal(quota_cgroup_block_device(file, root, &ma, &mi, &e), -1);
    assert_int_equal(e.kind, ERR_UNAVAILABLE);
    assert_non_null(strstr(e.detail, "is not on a block device"));
    /* a whole disk: its own device */
    char sys[600];
    snprintf(sys, sizeof(sys), "%s/sys-disk", root);
    fake_sysfs(sys, st.st_dev, false);
    assert_int_equal(quota_cgroup_block_device(file, sys, &ma, &mi, &e), 0);
    assert_int_equal(ma, major(st.st_dev));
    assert_int_equal(mi, minor(st.st_dev));
    /* a partition: its disk */
    snprintf(sys, sizeof(sys), "%s/sys-part", root);
    fake_sysfs(sys, st.st_dev, true);
    assert_int_equal(quota_cgroup_block_device(file, sys, &ma, &mi, &e), 0);
    assert_int_equal(ma, 8);
    assert_int_equal(mi, 0);
    /* a missing image */
    err ne = {0};
    assert_int_equal(quota_cgroup_block_device("/nonexistent/vp.qcow2", sys, &ma, &mi, &ne), -1);
    assert_int_equal(ne.kind, ERR_NOT_FOUND);
    nftw(root, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_host_root_refused),
        cmocka_unit_test(test_fake_root_on_tmpfs_refused),
        cmocka_unit_test(test_fake_root_on_ext4_refused),
        cmocka_unit_test(test_v1_hierarchy_refused),
        cmocka_unit_test(test_v2_without_controllers_refused),
        cmocka_unit_test(test_paths),
        cmocka_unit_test(test_block_device),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
