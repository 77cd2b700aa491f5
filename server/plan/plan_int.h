/* plan internals shared by the planner's files; not part of the public API. */
#ifndef VP_PLAN_INT_H
#define VP_PLAN_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "plan.h"

#define PLAN_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Appends one zeroed element of `elem` bytes to the arena-owned array *arr (count *n,
 * capacity *cap), doubling it when full. Returns the new element or NULL (OOM). */
void *plan_grow(struct arena *a, void **arr, size_t *n, size_t *cap, size_t elem);

/* A CSV document grown in memory (export_csv.c): put appends bytes, field one
 * RFC 4180 field (a text a spreadsheet would run as a formula gets an
 * apostrophe), finish hands the text over (*len bytes, NUL-terminated; caller
 * frees) or frees it and answers ERR_INTERNAL when an append ran out of memory. */
struct plan_csv {
    char *p;
    size_t len, cap;
    bool oom;
};
void plan_csv_put(struct plan_csv *o, const char *s, size_t n);
void plan_csv_field(struct plan_csv *o, const char *s);
char *plan_csv_finish(struct plan_csv *o, size_t *len, err *e);

/* Union-find over indexes: p[x] == x for a root; joins keep the smaller index
 * as the root, so a unit is named by its first member. */
size_t plan_uf_find(size_t *p, size_t x);
void plan_uf_join(size_t *p, size_t a, size_t b);

/* Every group member, pin and exclusion of `c` (may be NULL) names one of the
 * n VMs and m hosts; ERR_INVALID naming the first that does not. */
int plan_constraints_check_refs(const struct plan_constraints *c, size_t n, size_t m, err *e);

/* ---- a string → size_t hash map (keys borrowed, must outlive the map) ---- */
struct plan_strmap {
    const char **keys;
    size_t *vals;
    size_t cap, count;
};
void plan_strmap_init(struct plan_strmap *m);
void plan_strmap_free(struct plan_strmap *m);
/* 0 on success, -1 when out of memory; an existing key gets the new value. */
int plan_strmap_put(struct plan_strmap *m, const char *key, size_t val);
bool plan_strmap_get(const struct plan_strmap *m, const char *key, size_t *val);

/* ---- parsing helpers: strict, whole string, surrounding blanks allowed ---- */
bool plan_parse_double(const char *s, double *out);
bool plan_parse_i64(const char *s, int64_t *out);
/* 1 true, 0 false, -1 neither ("True", "FALSE", "1", "yes", "on"…). */
int plan_parse_bool(const char *s);
enum plan_tri plan_tri_from(const char *s);
/* Case-insensitive ASCII equality / prefix test. */
bool plan_ieq(const char *a, const char *b);
bool plan_iprefix(const char *s, const char *prefix);
/* Case-insensitive substring search (ASCII). */
bool plan_icontains(const char *hay, const char *needle);
/* True when s is NULL, empty or only blanks. */
bool plan_blank(const char *s);
/* Lower-cases an ASCII string in place and returns it. */
char *plan_lower(char *s);
/* Copies s lower-cased into the arena. */
char *plan_lower_dup(struct arena *a, const char *s);

/* A size in MiB from a parsed number: rounded up, clamped to [0, 2^40] (1 EiB), so a
 * hostile figure can neither overflow the conversion nor the sums built from it. */
uint64_t plan_mib(double v);

/* ---- readers' common pieces ---- */
/* Resolves the limits: zero fields take defaults. */
struct plan_limits plan_limits_resolve(const struct plan_limits *lim);

/* A row sink: the RVTools mapper receives rows one by one from the xlsx or csv reader. */
struct rv_reader;
/* Begins sheet `name` (as named in the workbook / by the csv file). Returns 1 if the
 * sheet is wanted, 0 to skip it, -1 on error. */
int rv_sheet_begin(struct rv_reader *r, const char *name, err *e);
/* One cell of the current row: 0-based column, value (not NUL-terminated), length. */
int rv_cell(struct rv_reader *r, size_t col, const char *val, size_t len, err *e);
/* End of the current row (row number 1-based, for messages). */
int rv_row_end(struct rv_reader *r, size_t rownum, err *e);
int rv_sheet_end(struct rv_reader *r, err *e);

struct rv_reader *rv_reader_new(plan_inventory *inv, const struct plan_limits *lim);
/* Cross-checks the sheets and reports disagreements (call once, at the end). 0 / -1. */
int rv_reader_finish(struct rv_reader *r, err *e);
void rv_reader_free(struct rv_reader *r);
/* The order in which sheets must be fed (vInfo first); index of `name` or -1. */
int rv_sheet_rank(const char *name);

/* CSV parser feeding a sink (csv.c). */
int plan_csv_feed(struct rv_reader *r, const char *data, size_t len, uint64_t max_cells,
                  uint64_t *cells, err *e);

/* ---- guest OS and EVC tables (guestos.c) ---- */
/* Normalised form of a VMware guest id: lower case, no "guest" suffix, "server" → "srv",
 * no '-' or '_'. Writes into buf (size n). */
void plan_guest_id_normalise(const char *id, char *buf, size_t n);
/* Rank of an EVC key within its vendor (higher is newer), vendor in *vendor ('i'/'a'),
 * or -1 when unknown. */
int plan_evc_rank(const char *evc_key, char *vendor);
/* Rank of a QEMU model name in the same scale, or -1. */
int plan_qemu_model_rank(const char *model, char *vendor);

/* ---- placement internals shared with sizing ---- */
/* Default CPU compatibility from the hint tables (1, 0, -1). */
int plan_cpu_compat_hint(void *ctx, const char *evc_key, const char *qemu_model,
                         const struct plan_host *host, char *detail, size_t n);

/* Human formatting of an amount in one dimension ("12.3 GiB", "4 CPUs"). */
void plan_fmt_amount(char *buf, size_t n, int dim, double v);

#endif
