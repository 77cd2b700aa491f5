/* Per-VM CSV (RFC 4180: CRLF, fields quoted when they hold a comma, quote or line break).
 * Text that a spreadsheet would run as a formula (= + - @ first) gets a leading
 * apostrophe: a VM name is data, not a formula. */
#include "export_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
plan_csv_put(struct plan_csv *o, const char *s, size_t n)
{
    if (o->oom)
        return;
    if (o->len + n + 1 > o->cap) {
        size_t ncap = o->cap ? o->cap * 2 : 65536;
        while (ncap < o->len + n + 1)
            ncap *= 2;
        char *np = realloc(o->p, ncap);
        if (!np) {
            o->oom = true;
            return;
        }
        o->p = np;
        o->cap = ncap;
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
    o->p[o->len] = '\0';
}

void
plan_csv_field(struct plan_csv *o, const char *s)
{
    bool formula = s[0] && strchr("=+-@\t\r", s[0]);
    if (!formula && !strpbrk(s, ",\"\r\n")) {
        plan_csv_put(o, s, strlen(s));
        return;
    }
    plan_csv_put(o, "\"", 1);
    if (formula)
        plan_csv_put(o, "'", 1);
    for (const char *p = s; *p; p++) {
        if (*p == '"')
            plan_csv_put(o, "\"\"", 2);
        else
            plan_csv_put(o, p, 1);
    }
    plan_csv_put(o, "\"", 1);
}

char *
plan_csv_finish(struct plan_csv *o, size_t *len, err *e)
{
    if (o->oom) {
        free(o->p);
        err_set(e, ERR_INTERNAL, "out of memory");
        return NULL;
    }
    *len = o->len;
    return o->p;
}

char *
plan_export_csv(const plan_result *r, size_t *len, err *e)
{
    struct plan_csv o = {0};
    for (int c = 0; c < EXPORT_NCOLS; c++) {
        if (c)
            plan_csv_put(&o, ",", 1);
        plan_csv_put(&o, export_columns[c], strlen(export_columns[c]));
    }
    plan_csv_put(&o, "\r\n", 2);
    for (size_t i = 0; i < r->inv->nvms; i++) {
        for (int c = 0; c < EXPORT_NCOLS; c++) {
            const char *s = NULL;
            double n = 0;
            char buf[64];
            int kind = export_cell(r, i, c, &s, &n);
            if (c)
                plan_csv_put(&o, ",", 1);
            if (kind == EXPORT_STR)
                plan_csv_field(&o, s ? s : "");
            else if (kind == EXPORT_NUM)
                plan_csv_put(&o, buf, (size_t)snprintf(buf, sizeof(buf), "%.10g", n));
        }
        plan_csv_put(&o, "\r\n", 2);
    }
    return plan_csv_finish(&o, len, e);
}
