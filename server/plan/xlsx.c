/* RVTools xlsx reader: libzip over the caller's buffer, libxml2's streaming reader
 * (xmlTextReader) over workbook.xml, its relationships, sharedStrings.xml and the
 * wanted sheets. Nothing but the shared strings is kept in memory: cells stream into
 * the RVTools mapper, and cells of unmapped columns are skipped without reading.
 *
 * Guards: every inflated byte is counted against max_entry and max_uncompressed (a zip
 * bomb stops at the cap whatever the archive claims), non-empty cells against
 * max_cells, shared strings by count and bytes; a DOCTYPE is refused (no entity
 * expansion); malformed XML ends the read with ERR_INVALID naming the part. */
#include "rvtools_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/xmlreader.h>
#include <zip.h>

enum { XLSX_MAX_SHEETS = 256, XLSX_MAX_META = 16 << 20, XLSX_MAX_STRINGS_BYTES = 256 << 20 };

struct xsheet {
    char *name, *rid, *path;
};

struct xlsx {
    zip_t *zip;
    struct plan_limits lim;
    uint64_t inflated, cells;
    bool too_large;
    const char *part; /* the entry being read, for messages */
    struct rv_reader *r;
    struct xsheet sheets[XLSX_MAX_SHEETS];
    size_t nsheets;
    char *strings_path;
    char *ss; /* shared strings, NUL separated */
    size_t ss_len, ss_cap;
    uint32_t *ss_off;
    size_t nss, ss_off_cap;
    char *val; /* current cell text */
    size_t val_len, val_cap;
};

struct zin {
    struct xlsx *x;
    zip_file_t *zf;
    uint64_t read, cap;
};

static int
zin_read(void *ctx, char *buf, int len)
{
    struct zin *z = ctx;
    zip_int64_t n = zip_fread(z->zf, buf, (zip_uint64_t)len);
    if (n < 0)
        return -1;
    z->read += (uint64_t)n;
    z->x->inflated += (uint64_t)n;
    if (z->read > z->cap || z->x->inflated > z->x->lim.max_uncompressed) {
        z->x->too_large = true;
        return -1;
    }
    return (int)n;
}

/* Opens entry `name` as a streaming XML reader. NULL + err if missing or unreadable. */
static xmlTextReaderPtr
xml_open(struct xlsx *x, const char *name, struct zin *z, uint64_t cap, err *e)
{
    zip_int64_t idx = zip_name_locate(x->zip, name, ZIP_FL_NOCASE);
    if (idx < 0) {
        err_set(e, ERR_INVALID, "the workbook has no part %s", name);
        return NULL;
    }
    zip_stat_t st;
    if (zip_stat_index(x->zip, (zip_uint64_t)idx, 0, &st) == 0 && (st.valid & ZIP_STAT_SIZE) &&
        st.size > cap) {
        err_set(e, ERR_TOO_LARGE, "workbook part %s inflates beyond the limit", name);
        return NULL;
    }
    *z = (struct zin){.x = x, .cap = cap};
    z->zf = zip_fopen_index(x->zip, (zip_uint64_t)idx, 0);
    if (!z->zf) {
        err_set(e, ERR_INVALID, "workbook part %s cannot be read (encrypted or damaged)", name);
        return NULL;
    }
    x->part = name;
    xmlTextReaderPtr rd = xmlReaderForIO(zin_read, NULL, z, NULL, NULL,
                                         XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
                                             XML_PARSE_COMPACT);
    if (!rd) {
        zip_fclose(z->zf);
        err_set(e, ERR_INTERNAL, "out of memory");
    }
    return rd;
}

static void
xml_close(xmlTextReaderPtr rd, struct zin *z)
{
    xmlFreeTextReader(rd);
    if (z->zf)
        zip_fclose(z->zf);
    z->zf = NULL;
}

static int xml_fail(struct xlsx *x, xmlTextReaderPtr rd, err *e);

/* Advances the reader: 1 node, 0 end, -1 error (reported). */
static int
xml_next(struct xlsx *x, xmlTextReaderPtr rd, err *e)
{
    int rc = xmlTextReaderRead(rd);
    if (rc == 1 && xmlTextReaderNodeType(rd) == XML_READER_TYPE_DOCUMENT_TYPE)
        return err_set(e, ERR_INVALID, "workbook part %s has a DOCTYPE, which is not accepted",
                       x->part);
    if (rc >= 0)
        return rc;
    return xml_fail(x, rd, e);
}

/* Reports why the reader stopped: the inflate cap, or malformed XML. */
static int
xml_fail(struct xlsx *x, xmlTextReaderPtr rd, err *e)
{
    if (x->too_large)
        return err_set(e, ERR_TOO_LARGE,
                       "the workbook inflates beyond the limit (part %s); refusing it", x->part);
    return err_set(e, ERR_INVALID, "workbook part %s is not well-formed XML (near line %d)",
                   x->part, xmlTextReaderGetParserLineNumber(rd));
}

static bool
elem(xmlTextReaderPtr rd, const char *local)
{
    const xmlChar *n = xmlTextReaderConstLocalName(rd);
    return xmlTextReaderNodeType(rd) == XML_READER_TYPE_ELEMENT && n &&
           strcmp((const char *)n, local) == 0;
}

static bool
end_elem(xmlTextReaderPtr rd, const char *local)
{
    const xmlChar *n = xmlTextReaderConstLocalName(rd);
    return xmlTextReaderNodeType(rd) == XML_READER_TYPE_END_ELEMENT && n &&
           strcmp((const char *)n, local) == 0;
}

/* Attribute by local name (any namespace), malloc'd copy or NULL. */
static char *
attr(xmlTextReaderPtr rd, const char *local)
{
    char *out = NULL;
    if (xmlTextReaderMoveToFirstAttribute(rd) != 1)
        return NULL;
    do {
        const xmlChar *n = xmlTextReaderConstLocalName(rd);
        if (n && strcmp((const char *)n, local) == 0) {
            const xmlChar *v = xmlTextReaderConstValue(rd);
            out = strdup(v ? (const char *)v : "");
            break;
        }
    } while (xmlTextReaderMoveToNextAttribute(rd) == 1);
    xmlTextReaderMoveToElement(rd);
    return out;
}

/* ------------------------------------------------------------ workbook + rels */

static int
read_workbook(struct xlsx *x, err *e)
{
    struct zin z;
    xmlTextReaderPtr rd = xml_open(x, "xl/workbook.xml", &z, XLSX_MAX_META, e);
    if (!rd)
        return -1;
    int rc;
    while ((rc = xml_next(x, rd, e)) == 1) {
        if (!elem(rd, "sheet"))
            continue;
        if (x->nsheets == XLSX_MAX_SHEETS) {
            rc = err_set(e, ERR_TOO_LARGE, "the workbook has more than %d sheets", XLSX_MAX_SHEETS);
            break;
        }
        struct xsheet *s = &x->sheets[x->nsheets++];
        s->name = attr(rd, "name");
        s->rid = attr(rd, "id");
    }
    xml_close(rd, &z);
    return rc < 0 ? -1 : 0;
}

/* "worksheets/sheet1.xml" relative to xl/, or "/xl/…" absolute → zip entry name. */
static char *
resolve_target(const char *target)
{
    char buf[512];
    if (target[0] == '/')
        snprintf(buf, sizeof(buf), "%s", target + 1);
    else
        snprintf(buf, sizeof(buf), "xl/%s", target);
    /* fold "./" and "dir/../" */
    char out[512];
    size_t o = 0;
    for (char *seg = buf; seg && *seg;) {
        char *slash = strchr(seg, '/');
        size_t n = slash ? (size_t)(slash - seg) : strlen(seg);
        if (n == 2 && seg[0] == '.' && seg[1] == '.') {
            while (o > 0 && out[o - 1] != '/')
                o--;
            if (o > 0)
                o--;
            while (o > 0 && out[o - 1] != '/')
                o--;
        } else if (!(n == 1 && seg[0] == '.') && n > 0 && o + n + 1 < sizeof(out)) {
            memcpy(out + o, seg, n);
            o += n;
            if (slash)
                out[o++] = '/';
        }
        seg = slash ? slash + 1 : NULL;
    }
    out[o] = '\0';
    return strdup(out);
}

static void
apply_relationship(struct xlsx *x, const char *id, const char *type, const char *target)
{
    if (!id || !target)
        return;
    if (type && strstr(type, "/sharedStrings")) {
        free(x->strings_path);
        x->strings_path = resolve_target(target);
    }
    for (size_t i = 0; i < x->nsheets; i++)
        if (x->sheets[i].rid && strcmp(x->sheets[i].rid, id) == 0 && !x->sheets[i].path)
            x->sheets[i].path = resolve_target(target);
}

static int
read_rels(struct xlsx *x, err *e)
{
    struct zin z;
    xmlTextReaderPtr rd = xml_open(x, "xl/_rels/workbook.xml.rels", &z, XLSX_MAX_META, e);
    if (!rd)
        return -1;
    int rc;
    while ((rc = xml_next(x, rd, e)) == 1) {
        if (!elem(rd, "Relationship"))
            continue;
        char *id = attr(rd, "Id"), *type = attr(rd, "Type"), *target = attr(rd, "Target");
        apply_relationship(x, id, type, target);
        free(id);
        free(type);
        free(target);
    }
    xml_close(rd, &z);
    return rc < 0 ? -1 : 0;
}

/* ------------------------------------------------------------ shared strings */

static int
val_append(struct xlsx *x, const char *s, size_t n)
{
    if (x->val_len + n + 1 > x->val_cap) {
        size_t ncap = x->val_cap ? x->val_cap : 256;
        while (ncap < x->val_len + n + 1)
            ncap *= 2;
        if (ncap > XLSX_MAX_STRINGS_BYTES)
            return -1;
        char *v = realloc(x->val, ncap);
        if (!v)
            return -1;
        x->val = v;
        x->val_cap = ncap;
    }
    memcpy(x->val + x->val_len, s, n);
    x->val_len += n;
    x->val[x->val_len] = '\0';
    return 0;
}

/* Collects the text of the rich-text element at the cursor (<si> or <is>) into x->val,
 * leaving out phonetic runs (<rPh>). */
static int
read_rich_text(struct xlsx *x, xmlTextReaderPtr rd, const char *endname, err *e)
{
    x->val_len = 0;
    if (xmlTextReaderIsEmptyElement(rd))
        return 0;
    int depth_rph = 0, in_t = 0, rc;
    while ((rc = xml_next(x, rd, e)) == 1) {
        int type = xmlTextReaderNodeType(rd);
        if (end_elem(rd, endname))
            return 0;
        if (elem(rd, "rPh") && !xmlTextReaderIsEmptyElement(rd))
            depth_rph++;
        else if (end_elem(rd, "rPh"))
            depth_rph--;
        else if (elem(rd, "t") && !xmlTextReaderIsEmptyElement(rd))
            in_t++;
        else if (end_elem(rd, "t"))
            in_t--;
        else if ((type == XML_READER_TYPE_TEXT || type == XML_READER_TYPE_CDATA ||
                  type == XML_READER_TYPE_SIGNIFICANT_WHITESPACE) &&
                 in_t > 0 && depth_rph == 0) {
            const char *t = (const char *)xmlTextReaderConstValue(rd);
            if (t && val_append(x, t, strlen(t)) < 0)
                return err_set(e, ERR_TOO_LARGE, "a cell's text is too large");
        }
    }
    return rc < 0 ? -1 : err_set(e, ERR_INVALID, "workbook part %s ends inside a string", x->part);
}

static int
ss_push(struct xlsx *x, err *e)
{
    if (x->nss >= x->lim.max_shared_strings)
        return err_set(e, ERR_TOO_LARGE, "the workbook has more than %llu shared strings",
                       (unsigned long long)x->lim.max_shared_strings);
    if (x->ss_len + x->val_len + 1 > XLSX_MAX_STRINGS_BYTES)
        return err_set(e, ERR_TOO_LARGE, "the workbook's shared strings exceed %d MiB",
                       XLSX_MAX_STRINGS_BYTES >> 20);
    if (x->nss == x->ss_off_cap) {
        size_t ncap = x->ss_off_cap ? x->ss_off_cap * 2 : 1024;
        uint32_t *o = realloc(x->ss_off, ncap * sizeof(*o));
        if (!o)
            return err_set(e, ERR_INTERNAL, "out of memory");
        x->ss_off = o;
        x->ss_off_cap = ncap;
    }
    if (x->ss_len + x->val_len + 1 > x->ss_cap) {
        size_t ncap = x->ss_cap ? x->ss_cap : 65536;
        while (ncap < x->ss_len + x->val_len + 1)
            ncap *= 2;
        char *s = realloc(x->ss, ncap);
        if (!s)
            return err_set(e, ERR_INTERNAL, "out of memory");
        x->ss = s;
        x->ss_cap = ncap;
    }
    x->ss_off[x->nss++] = (uint32_t)x->ss_len;
    if (x->val_len)
        memcpy(x->ss + x->ss_len, x->val, x->val_len);
    x->ss_len += x->val_len;
    x->ss[x->ss_len++] = '\0';
    return 0;
}

static int
read_shared_strings(struct xlsx *x, err *e)
{
    const char *path = x->strings_path ? x->strings_path : "xl/sharedStrings.xml";
    if (zip_name_locate(x->zip, path, ZIP_FL_NOCASE) < 0)
        return 0; /* a workbook of numbers and inline strings only */
    struct zin z;
    uint64_t cap = x->lim.max_entry < XLSX_MAX_STRINGS_BYTES * 4ULL ? x->lim.max_entry
                                                                    : XLSX_MAX_STRINGS_BYTES * 4ULL;
    xmlTextReaderPtr rd = xml_open(x, path, &z, cap, e);
    if (!rd)
        return -1;
    int rc;
    while ((rc = xml_next(x, rd, e)) == 1) {
        if (!elem(rd, "si"))
            continue;
        if (read_rich_text(x, rd, "si", e) < 0 || ss_push(x, e) < 0) {
            rc = -1;
            break;
        }
    }
    xml_close(rd, &z);
    return rc < 0 ? -1 : 0;
}

/* ------------------------------------------------------------ sheets */

struct cell_state {
    size_t row, next_col;
    bool in_row;
};

/* "AB12" → 27; SIZE_MAX when malformed. */
static size_t
column_of(const char *ref)
{
    size_t col = 0, n = 0;
    for (; *ref >= 'A' && *ref <= 'Z'; ref++, n++) {
        col = col * 26 + (size_t)(*ref - 'A' + 1);
        if (col > 16384)
            return SIZE_MAX;
    }
    return n ? col - 1 : SIZE_MAX;
}

static size_t
row_of(xmlTextReaderPtr rd, size_t prev)
{
    char *r = attr(rd, "r");
    int64_t n;
    size_t row = r && plan_parse_i64(r, &n) && n > 0 ? (size_t)n : prev + 1;
    free(r);
    return row;
}

/* The text of the <v> element at the cursor, appended to x->val. */
static int
read_v(struct xlsx *x, xmlTextReaderPtr rd, err *e)
{
    int rc;
    while ((rc = xml_next(x, rd, e)) == 1) {
        int type = xmlTextReaderNodeType(rd);
        if (end_elem(rd, "v"))
            return 0;
        if (type == XML_READER_TYPE_TEXT || type == XML_READER_TYPE_CDATA ||
            type == XML_READER_TYPE_SIGNIFICANT_WHITESPACE) {
            const char *t = (const char *)xmlTextReaderConstValue(rd);
            if (t && val_append(x, t, strlen(t)) < 0)
                return err_set(e, ERR_TOO_LARGE, "a cell's text is too large");
        }
    }
    return rc < 0 ? -1 : err_set(e, ERR_INVALID, "workbook part %s ends inside a value", x->part);
}

/* The value of the <c> element at the cursor into x->val; *has is false when empty. */
static int
read_cell_value(struct xlsx *x, xmlTextReaderPtr rd, bool *has, err *e)
{
    x->val_len = 0;
    *has = false;
    if (xmlTextReaderIsEmptyElement(rd))
        return 0;
    int rc;
    while ((rc = xml_next(x, rd, e)) == 1) {
        if (end_elem(rd, "c"))
            return 0;
        if (elem(rd, "is")) {
            if (read_rich_text(x, rd, "is", e) < 0)
                return -1;
            *has = true;
        } else if (elem(rd, "v") && !xmlTextReaderIsEmptyElement(rd)) {
            if (read_v(x, rd, e) < 0)
                return -1;
            *has = true;
        } /* <f> (formula) text is never collected: only <v> and <is> are */
    }
    return rc < 0 ? -1 : err_set(e, ERR_INVALID, "workbook part %s ends inside a cell", x->part);
}

/* Turns the raw cell text into what the mapper sees, by cell type. */
static int
emit_cell(struct xlsx *x, size_t col, const char *type, err *e)
{
    const char *v = x->val;
    size_t n = x->val_len;
    if (type && strcmp(type, "s") == 0) {
        int64_t i;
        if (!plan_parse_i64(v, &i) || i < 0 || (uint64_t)i >= x->nss)
            return err_set(e, ERR_INVALID, "workbook part %s: shared string index '%s' is invalid",
                           x->part, v);
        v = x->ss + x->ss_off[i];
        n = strlen(v);
    } else if (type && strcmp(type, "b") == 0) {
        v = plan_parse_bool(v) == 1 ? "True" : "False";
        n = strlen(v);
    } else if (type && strcmp(type, "e") == 0) {
        return 0; /* #N/A and friends: no value */
    }
    if (!n)
        return 0;
    if (++x->cells > x->lim.max_cells)
        return err_set(e, ERR_TOO_LARGE, "the workbook has more than %llu cells",
                       (unsigned long long)x->lim.max_cells);
    return rv_cell(x->r, col, v, n, e);
}

static int
sheet_cell(struct xlsx *x, xmlTextReaderPtr rd, struct cell_state *cs, bool *advanced, err *e)
{
    char *ref = attr(rd, "r");
    size_t col = ref ? column_of(ref) : cs->next_col;
    free(ref);
    if (col == SIZE_MAX)
        return err_set(e, ERR_INVALID, "workbook part %s: bad cell reference", x->part);
    cs->next_col = col + 1;
    if (!rv_col_wanted(x->r, col) || xmlTextReaderIsEmptyElement(rd)) {
        int rc = xmlTextReaderNext(rd); /* skip the cell without reading it */
        *advanced = true;
        return rc < 0 ? xml_fail(x, rd, e) : rc;
    }
    char *type = attr(rd, "t");
    bool has;
    int rc = read_cell_value(x, rd, &has, e);
    if (rc == 0 && has)
        rc = emit_cell(x, col, type, e);
    free(type);
    return rc < 0 ? -1 : 1;
}

/* Dispatches one node of a sheet; *advanced is set when the cursor already moved on. */
static int
sheet_node(struct xlsx *x, xmlTextReaderPtr rd, struct cell_state *cs, bool *advanced, err *e)
{
    *advanced = false;
    if (elem(rd, "row")) {
        cs->row = row_of(rd, cs->row);
        cs->next_col = 0;
        cs->in_row = !xmlTextReaderIsEmptyElement(rd);
        return cs->in_row ? 1 : (rv_row_end(x->r, cs->row, e) < 0 ? -1 : 1);
    }
    if (end_elem(rd, "row")) {
        cs->in_row = false;
        return rv_row_end(x->r, cs->row, e) < 0 ? -1 : 1;
    }
    if (elem(rd, "c") && cs->in_row)
        return sheet_cell(x, rd, cs, advanced, e);
    return 1;
}

static int
read_sheet(struct xlsx *x, const struct xsheet *s, err *e)
{
    int want = rv_sheet_begin(x->r, s->name, e);
    if (want <= 0)
        return want;
    if (!s->path)
        return err_set(e, ERR_INVALID, "sheet %s has no part in the workbook", s->name);
    struct zin z;
    xmlTextReaderPtr rd = xml_open(x, s->path, &z, x->lim.max_entry, e);
    if (!rd)
        return -1;
    struct cell_state cs = {0};
    bool advanced = false;
    int rc = xml_next(x, rd, e);
    while (rc == 1) {
        rc = sheet_node(x, rd, &cs, &advanced, e);
        if (rc == 1 && !advanced)
            rc = xml_next(x, rd, e);
    }
    xml_close(rd, &z);
    if (rc < 0)
        return -1;
    return rv_sheet_end(x->r, e);
}

static int
sheet_rank_cmp(const void *a, const void *b)
{
    const struct xsheet *x = a, *y = b;
    int rx = rv_sheet_rank(x->name), ry = rv_sheet_rank(y->name);
    return (rx < 0 ? 1000 : rx) - (ry < 0 ? 1000 : ry);
}

static int
xlsx_read_all(struct xlsx *x, err *e)
{
    if (read_workbook(x, e) < 0 || read_rels(x, e) < 0)
        return -1;
    qsort(x->sheets, x->nsheets, sizeof(*x->sheets), sheet_rank_cmp);
    size_t wanted = 0;
    for (size_t i = 0; i < x->nsheets; i++)
        wanted += x->sheets[i].name && rv_sheet_rank(x->sheets[i].name) >= 0;
    if (!wanted)
        return err_set(e, ERR_INVALID,
                       "not an RVTools export: no vInfo, vCPU, vMemory, vDisk, "
                       "vNetwork, vHost or vPartition sheet");
    if (read_shared_strings(x, e) < 0)
        return -1;
    for (size_t i = 0; i < x->nsheets; i++)
        if (x->sheets[i].name && read_sheet(x, &x->sheets[i], e) < 0)
            return -1;
    return rv_reader_finish(x->r, e);
}

static void
xlsx_free(struct xlsx *x)
{
    for (size_t i = 0; i < x->nsheets; i++) {
        free(x->sheets[i].name);
        free(x->sheets[i].rid);
        free(x->sheets[i].path);
    }
    free(x->strings_path);
    free(x->ss);
    free(x->ss_off);
    free(x->val);
    rv_reader_free(x->r);
    if (x->zip)
        zip_discard(x->zip);
}

int
plan_rvtools_read_xlsx(plan_inventory *inv, const void *buf, size_t len,
                       const struct plan_limits *lim, err *e)
{
    struct xlsx x = {.lim = plan_limits_resolve(lim)};
    if (len > x.lim.max_input)
        return err_set(e, ERR_TOO_LARGE, "the xlsx file is larger than %llu MiB",
                       (unsigned long long)(x.lim.max_input >> 20));
    plan_global_init();
    zip_error_t zerr;
    zip_error_init(&zerr);
    zip_source_t *src = zip_source_buffer_create(buf, len, 0, &zerr);
    if (src) {
        x.zip = zip_open_from_source(src, ZIP_RDONLY, &zerr);
        if (!x.zip)
            zip_source_free(src);
    }
    zip_error_fini(&zerr);
    if (!x.zip)
        return err_set(e, ERR_INVALID, "not an xlsx file: the zip container cannot be opened");
    x.r = rv_reader_new(inv, &x.lim);
    int rc = x.r ? xlsx_read_all(&x, e) : err_set(e, ERR_INTERNAL, "out of memory");
    inv->cells_read = x.cells;
    xlsx_free(&x);
    return rc;
}
