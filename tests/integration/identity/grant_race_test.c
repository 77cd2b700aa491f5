/* Concurrent grants cannot escalate beyond the granter.
 *
 * A tenant-admin G keeps granting roles in its tenant from one thread while,
 * from another thread, its own tenant-admin binding is removed (by the global
 * admin, or by a co-admin — a second granter). A grant is decided inside the
 * write transaction against G's bindings as they are at that moment, so no
 * grant of G may commit after the commit that demoted G. The audit chain
 * orders both: every successful grant's row must precede the demotion's. Also:
 * every 201 left exactly one binding and one "ok" audit row, every refusal
 * none, and nothing but 201 or 403 was answered. */
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "idt.h"

enum { NTARGETS = 24 };

struct race {
    const char *granter_tok;
    int64_t tenant;
    int64_t targets[NTARGETS];
    long status[NTARGETS];
    atomic_int granted; /* 201s so far: the demoter starts after the first */
    const char *demoter_tok;
    int64_t binding; /* the granter's tenant-admin binding */
    long demote_status;
};

static void *
granter(void *arg)
{
    struct race *rc = arg;
    for (int i = 0; i < NTARGETS; i++) {
        struct vp_resp r;
        idt_req(&r, "POST", "/api/v1/role-bindings", rc->granter_tok,
                "{\"subject_kind\":\"user\",\"subject_id\":%lld,\"role\":\"tenant-member\","
                "\"scope\":\"tenant\",\"tenant_id\":%lld}",
                (long long)rc->targets[i], (long long)rc->tenant);
        rc->status[i] = r.status;
        if (r.status == 201)
            atomic_fetch_add(&rc->granted, 1);
        vp_resp_free(&r);
    }
    return NULL;
}

static void *
demoter(void *arg)
{
    struct race *rc = arg;
    while (atomic_load(&rc->granted) == 0)
        usleep(1000);
    char path[64];
    snprintf(path, sizeof(path), "/api/v1/role-bindings/%lld", (long long)rc->binding);
    struct vp_resp r;
    idt_req(&r, "DELETE", path, rc->demoter_tok, NULL);
    rc->demote_status = r.status;
    vp_resp_free(&r);
    return NULL;
}

/* The audit chain orders grants and the demotion; the rows match the answers. */
static int
race_check(const struct race *rc, int round, const char *gtok)
{
    assert_int_equal(rc->demote_status, 204);
    int ok = 0;
    for (int i = 0; i < NTARGETS; i++) {
        assert_true(rc->status[i] == 201 || rc->status[i] == 403);
        ok += rc->status[i] == 201;
    }
    assert_true(ok >= 1);

    char sql[512];
    snprintf(sql, sizeof(sql),
             "SELECT seq FROM audit WHERE action = 'role_binding.delete' AND outcome = 'ok' AND "
             "target = 'role_binding/%lld'",
             (long long)rc->binding);
    int64_t demoted_at = idt_db_int(sql);
    assert_true(demoted_at > 0);
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM audit WHERE action = 'role_binding.create' AND outcome = 'ok' "
             "AND actor = 'race%d-granter' AND seq > %lld",
             round, (long long)demoted_at);
    assert_int_equal(idt_db_int(sql), 0); /* nothing granted after the demotion */
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM audit WHERE action = 'role_binding.create' AND outcome = 'ok' "
             "AND actor = 'race%d-granter'",
             round);
    assert_int_equal(idt_db_int(sql), ok);
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM role_binding b JOIN user u ON u.id = b.subject_id AND "
             "b.subject_kind = 'user' WHERE u.login LIKE 'race%d-t%%'",
             round);
    assert_int_equal(idt_db_int(sql), ok);
    /* the granter holds nothing now and every refusal was audited as denied */
    struct vp_resp r;
    idt_req(&r, "GET", "/api/v1/role-bindings", gtok, NULL);
    assert_int_equal(r.status, 403);
    vp_resp_free(&r);
    return ok;
}

static void
race_round(int round, bool by_coadmin)
{
    struct race rc = {0};
    char name[64];
    snprintf(name, sizeof(name), "race%d", round);
    rc.tenant = idt_tenant(name);
    snprintf(name, sizeof(name), "race%d-granter", round);
    int64_t g = idt_user(name, rc.tenant);
    rc.binding = idt_bind(g, "tenant-admin", rc.tenant);
    char *gtok = idt_login(name);
    char *ctok = NULL;
    if (by_coadmin) {
        snprintf(name, sizeof(name), "race%d-coadmin", round);
        idt_bind(idt_user(name, rc.tenant), "tenant-admin", rc.tenant);
        ctok = idt_login(name);
    }
    for (int i = 0; i < NTARGETS; i++) {
        snprintf(name, sizeof(name), "race%d-t%d", round, i);
        rc.targets[i] = idt_user(name, rc.tenant);
    }
    rc.granter_tok = gtok;
    rc.demoter_tok = by_coadmin ? ctok : idt_admin;

    pthread_t t1, t2;
    pthread_create(&t1, NULL, granter, &rc);
    pthread_create(&t2, NULL, demoter, &rc);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);

    int ok = race_check(&rc, round, gtok);
    fprintf(stderr, "round %d (%s): %d of %d grants before the demotion\n", round,
            by_coadmin ? "co-admin demotes" : "admin demotes", ok, NTARGETS);
    free(gtok);
    free(ctok);
}

static void
test_grant_vs_demotion(void **state)
{
    for (int round = 0; round < 3; round++)
        race_round(round, false);
}

static void
test_two_granters(void **state)
{
    for (int round = 3; round < 6; round++)
        race_round(round, true);
}

int
main(int argc, char **argv)
{
    if (argc > 1) /* ctest runs one case per process */
        cmocka_set_test_filter(argv[1]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grant_vs_demotion),
        cmocka_unit_test(test_two_granters),
    };
    return cmocka_run_group_tests(tests, idt_setup, idt_teardown);
}
