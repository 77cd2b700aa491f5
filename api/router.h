/* router: the pure, socket-free front of the pipeline (fuzzed as a unit):
 * raw-path checks, exact route matching, query decoding and body validation. */
#ifndef VP_ROUTER_H
#define VP_ROUTER_H

#include <jansson.h>
#include <stddef.h>

#include "api.h"

enum { API_MAX_JSON_DEPTH = 32 };

/* Rejects what civetweb would otherwise normalize behind our back: NUL, encoded
 * '/' or '\', '..' or '.' segments, control bytes, malformed %-escapes, and
 * paths that do not start with '/'. ERR_INVALID with a detail. */
int api_path_check(const char *path, err *e);

/* Finds the route for method + raw path in `routes`. On a match fills params
 * (arena copies, percent-decoded) and returns it. Otherwise returns NULL with
 * e = NOT_FOUND, or METHOD with the allowed methods written to `allow`
 * ("GET, POST"). */
const struct api_route *api_route_match(const struct api_route *routes, size_t nroutes,
                                        const char *method, const char *path, arena *a,
                                        const char *params[API_MAX_PARAMS], char *allow,
                                        size_t allowlen, err *e);

/* Decodes %XX and '+' (query strings) from src[0..n) into an arena string;
 * NULL when an escape is malformed or decodes to NUL. */
char *api_url_decode(arena *a, const char *src, size_t n, int plus_is_space);

/* The maximum nesting depth of a JSON text, scanning strings correctly; stops
 * counting (returns limit + 1) as soon as `limit` is exceeded. */
int api_json_depth(const char *buf, size_t len, int limit);

/* Parses a request body: depth <= API_MAX_JSON_DEPTH, no duplicate keys, an
 * object at top level. Returns a new reference (caller decrefs) or NULL + e. */
json_t *api_json_parse(const char *buf, size_t len, err *e);

#endif
