/* secret key files: created 0600 and atomically, refused when weak. Works in a
 * private temporary directory (label "io"). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "secret.h"

static char dir[256];

static int
rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    return remove(p);
}

static int
setup(void **state)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof(dir), "%s/vp-auth-secret-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    return mkdtemp(dir) ? 0 : -1;
}

static int
teardown(void **state)
{
    return nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

static char *
path_of(const char *name)
{
    static char p[512];
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    return p;
}

static void
write_file(const char *path, const void *data, size_t n, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, n), (ssize_t)n);
    assert_int_equal(fchmod(fd, mode), 0);
    close(fd);
}

static void
test_create_then_load(void **state)
{
    err e = {0};
    unsigned char k1[64], k2[64];
    size_t n1 = 0, n2 = 0;
    const char *p = path_of("jwt.key");
    assert_int_equal(auth_secret_file_load_or_create(p, 64, k1, &n1, &e), 0);
    assert_int_equal(n1, 64);
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(st.st_size, 64);
    assert_int_equal(auth_secret_file_load_or_create(p, 64, k2, &n2, &e), 0);
    assert_int_equal(n2, 64);
    assert_memory_equal(k1, k2, 64);
    /* no temporary file left behind */
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        assert_null(strstr(de->d_name, ".tmp."));
    closedir(d);
}

static void
test_refuses_weak_files(void **state)
{
    err e = {0};
    unsigned char k[64], good[40];
    size_t n;
    assert_int_equal(auth_random_bytes(good, sizeof(good), NULL), 0);

    write_file(path_of("open.key"), good, sizeof(good), 0644);
    assert_int_equal(auth_secret_file_load_or_create(path_of("open.key"), 64, k, &n, &e), -1);
    assert_non_null(strstr(e.detail, "group or others"));
    assert_null(strstr(e.detail, dir)); /* never the path */

    write_file(path_of("group.key"), good, sizeof(good), 0640);
    assert_int_equal(auth_secret_file_load_or_create(path_of("group.key"), 64, k, &n, &e), -1);

    write_file(path_of("short.key"), good, 16, 0600);
    assert_int_equal(auth_secret_file_load_or_create(path_of("short.key"), 64, k, &n, &e), -1);
    assert_non_null(strstr(e.detail, "shorter than 32"));

    write_file(path_of("empty.key"), good, 0, 0600);
    assert_int_equal(auth_secret_file_load_or_create(path_of("empty.key"), 64, k, &n, &e), -1);

    unsigned char zeros[48] = {0};
    write_file(path_of("zero.key"), zeros, sizeof(zeros), 0600);
    assert_int_equal(auth_secret_file_load_or_create(path_of("zero.key"), 64, k, &n, &e), -1);
    assert_non_null(strstr(e.detail, "trivial"));

    write_file(path_of("long.key"), good, sizeof(good), 0600);
    assert_int_equal(auth_secret_file_load_or_create(path_of("long.key"), 32, k, &n, &e), -1);

    /* a directory is not a key */
    assert_int_equal(mkdir(path_of("d.key"), 0700), 0);
    assert_int_equal(auth_secret_file_load_or_create(path_of("d.key"), 64, k, &n, &e), -1);

    /* a missing parent directory is an error, not created */
    assert_int_equal(auth_secret_file_load_or_create(path_of("nodir/x.key"), 64, k, &n, &e), -1);
    /* lengths out of range */
    assert_int_equal(auth_secret_file_load_or_create(path_of("x.key"), 16, k, &n, &e), -1);

    /* a good 40-byte file is loaded as is */
    write_file(path_of("ok.key"), good, sizeof(good), 0600);
    assert_int_equal(auth_secret_file_load_or_create(path_of("ok.key"), 64, k, &n, &e), 0);
    assert_int_equal(n, 40);
    assert_memory_equal(k, good, 40);
}

static char race_path[512];

struct racer {
    unsigned char key[64];
    size_t n;
    int rc;
};

static void *
race(void *arg)
{
    struct racer *r = arg;
    err e;
    r->rc = auth_secret_file_load_or_create(race_path, 64, r->key, &r->n, &e);
    return NULL;
}

static void
test_concurrent_creators_agree(void **state)
{
    /* whoever wins, every caller ends up with the key that is on disk */
    struct racer r[4];
    pthread_t th[4];
    snprintf(race_path, sizeof(race_path), "%s", path_of("race.key"));
    for (int i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, race, &r[i]);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(r[i].rc, 0);
        assert_int_equal(r[i].n, 64);
        assert_memory_equal(r[i].key, r[0].key, 64);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_then_load),
        cmocka_unit_test(test_refuses_weak_files),
        cmocka_unit_test(test_concurrent_creators_agree),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
