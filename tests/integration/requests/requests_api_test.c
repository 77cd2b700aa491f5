/* Quota requests against the real binary (issue 7): asking (deltas, targets,
 * the refusal's ready-made body), listing and scoping, withdrawing, partial
 * approval with an expiry and the context of the decision, denial, the
 * four-eyes rule, two administrators deciding at once, expiry by moving the
 * clock (and across a restart), the auto-approval policy, notifications,
 * and bad input that must change nothing. Each case builds its own world
 * (rq.h) and server. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rq.h"

#define REQS "/api/v1/quota-requests"

static int
setup(void **state)
{
    return rq_world(NULL);
}

static int
teardown(void **state)
{
    rq_world_end();
    return 0;
}

static json_int_t
limit_of(const char *res, int64_t tenant)
{
    return rq_sql_int("SELECT ifnull((SELECT limit_value FROM quota WHERE tenant_id = %lld AND "
                      "resource = '%s'), -1)",
                      (long long)tenant, res);
}

static const char *
state_of(int64_t id, json_t **keep)
{
    char path[64];
    snprintf(path, sizeof(path), REQS "/%lld", (long long)id);
    json_decref(*keep);
    *keep = rq_call(RQ_ADMIN, "GET", path, 200, NULL);
    return rq_str(*keep, "state");
}

static char *
path_of(int64_t id, const char *verb)
{
    static char buf[96];
    snprintf(buf, sizeof(buf), REQS "/%lld%s%s", (long long)id, verb ? "/" : "", verb ? verb : "");
    return buf;
}

/* ---- asking ---- */

/* The quota-exceeded refusal carries a request body: posted as it is, it
 * is accepted. */
static void
test_refusal_body_is_accepted(void **state)
{
    json_t *chk = rq_call(RQ_ALICE, "POST", "/api/v1/tenants/10/quota/check", 200,
                          "{\"vms\":1,\"vcpus\":4,\"memory_mib\":2048}");
    assert_true(json_is_false(rq_get(chk, "admitted")));
    char *body = json_dumps(rq_get(chk, "quota_request"), JSON_COMPACT);
    json_t *j = rq_call(RQ_ALICE, "POST", REQS, 201, "%s", body);
    assert_string_equal(rq_str(j, "state"), "pending");
    assert_int_equal(rq_int(j, "tenant_id"), 10);
    assert_int_equal(rq_int(j, "deltas.vcpus"), 2); /* used 6 + 4 over a limit of 8 */
    assert_int_equal(json_object_size(rq_get(j, "deltas")), 1);
    assert_string_equal(rq_str(j, "justification"), rq_str(chk, "quota_request.justification"));
    assert_string_equal(rq_str(j, "requested_by.login"), "alice");
    assert_true(json_is_null(rq_get(j, "targets")));
    assert_int_equal(rq_int(j, "context.usage.vcpus.used"), 6);
    assert_int_equal(rq_int(j, "context.usage.vcpus.limit"), 8);
    assert_int_equal(rq_int(j, "context.cluster.cores"), 16);
    assert_int_equal(rq_int(j, "context.cluster.allocated.vcpus"), 14);
    assert_int_equal(rq_sql_int("SELECT count(*) FROM audit WHERE action = "
                                "'quota_request.create' AND actor = 'alice' AND outcome = 'ok'"),
                     1);
    free(body);
    json_decref(j);
    json_decref(chk);
}

static void
test_targets_become_deltas(void **state)
{
    char ends[32];
    rq_time(120 * 86400, ends);
    json_t *j = rq_call(RQ_CAROL, "POST", REQS, 201,
                        "{\"tenant_id\":10,\"targets\":{\"vcpus\":12,\"memory_mib\":20480},"
                        "\"justification\":\"Lab\\nfor the semester\",\"ends_at\":\"%s\"}",
                        ends);
    assert_int_equal(rq_int(j, "deltas.vcpus"), 4);
    assert_int_equal(rq_int(j, "deltas.memory_mib"), 4096);
    assert_int_equal(rq_int(j, "targets.vcpus"), 12);
    assert_non_null(strstr(rq_str(j, "ends_at"), "T"));
    json_decref(j);
}

/* ---- bad input changes nothing ---- */

static void
bad_create(enum rq_user who, const char *body, long status, const char *field)
{
    rq_expect_problem(who, "POST", REQS, body, status, field);
}

static void
test_bad_requests_change_nothing(void **state)
{
    char *before = rq_snapshot(), past[32], far[32], body[3000];
    rq_time(-3600, past);
    rq_time(20LL * 366 * 86400, far);
    const char *J = "\"justification\":\"x\"";
    snprintf(body, sizeof(body), "{\"tenant_id\":10,\"deltas\":{\"gpus\":1},%s}", J);
    bad_create(RQ_ALICE, body, 400, "deltas.gpus");
    snprintf(body, sizeof(body), "{\"tenant_id\":10,\"deltas\":{\"vcpus\":-4},%s}", J);
    bad_create(RQ_ALICE, body, 400, "deltas.vcpus");
    snprintf(body, sizeof(body), "{\"tenant_id\":10,\"deltas\":{\"vcpus\":0},%s}", J);
    bad_create(RQ_ALICE, body, 400, "deltas.vcpus");
    snprintf(body, sizeof(body), "{\"tenant_id\":10,\"deltas\":{\"vcpus\":1.5},%s}", J);
    bad_create(RQ_ALICE, body, 400, "deltas.vcpus");
    snprintf(body, sizeof(body), "{\"tenant_id\":10,\"deltas\":{\"vcpus\":\"4\"},%s}", J);
    bad_create(RQ_ALICE, body, 400, "deltas.vcpus");
    snprintf(body, sizeof(body), "{\"tenant_id\":10,\"deltas\":{},%s}", J);
    bad_create(RQ_ALICE, body, 400, "deltas");
    snprintf(body, sizeof(body), "{\"tenant_id\":10,%s}", J);
    bad_create(RQ_ALICE, body, 400, "deltas");
    snprintf(body, sizeof(body),
             "{\"tenant_id\":10,\"deltas\":{\"vcpus\":1},\"targets\":{\"vcpus\":9},%s}", J);
    bad_create(RQ_ALICE, body, 400, "targets");
    bad_create(RQ_ALICE, "{\"tenant_id\":10,\"deltas\":{\"vcpus\":1}}", 400, "justification");
    bad_create(RQ_ALICE, "{\"tenant_id\":10,\"deltas\":{\"vcpus\":1},\"justification\":\"\"}", 400,
               "justification");
    bad_create(RQ_ALICE,
               "{\"tenant_id\":10,\"deltas\":{\"vcpus\":1},\"justification\":\"a\\u0001b\"}", 400,
               "justification");
    int n = snprintf(body, sizeof(body),
                     "{\"tenant_id\":10,\"deltas\":{\"vcpus\":1},\"justification\":\"");
    memset(body + n, 'x', 2001);
    snprintf(body + n + 2001, sizeof(body) - (size_t)n - 2001, "\"}");
    bad_create(RQ_ALICE, body, 400, "justification");
    snprintf(body, sizeof(body),
             "{\"tenant_id\":10,\"deltas\":{\"vcpus\":1},%s,\"ends_at\":\"%s\"}", J, past);
    bad_create(RQ_ALICE, body, 400, "ends_at");
    snprintf(body, sizeof(body),
             "{\"tenant_id\":10,\"deltas\":{\"vcpus\":1},%s,\"ends_at\":\"%s\"}", J, far);
    bad_create(RQ_ALICE, body, 400, "ends_at");
    snprintf(body, sizeof(body),
             "{\"tenant_id\":10,\"deltas\":{\"vcpus\":1},%s,\"ends_at\":\"next week\"}", J);
    bad_create(RQ_ALICE, body, 400, "ends_at");
    /* disk_gib has no limit: nothing to raise; a target must be above the limit */
    snprintf(body, sizeof(body), "{\"tenant_id\":10,\"deltas\":{\"disk_gib\":100},%s}", J);
    bad_create(RQ_ALICE, body, 400, "deltas.disk_gib");
    snprintf(body, sizeof(body), "{\"tenant_id\":10,\"targets\":{\"vcpus\":8},%s}", J);
    bad_create(RQ_ALICE, body, 400, "targets.vcpus");
    snprintf(body, sizeof(body), "{\"tenant_id\":10,\"deltas\":{\"vcpus\":1},%s,\"x\":1}", J);
    bad_create(RQ_ALICE, body, 400, "x");
    /* a tenant asking for another tenant: like a tenant that does not exist */
    snprintf(body, sizeof(body), "{\"tenant_id\":20,\"deltas\":{\"vcpus\":1},%s}", J);
    bad_create(RQ_ALICE, body, 404, NULL);
    snprintf(body, sizeof(body), "{\"tenant_id\":10,\"deltas\":{\"vcpus\":1},%s}", J);
    bad_create(RQ_BOB, body, 404, NULL);
    snprintf(body, sizeof(body), "{\"tenant_id\":999,\"deltas\":{\"vcpus\":1},%s}", J);
    bad_create(RQ_ADMIN, body, 404, NULL);
    char *after = rq_snapshot();
    assert_non_null(before);
    assert_string_equal(before, after);
    free(before);
    free(after);
}

static void
test_bad_decisions_change_nothing(void **state)
{
    char past[32], body[300];
    int64_t id = rq_request(RQ_ALICE, 10, "{\"vcpus\":4}");
    int64_t own = rq_request(RQ_DAVE, 10, "{\"vcpus\":2}");
    char *before = rq_snapshot();
    rq_time(-60, past);
    const char *ap = strdup(path_of(id, "approve"));
    rq_expect_problem(RQ_ADMIN, "POST", ap, "{\"resources\":{\"vcpus\":5},\"comment\":\"c\"}", 400,
                      "resources.vcpus");
    rq_expect_problem(RQ_ADMIN, "POST", ap, "{\"resources\":{\"vcpus\":-1},\"comment\":\"c\"}", 400,
                      "resources.vcpus");
    rq_expect_problem(RQ_ADMIN, "POST", ap, "{\"resources\":{\"memory_mib\":1},\"comment\":\"c\"}",
                      400, "resources.memory_mib");
    rq_expect_problem(RQ_ADMIN, "POST", ap, "{\"resources\":{\"vcpus\":0},\"comment\":\"c\"}", 400,
                      "resources");
    rq_expect_problem(RQ_ADMIN, "POST", ap, "{\"resources\":{\"cpus\":1},\"comment\":\"c\"}", 400,
                      "resources.cpus");
    snprintf(body, sizeof(body), "{\"expires_at\":\"%s\",\"comment\":\"c\"}", past);
    rq_expect_problem(RQ_ADMIN, "POST", ap, body, 400, "expires_at");
    rq_expect_problem(RQ_ADMIN, "POST", ap, "{}", 400, "comment");
    rq_expect_problem(RQ_ADMIN, "POST", path_of(id, "deny"), "{}", 400, "reason");
    /* who may not decide: the tenant admin and members lack quota.approve; a
     * steward of the tenant may approve others' requests, never their own */
    rq_expect_problem(RQ_CAROL, "POST", ap, "{\"comment\":\"c\"}", 403, NULL);
    rq_expect_problem(RQ_ALICE, "POST", ap, "{\"comment\":\"c\"}", 403, NULL);
    rq_expect_problem(RQ_BOB, "POST", ap, "{\"comment\":\"c\"}", 403, NULL);
    rq_expect_problem(RQ_DAVE, "POST", path_of(own, "approve"), "{\"comment\":\"mine\"}", 403,
                      NULL);
    rq_expect_problem(RQ_DAVE, "POST", path_of(own, "deny"), "{\"reason\":\"mine\"}", 403, NULL);
    rq_expect_problem(RQ_ADMIN, "POST", path_of(9999, "approve"), "{\"comment\":\"c\"}", 404, NULL);
    char *after = rq_snapshot();
    assert_string_equal(before, after);
    /* the refusals are on record as such */
    assert_true(rq_sql_int("SELECT count(*) FROM audit WHERE action = 'quota_request.approve' "
                           "AND outcome = 'denied' AND actor = 'dave'") >= 1);
    free(before);
    free(after);
    free((char *)ap);
}

/* ---- reading ---- */

static void
test_list_and_scoping(void **state)
{
    int64_t a1 = rq_request(RQ_ALICE, 10, "{\"vcpus\":1}");
    int64_t a2 = rq_request(RQ_CAROL, 10, "{\"memory_mib\":1024}");
    int64_t g1 = rq_request(RQ_BOB, 20, "{\"vcpus\":2}");
    json_t *j = rq_call(RQ_ALICE, "GET", REQS, 200, NULL);
    assert_int_equal(json_array_size(rq_get(j, "items")), 2);
    assert_int_equal(rq_int(json_array_get(rq_get(j, "items"), 0), "id"), a2); /* newest first */
    json_decref(j);
    j = rq_call(RQ_BOB, "GET", REQS, 200, NULL);
    assert_int_equal(json_array_size(rq_get(j, "items")), 1);
    json_decref(j);
    rq_expect_problem(RQ_BOB, "GET", path_of(a1, NULL), NULL, 404, NULL);
    rq_expect_problem(RQ_ALICE, "GET", path_of(g1, NULL), NULL, 404, NULL);
    j = rq_call(RQ_ADMIN, "GET", REQS "?limit=2", 200, NULL);
    assert_int_equal(json_array_size(rq_get(j, "items")), 2);
    char next[96];
    snprintf(next, sizeof(next), REQS "?limit=2&cursor=%s", rq_str(j, "next_cursor"));
    json_decref(j);
    j = rq_call(RQ_ADMIN, "GET", next, 200, NULL);
    assert_int_equal(json_array_size(rq_get(j, "items")), 1);
    assert_int_equal(rq_int(json_array_get(rq_get(j, "items"), 0), "id"), a1);
    assert_true(json_is_null(rq_get(j, "next_cursor")));
    json_decref(j);
    j = rq_call(RQ_ADMIN, "GET", REQS "?tenant_id=20&state=pending&context=true", 200, NULL);
    assert_int_equal(json_array_size(rq_get(j, "items")), 1);
    assert_int_equal(rq_int(json_array_get(rq_get(j, "items"), 0), "context.usage.vcpus.used"), 8);
    json_decref(j);
    rq_expect_problem(RQ_ADMIN, "GET", REQS "?state=sleeping", NULL, 400, "state");
    rq_expect_problem(RQ_ADMIN, "GET", REQS "?cursor=abc", NULL, 400, "cursor");
}

/* ---- withdraw, approve, deny ---- */

static void
test_withdraw(void **state)
{
    int64_t id = rq_request(RQ_ALICE, 10, "{\"vcpus\":2}");
    rq_expect_problem(RQ_CAROL, "POST", path_of(id, "withdraw"), NULL, 403, NULL);
    json_t *j = rq_call(RQ_ALICE, "POST", path_of(id, "withdraw"), 200, NULL);
    assert_string_equal(rq_str(j, "state"), "withdrawn");
    json_decref(j);
    rq_expect_problem(RQ_ALICE, "POST", path_of(id, "withdraw"), NULL, 409, NULL);
    rq_expect_problem(RQ_ADMIN, "POST", path_of(id, "approve"), "{\"comment\":\"late\"}", 409,
                      NULL);
    rq_expect_problem(RQ_BOB, "POST", path_of(id, "withdraw"), NULL, 404, NULL);
    assert_int_equal(limit_of("vcpus", 10), 8);
}

static void
test_partial_approval_with_expiry(void **state)
{
    char exp[32];
    rq_time(7 * 86400, exp);
    int64_t id = rq_request(RQ_ALICE, 10, "{\"vcpus\":8,\"memory_mib\":4096}");
    json_t *j = rq_call(RQ_ADMIN, "POST", path_of(id, "approve"), 200,
                        "{\"resources\":{\"vcpus\":4},\"expires_at\":\"%s\",\"comment\":"
                        "\"Half, for a week.\"}",
                        exp);
    assert_string_equal(rq_str(j, "state"), "approved");
    assert_string_equal(rq_str(j, "decided_by.login"), "admin");
    assert_string_equal(rq_str(j, "comment"), "Half, for a week.");
    assert_int_equal(rq_int(j, "grant.granted.vcpus"), 4);
    assert_null(rq_get(j, "grant.granted.memory_mib"));
    assert_int_equal(rq_int(j, "grant.applied.vcpus"), 4);
    assert_string_equal(rq_str(j, "grant.state"), "active");
    assert_non_null(rq_get(j, "grant.expires_at"));
    /* what the decision was made in, and what is true now */
    assert_int_equal(rq_int(j, "decision_context.usage.vcpus.limit"), 8);
    assert_int_equal(rq_int(j, "decision_context.usage.vcpus.used"), 6);
    assert_int_equal(rq_int(j, "decision_context.cluster.hosts"), 1);
    assert_int_equal(rq_int(j, "decision_context.cluster.memory_mib"), 65536);
    assert_int_equal(rq_int(j, "context.usage.vcpus.limit"), 12);
    json_decref(j);
    assert_int_equal(limit_of("vcpus", 10), 12);
    assert_int_equal(limit_of("memory_mib", 10), 16384);
    assert_int_equal(rq_sql_int("SELECT count(*) FROM audit WHERE action = "
                                "'quota_request.approve' AND outcome = 'ok' AND actor = 'admin' "
                                "AND json_extract(details, '$.after.vcpus') = 12 AND "
                                "json_extract(details, '$.context.cluster.cores') = 16"),
                     1);
    /* the new limit admits what did not fit before */
    j = rq_call(RQ_ALICE, "POST", "/api/v1/tenants/10/quota/check", 200, "{\"vcpus\":6}");
    assert_true(json_is_true(rq_get(j, "admitted")));
    json_decref(j);
}

static void
test_deny(void **state)
{
    int64_t id = rq_request(RQ_ALICE, 10, "{\"vcpus\":8}");
    json_t *j = rq_call(RQ_ADMIN2, "POST", path_of(id, "deny"), 200,
                        "{\"reason\":\"The cluster is full this month.\"}");
    assert_string_equal(rq_str(j, "state"), "denied");
    assert_string_equal(rq_str(j, "reason"), "The cluster is full this month.");
    assert_true(json_is_null(rq_get(j, "grant")));
    assert_int_equal(rq_int(j, "decision_context.usage.vcpus.used"), 6);
    json_decref(j);
    assert_int_equal(limit_of("vcpus", 10), 8);
    rq_expect_problem(RQ_ADMIN, "POST", path_of(id, "approve"), "{\"comment\":\"no\"}", 409, NULL);
}

/* A steward of the tenant decides others' requests of that tenant. */
static void
test_tenant_steward_approves_others(void **state)
{
    int64_t id = rq_request(RQ_ALICE, 10, "{\"vcpus\":1}");
    json_t *j = rq_call(RQ_DAVE, "POST", path_of(id, "approve"), 200, "{\"comment\":\"ok\"}");
    assert_string_equal(rq_str(j, "decided_by.login"), "dave");
    json_decref(j);
    assert_int_equal(limit_of("vcpus", 10), 9);
    int64_t g = rq_request(RQ_BOB, 20, "{\"vcpus\":1}");
    rq_expect_problem(RQ_DAVE, "POST", path_of(g, "approve"), "{\"comment\":\"x\"}", 404, NULL);
}

/* ---- two administrators at once ---- */

struct racer {
    enum rq_user who;
    char path[96];
    const char *body;
    long status;
    pthread_barrier_t *start;
};

static void *
race(void *arg)
{
    struct racer *r = arg;
    pthread_barrier_wait(r->start);
    r->status = rq_try(r->who, "POST", r->path, r->body, NULL);
    return NULL;
}

static void
test_concurrent_decisions(void **state)
{
    int approved = 0;
    for (int round = 0; round < 20; round++) {
        int64_t id = rq_request(RQ_ALICE, 10, "{\"vcpus\":1}");
        pthread_barrier_t b;
        pthread_barrier_init(&b, NULL, 2);
        struct racer r[2] = {{RQ_ADMIN, "", "{\"comment\":\"yes\"}", 0, &b},
                             {RQ_ADMIN2, "",
                              round % 2 ? "{\"reason\":\"no\"}"
                                        : "{\"comment\":"
                                          "\"also yes\"}",
                              0, &b}};
        snprintf(r[0].path, sizeof(r[0].path), "%s", path_of(id, "approve"));
        snprintf(r[1].path, sizeof(r[1].path), "%s", path_of(id, round % 2 ? "deny" : "approve"));
        pthread_t t[2];
        for (int i = 0; i < 2; i++)
            pthread_create(&t[i], NULL, race, &r[i]);
        for (int i = 0; i < 2; i++)
            pthread_join(t[i], NULL);
        pthread_barrier_destroy(&b);
        if (!((r[0].status == 200 && r[1].status == 409) ||
              (r[0].status == 409 && r[1].status == 200)))
            fail_msg("round %d: %ld and %ld, wanted one 200 and one 409", round, r[0].status,
                     r[1].status);
        json_t *keep = NULL;
        const char *st = state_of(id, &keep);
        approved += !strcmp(st, "approved");
        assert_int_equal(rq_sql_int("SELECT count(*) FROM audit WHERE target = "
                                    "'quota-request/%lld' AND outcome = 'ok' AND action IN "
                                    "('quota_request.approve', 'quota_request.deny')",
                                    (long long)id),
                         1);
        json_decref(keep);
    }
    assert_true(approved >= 10); /* even rounds are approve/approve */
    assert_int_equal(limit_of("vcpus", 10), 8 + approved);
}

/* ---- notifications ---- */

static json_t *
inbox(enum rq_user who, const char *query)
{
    char path[96];
    snprintf(path, sizeof(path), "/api/v1/notifications%s", query ? query : "");
    return rq_call(who, "GET", path, 200, NULL);
}

static void
test_notifications_both_sides(void **state)
{
    int64_t id = rq_request(RQ_ALICE, 10, "{\"vcpus\":2}");
    json_t *j = inbox(RQ_ADMIN, NULL);
    json_t *n0 = json_array_get(rq_get(j, "items"), 0);
    assert_string_equal(rq_str(n0, "kind"), "quota_request.created");
    assert_int_equal(rq_int(n0, "body.request_id"), id);
    assert_non_null(strstr(rq_str(n0, "body.message"), "alice"));
    assert_true(json_is_false(rq_get(n0, "read")));
    json_decref(j);
    /* approvers (admin, admin2, the acme steward) are told; not the requester,
     * not the tenant admin (no quota.approve), not another tenant */
    for (int u = 0; u < RQ_NUSERS; u++) {
        j = inbox((enum rq_user)u, NULL);
        bool want = u == RQ_ADMIN || u == RQ_ADMIN2 || u == RQ_DAVE;
        assert_int_equal(rq_int(j, "unread"), want ? 1 : 0);
        json_decref(j);
    }
    json_decref(rq_call(RQ_ADMIN, "POST", path_of(id, "approve"), 200, "{\"comment\":\"ok\"}"));
    j = inbox(RQ_ALICE, "?unread=true");
    assert_int_equal(rq_int(j, "unread"), 1);
    n0 = json_array_get(rq_get(j, "items"), 0);
    assert_string_equal(rq_str(n0, "kind"), "quota_request.approved");
    assert_int_equal(rq_int(n0, "body.granted.vcpus"), 2);
    int64_t nid = rq_int(n0, "id");
    json_decref(j);
    j = inbox(RQ_CAROL, NULL); /* the tenant's admin hears of the decision */
    assert_int_equal(rq_int(j, "unread"), 1);
    json_decref(j);
    char p[64];
    snprintf(p, sizeof(p), "/api/v1/notifications/%lld/read", (long long)nid);
    rq_expect_problem(RQ_BOB, "POST", p, NULL, 404, NULL);
    json_decref(rq_call(RQ_ALICE, "POST", p, 204, NULL));
    json_decref(rq_call(RQ_ALICE, "POST", p, 204, NULL)); /* idempotent */
    j = inbox(RQ_ALICE, "?unread=true");
    assert_int_equal(rq_int(j, "unread"), 0);
    assert_int_equal(json_array_size(rq_get(j, "items")), 0);
    json_decref(j);
    j = rq_call(RQ_ADMIN, "POST", "/api/v1/notifications/read-all", 200, NULL);
    assert_int_equal(rq_int(j, "marked"), 1);
    json_decref(j);
}

/* ---- expiry ---- */

static bool
wait_state(int64_t id, const char *want, json_t **out)
{
    for (int i = 0; i < 150; i++) { /* up to 30 s: the job runs every second */
        if (!strcmp(state_of(id, out), want))
            return true;
        usleep(200000);
    }
    return false;
}

static void
test_expiry_by_moving_the_clock(void **state)
{
    /* lowered below usage (6 vCPUs used): allowed, nothing is stopped */
    json_decref(rq_call(RQ_ADMIN, "PUT", "/api/v1/tenants/10/quota", 200,
                        "{\"vms\":10,\"vcpus\":4,\"memory_mib\":16384}"));
    int64_t id = rq_request(RQ_ALICE, 10, "{\"vcpus\":4}");
    char exp[32];
    rq_time(86400, exp);
    json_decref(rq_call(RQ_ADMIN, "POST", path_of(id, "approve"), 200,
                        "{\"expires_at\":\"%s\",\"comment\":\"One day.\"}", exp));
    assert_int_equal(limit_of("vcpus", 10), 8);
    json_t *j = rq_call(RQ_ADMIN, "POST", "/api/v1/test/clock", 200, "{\"offset_s\":172800}");
    json_decref(j);
    assert_int_equal(rq_relogin(), 0); /* the access tokens ended with the move */
    json_t *req = NULL;
    assert_true(wait_state(id, "expired", &req));
    assert_string_equal(rq_str(req, "grant.state"), "reverted");
    assert_int_equal(rq_int(req, "grant.reverted.vcpus"), 4);
    assert_non_null(rq_get(req, "grant.reverted_at"));
    json_decref(req);
    assert_int_equal(limit_of("vcpus", 10), 4);
    /* over quota now: VMs stay, new admissions are refused */
    assert_int_equal(rq_sql_int("SELECT count(*) FROM vm WHERE tenant_id = 10"), 3);
    j = rq_call(RQ_ALICE, "POST", "/api/v1/tenants/10/quota/check", 200, "{\"vcpus\":1}");
    assert_true(json_is_false(rq_get(j, "admitted")));
    json_decref(j);
    /* both sides are told, with what is over */
    enum rq_user told[] = {RQ_ALICE, RQ_CAROL, RQ_ADMIN};
    for (size_t i = 0; i < 3; i++) {
        j = inbox(told[i], NULL);
        json_t *n0 = json_array_get(rq_get(j, "items"), 0);
        assert_string_equal(rq_str(n0, "kind"), "quota_grant.expired");
        assert_string_equal(rq_str(json_array_get(rq_get(n0, "body.over_quota"), 0), "resource"),
                            "vcpus");
        json_decref(j);
    }
    assert_int_equal(rq_sql_int("SELECT count(*) FROM audit WHERE action = "
                                "'quota_request.expire' AND actor = 'system' AND outcome = 'ok' "
                                "AND json_extract(details, '$.after.vcpus') = 4"),
                     1);
    j = rq_call(RQ_ADMIN, "GET", "/api/v1/audit/verify", 200, NULL);
    assert_true(json_is_true(rq_get(j, "ok")));
    json_decref(j);
}

/* A grant that ended while the portal was down is reverted at start. */
static void
test_expiry_survives_restart(void **state)
{
    int64_t id = rq_request(RQ_ALICE, 10, "{\"memory_mib\":2048}");
    char exp[32];
    rq_time(3600, exp);
    json_decref(rq_call(RQ_ADMIN, "POST", path_of(id, "approve"), 200,
                        "{\"expires_at\":\"%s\",\"comment\":\"An hour.\"}", exp));
    assert_int_equal(limit_of("memory_mib", 10), 18432);
    const char *later[] = {"--set", "server.clock_offset_s=7200", "--set",
                           "requests.expiry_interval_s=3600", NULL};
    assert_int_equal(rq_restart(later), 0);
    json_t *req = NULL;
    assert_string_equal(state_of(id, &req), "expired"); /* no waiting: done before listening */
    json_decref(req);
    assert_int_equal(limit_of("memory_mib", 10), 16384);
}

/* ---- the auto-approval policy ---- */

static const char *
create_state(const char *deltas, json_t **keep)
{
    json_decref(*keep);
    *keep = rq_call(RQ_ALICE, "POST", REQS, 201,
                    "{\"tenant_id\":10,\"deltas\":%s,\"justification\":\"auto?\"}", deltas);
    return rq_str(*keep, "state");
}

static void
test_auto_approval_policy(void **state)
{
    const char *rules[] = {"--set", "requests.auto_max_vcpus=2", "--set",
                           "requests.auto_max_memory_pct=25", NULL};
    assert_int_equal(rq_restart(rules), 0);
    json_t *j = NULL;
    /* cluster: 16 cores, 14 vCPUs allocated: room for 2 */
    assert_string_equal(create_state("{\"vcpus\":2}", &j), "approved");
    assert_string_equal(rq_str(j, "decided_by.login"), "policy");
    assert_true(json_is_null(rq_get(j, "decided_by.id")));
    assert_string_equal(create_state("{\"vcpus\":3}", &j), "pending");
    assert_string_equal(create_state("{\"memory_mib\":4096}", &j), "approved"); /* 25% of 16384 */
    /* the limit is 20480 now: 25% is 5120 */
    assert_string_equal(create_state("{\"memory_mib\":5121}", &j), "pending");
    assert_string_equal(create_state("{\"vms\":1}", &j), "pending"); /* no rule for VMs */
    assert_string_equal(create_state("{\"vcpus\":1,\"memory_mib\":100}", &j), "approved");
    json_decref(j);
    j = NULL;
    assert_int_equal(limit_of("vcpus", 10), 11);
    assert_int_equal(rq_sql_int("SELECT count(*) FROM audit WHERE actor = 'policy' AND action = "
                                "'quota_request.approve' AND outcome = 'ok'"),
                     3);
    /* no room: with 80% of the cores, 12.8 vCPUs < 14 allocated */
    const char *tight[] = {"--set", "requests.auto_max_vcpus=2", "--set",
                           "requests.auto_cpu_overcommit_pct=80", NULL};
    assert_int_equal(rq_restart(tight), 0);
    assert_string_equal(create_state("{\"vcpus\":1}", &j), "pending");
    json_decref(j);
}

int
main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_refusal_body_is_accepted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_targets_become_deltas, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_requests_change_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_decisions_change_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_and_scoping, setup, teardown),
        cmocka_unit_test_setup_teardown(test_withdraw, setup, teardown),
        cmocka_unit_test_setup_teardown(test_partial_approval_with_expiry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deny, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tenant_steward_approves_others, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_decisions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_notifications_both_sides, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expiry_by_moving_the_clock, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expiry_survives_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_auto_approval_policy, setup, teardown),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
