/* Webhooks against the real binary and a real HTTP receiver on 127.0.0.1
 * started by the test (rq.h): target validation, the secret shown once,
 * signed deliveries of quota-request events, retries with backoff after
 * failures (500, 500, then 200), giving up, the delivery-time check of the
 * address connected to, and a receiver that does not answer never holding
 * up the request that caused the event. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rq.h"

static const char *const lab[] = {"--set", "webhooks.allow_private=1", "--set",
                                  "webhooks.retry_base_ms=100", NULL};

static int
setup(void **state)
{
    return rq_world(lab);
}

static int
setup_strict(void **state)
{
    return rq_world(NULL); /* webhooks.allow_private stays 0 */
}

static int
teardown(void **state)
{
    rq_world_end();
    return 0;
}

/* Creates a webhook to the receiver; returns its id, *secret (caller frees). */
static int64_t
hook(const struct rq_receiver *rv, const char *events, char **secret)
{
    json_t *j = rq_call(RQ_ADMIN, "POST", "/api/v1/webhooks", 201,
                        "{\"url\":\"http://127.0.0.1:%d/hook?x=1\",\"events\":%s,"
                        "\"description\":\"test receiver\"}",
                        rv->port, events);
    *secret = strdup(rq_str(j, "secret"));
    int64_t id = rq_int(j, "id");
    json_decref(j);
    return id;
}

static json_t *
deliveries(int64_t hook_id)
{
    char p[80];
    snprintf(p, sizeof(p), "/api/v1/webhooks/%lld/deliveries", (long long)hook_id);
    return rq_call(RQ_ADMIN, "GET", p, 200, NULL);
}

/* Waits until the newest delivery of hook_id has left "pending". */
static json_t *
settled(int64_t hook_id)
{
    for (int i = 0; i < 150; i++) {
        json_t *j = deliveries(hook_id);
        json_t *d0 = json_array_get(rq_get(j, "items"), 0);
        if (d0 && strcmp(rq_str(d0, "state"), "pending")) {
            json_t *out = json_incref(d0);
            json_decref(j);
            return out;
        }
        json_decref(j);
        usleep(200000);
    }
    fail_msg("the delivery did not settle");
    return NULL;
}

static void
test_targets_validated(void **state)
{
    const char *bad[] = {
        "ftp://hooks.example.com/x",
        "https://user:pw@hooks.example.com/x",
        "https://token@hooks.example.com/x",
        "https://hooks.example.com/x#frag",
        "https://hooks.example.com:0/x",
        "https://hooks.example.com:99999/x",
        "https:///x",
        "https://hooks example.com/x",
        "http://127.0.0.1:8080/x",
        "http://localhost/x",
        "http://api.localhost/x",
        "http://10.1.2.3/x",
        "http://192.168.0.10/x",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]:8080/x",
        "http://[fd00::1]/x",
        "http://[::ffff:127.0.0.1]/x",
        "http://2130706433/x",
        "http://0x7f000001/x",
        "http://127.1/x",
    };
    char *before = rq_snapshot();
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char body[300];
        snprintf(body, sizeof(body), "{\"url\":\"%s\",\"events\":[\"quota_request.created\"]}",
                 bad[i]);
        rq_expect_problem(RQ_ADMIN, "POST", "/api/v1/webhooks", body, 400, "url");
    }
    rq_expect_problem(RQ_ADMIN, "POST", "/api/v1/webhooks",
                      "{\"url\":\"https://hooks.example.com/x\",\"events\":[\"vm.exploded\"]}", 400,
                      "events");
    rq_expect_problem(RQ_ADMIN, "POST", "/api/v1/webhooks",
                      "{\"url\":\"https://hooks.example.com/x\",\"events\":[]}", 400, "events");
    rq_expect_problem(RQ_CAROL, "POST", "/api/v1/webhooks",
                      "{\"url\":\"https://hooks.example.com/x\",\"events\":"
                      "[\"quota_request.created\"]}",
                      403, NULL);
    char *after = rq_snapshot();
    assert_string_equal(before, after);
    free(before);
    free(after);
    /* a public target is fine; the secret is shown once */
    json_t *j = rq_call(RQ_ADMIN, "POST", "/api/v1/webhooks", 201,
                        "{\"url\":\"https://hooks.example.com:8443/v1/vp?k=v\",\"events\":"
                        "[\"quota_request.created\",\"quota_grant.expired\"],\"tenant_id\":10}");
    assert_int_equal(strncmp(rq_str(j, "secret"), "whsec_", 6), 0);
    char path[64];
    snprintf(path, sizeof(path), "/api/v1/webhooks/%lld", (long long)rq_int(j, "id"));
    json_decref(j);
    j = rq_call(RQ_ADMIN, "GET", path, 200, NULL);
    assert_null(rq_get(j, "secret"));
    assert_int_equal(json_array_size(rq_get(j, "events")), 2);
    json_decref(j);
    assert_int_equal(rq_sql_int("SELECT count(*) FROM audit WHERE action = 'webhook.create' AND "
                                "details LIKE '%%whsec_%%'"),
                     0);
    j = rq_call(RQ_ADMIN, "PATCH", path, 200, "{\"active\":false,\"rotate_secret\":true}");
    assert_true(json_is_false(rq_get(j, "active")));
    assert_non_null(rq_get(j, "secret"));
    json_decref(j);
    json_decref(rq_call(RQ_ADMIN, "DELETE", path, 204, NULL));
    rq_expect_problem(RQ_ADMIN, "GET", path, NULL, 404, NULL);
}

static void
test_delivery_is_signed(void **state)
{
    struct rq_receiver rv;
    assert_int_equal(rq_receiver_start(&rv, NULL, 0), 0);
    char *secret;
    int64_t h = hook(&rv, "[\"quota_request.created\",\"quota_request.approved\"]", &secret);
    int64_t id = rq_request(RQ_ALICE, 10, "{\"vcpus\":2}");
    assert_true(rq_receiver_wait(&rv, 1));
    struct rq_hit *hit = &rv.hits[0];
    assert_string_equal(hit->event, "quota_request.created");
    assert_true(rq_signature_ok(hit, secret));
    assert_true(strtoll(hit->timestamp, NULL, 10) > 1700000000);
    json_t *b = json_loads(hit->body, 0, NULL);
    assert_string_equal(rq_str(b, "event"), "quota_request.created");
    assert_int_equal(rq_int(b, "tenant_id"), 10);
    assert_int_equal(rq_int(b, "data.request_id"), id);
    assert_int_equal(rq_int(b, "data.deltas.vcpus"), 2);
    json_decref(b);
    /* a wrong key does not verify */
    assert_false(rq_signature_ok(hit, "whsec_not-the-secret"));
    json_decref(
        rq_call(RQ_ADMIN, "POST", "/api/v1/quota-requests/1/approve", 200, "{\"comment\":\"ok\"}"));
    assert_true(rq_receiver_wait(&rv, 2));
    assert_string_equal(rv.hits[1].event, "quota_request.approved");
    assert_true(rq_signature_ok(&rv.hits[1], secret));
    json_t *d = settled(h);
    assert_string_equal(rq_str(d, "state"), "delivered");
    assert_int_equal(rq_int(d, "attempts"), 1);
    assert_int_equal(rq_int(json_array_get(rq_get(d, "log"), 0), "status"), 200);
    json_decref(d);
    free(secret);
    rq_receiver_stop(&rv);
}

static void
test_retries_with_backoff(void **state)
{
    struct rq_receiver rv;
    const int script[] = {500, 500, 200};
    assert_int_equal(rq_receiver_start(&rv, script, 3), 0);
    char *secret;
    int64_t h = hook(&rv, "[\"quota_request.created\"]", &secret);
    char p[80];
    snprintf(p, sizeof(p), "/api/v1/webhooks/%lld/ping", (long long)h);
    json_t *j = rq_call(RQ_ADMIN, "POST", p, 202, NULL);
    int64_t delivery = rq_int(j, "delivery_id");
    json_decref(j);
    assert_true(rq_receiver_wait(&rv, 3));
    json_t *d = settled(h);
    assert_int_equal(rq_int(d, "id"), delivery);
    assert_string_equal(rq_str(d, "state"), "delivered");
    assert_int_equal(rq_int(d, "attempts"), 3);
    json_t *log = rq_get(d, "log");
    assert_int_equal(json_array_size(log), 3);
    assert_int_equal(rq_int(json_array_get(log, 0), "status"), 500);
    assert_int_equal(rq_int(json_array_get(log, 1), "status"), 500);
    assert_int_equal(rq_int(json_array_get(log, 2), "status"), 200);
    assert_non_null(strstr(rq_str(json_array_get(log, 0), "error"), "500"));
    /* the same delivery, the same bytes, each signed; later attempts later */
    for (int i = 0; i < 3; i++) {
        assert_string_equal(rv.hits[i].event, "webhook.ping");
        assert_int_equal(strtoll(rv.hits[i].delivery, NULL, 10), delivery);
        assert_string_equal(rv.hits[i].body, rv.hits[0].body);
        assert_true(rq_signature_ok(&rv.hits[i], secret));
    }
    assert_true(strcmp(rq_str(json_array_get(log, 2), "at"), rq_str(json_array_get(log, 0), "at")) >
                0);
    json_decref(d);
    free(secret);
    rq_receiver_stop(&rv);
}

static void
test_gives_up_after_max_attempts(void **state)
{
    const char *few[] = {"--set", "webhooks.allow_private=1", "--set", "webhooks.retry_base_ms=50",
                         "--set", "webhooks.max_attempts=3",  NULL};
    assert_int_equal(rq_restart(few), 0);
    struct rq_receiver rv;
    const int script[] = {503, 503, 503, 503, 503};
    assert_int_equal(rq_receiver_start(&rv, script, 5), 0);
    char *secret;
    int64_t h = hook(&rv, "[\"quota_request.created\"]", &secret);
    rq_request(RQ_ALICE, 10, "{\"vcpus\":1}");
    json_t *d = settled(h);
    assert_string_equal(rq_str(d, "state"), "failed");
    assert_int_equal(rq_int(d, "attempts"), 3);
    assert_int_equal(rq_int(d, "last_status"), 503);
    assert_non_null(rq_get(d, "finished_at"));
    json_decref(d);
    assert_int_equal(rq_receiver_count(&rv), 3);
    free(secret);
    rq_receiver_stop(&rv);
}

/* Allowed when created (lab mode), refused at delivery once the portal runs
 * without allow_private: the address connected to is checked, not only the
 * URL's text. */
static void
test_private_target_refused_at_delivery(void **state)
{
    struct rq_receiver rv;
    assert_int_equal(rq_receiver_start(&rv, NULL, 0), 0);
    char *secret;
    int64_t h = hook(&rv, "[\"quota_request.created\"]", &secret);
    const char *strict[] = {"--set", "webhooks.retry_base_ms=50", "--set",
                            "webhooks.max_attempts=1", NULL};
    assert_int_equal(rq_restart(strict), 0);
    rq_request(RQ_ALICE, 10, "{\"vcpus\":1}");
    json_t *d = settled(h);
    assert_string_equal(rq_str(d, "state"), "failed");
    assert_non_null(strstr(rq_str(d, "last_error"), "private"));
    assert_true(json_is_null(rq_get(d, "last_status")));
    json_decref(d);
    assert_int_equal(rq_receiver_count(&rv), 0);
    free(secret);
    rq_receiver_stop(&rv);
}

/* While the receiver holds its answer, requests that emit events still
 * complete: delivery never runs on the request path. */
static void
test_receiver_never_blocks_requests(void **state)
{
    struct rq_receiver rv;
    assert_int_equal(rq_receiver_start(&rv, NULL, 0), 0);
    rq_receiver_hold(&rv, true);
    char *secret;
    hook(&rv, "[\"quota_request.created\",\"quota_request.denied\"]", &secret);
    int64_t id = rq_request(RQ_ALICE, 10, "{\"vcpus\":1}");
    assert_true(rq_receiver_wait(&rv, 1)); /* the worker is now stuck on the receiver */
    int64_t id2 = rq_request(RQ_ALICE, 10, "{\"vcpus\":2}");
    char p[80];
    snprintf(p, sizeof(p), "/api/v1/quota-requests/%lld/deny", (long long)id);
    json_decref(rq_call(RQ_ADMIN, "POST", p, 200, "{\"reason\":\"no\"}"));
    assert_true(id2 > id);
    assert_int_equal(rq_receiver_count(&rv), 1);
    rq_receiver_hold(&rv, false);
    assert_true(rq_receiver_wait(&rv, 3));
    free(secret);
    rq_receiver_stop(&rv);
}

int
main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_targets_validated, setup_strict, teardown),
        cmocka_unit_test_setup_teardown(test_delivery_is_signed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retries_with_backoff, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gives_up_after_max_attempts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_private_target_refused_at_delivery, setup, teardown),
        cmocka_unit_test_setup_teardown(test_receiver_never_blocks_requests, setup, teardown),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
