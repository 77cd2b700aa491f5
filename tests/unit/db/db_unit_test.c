/* db pieces that need no file: error mapping, names, timestamps, migrations table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "db_internal.h"

static void
test_error_mapping(void **state)
{
    assert_int_equal(db_sqlite_err_kind(SQLITE_CONSTRAINT_UNIQUE), ERR_CONFLICT);
    assert_int_equal(db_sqlite_err_kind(SQLITE_CONSTRAINT_PRIMARYKEY), ERR_CONFLICT);
    assert_int_equal(db_sqlite_err_kind(SQLITE_CONSTRAINT_FOREIGNKEY), ERR_CONFLICT);
    assert_int_equal(db_sqlite_err_kind(SQLITE_CONSTRAINT_CHECK), ERR_INTERNAL);
    assert_int_equal(db_sqlite_err_kind(SQLITE_BUSY), ERR_UNAVAILABLE);
    assert_int_equal(db_sqlite_err_kind(SQLITE_IOERR_FSYNC), ERR_UNAVAILABLE);
    assert_int_equal(db_sqlite_err_kind(SQLITE_FULL), ERR_UNAVAILABLE);
    assert_int_equal(db_sqlite_err_kind(SQLITE_CORRUPT), ERR_INTERNAL);
    assert_int_equal(db_sqlite_err_kind(SQLITE_ERROR), ERR_INTERNAL);
    err e = {0};
    assert_int_equal(db_sqlite_err(&e, SQLITE_CONSTRAINT_UNIQUE), -1);
    assert_int_equal(e.kind, ERR_CONFLICT);
    assert_null(strstr(e.detail, "INSERT")); /* a fixed sentence, no SQL */
}

static void
test_problem_names(void **state)
{
    assert_string_equal(db_audit_problem_name(DB_AUDIT_OK), "ok");
    assert_string_equal(db_audit_problem_name(DB_AUDIT_EDITED), "edited");
    assert_string_equal(db_audit_problem_name(DB_AUDIT_DELETED), "deleted");
    assert_string_equal(db_audit_problem_name(DB_AUDIT_REORDERED), "reordered");
    assert_string_equal(db_audit_problem_name(DB_AUDIT_TRUNCATED), "truncated");
}

static void
test_timestamp_format(void **state)
{
    char ts[32];
    db_now_rfc3339(ts, sizeof(ts));
    assert_int_equal(strlen(ts), 24); /* 2024-05-01T12:00:00.123Z */
    const char *shape = "dddd-dd-ddTdd:dd:dd.dddZ";
    for (int i = 0; i < 24; i++)
        if (shape[i] == 'd')
            assert_true(ts[i] >= '0' && ts[i] <= '9');
        else
            assert_int_equal(ts[i], shape[i]);
}

static void
test_migrations_embedded(void **state)
{
    assert_true(db_migrate_latest() >= 1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error_mapping),
        cmocka_unit_test(test_problem_names),
        cmocka_unit_test(test_timestamp_format),
        cmocka_unit_test(test_migrations_embedded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
