/* Small helpers of the planner: growable arena arrays, a string hash map, strict
 * number and boolean parsing. */
#include "plan_int.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *
plan_grow(struct arena *a, void **arr, size_t *n, size_t *cap, size_t elem)
{
    if (*n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 4;
        if (ncap < *cap || ncap > SIZE_MAX / elem)
            return NULL;
        void *fresh = arena_alloc(a, ncap * elem);
        if (!fresh)
            return NULL;
        if (*n)
            memcpy(fresh, *arr, *n * elem);
        *arr = fresh;
        *cap = ncap;
    }
    unsigned char *slot = (unsigned char *)*arr + *n * elem;
    memset(slot, 0, elem);
    (*n)++;
    return slot;
}

/* ------------------------------------------------------------ string map */

static uint64_t
strhash(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

void
plan_strmap_init(struct plan_strmap *m)
{
    memset(m, 0, sizeof(*m));
}

void
plan_strmap_free(struct plan_strmap *m)
{
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof(*m));
}

static size_t
strmap_slot(const struct plan_strmap *m, const char *key)
{
    size_t mask = m->cap - 1;
    size_t i = (size_t)strhash(key) & mask;
    while (m->keys[i] && strcmp(m->keys[i], key) != 0)
        i = (i + 1) & mask;
    return i;
}

static int
strmap_rehash(struct plan_strmap *m)
{
    size_t ncap = m->cap ? m->cap * 2 : 64;
    struct plan_strmap n = {.cap = ncap};
    n.keys = calloc(ncap, sizeof(*n.keys));
    n.vals = calloc(ncap, sizeof(*n.vals));
    if (!n.keys || !n.vals) {
        free(n.keys);
        free(n.vals);
        return -1;
    }
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->keys[i])
            continue;
        size_t s = strmap_slot(&n, m->keys[i]);
        n.keys[s] = m->keys[i];
        n.vals[s] = m->vals[i];
    }
    n.count = m->count;
    free(m->keys);
    free(m->vals);
    *m = n;
    return 0;
}

int
plan_strmap_put(struct plan_strmap *m, const char *key, size_t val)
{
    if ((m->count + 1) * 2 > m->cap && strmap_rehash(m) < 0)
        return -1;
    size_t s = strmap_slot(m, key);
    if (!m->keys[s]) {
        m->keys[s] = key;
        m->count++;
    }
    m->vals[s] = val;
    return 0;
}

bool
plan_strmap_get(const struct plan_strmap *m, const char *key, size_t *val)
{
    if (!m->cap || !key)
        return false;
    size_t s = strmap_slot(m, key);
    if (!m->keys[s])
        return false;
    if (val)
        *val = m->vals[s];
    return true;
}

/* ------------------------------------------------------------ parsing */

bool
plan_blank(const char *s)
{
    if (!s)
        return true;
    for (; *s; s++)
        if (!isspace((unsigned char)*s))
            return false;
    return true;
}

bool
plan_parse_double(const char *s, double *out)
{
    if (!s)
        return false;
    while (isspace((unsigned char)*s))
        s++;
    if (!*s)
        return false;
    errno = 0;
    char *end;
    double v = strtod(s, &end);
    if (end == s || errno == ERANGE || !isfinite(v))
        return false;
    if (*end == '%') /* "0%" in usage columns */
        end++;
    while (isspace((unsigned char)*end))
        end++;
    if (*end)
        return false;
    *out = v;
    return true;
}

bool
plan_parse_i64(const char *s, int64_t *out)
{
    if (!s)
        return false;
    while (isspace((unsigned char)*s))
        s++;
    if (!*s)
        return false;
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (end == s || errno == ERANGE)
        return false;
    while (isspace((unsigned char)*end))
        end++;
    if (*end)
        return false;
    *out = v;
    return true;
}

int
plan_parse_bool(const char *s)
{
    static const char *const yes[] = {"true", "1", "yes", "on", "y", "enabled"};
    static const char *const no[] = {"false", "0", "no", "off", "n", "disabled"};
    if (!s)
        return -1;
    while (isspace((unsigned char)*s))
        s++;
    char buf[16];
    size_t n = 0;
    while (s[n] && !isspace((unsigned char)s[n]) && n < sizeof(buf) - 1) {
        buf[n] = (char)tolower((unsigned char)s[n]);
        n++;
    }
    buf[n] = '\0';
    if (!plan_blank(s + n))
        return -1;
    for (size_t i = 0; i < PLAN_ARRAY_LEN(yes); i++)
        if (strcmp(buf, yes[i]) == 0)
            return 1;
    for (size_t i = 0; i < PLAN_ARRAY_LEN(no); i++)
        if (strcmp(buf, no[i]) == 0)
            return 0;
    return -1;
}

enum plan_tri
plan_tri_from(const char *s)
{
    int b = plan_parse_bool(s);
    return b < 0 ? PLAN_UNKNOWN : b ? PLAN_YES : PLAN_NO;
}

bool
plan_ieq(const char *a, const char *b)
{
    return a && b && strcasecmp(a, b) == 0;
}

bool
plan_iprefix(const char *s, const char *prefix)
{
    return s && strncasecmp(s, prefix, strlen(prefix)) == 0;
}

bool
plan_icontains(const char *hay, const char *needle)
{
    return hay && needle && strcasestr(hay, needle) != NULL;
}

char *
plan_lower(char *s)
{
    for (char *p = s; p && *p; p++)
        *p = (char)tolower((unsigned char)*p);
    return s;
}

char *
plan_lower_dup(struct arena *a, const char *s)
{
    return s ? plan_lower(arena_strdup(a, s)) : NULL;
}

void
plan_fmt_amount(char *buf, size_t n, int dim, double v)
{
    switch (dim) {
    case PLAN_DIM_CPU:
        snprintf(buf, n, "%.1f CPUs", v);
        break;
    case PLAN_DIM_MEM:
        snprintf(buf, n, "%.1f GiB", v / 1024.0);
        break;
    default:
        snprintf(buf, n, "%.1f GiB", v);
        break;
    }
}

const char *
plan_dim_name(int dim)
{
    static const char *const names[PLAN_NDIM] = {"cpu", "memory", "disk"};
    return dim >= 0 && dim < PLAN_NDIM ? names[dim] : "none";
}

const char *
plan_budget_dim_name(int dim)
{
    static const char *const names[PLAN_NBUDGET] = {"vms", "vcpus", "memory_mib", "disk_gib"};
    return dim >= 0 && dim < PLAN_NBUDGET ? names[dim] : "?";
}

uint64_t
plan_mib(double v)
{
    if (!(v > 0))
        return 0;
    if (v > 1099511627776.0)
        return 1099511627776ULL;
    return (uint64_t)ceil(v);
}

/* ---------------------------------------------------------------- shared by engine and rebalance
 */

size_t
plan_uf_find(size_t *p, size_t x)
{
    while (p[x] != x) {
        p[x] = p[p[x]];
        x = p[x];
    }
    return x;
}

void
plan_uf_join(size_t *p, size_t a, size_t b)
{
    a = plan_uf_find(p, a);
    b = plan_uf_find(p, b);
    if (a != b)
        p[a < b ? b : a] = a < b ? a : b;
}

int
plan_constraints_check_refs(const struct plan_constraints *c, size_t n, size_t m, err *e)
{
    for (size_t g = 0; c && g < c->ngroups; g++)
        for (size_t k = 0; k < c->groups[g].nmembers; k++)
            if (c->groups[g].members[k] >= n)
                return err_set(e, ERR_INVALID, "group '%s' names a VM that does not exist",
                               c->groups[g].name ? c->groups[g].name : "?");
    for (size_t i = 0; c && i < c->npins; i++)
        if (c->pins[i].vm >= n || c->pins[i].host >= m)
            return err_set(e, ERR_INVALID, "a pin names a VM or host that does not exist");
    for (size_t i = 0; c && i < c->nexcludes; i++)
        if ((c->excludes[i].vm >= n && c->excludes[i].vm != SIZE_MAX) || c->excludes[i].host >= m)
            return err_set(e, ERR_INVALID, "an exclusion names a VM or host that does not exist");
    return 0;
}
