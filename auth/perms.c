/* perms: names and JSON mapping of the closed permission list (see perms.h). */
#include "perms.h"

#include <string.h>

static const char *const perm_names[PERM_COUNT] = {[PERM_NONE] = "none",
                                                   [PERM_PUBLIC] = "public",
                                                   [PERM_AUTHENTICATED] = "authenticated",
#define X(id, name, desc) [PERM_##id] = name,
                                                   PERM_LIST(X)
#undef X
};

static const char *const perm_descs[PERM_COUNT] = {
#define X(id, name, desc) [PERM_##id] = desc,
    PERM_LIST(X)
#undef X
};

bool
perm_is_grantable(enum perm p)
{
    return p >= PERM_FIRST_GRANTABLE && p < PERM_COUNT;
}

bool
perm_set_has(perm_set s, enum perm p)
{
    return perm_is_grantable(p) && (s & ((perm_set)1 << p)) != 0;
}

perm_set
perm_set_add(perm_set s, enum perm p)
{
    return perm_is_grantable(p) ? s | ((perm_set)1 << p) : s;
}

int
perm_set_count(perm_set s)
{
    return __builtin_popcountll(s & PERM_SET_ALL);
}

const char *
perm_name(enum perm p)
{
    if ((unsigned)p >= PERM_COUNT)
        return "invalid";
    return perm_names[p];
}

const char *
perm_description(enum perm p)
{
    if (!perm_is_grantable(p))
        return "";
    return perm_descs[p];
}

enum perm
perm_from_name(const char *name)
{
    if (!name)
        return PERM_NONE;
    for (int p = PERM_FIRST_GRANTABLE; p < PERM_COUNT; p++) {
        if (strcmp(perm_names[p], name) == 0)
            return (enum perm)p;
    }
    return PERM_NONE;
}

json_t *
perm_set_to_json(perm_set s)
{
    json_t *arr = json_array();
    if (!arr)
        return NULL;
    for (int p = PERM_FIRST_GRANTABLE; p < PERM_COUNT; p++) {
        if (perm_set_has(s, (enum perm)p) &&
            json_array_append_new(arr, json_string(perm_names[p])) != 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

/* Copies at most 40 printable ASCII characters of `s` so an error detail can
 * name the offending entry without echoing control bytes or a huge string. */
static void
perm_quote(const char *s, char out[48])
{
    size_t n = 0;
    for (; *s && n < 40; s++)
        out[n++] = (*s >= 0x20 && *s < 0x7f) ? *s : '?';
    if (*s && n == 40)
        out[n++] = '.', out[n++] = '.', out[n++] = '.';
    out[n] = '\0';
}

int
perm_set_from_json(const json_t *arr, perm_set *out, err *e)
{
    if (!json_is_array(arr))
        return err_set(e, ERR_INVALID, "permissions must be an array of permission names");
    perm_set s = 0;
    size_t i;
    const json_t *v;
    json_array_foreach(arr, i, v)
    {
        if (!json_is_string(v))
            return err_set(e, ERR_INVALID, "permission #%zu is not a string", i + 1);
        enum perm p = perm_from_name(json_string_value(v));
        if (p == PERM_NONE) {
            char q[48];
            perm_quote(json_string_value(v), q);
            return err_set(e, ERR_INVALID, "unknown permission '%s'", q);
        }
        s = perm_set_add(s, p);
    }
    *out = s;
    return 0;
}
