/* RFC 4180 CSV reader feeding the RVTools mapper: quoted fields with "" escapes and
 * embedded line breaks, CRLF or LF, a UTF-8 BOM, and the delimiter (',' ';' or tab,
 * as locales export) guessed from the header line. */
#include "plan_int.h"

#include <stdlib.h>
#include <string.h>

struct csv {
    struct rv_reader *r;
    const char *p, *end;
    char delim;
    char *scratch;
    size_t scap;
    size_t line, row;
    uint64_t max_cells, *cells;
};

static char
guess_delimiter(const char *p, const char *end)
{
    size_t comma = 0, semi = 0, tab = 0;
    bool quoted = false;
    for (; p < end && (quoted || (*p != '\n' && *p != '\r')); p++) {
        if (*p == '"')
            quoted = !quoted;
        else if (!quoted && *p == ',')
            comma++;
        else if (!quoted && *p == ';')
            semi++;
        else if (!quoted && *p == '\t')
            tab++;
    }
    if (semi > comma && semi >= tab)
        return ';';
    if (tab > comma && tab > semi)
        return '\t';
    return ',';
}

static int
scratch_put(struct csv *c, size_t n, char ch)
{
    if (n + 1 >= c->scap) {
        size_t ncap = c->scap ? c->scap * 2 : 256;
        char *s = realloc(c->scratch, ncap);
        if (!s)
            return -1;
        c->scratch = s;
        c->scap = ncap;
    }
    c->scratch[n] = ch;
    return 0;
}

/* A quoted field starting after the opening quote; leaves c->p after the closing one. */
static int
quoted_field(struct csv *c, size_t *len, err *e)
{
    size_t n = 0, start_line = c->line;
    for (;;) {
        if (c->p >= c->end)
            return err_set(e, ERR_INVALID, "CSV: unterminated quoted field starting on line %zu",
                           start_line);
        char ch = *c->p++;
        if (ch == '"') {
            if (c->p < c->end && *c->p == '"') {
                c->p++;
            } else {
                break;
            }
        } else if (ch == '\n') {
            c->line++;
        }
        if (scratch_put(c, n++, ch) < 0)
            return err_set(e, ERR_INTERNAL, "out of memory");
    }
    /* lenient: text after the closing quote up to the delimiter is kept */
    while (c->p < c->end && *c->p != c->delim && *c->p != '\n' && *c->p != '\r')
        if (scratch_put(c, n++, *c->p++) < 0)
            return err_set(e, ERR_INTERNAL, "out of memory");
    *len = n;
    return 0;
}

static int
emit(struct csv *c, size_t col, const char *v, size_t n, err *e)
{
    if (!n)
        return 0;
    if (++*c->cells > c->max_cells)
        return err_set(e, ERR_TOO_LARGE, "the export has more than %llu cells",
                       (unsigned long long)c->max_cells);
    return rv_cell(c->r, col, v, n, e);
}

/* One record; returns 1 if a record was read, 0 at end of input, -1 on error. */
static int
record(struct csv *c, err *e)
{
    if (c->p >= c->end)
        return 0;
    size_t col = 0;
    for (;;) {
        size_t n = 0;
        const char *v;
        if (c->p < c->end && *c->p == '"') {
            c->p++;
            if (quoted_field(c, &n, e) < 0)
                return -1;
            v = c->scratch;
        } else {
            v = c->p;
            while (c->p < c->end && *c->p != c->delim && *c->p != '\n' && *c->p != '\r')
                c->p++;
            n = (size_t)(c->p - v);
        }
        if (emit(c, col++, v, n, e) < 0)
            return -1;
        if (c->p < c->end && *c->p == c->delim) {
            c->p++;
            continue;
        }
        break;
    }
    if (c->p < c->end && *c->p == '\r')
        c->p++;
    if (c->p < c->end && *c->p == '\n')
        c->p++;
    c->line++;
    return rv_row_end(c->r, ++c->row, e) < 0 ? -1 : 1;
}

int
plan_csv_feed(struct rv_reader *r, const char *data, size_t len, uint64_t max_cells,
              uint64_t *cells, err *e)
{
    struct csv c = {
        .r = r, .p = data, .end = data + len, .line = 1, .max_cells = max_cells, .cells = cells};
    if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0)
        c.p += 3;
    c.delim = guess_delimiter(c.p, c.end);
    int rc;
    while ((rc = record(&c, e)) > 0)
        ;
    free(c.scratch);
    return rc;
}
