/* Input layout: method '\n' path '\n' query '\n' body. Every piece goes
 * through the same code an HTTP request does before reaching a handler. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "router.h"

static const char *
next_line(const char **p, const char *end, arena *a)
{
    const char *nl = memchr(*p, '\n', (size_t)(end - *p));
    const char *stop = nl ? nl : end;
    char *s = arena_strndup(a, *p, (size_t)(stop - *p));
    *p = nl ? nl + 1 : end;
    return s;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    arena *a = arena_new();
    const char *p = (const char *)data, *end = p + size;
    const char *method = next_line(&p, end, a);
    const char *path = next_line(&p, end, a);
    const char *query = next_line(&p, end, a);
    err e = {0};
    const char *params[API_MAX_PARAMS] = {0};
    char allow[96];
    if (api_path_check(path, &e) == 0)
        api_route_match(api_routes, api_nroutes, method, path, a, params, allow, sizeof(allow), &e);
    struct api_req r = {.a = a, .query = query};
    int limit;
    const char *cursor;
    api_page(&r, &limit, &cursor, &e);
    bool bad = false;
    api_query(&r, "tenant_id", &bad);
    json_t *j = api_json_parse(p, (size_t)(end - p), &e);
    json_decref(j);
    arena_destroy(a);
    return 0;
}
