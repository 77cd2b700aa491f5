/* Persona x route matrix (issue 3): every operation of the OpenAPI document
 * (which a unit test keeps equal to the route table) is called as each persona,
 * and the statuses are compared with tests/integration/golden/persona_matrix.txt.
 * A new route without its row fails; a changed answer fails. For lists, no
 * object of another tenant may appear. Regenerate on purpose only:
 *   VP_UPDATE_GOLDEN=1 ctest -R persona_matrix   (then review the diff) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

enum persona_id {
    P_ADMIN,
    P_OPERATOR,
    P_AUDITOR,
    P_TADMIN_A,
    P_MEMBER_A,
    P_MEMBER_B,
    P_TOKEN,
    P_ANON,
    P_COUNT
};

struct persona {
    const char *name;
    const char *login, *role; /* NULL login: admin itself / anonymous */
    int tenant;               /* 0 none, 1 = A, 2 = B */
    char *token;
};

static struct persona personas[P_COUNT] = {
    {"admin", NULL, NULL, 0, NULL},
    {"operator", "op1", "operator", 0, NULL},
    {"auditor", "aud1", "auditor", 0, NULL},
    {"tadmin-a", "tadmin-a", "tenant-admin", 1, NULL},
    {"member-a", "member-a", "tenant-member", 1, NULL},
    {"member-b", "member-b", "tenant-member", 2, NULL},
    {"token-viewer", NULL, NULL, 0, NULL}, /* admin's API token narrowed to viewer */
    {"anonymous", NULL, NULL, 0, NULL},
};

static struct vp_proc srv;
static int64_t tenant_ids[3];
static int64_t fixture_user, fixture_binding, fixture_token, fixture_role, fixture_host, fixture_vm;
static const char *const password = "Matrix-pw-4815162342";

static json_t *
call(const char *method, const char *path, const char *token, const char *body, long want)
{
    struct vp_resp r;
    vp_json(&srv, method, path, token, body, &r);
    if (r.status != want)
        fail_msg("%s %s: %ld, wanted %ld: %s", method, path, r.status, want, r.body);
    json_t *j = json_incref(r.json);
    vp_resp_free(&r);
    return j;
}

static int64_t
create(const char *path, const char *token, const char *fmt, ...)
{
    char body[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(body, sizeof(body), fmt, ap);
    va_end(ap);
    json_t *j = call("POST", path, token, body, 201);
    int64_t id = json_integer_value(json_object_get(j, "id"));
    json_decref(j);
    return id;
}

static void
make_persona(struct persona *p, const char *admin)
{
    if (!p->login)
        return;
    int64_t tid = tenant_ids[p->tenant];
    int64_t uid = tid ? create("/api/v1/users", admin,
                               "{\"login\":\"%s\",\"password\":\"%s\",\"tenant_id\":%lld}",
                               p->login, password, (long long)tid)
                      : create("/api/v1/users", admin, "{\"login\":\"%s\",\"password\":\"%s\"}",
                               p->login, password);
    int64_t bid = tid ? create("/api/v1/role-bindings", admin,
                               "{\"subject_kind\":\"user\",\"subject_id\":%lld,\"role\":\"%s\","
                               "\"scope\":\"tenant\",\"tenant_id\":%lld}",
                               (long long)uid, p->role, (long long)tid)
                      : create("/api/v1/role-bindings", admin,
                               "{\"subject_kind\":\"user\",\"subject_id\":%lld,\"role\":\"%s\","
                               "\"scope\":\"global\"}",
                               (long long)uid, p->role);
    if (p == &personas[P_MEMBER_A]) {
        fixture_user = uid;
        fixture_binding = bid;
    }
    p->token = vp_login(&srv, p->login, password);
    assert_non_null(p->token);
}

/* A test-driver host with one VM of tenant A and one of tenant B (portal
 * metadata in the domain XML), so VM routes meet a real, tenant-owned VM. */
static const char *
write_host(void)
{
    static char path[400];
    snprintf(path, sizeof(path), "%s/matrix-host.xml", srv.dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "<node><cpu><mhz>2000</mhz><model>x86_64</model><active>8</active><nodes>1</nodes>"
               "<sockets>1</sockets><cores>8</cores><threads>1</threads></cpu>"
               "<memory>33554432</memory>");
    for (int t = 1; t <= 2; t++)
        fprintf(f,
                "<domain type='kvm' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>"
                "<name>vm-%c</name><uuid>00000000-0000-4000-8000-00000000000%d</uuid>"
                "<metadata><vp:portal xmlns:vp='https://virtportal.dev/xmlns/1'>"
                "<vp:tenant>%lld</vp:tenant><vp:tags></vp:tags></vp:portal></metadata>"
                "<memory unit='MiB'>512</memory><vcpu>1</vcpu>"
                "<os><type arch='x86_64' machine='pc'>hvm</type></os><devices/>"
                "<test:runstate>5</test:runstate></domain>",
                'a' + t - 1, t, (long long)tenant_ids[t]);
    fprintf(f, "<pool type='dir'><name>default</name><target><path>/var/lib/libvirt/images"
               "</path></target></pool></node>");
    assert_int_equal(fclose(f), 0);
    return path;
}

/* Registers the host and waits (30 s at most) until vm-a is in the cache. */
static void
make_inventory(const char *admin)
{
    fixture_host =
        create("/api/v1/hosts", admin, "{\"name\":\"matrix\",\"uri\":\"test://%s\"}", write_host());
    for (int i = 0; i < 300 && !fixture_vm; i++) {
        json_t *vms = call("GET", "/api/v1/vms?q=vm-a", admin, NULL, 200);
        json_t *first = json_array_get(json_object_get(vms, "items"), 0);
        fixture_vm = first ? json_integer_value(json_object_get(first, "id")) : 0;
        json_decref(vms);
        if (!fixture_vm)
            usleep(100000);
    }
    assert_true(fixture_vm > 0);
}

static int
setup(void **state)
{
    if (vp_start(&srv, NULL) < 0)
        return -1;
    char *admin = vp_login(&srv, "admin", srv.admin_password);
    personas[P_ADMIN].token = admin;
    tenant_ids[1] = create("/api/v1/tenants", admin, "{\"slug\":\"tenant-a\",\"name\":\"A\"}");
    tenant_ids[2] = create("/api/v1/tenants", admin, "{\"slug\":\"tenant-b\",\"name\":\"B\"}");
    for (int i = 0; i < P_COUNT; i++)
        make_persona(&personas[i], admin);
    make_inventory(admin);
    json_t *tok =
        call("POST", "/api/v1/tokens", admin,
             "{\"name\":\"matrix\",\"roles\":[{\"role\":\"viewer\",\"scope\":\"global\"}]}", 201);
    fixture_token = json_integer_value(json_object_get(tok, "id"));
    personas[P_TOKEN].token = strdup(json_string_value(json_object_get(tok, "secret")));
    json_decref(tok);
    json_t *roles = call("GET", "/api/v1/roles?limit=100", admin, NULL, 200);
    size_t i;
    json_t *role;
    json_array_foreach(json_object_get(roles, "items"), i, role)
    {
        if (!strcmp(json_string_value(json_object_get(role, "name")), "viewer"))
            fixture_role = json_integer_value(json_object_get(role, "id"));
    }
    json_decref(roles);
    return 0;
}

static int
teardown(void **state)
{
    for (int i = 0; i < P_COUNT; i++)
        free(personas[i].token);
    vp_stop(&srv);
    return 0;
}

/* The object a {param} stands for: tenant A's objects, so that tenant-B
 * personas see a foreign object and must get 404. DELETEs target an id that
 * does not exist, so the matrix never destroys its own fixtures. */
static long long
param_value(const char *path, const char *method)
{
    if (!strcmp(method, "DELETE"))
        return 999999;
    if (strstr(path, "/tenants/"))
        return tenant_ids[1];
    if (strstr(path, "/users/"))
        return fixture_user;
    if (strstr(path, "/role-bindings/"))
        return fixture_binding;
    if (strstr(path, "/roles/"))
        return fixture_role;
    if (strstr(path, "/tokens/"))
        return fixture_token;
    if (strstr(path, "/hosts/"))
        return fixture_host;
    if (strstr(path, "/vms/"))
        return fixture_vm;
    return 1; /* tasks, plans, requests, webhooks: an id nobody has */
}

static void
expand(const char *pattern, const char *method, char *out, size_t n)
{
    size_t o = 0;
    for (const char *p = pattern; *p && o + 24 < n;) {
        if (*p == '{') {
            const char *close = strchr(p, '}');
            o += (size_t)snprintf(out + o, n - o, "%lld", param_value(pattern, method));
            p = close ? close + 1 : p + strlen(p);
        } else {
            out[o++] = *p++;
        }
    }
    out[o] = '\0';
}

/* No object of another tenant in a list answer. */
static void
check_list_scope(const struct persona *p, const char *path, json_t *body)
{
    if (!p->tenant || !json_is_object(body))
        return;
    int64_t mine = tenant_ids[p->tenant];
    size_t i;
    json_t *item;
    json_array_foreach(json_object_get(body, "items"), i, item)
    {
        json_t *t = json_object_get(item, "tenant_id");
        int64_t owner = json_is_integer(t) ? json_integer_value(t) : 0;
        if (!strcmp(path, "/api/v1/tenants"))
            owner = json_integer_value(json_object_get(item, "id"));
        if (owner && owner != mine)
            fail_msg("%s sees tenant %lld's object in %s", p->name, (long long)owner, path);
    }
}

static long
call_as(const struct persona *p, const char *method, const char *pattern)
{
    char path[512];
    expand(pattern, method, path, sizeof(path));
    int session_route = strstr(pattern, "/auth/") != NULL; /* never end the personas' sessions */
    int has_body = !strcmp(method, "POST") || !strcmp(method, "PUT") || !strcmp(method, "PATCH");
    struct vp_resp r;
    vp_json(&srv, method, path, session_route ? NULL : p->token, has_body ? "{}" : NULL, &r);
    if (r.status == 200 && !strcmp(method, "GET"))
        check_list_scope(p, pattern, r.json);
    long status = r.status;
    vp_resp_free(&r);
    return status;
}

static char *
read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *s = calloc(1, (size_t)n + 1);
    if (fread(s, 1, (size_t)n, f) != (size_t)n) {
        free(s);
        s = NULL;
    }
    fclose(f);
    return s;
}

static void
test_persona_matrix(void **state)
{
    json_t *doc = call("GET", "/api/v1/openapi.json", NULL, NULL, 200);
    char *table = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&table, &len);
    fprintf(out, "# METHOD PATH");
    for (int i = 0; i < P_COUNT; i++)
        fprintf(out, " %s", personas[i].name);
    fprintf(out, "\n");
    const char *pattern;
    json_t *item;
    json_object_foreach(json_object_get(doc, "paths"), pattern, item)
    {
        static const char *const methods[] = {"get", "post", "put", "patch", "delete"};
        for (size_t m = 0; m < sizeof(methods) / sizeof(methods[0]); m++) {
            if (!json_object_get(item, methods[m]))
                continue;
            char upper[8];
            for (size_t k = 0; k <= strlen(methods[m]); k++)
                upper[k] = (char)(methods[m][k] >= 'a' ? methods[m][k] - 32 : methods[m][k]);
            fprintf(out, "%s %s", upper, pattern);
            for (int i = 0; i < P_COUNT; i++)
                fprintf(out, " %ld", call_as(&personas[i], upper, pattern));
            fprintf(out, "\n");
        }
    }
    fclose(out);
    json_decref(doc);
    char golden[1024];
    snprintf(golden, sizeof(golden), "%s/tests/integration/golden/persona_matrix.txt",
             getenv("VP_SOURCE_DIR") ? getenv("VP_SOURCE_DIR") : ".");
    if (getenv("VP_UPDATE_GOLDEN")) {
        FILE *g = fopen(golden, "w");
        assert_non_null(g);
        fputs(table, g);
        fclose(g);
    }
    char *want = read_file(golden);
    if (!want || strcmp(want, table))
        fail_msg("the persona matrix differs from %s; got:\n%s", golden, table);
    free(want);
    free(table);
}

int
main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_persona_matrix)};
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, setup, teardown);
}
