/* `virtportal user add|passwd|disable|enable` on a real data dir (the server
 * stopped meanwhile: one writer per database file), then checked over REST. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "idt.h"

#define NEWPW "Granite-Harbor-5528-Violet"

static int
user_cmd(const char *verb, const char *login, const char *flag, const char *value,
         const char *flag2, const char *value2, const char *stdin_text)
{
    const char *argv[12] = {"user", verb, login, "--data-dir", idt_p.dir};
    int n = 5;
    if (flag) {
        argv[n++] = flag;
        argv[n++] = value;
    }
    if (flag2) {
        argv[n++] = flag2;
        argv[n++] = value2;
    }
    argv[n] = NULL;
    return idt_run(argv, stdin_text);
}

static void
test_user_commands(void **state)
{
    idt_tenant("cli-t");
    assert_int_equal(vp_term(&idt_p), 0);
    const char *pw = IDT_PASSWORD "\n";

    assert_int_equal(user_cmd("add", "carl", "--tenant", "cli-t", "--role", "tenant-admin", pw), 0);
    assert_int_equal(user_cmd("add", "CARL", NULL, NULL, NULL, NULL, pw), 1); /* exists */
    assert_int_equal(user_cmd("add", "weak", NULL, NULL, NULL, NULL, "short\n"), 2);
    assert_int_equal(user_cmd("add", "nopw", NULL, NULL, NULL, NULL, ""), 2);
    assert_int_equal(user_cmd("add", "x1", "--role", "no-such-role", NULL, NULL, pw), 2);
    assert_int_equal(user_cmd("add", "x2", "--tenant", "cli-t", "--role", "admin", pw), 2);
    assert_int_equal(user_cmd("add", "x3", "--role", "tenant-member", NULL, NULL, pw), 2);
    assert_int_equal(user_cmd("add", "x4", "--tenant", "no-such-tenant", NULL, NULL, pw), 2);
    assert_int_equal(user_cmd("add", "bad login", NULL, NULL, NULL, NULL, pw), 2);
    assert_int_equal(user_cmd("frobnicate", "carl", NULL, NULL, NULL, NULL, pw), 2);
    assert_int_equal(user_cmd("disable", "carl", "--role", "admin", NULL, NULL, NULL), 2);
    assert_int_equal(user_cmd("add", "gwen", NULL, NULL, NULL, NULL, pw), 0);
    assert_int_equal(user_cmd("passwd", "carl", NULL, NULL, NULL, NULL, NEWPW "\r\n"), 0);
    assert_int_equal(user_cmd("passwd", "nobody", NULL, NULL, NULL, NULL, NEWPW "\n"), 1);
    assert_int_equal(user_cmd("disable", "gwen", NULL, NULL, NULL, NULL, NULL), 0);
    /* none of the refused commands left a user behind */
    assert_int_equal(idt_db_int("SELECT count(*) FROM user WHERE login IN ('weak', 'nopw', 'x1', "
                                "'x2', 'x3', 'x4')"),
                     0);
    assert_int_equal(idt_db_int("SELECT count(*) FROM audit WHERE actor = 'cli' AND action = "
                                "'user.create' AND json_extract(details, '$.login') = 'carl'"),
                     1);
    assert_int_equal(idt_db_int("SELECT count(*) FROM audit WHERE details LIKE '%" NEWPW "%'"), 0);

    assert_int_equal(vp_restart(&idt_p, NULL), 0);
    assert_null(vp_login(&idt_p, "carl", IDT_PASSWORD)); /* the old password is gone */
    char *t = vp_login(&idt_p, "carl", NEWPW);
    assert_non_null(t);
    struct vp_resp r;
    idt_req(&r, "GET", "/api/v1/users", t, NULL); /* tenant-admin of cli-t */
    assert_int_equal(r.status, 200);
    vp_resp_free(&r);
    idt_req(&r, "GET", "/api/v1/me", t, NULL);
    assert_int_equal(r.status, 200);
    assert_false(json_is_null(json_object_get(r.json, "tenant_id")));
    vp_resp_free(&r);
    free(t);
    assert_null(vp_login(&idt_p, "gwen", IDT_PASSWORD)); /* disabled */

    assert_int_equal(vp_term(&idt_p), 0);
    assert_int_equal(user_cmd("enable", "gwen", NULL, NULL, NULL, NULL, NULL), 0);
    assert_int_equal(vp_restart(&idt_p, NULL), 0);
    t = vp_login(&idt_p, "gwen", IDT_PASSWORD);
    assert_non_null(t);
    free(t);
}

int
main(int argc, char **argv)
{
    if (argc > 1) /* ctest runs one case per process */
        cmocka_set_test_filter(argv[1]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_user_commands),
    };
    return cmocka_run_group_tests(tests, idt_setup, idt_teardown);
}
