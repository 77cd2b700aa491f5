/* Target host descriptions for the planner.
 *
 * Spec syntax (the CLI's --hosts and --size, also usable by the API):
 *
 *   SPEC   := ENTRY ("," ENTRY)*
 *   ENTRY  := [COUNT ("x" | "*")] CPUS "c" "/" MEM ["/" DISK] ["@" NAME] [":" CPU-MODEL]
 *   MEM, DISK := NUMBER [k | m | g | t | p] ["i"] ["b"]     binary units, default g
 *
 *   "4x32c/512g/10t"                 four hosts, 32 CPUs, 512 GiB, 10 TiB: kvm-1 … kvm-4
 *   "2x64c/1t/20t@big,1x16c/128g@edge:Icelake-Server"   big-1, big-2, then "edge"
 *   "32c/256g"                       one host, disk not a constraint
 *
 * CPUS counts logical CPUs (threads) before overcommit. A single host with an explicit
 * NAME keeps that name; otherwise hosts are NAME-1, NAME-2, … numbered per NAME.
 *
 * JSON: [{"name": "kvm1", "cpus": 32, "memory_gib": 512, "disk_gib": 10240,
 *         "cpu_model": "Cascadelake-Server", "count": 1}, …] or {"hosts": [ … ]};
 * memory_mib / disk_tib are accepted too. */
#include "plan_int.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

enum { SPEC_MAX_HOSTS = 100000, SPEC_MAX_JSON_DEPTH = 16 };

/* "512g" → MiB. Returns -1 on a bad size. */
static double
parse_size_mib(const char **p, const char *end)
{
    char *stop;
    errno = 0;
    double v = strtod(*p, &stop);
    if (stop == *p || errno || !(v >= 0) || stop > end)
        return -1;
    double mult = 1024; /* default: GiB */
    if (stop < end) {
        switch (tolower((unsigned char)*stop)) {
        case 'k':
            mult = 1.0 / 1024;
            break;
        case 'm':
            mult = 1;
            break;
        case 'g':
            mult = 1024;
            break;
        case 't':
            mult = 1024.0 * 1024;
            break;
        case 'p':
            mult = 1024.0 * 1024 * 1024;
            break;
        default:
            return -1;
        }
        stop++;
        if (stop < end && tolower((unsigned char)*stop) == 'i')
            stop++;
        if (stop < end && tolower((unsigned char)*stop) == 'b')
            stop++;
    }
    *p = stop;
    double mib = v * mult;
    return isfinite(mib) && mib < 1e15 ? mib : -1;
}

struct entry {
    long count;
    double cpus, mem_mib, disk_gib;
    char name[64], model[64];
    bool named;
};

static int
parse_count_cpus(const char **p, const char *end, struct entry *en)
{
    char *stop;
    errno = 0;
    double v = strtod(*p, &stop);
    if (stop == *p || errno || stop >= end)
        return -1;
    if (*stop == 'x' || *stop == 'X' || *stop == '*') {
        if (v < 1 || v > SPEC_MAX_HOSTS || v != floor(v))
            return -1;
        en->count = (long)v;
        *p = stop + 1;
        errno = 0;
        v = strtod(*p, &stop);
        if (stop == *p || errno || stop >= end)
            return -1;
    }
    if ((*stop != 'c' && *stop != 'C') || !(v > 0) || v > 1e6)
        return -1;
    en->cpus = v;
    *p = stop + 1;
    return 0;
}

static int
copy_word(const char *s, const char *end, char *out, size_t n)
{
    size_t len = (size_t)(end - s);
    if (!len || len >= n)
        return -1;
    for (size_t i = 0; i < len; i++)
        if (!isalnum((unsigned char)s[i]) && !strchr("-_.", s[i]))
            return -1;
    memcpy(out, s, len);
    out[len] = '\0';
    return 0;
}

/* One ENTRY in [s, end). */
static int
parse_entry(const char *s, const char *end, struct entry *en)
{
    memset(en, 0, sizeof(*en));
    en->count = 1;
    snprintf(en->name, sizeof(en->name), "kvm");
    const char *colon = memchr(s, ':', (size_t)(end - s));
    if (colon && copy_word(colon + 1, end, en->model, sizeof(en->model)) < 0)
        return -1;
    const char *stop = colon ? colon : end;
    const char *at = memchr(s, '@', (size_t)(stop - s));
    if (at && copy_word(at + 1, stop, en->name, sizeof(en->name)) < 0)
        return -1;
    en->named = at != NULL;
    const char *p = s, *spec_end = at ? at : stop;
    if (parse_count_cpus(&p, spec_end, en) < 0 || p >= spec_end || *p++ != '/')
        return -1;
    en->mem_mib = parse_size_mib(&p, spec_end);
    if (!(en->mem_mib > 0))
        return -1;
    if (p < spec_end) {
        if (*p++ != '/')
            return -1;
        double disk = parse_size_mib(&p, spec_end);
        if (disk < 0)
            return -1;
        en->disk_gib = disk / 1024.0;
    }
    return p == spec_end ? 0 : -1;
}

struct hbuild {
    plan_inventory *inv;
    struct plan_host *h;
    size_t n, cap;
    struct plan_strmap seq; /* name → hosts numbered so far */
};

static int
emit(struct hbuild *b, const struct entry *en, err *e)
{
    if (b->n + (size_t)en->count > SPEC_MAX_HOSTS)
        return err_set(e, ERR_INVALID, "more than %d hosts", SPEC_MAX_HOSTS);
    const char *key = plan_inv_strdup(b->inv, en->name);
    size_t seq = 0;
    plan_strmap_get(&b->seq, key, &seq);
    for (long i = 0; i < en->count; i++) {
        struct plan_host *h = plan_grow(b->inv->arena, (void **)&b->h, &b->n, &b->cap, sizeof(*h));
        if (!h || !key)
            return err_set(e, ERR_INTERNAL, "out of memory");
        char name[96];
        if (en->named && en->count == 1)
            snprintf(name, sizeof(name), "%s", en->name);
        else
            snprintf(name, sizeof(name), "%s-%zu", en->name, ++seq);
        *h = (struct plan_host){plan_inv_strdup(b->inv, name), en->cpus, en->mem_mib, en->disk_gib,
                                en->model[0] ? plan_inv_strdup(b->inv, en->model) : NULL};
    }
    return plan_strmap_put(&b->seq, key, seq) < 0 ? err_set(e, ERR_INTERNAL, "out of memory") : 0;
}

int
plan_hosts_parse_spec(plan_inventory *inv, const char *spec, struct plan_host **out, size_t *n,
                      err *e)
{
    struct hbuild b = {.inv = inv};
    plan_strmap_init(&b.seq);
    int rc = 0;
    for (const char *p = spec ? spec : ""; rc == 0;) {
        while (isspace((unsigned char)*p))
            p++;
        const char *end = p + strcspn(p, ",");
        const char *tail = end;
        while (tail > p && isspace((unsigned char)tail[-1]))
            tail--;
        struct entry en;
        if (parse_entry(p, tail, &en) < 0)
            rc = err_set(e, ERR_INVALID,
                         "bad host spec '%.*s': expected [N x]CPUSc/MEM[/DISK][@NAME][:MODEL], "
                         "e.g. 4x32c/512g/10t",
                         (int)(tail - p > 60 ? 60 : tail - p), p);
        else
            rc = emit(&b, &en, e);
        if (!*end)
            break;
        p = end + 1;
    }
    plan_strmap_free(&b.seq);
    if (rc < 0)
        return -1;
    *out = b.h;
    *n = b.n;
    return 0;
}

/* jansson recurses: refuse documents nested deeper than a few levels before parsing. */
static bool
json_too_deep(const char *s, size_t len)
{
    int depth = 0;
    bool str = false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                str = false;
        } else if (c == '"') {
            str = true;
        } else if (c == '[' || c == '{') {
            if (++depth > SPEC_MAX_JSON_DEPTH)
                return true;
        } else if (c == ']' || c == '}') {
            depth--;
        }
    }
    return false;
}

static double
num(const json_t *o, const char *key, double scale, double dflt)
{
    const json_t *v = json_object_get(o, key);
    return json_is_number(v) ? json_number_value(v) * scale : dflt;
}

static int
json_entry(const json_t *o, size_t i, struct entry *en, err *e)
{
    memset(en, 0, sizeof(*en));
    if (!json_is_object(o))
        return err_set(e, ERR_INVALID, "hosts[%zu] is not an object", i);
    const char *name = json_string_value(json_object_get(o, "name"));
    const char *model = json_string_value(json_object_get(o, "cpu_model"));
    snprintf(en->name, sizeof(en->name), "%s", name ? name : "kvm");
    snprintf(en->model, sizeof(en->model), "%s", model ? model : "");
    en->named = name != NULL;
    en->cpus = num(o, "cpus", 1, 0);
    en->mem_mib = num(o, "memory_mib", 1, num(o, "memory_gib", 1024, 0));
    en->disk_gib = num(o, "disk_gib", 1, num(o, "disk_tib", 1024, 0));
    double count = num(o, "count", 1, 1);
    if (!(en->cpus > 0) || !(en->mem_mib > 0) || !(en->disk_gib >= 0) || en->cpus > 1e6 ||
        en->mem_mib > 1e15 || en->disk_gib > 1e12)
        return err_set(e, ERR_INVALID, "hosts[%zu] needs positive cpus and memory_gib", i);
    if (count < 1 || count > SPEC_MAX_HOSTS || count != floor(count))
        return err_set(e, ERR_INVALID, "hosts[%zu].count must be a whole number ≥ 1", i);
    en->count = (long)count;
    return 0;
}

int
plan_hosts_parse_json(plan_inventory *inv, const char *json, size_t len, struct plan_host **out,
                      size_t *n, err *e)
{
    if (json_too_deep(json, len))
        return err_set(e, ERR_INVALID, "the host list is nested too deeply");
    json_error_t je;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return err_set(e, ERR_INVALID, "the host list is not valid JSON (line %d)", je.line);
    const json_t *arr = json_is_object(root) ? json_object_get(root, "hosts") : root;
    struct hbuild b = {.inv = inv};
    plan_strmap_init(&b.seq);
    int rc =
        json_is_array(arr) ? 0 : err_set(e, ERR_INVALID, "the host list must be an array of hosts");
    for (size_t i = 0; rc == 0 && i < json_array_size(arr); i++) {
        struct entry en;
        rc = json_entry(json_array_get(arr, i), i, &en, e);
        if (rc == 0)
            rc = emit(&b, &en, e);
    }
    plan_strmap_free(&b.seq);
    json_decref(root);
    if (rc < 0)
        return -1;
    *out = b.h;
    *n = b.n;
    return 0;
}
