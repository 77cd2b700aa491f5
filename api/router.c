#include "router.h"

#include <string.h>

static int
hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Is the segment [s, end) "." or ".." (raw or percent-encoded dots)? */
static int
is_dot_segment(const char *s, const char *end)
{
    int dots = 0;
    while (s < end) {
        if (*s == '.')
            s++;
        else if (end - s >= 3 && s[0] == '%' && s[1] == '2' && (s[2] == 'e' || s[2] == 'E'))
            s += 3;
        else
            return 0;
        dots++;
    }
    return dots == 1 || dots == 2;
}

static int
check_escape(const char *p, err *e)
{
    int hi = hexval(p[1]), lo = hi < 0 ? -1 : hexval(p[2]);
    if (hi < 0 || lo < 0)
        return err_set(e, ERR_INVALID, "The path has a malformed %%-escape.");
    int c = hi * 16 + lo;
    if (c == 0 || c == '/' || c == '\\' || c < 0x20 || c == 0x7f)
        return err_set(e, ERR_INVALID, "The path has a forbidden encoded character.");
    return 0;
}

int
api_path_check(const char *path, err *e)
{
    if (!path || path[0] != '/')
        return err_set(e, ERR_INVALID, "The path must start with '/'.");
    const char *seg = path + 1;
    for (const char *p = path; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c < 0x20 || c == 0x7f || c == '\\')
            return err_set(e, ERR_INVALID, "The path has a forbidden character.");
        if (c == '%' && check_escape(p, e) < 0)
            return -1;
        if (c == '/' && p != path) {
            if (is_dot_segment(seg, p))
                return err_set(e, ERR_INVALID, "The path has a '.' or '..' segment.");
            seg = p + 1;
        }
    }
    if (is_dot_segment(seg, seg + strlen(seg)))
        return err_set(e, ERR_INVALID, "The path has a '.' or '..' segment.");
    return 0;
}

char *
api_url_decode(arena *a, const char *src, size_t n, int plus_is_space)
{
    char *out = arena_alloc(a, n + 1);
    if (!out)
        return NULL;
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        if (src[i] == '%') {
            if (n - i < 3)
                return NULL;
            int h = hexval(src[i + 1]), l = hexval(src[i + 2]);
            if (h < 0 || l < 0 || (h == 0 && l == 0))
                return NULL;
            out[j++] = (char)(h * 16 + l);
            i += 2;
        } else if (src[i] == '+' && plus_is_space) {
            out[j++] = ' ';
        } else {
            out[j++] = src[i];
        }
    }
    out[j] = '\0';
    return out;
}

/* Matches one route pattern against the path; params get raw segment spans. */
static int
pattern_match(const char *pat, const char *path, const char *spans[API_MAX_PARAMS],
              size_t lens[API_MAX_PARAMS], int *nparams)
{
    int np = 0;
    while (*pat && *path) {
        if (*pat == '{') {
            const char *close = strchr(pat, '}');
            const char *seg_end = strchr(path, '/');
            size_t len = seg_end ? (size_t)(seg_end - path) : strlen(path);
            if (!close || len == 0 || np >= API_MAX_PARAMS)
                return 0;
            spans[np] = path;
            lens[np++] = len;
            pat = close + 1;
            path += len;
            continue;
        }
        if (*pat != *path)
            return 0;
        pat++, path++;
    }
    *nparams = np;
    return *pat == '\0' && *path == '\0';
}

static void
allow_append(char *allow, size_t allowlen, const char *method)
{
    size_t used = strlen(allow);
    if (strstr(allow, method))
        return;
    snprintf(allow + used, allowlen - used, "%s%s", used ? ", " : "", method);
}

const struct api_route *
api_route_match(const struct api_route *routes, size_t nroutes, const char *method,
                const char *path, arena *a, const char *params[API_MAX_PARAMS], char *allow,
                size_t allowlen, err *e)
{
    const char *spans[API_MAX_PARAMS];
    size_t lens[API_MAX_PARAMS];
    int np = 0, path_known = 0;
    const char *want = strcmp(method, "HEAD") ? method : "GET"; /* HEAD is GET without a body */
    if (allowlen)
        allow[0] = '\0';
    for (size_t i = 0; i < nroutes; i++) {
        if (!pattern_match(routes[i].pattern, path, spans, lens, &np))
            continue;
        path_known = 1;
        if (strcmp(routes[i].method, want)) {
            allow_append(allow, allowlen, routes[i].method);
            if (!strcmp(routes[i].method, "GET"))
                allow_append(allow, allowlen, "HEAD");
            continue;
        }
        for (int k = 0; k < np; k++) {
            params[k] = api_url_decode(a, spans[k], lens[k], 0);
            if (!params[k])
                return err_set(e, ERR_INVALID, "A path parameter is malformed."), NULL;
        }
        return &routes[i];
    }
    if (path_known)
        err_set(e, ERR_METHOD, "%s is not allowed on this resource.", method);
    else
        err_set(e, ERR_NOT_FOUND, "No such resource.");
    return NULL;
}

int
api_json_depth(const char *buf, size_t len, int limit)
{
    int depth = 0, max = 0, in_str = 0;
    for (size_t i = 0; i < len; i++) {
        char c = buf[i];
        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = 0;
            continue;
        }
        if (c == '"') {
            in_str = 1;
        } else if (c == '{' || c == '[') {
            if (++depth > max && (max = depth) > limit)
                return limit + 1;
        } else if (c == '}' || c == ']') {
            depth--;
        }
    }
    return max;
}

json_t *
api_json_parse(const char *buf, size_t len, err *e)
{
    if (api_json_depth(buf, len, API_MAX_JSON_DEPTH) > API_MAX_JSON_DEPTH)
        return err_set(e, ERR_INVALID, "The JSON body is nested deeper than %d levels.",
                       API_MAX_JSON_DEPTH),
               NULL;
    json_error_t jerr;
    json_t *j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!j)
        return err_set(e, ERR_INVALID, "The body is not valid JSON: %s (line %d, column %d).",
                       jerr.text, jerr.line, jerr.column),
               NULL;
    if (!json_is_object(j)) {
        json_decref(j);
        return err_set(e, ERR_INVALID, "The JSON body must be an object."), NULL;
    }
    return j;
}
