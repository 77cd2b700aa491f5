/* The route table is the only list of endpoints: every route names a
 * permission and a matching scope, no two routes collide, and the OpenAPI
 * document embedded in the binary describes exactly these routes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "embedded.h"

extern const struct embedded_file api_docs[];

static void
test_every_route_has_a_permission(void **state)
{
    assert_true(api_nroutes > 0);
    for (size_t i = 0; i < api_nroutes; i++) {
        const struct api_route *r = &api_routes[i];
        if (r->perm <= PERM_NONE || r->perm >= PERM_COUNT)
            fail_msg("%s %s has no permission", r->method, r->pattern);
        int marker = r->perm == PERM_PUBLIC || r->perm == PERM_AUTHENTICATED;
        if (marker != (r->scope == API_SCOPE_NONE))
            fail_msg("%s %s: scope does not fit its permission", r->method, r->pattern);
        assert_non_null(r->fn);
    }
}

static void
test_no_duplicate_routes(void **state)
{
    for (size_t i = 0; i < api_nroutes; i++)
        for (size_t j = i + 1; j < api_nroutes; j++)
            if (!strcmp(api_routes[i].method, api_routes[j].method) &&
                !strcmp(api_routes[i].pattern, api_routes[j].pattern))
                fail_msg("duplicate route %s %s", api_routes[i].method, api_routes[i].pattern);
}

static json_t *
load_openapi(void)
{
    const struct embedded_file *f = embedded_find(api_docs, "openapi.json");
    assert_non_null(f);
    json_error_t jerr;
    json_t *doc = json_loadb((const char *)f->data, f->len, JSON_REJECT_DUPLICATES, &jerr);
    if (!doc)
        fail_msg("openapi.json: %s (line %d)", jerr.text, jerr.line);
    return doc;
}

static void
lower(const char *in, char *out, size_t n)
{
    size_t i = 0;
    for (; in[i] && i + 1 < n; i++)
        out[i] = (char)tolower((unsigned char)in[i]);
    out[i] = '\0';
}

static void
test_openapi_matches_routes(void **state)
{
    json_t *doc = load_openapi();
    assert_string_equal(json_string_value(json_object_get(doc, "openapi")), "3.1.0");
    json_t *paths = json_object_get(doc, "paths");
    assert_non_null(paths);
    size_t operations = 0;
    for (size_t i = 0; i < api_nroutes; i++) {
        char m[16];
        lower(api_routes[i].method, m, sizeof(m));
        json_t *op = json_object_get(json_object_get(paths, api_routes[i].pattern), m);
        if (!op)
            fail_msg("openapi.json lacks %s %s", api_routes[i].method, api_routes[i].pattern);
        /* the document states each operation's permission, and it must be the table's */
        const char *perm = json_string_value(json_object_get(op, "x-permission"));
        if (!perm || strcmp(perm, perm_name(api_routes[i].perm)))
            fail_msg("%s %s: x-permission %s, table says %s", api_routes[i].method,
                     api_routes[i].pattern, perm ? perm : "(none)", perm_name(api_routes[i].perm));
    }
    const char *path;
    json_t *item;
    json_object_foreach(paths, path, item)
    {
        const char *method;
        json_t *op;
        json_object_foreach(item, method, op)
        {
            if (!strcmp(method, "parameters"))
                continue;
            operations++;
        }
    }
    if (operations != api_nroutes)
        fail_msg("openapi.json has %zu operations, the route table %zu", operations, api_nroutes);
    json_decref(doc);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_route_has_a_permission),
        cmocka_unit_test(test_no_duplicate_routes),
        cmocka_unit_test(test_openapi_matches_routes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
