/* The quota model: edge validation of limits and deltas (api/quotas.c) and
 * the admission arithmetic (db/quota_store.c: db_quota_evaluate/over). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "quota.h"
#include "quotas.h"

static json_t *
parse(const char *text)
{
    json_error_t je;
    json_t *j = json_loads(text, JSON_DECODE_ANY, &je);
    if (!j)
        fail_msg("bad test JSON %s: %s", text, je.text);
    return j;
}

static void
limits_ok(const char *text, struct quota_limits *l)
{
    json_t *j = parse(text);
    err e = {0};
    if (api_quotas_parse_limits(j, l, &e) < 0)
        fail_msg("%s refused: %s", text, e.detail);
    json_decref(j);
}

/* Refused with 400 naming `field`. */
static void
limits_bad(const char *text, const char *field)
{
    json_t *j = parse(text);
    struct quota_limits l;
    err e = {0};
    if (api_quotas_parse_limits(j, &l, &e) == 0)
        fail_msg("%s accepted", text);
    assert_int_equal(e.kind, ERR_INVALID);
    if (strcmp(e.field, field))
        fail_msg("%s: field '%s', wanted '%s' (%s)", text, e.field, field, e.detail);
    json_decref(j);
}

static void
test_limits_valid(void **state)
{
    struct quota_limits l;
    limits_ok("{}", &l);
    for (int r = 0; r < QUOTA_RES_COUNT; r++)
        assert_int_equal(l.v[r], QUOTA_UNLIMITED);
    limits_ok("{\"vms\": 10, \"vcpus\": 0, \"memory_mib\": 65536, \"disk_gib\": 2048,"
              " \"cpu_cores\": 2.5, \"memory_max_mib\": null, \"io_read_bps\": 104857600,"
              " \"io_write_bps\": 4096, \"io_read_iops\": 1, \"io_write_iops\": 1000,"
              " \"io_weight\": 10000, \"pids_max\": 4194304}",
              &l);
    assert_int_equal(l.v[QUOTA_VMS], 10);
    assert_int_equal(l.v[QUOTA_VCPUS], 0); /* 0 VMs' worth of vCPUs is a meaningful limit */
    assert_int_equal(l.v[QUOTA_CPU_CORES], 2500);
    assert_int_equal(l.v[QUOTA_MEMORY_MAX_MIB], QUOTA_UNLIMITED);
    assert_int_equal(l.v[QUOTA_IO_READ_BPS], 104857600);
    assert_int_equal(l.v[QUOTA_PIDS_MAX], 4194304);
    limits_ok("{\"cpu_cores\": 4}", &l); /* an integer number of cores */
    assert_int_equal(l.v[QUOTA_CPU_CORES], 4000);
    limits_ok("{\"cpu_cores\": 0.01}", &l);
    assert_int_equal(l.v[QUOTA_CPU_CORES], 10);
    limits_ok("{\"cpu_cores\": 2.3}", &l); /* 2.3 * 1000 is 2299.999...: rounds to 2300 */
    assert_int_equal(l.v[QUOTA_CPU_CORES], 2300);
}

static void
test_limits_negative(void **state)
{
    limits_bad("{\"vms\": -1}", "vms");
    limits_bad("{\"memory_mib\": -1024}", "memory_mib");
    limits_bad("{\"cpu_cores\": -0.5}", "cpu_cores");
    limits_bad("{\"vcpus\": 4, \"io_write_iops\": -3}", "io_write_iops");
}

static void
test_limits_zero_where_meaningless(void **state)
{
    limits_bad("{\"cpu_cores\": 0}", "cpu_cores");
    limits_bad("{\"cpu_cores\": 0.0}", "cpu_cores");
    limits_bad("{\"memory_max_mib\": 0}", "memory_max_mib");
    limits_bad("{\"io_read_bps\": 0}", "io_read_bps");
    limits_bad("{\"io_write_iops\": 0}", "io_write_iops");
    limits_bad("{\"io_weight\": 0}", "io_weight");
    limits_bad("{\"pids_max\": 0}", "pids_max");
    struct quota_limits l;
    limits_ok("{\"vms\": 0, \"disk_gib\": 0}", &l); /* allocation: "none allowed" */
    assert_int_equal(l.v[QUOTA_VMS], 0);
}

static void
test_limits_non_numeric(void **state)
{
    limits_bad("{\"vcpus\": \"8\"}", "vcpus");
    limits_bad("{\"vcpus\": true}", "vcpus");
    limits_bad("{\"vcpus\": [8]}", "vcpus");
    limits_bad("{\"vcpus\": {\"n\": 8}}", "vcpus");
    limits_bad("{\"vcpus\": 8.5}", "vcpus"); /* counts are integers */
    limits_bad("{\"memory_mib\": 1024.0}", "memory_mib");
    limits_bad("{\"cpu_cores\": \"2\"}", "cpu_cores");
}

static void
test_limits_absurd(void **state)
{
    limits_bad("{\"vcpus\": 1000001}", "vcpus");
    limits_bad("{\"vms\": 9223372036854775807}", "vms");
    limits_bad("{\"memory_mib\": 1073741825}", "memory_mib"); /* > 1 PiB */
    limits_bad("{\"memory_max_mib\": 1073741825}", "memory_max_mib");
    limits_bad("{\"cpu_cores\": 1000001}", "cpu_cores");
    limits_bad("{\"cpu_cores\": 1e300}", "cpu_cores");
    limits_bad("{\"io_read_bps\": 1099511627777}", "io_read_bps");
    limits_bad("{\"io_weight\": 10001}", "io_weight");
    limits_bad("{\"pids_max\": 4194305}", "pids_max");
}

static void
test_limits_precision_and_minimums(void **state)
{
    limits_bad("{\"cpu_cores\": 0.0001}", "cpu_cores");
    limits_bad("{\"cpu_cores\": 1.2345}", "cpu_cores");
    limits_bad("{\"cpu_cores\": 0.005}", "cpu_cores"); /* below 0.01 core */
    limits_bad("{\"memory_max_mib\": 8}", "memory_max_mib");
    limits_bad("{\"io_read_bps\": 512}", "io_read_bps");
    limits_bad("{\"pids_max\": 3}", "pids_max");
}

static void
test_limits_unknown_key(void **state)
{
    limits_bad("{\"vms\": 2, \"gpus\": 1}", "gpus");
    limits_bad("{\"cpu_millicores\": 1000}", "cpu_millicores"); /* the storage name is not API */
    limits_bad("{\"limits\": {\"vms\": 2}}", "limits");
    json_t *arr = parse("[1]");
    struct quota_limits l;
    err e = {0};
    assert_int_equal(api_quotas_parse_limits(arr, &l, &e), -1);
    assert_int_equal(e.kind, ERR_INVALID);
    json_decref(arr);
}

static void
deltas_bad(const char *text, const char *field)
{
    json_t *j = parse(text);
    struct quota_deltas d;
    err e = {0};
    if (api_quotas_parse_deltas(j, &d, &e) == 0)
        fail_msg("%s accepted", text);
    assert_int_equal(e.kind, ERR_INVALID);
    assert_string_equal(e.field, field);
    json_decref(j);
}

static void
test_deltas(void **state)
{
    json_t *j = parse("{\"vms\": 1, \"vcpus\": -2, \"memory_mib\": 4096}");
    struct quota_deltas d;
    err e = {0};
    assert_int_equal(api_quotas_parse_deltas(j, &d, &e), 0);
    assert_int_equal(d.v[QUOTA_VMS], 1);
    assert_int_equal(d.v[QUOTA_VCPUS], -2); /* a resize gives back */
    assert_int_equal(d.v[QUOTA_DISK_GIB], 0);
    json_decref(j);
    deltas_bad("{\"cpu_cores\": 1}", "cpu_cores"); /* runtime limits are not admitted */
    deltas_bad("{\"vms\": \"1\"}", "vms");
    deltas_bad("{\"vms\": 1.5}", "vms");
    deltas_bad("{\"vcpus\": 1000001}", "vcpus");
    deltas_bad("{\"memory_mib\": -1073741825}", "memory_mib");
    deltas_bad("{\"x\": 1}", "x");
}

static void
alloc4(struct quota_alloc *a, int64_t vms, int64_t vcpus, int64_t mem, int64_t disk)
{
    *a = (struct quota_alloc){{vms, vcpus, mem, disk}};
}

static void
test_evaluate(void **state)
{
    struct quota_limits l;
    db_quota_limits_unlimited(&l);
    l.v[QUOTA_VMS] = 10;
    l.v[QUOTA_VCPUS] = 20;
    struct quota_alloc used, res;
    alloc4(&used, 8, 16, 1 << 20, 1 << 20);
    alloc4(&res, 1, 2, 0, 0);
    struct quota_deltas d = {{1, 2, 4096, 100}};
    struct quota_refusal why;
    assert_true(db_quota_evaluate(&l, &used, &res, &d, &why)); /* exactly full */
    assert_int_equal(why.n, 0);
    d = (struct quota_deltas){{1, 4, 0, 0}};
    assert_false(db_quota_evaluate(&l, &used, &res, &d, &why));
    assert_int_equal(why.n, 1);
    assert_int_equal(why.v[0].res, QUOTA_VCPUS);
    assert_int_equal(why.v[0].limit, 20);
    assert_int_equal(why.v[0].used, 16);
    assert_int_equal(why.v[0].reserved, 2);
    assert_int_equal(why.v[0].requested, 4);
    assert_int_equal(why.v[0].shortfall, 2);
    d = (struct quota_deltas){{2, 3, 0, 0}};
    assert_false(db_quota_evaluate(&l, &used, &res, &d, &why));
    assert_int_equal(why.n, 2);
    assert_int_equal(why.v[0].res, QUOTA_VMS);
    assert_int_equal(why.v[1].res, QUOTA_VCPUS);
    /* over the limit already (a lowered quota): giving back is still admitted,
     * asking for more of that resource is not */
    alloc4(&used, 12, 16, 0, 0);
    d = (struct quota_deltas){{0, -2, 0, 0}};
    assert_true(db_quota_evaluate(&l, &used, &res, &d, &why));
    d = (struct quota_deltas){{1, 0, 0, 0}};
    assert_false(db_quota_evaluate(&l, &used, &res, &d, &why));
    assert_int_equal(why.v[0].shortfall, 4);
    struct quota_refusal over;
    assert_int_equal(db_quota_over(&l, &used, &over), 1);
    assert_int_equal(over.v[0].res, QUOTA_VMS);
    assert_int_equal(over.v[0].shortfall, 2);
    assert_int_equal(over.v[0].requested, 0);
}

static void
test_refusal_json_prefills_a_request(void **state)
{
    struct quota_refusal why = {.tenant_id = 4, .n = 2};
    why.v[0] = (struct quota_violation){QUOTA_VCPUS, 8, 6, 0, 4, 2};
    why.v[1] = (struct quota_violation){QUOTA_MEMORY_MIB, 8192, 8000, 100, 1024, 932};
    json_t *j = api_quotas_refusal_json(&why);
    assert_non_null(j);
    assert_int_equal(json_array_size(json_object_get(j, "violations")), 2);
    json_t *req = json_object_get(j, "quota_request");
    assert_int_equal(json_integer_value(json_object_get(req, "tenant_id")), 4);
    json_t *deltas = json_object_get(req, "deltas");
    assert_int_equal(json_integer_value(json_object_get(deltas, "vcpus")), 2);
    assert_int_equal(json_integer_value(json_object_get(deltas, "memory_mib")), 932);
    assert_non_null(strstr(json_string_value(json_object_get(req, "justification")), "vcpus"));
    json_decref(j);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_limits_valid),
        cmocka_unit_test(test_limits_negative),
        cmocka_unit_test(test_limits_zero_where_meaningless),
        cmocka_unit_test(test_limits_non_numeric),
        cmocka_unit_test(test_limits_absurd),
        cmocka_unit_test(test_limits_precision_and_minimums),
        cmocka_unit_test(test_limits_unknown_key),
        cmocka_unit_test(test_deltas),
        cmocka_unit_test(test_evaluate),
        cmocka_unit_test(test_refusal_json_prefills_a_request),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
