/* Checkpoints: every audit.checkpoint_every events the chain head is signed
 * into the database and appended to the external file (one JSON line each);
 * the CLI checks the file's signatures, and a forged or altered line is
 * reported. Run one case: audit_checkpoint_test <name>. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "at.h"

static int
setup(void **state)
{
    const char *flags[] = {"--set", "audit.checkpoint_every=5", NULL};
    return at_start(flags);
}

static int
teardown(void **state)
{
    at_stop();
    return 0;
}

static int
lines(const char *path)
{
    char *s = at_slurp(path, NULL);
    int n = 0;
    for (const char *p = s; p && *p; p++)
        n += *p == '\n';
    free(s);
    return n;
}

static int
cli_verify(const char *cpfile, char *out, size_t n)
{
    const char *argv[] = {"audit", "verify", "--data-dir", at_p.dir, "--checkpoints", cpfile, NULL};
    int rc = at_cli(out, n, argv);
    print_message("%s", out);
    return rc;
}

static void
test_every_n_events(void **state)
{
    char file[600], out[4096];
    snprintf(file, sizeof(file), "%s", at_path("audit-checkpoints.log"));
    int at_start_lines = lines(file);
    assert_true(at_start_lines >= 1); /* the head at start */
    /* The sink looks once a second: a burst of N events gives one checkpoint
     * of the head, not one per N. Two bursts, two more heads. */
    for (int burst = 1; burst <= 2; burst++) {
        for (int i = 0; i < 6; i++) {
            char slug[32];
            snprintf(slug, sizeof(slug), "cp-%d-%d", burst, i);
            at_tenant(slug, NULL);
        }
        for (int i = 0; i < 50 && lines(file) < at_start_lines + burst; i++)
            usleep(100000);
        assert_int_equal(lines(file), at_start_lines + burst);
    }
    int64_t db_cps = at_sql_int(at_path("virtportal.db"), "SELECT count(*) FROM audit_checkpoint");
    assert_int_equal(db_cps, lines(file)); /* the file has every committed checkpoint */
    assert_int_equal(cli_verify(file, out, sizeof(out)), 0);
    char want[64];
    snprintf(want, sizeof(want), "%d external checkpoints", lines(file));
    assert_non_null(strstr(out, want));
}

/* A line anyone could append (no key) or a head moved back is refused. */
static void
test_forged_line(void **state)
{
    char file[600], copy[600], out[4096];
    snprintf(file, sizeof(file), "%s", at_path("audit-checkpoints.log"));
    snprintf(copy, sizeof(copy), "%s", at_path("forged-checkpoints.log"));
    assert_int_equal(at_copy(file, copy), 0);
    FILE *f = fopen(copy, "a");
    assert_non_null(f);
    fprintf(f,
            "{\"kind\":\"head\",\"seq\":3,\"hash\":\"%064d\",\"ts\":\"2024-01-01T00:00:00.000Z\","
            "\"signature\":\"%064d\"}\n",
            0, 0);
    fclose(f);
    assert_int_equal(cli_verify(copy, out, sizeof(out)), 1);
    assert_non_null(strstr(out, "BROKEN at seq 3: bad-checkpoint"));
    /* a file given by name must exist */
    assert_int_equal(cli_verify(at_path("no-such-file.log"), out, sizeof(out)), 1);
    assert_non_null(strstr(out, "missing"));
}

int
main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_n_events),
        cmocka_unit_test(test_forged_line),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, setup, teardown);
}
