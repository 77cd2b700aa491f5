#include "db_test_util.h"

#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "db_internal.h"

const unsigned char dbt_key[32] = "0123456789abcdef0123456789abcdef";

char *
dbt_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    char tmpl[PATH_MAX];
    snprintf(tmpl, sizeof(tmpl), "%s/vp-db-test-XXXXXX", base && *base ? base : "/tmp");
    char *d = mkdtemp(tmpl);
    return d ? strdup(d) : NULL;
}

static int
rm_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    return remove(path);
}

void
dbt_rmtree(const char *dir)
{
    if (dir)
        nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

char *
dbt_path(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    assert_non_null(p);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

db *
dbt_open(const char *path, enum db_commit_mode mode)
{
    struct db_options o = {
        .path = path, .audit_key = dbt_key, .audit_key_len = sizeof(dbt_key), .commit_mode = mode};
    err e = {0};
    db *d = db_open(&o, &e);
    if (!d)
        fail_msg("db_open(%s): %s (%s)", path, e.detail, err_kind_slug(e.kind));
    return d;
}

int
dbt_copy(const char *src, const char *dst)
{
    int in = open(src, O_RDONLY), out = open(dst, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    char buf[65536];
    ssize_t n = 0;
    while (in >= 0 && out >= 0 && (n = read(in, buf, sizeof(buf))) > 0)
        if (write(out, buf, (size_t)n) != n) {
            n = -1;
            break;
        }
    int rc = (in >= 0 && out >= 0 && n == 0) ? 0 : -1;
    if (in >= 0)
        close(in);
    if (out >= 0 && close(out) != 0)
        rc = -1;
    return rc;
}

int
dbt_exec(const char *path, const char *sql)
{
    sqlite3 *s = NULL;
    int rc = sqlite3_open_v2(path, &s, SQLITE_OPEN_READWRITE, NULL);
    char *msg = NULL;
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(s, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK)
        print_error("dbt_exec: %s\n", msg ? msg : sqlite3_errstr(rc));
    sqlite3_free(msg);
    sqlite3_close(s);
    return rc == SQLITE_OK ? 0 : -1;
}

int64_t
dbt_count_s(db *d, const char *sql, const char *arg)
{
    err e = {0};
    db_conn *c = db_reader(d, &e);
    if (!c)
        return -1;
    DB_STMT s = db_conn_stmt(c, sql, &e);
    if (!s)
        return -1;
    if (arg)
        sqlite3_bind_text(s, 1, arg, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(s) != SQLITE_ROW)
        return -1;
    return sqlite3_column_int64(s, 0);
}

int64_t
dbt_count(db *d, const char *sql)
{
    return dbt_count_s(d, sql, NULL);
}
