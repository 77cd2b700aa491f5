#include "err.h"

#include <stdio.h>
#include <string.h>

int
err_set_at(err *e, enum err_kind kind, const char *func, int line, const char *fmt, ...)
{
    if (!e)
        return -1;
    e->kind = kind;
    e->field[0] = '\0';
    e->func = func;
    e->line = line;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->detail, sizeof(e->detail), fmt, ap);
    va_end(ap);
    return -1;
}

int
err_set_field_at(err *e, const char *field, const char *func, int line, const char *fmt, ...)
{
    if (!e)
        return -1;
    e->kind = ERR_INVALID;
    e->func = func;
    e->line = line;
    snprintf(e->field, sizeof(e->field), "%s", field);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->detail, sizeof(e->detail), fmt, ap);
    va_end(ap);
    return -1;
}

void
err_clear(err *e)
{
    memset(e, 0, sizeof(*e));
}

const char *
err_kind_slug(enum err_kind kind)
{
    static const char *const slugs[] = {
#define X(name, slug) slug,
        ERR_KIND_LIST(X)
#undef X
    };
    if ((unsigned)kind >= ERR_KIND_COUNT)
        return "internal";
    return slugs[kind];
}
