/* Exports of a rebalance / drain plan: JSON (jansson), CSV (one row per migration,
 * then one per VM left behind), xlsx (Summary, Moves, Hosts, Stuck) through
 * libxlsxwriter and an anonymous memory file, like export_xlsx.c. */
#include "plan_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <jansson.h>
#include <xlsxwriter.h>

static const char *
vm_name(const struct plan_rb_vm *vms, size_t i)
{
    return vms[i].name ? vms[i].name : "?";
}

static const char *
host_name(const struct plan_host *hosts, size_t h)
{
    return hosts[h].name ? hosts[h].name : "?";
}

static json_t *
num(double v)
{
    return isfinite(v) ? json_real(round(v * 10000) / 10000) : json_null();
}

static void
put(json_t *o, const char *k, json_t *v)
{
    if (o && v)
        json_object_set_new(o, k, v);
    else
        json_decref(v);
}

static json_t *
loads(const double *l)
{
    json_t *o = json_object();
    put(o, "cpu", num(l[PLAN_DIM_CPU]));
    put(o, "memory", num(l[PLAN_DIM_MEM]));
    put(o, "disk", num(l[PLAN_DIM_DISK]));
    return o;
}

static json_t *
summary_json(const plan_rebalance *r)
{
    json_t *o = json_object();
    put(o, "migrations", json_integer((json_int_t)r->nmoves));
    put(o, "steps", json_integer(r->nsteps));
    put(o, "imbalance_before", num(r->imbalance_before));
    put(o, "imbalance_after", num(r->imbalance_after));
    put(o, "sd_before", loads(r->sd_before));
    put(o, "sd_after", loads(r->sd_after));
    put(o, "threshold", json_integer(r->threshold));
    put(o, "tolerance", num(r->tolerance));
    put(o, "balanced", json_boolean(r->balanced));
    put(o, "hosts_counted", json_integer((json_int_t)r->hosts_counted));
    put(o, "hosts_freed", json_integer((json_int_t)r->hosts_freed));
    put(o, "memory_moved_mib", num(r->memory_moved_mib));
    put(o, "removed_by_collapse", json_integer((json_int_t)r->removed));
    put(o, "staged", json_integer((json_int_t)r->staged));
    put(o, "stuck", json_integer((json_int_t)r->nstuck));
    put(o, "truncated", json_boolean(r->truncated));
    return o;
}

static json_t *
hosts_json(const plan_rebalance *r, const struct plan_rb_vm *vms, const struct plan_host *hosts)
{
    json_t *a = json_array();
    size_t *count = calloc(r->nhosts ? r->nhosts * 2 : 1, sizeof(size_t));
    for (size_t i = 0; count && i < r->nvms; i++) {
        count[vms[i].host]++;
        count[r->nhosts + (size_t)r->host_after[i]]++;
    }
    for (size_t h = 0; a && count && h < r->nhosts; h++) {
        json_t *o = json_object();
        put(o, "index", json_integer((json_int_t)h));
        put(o, "name", json_string(host_name(hosts, h)));
        put(o, "cpus", num(hosts[h].cpus));
        put(o, "memory_mib", num(hosts[h].memory_mib));
        put(o, "load_before", loads(&r->load_before[h * PLAN_NDIM]));
        put(o, "load_after", loads(&r->load_after[h * PLAN_NDIM]));
        put(o, "vms_before", json_integer((json_int_t)count[h]));
        put(o, "vms_after", json_integer((json_int_t)count[r->nhosts + h]));
        json_array_append_new(a, o);
    }
    free(count);
    return a;
}

static json_t *
move_json(const plan_rebalance *r, const struct plan_rb_vm *vms, const struct plan_host *hosts,
          size_t i)
{
    const struct plan_rb_move *m = &r->moves[i];
    json_t *o = json_object();
    put(o, "vm", json_string(vm_name(vms, m->vm)));
    put(o, "vm_index", json_integer((json_int_t)m->vm));
    put(o, "from", json_string(host_name(hosts, m->from)));
    put(o, "to", json_string(host_name(hosts, m->to)));
    put(o, "from_index", json_integer((json_int_t)m->from));
    put(o, "to_index", json_integer((json_int_t)m->to));
    put(o, "vcpus", num(vms[m->vm].d[PLAN_DIM_CPU]));
    put(o, "memory_mib", num(vms[m->vm].d[PLAN_DIM_MEM]));
    put(o, "why", json_string(m->why));
    return o;
}

static json_t *
steps_json(const plan_rebalance *r, const struct plan_rb_vm *vms, const struct plan_host *hosts)
{
    json_t *a = json_array();
    size_t i = 0;
    for (int k = 0; a && k < r->nsteps; k++) {
        json_t *step = json_object(), *moves = json_array();
        for (; i < r->nmoves && r->moves[i].step == k; i++)
            json_array_append_new(moves, move_json(r, vms, hosts, i));
        put(step, "step", json_integer(k));
        put(step, "moves", moves);
        json_array_append_new(a, step);
    }
    return a;
}

static json_t *
stuck_json(const plan_rebalance *r, const struct plan_rb_vm *vms)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < r->nstuck; i++) {
        const struct plan_unplaced *u = &r->stuck[i];
        json_t *o = json_object(), *filters = json_array();
        for (size_t k = 0; k < u->nfilters; k++)
            json_array_append_new(filters,
                                  json_pack("{s:s,s:I,s:I}", "filter", u->filters[k].filter,
                                            "start", (json_int_t)u->filters[k].start, "end",
                                            (json_int_t)u->filters[k].end));
        put(o, "vm", json_string(vm_name(vms, u->vm)));
        put(o, "vm_index", json_integer((json_int_t)u->vm));
        put(o, "reason", json_string(u->reason ? u->reason : ""));
        put(o, "nearest_host", u->nearest_host ? json_string(u->nearest_host) : json_null());
        put(o, "binding",
            u->binding_dim >= 0 ? json_string(plan_dim_name(u->binding_dim)) : json_null());
        put(o, "shortfall", u->binding_dim >= 0 ? num(u->shortfall) : json_null());
        put(o, "filters", filters);
        json_array_append_new(a, o);
    }
    return a;
}

json_t *
plan_rebalance_json(const plan_rebalance *r, const struct plan_rb_vm *vms,
                    const struct plan_host *hosts)
{
    json_t *o = json_object();
    json_t *parts[4] = {summary_json(r), hosts_json(r, vms, hosts), steps_json(r, vms, hosts),
                        stuck_json(r, vms)};
    static const char *const names[4] = {"summary", "hosts", "steps", "stuck"};
    bool ok = o != NULL;
    for (int i = 0; i < 4; i++) {
        ok = ok && parts[i];
        put(o, names[i], parts[i]);
    }
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* ---------------------------------------------------------------- CSV */

/* A field of the row (plan_csv_field), then the separator or the row's end. */
static void
field(struct plan_csv *o, const char *s, bool last)
{
    plan_csv_field(o, s);
    plan_csv_put(o, last ? "\r\n" : ",", last ? 2 : 1);
}

static void
number(struct plan_csv *o, double v)
{
    char buf[64];
    plan_csv_put(o, buf, (size_t)snprintf(buf, sizeof(buf), "%.10g,", v));
}

char *
plan_rebalance_csv(const plan_rebalance *r, const struct plan_rb_vm *vms,
                   const struct plan_host *hosts, size_t *len, err *e)
{
    struct plan_csv o = {0};
    static const char head[] = "step,vm,from,to,vcpus,memory_mib,why,reason\r\n";
    plan_csv_put(&o, head, sizeof(head) - 1);
    for (size_t i = 0; i < r->nmoves; i++) {
        const struct plan_rb_move *m = &r->moves[i];
        number(&o, m->step + 1);
        field(&o, vm_name(vms, m->vm), false);
        field(&o, host_name(hosts, m->from), false);
        field(&o, host_name(hosts, m->to), false);
        number(&o, vms[m->vm].d[PLAN_DIM_CPU]);
        number(&o, vms[m->vm].d[PLAN_DIM_MEM]);
        field(&o, m->why, false);
        field(&o, "", true);
    }
    for (size_t i = 0; i < r->nstuck; i++) {
        const struct plan_unplaced *u = &r->stuck[i];
        plan_csv_put(&o, ",", 1);
        field(&o, vm_name(vms, u->vm), false);
        field(&o, host_name(hosts, vms[u->vm].host), false);
        field(&o, "", false);
        number(&o, vms[u->vm].d[PLAN_DIM_CPU]);
        number(&o, vms[u->vm].d[PLAN_DIM_MEM]);
        field(&o, "stuck", false);
        field(&o, u->reason ? u->reason : "", true);
    }
    return plan_csv_finish(&o, len, e);
}

/* ---------------------------------------------------------------- xlsx */

struct book {
    lxw_workbook *wb;
    lxw_format *bold;
    const plan_rebalance *r;
    const struct plan_rb_vm *vms;
    const struct plan_host *hosts;
};

static void
header(struct book *b, lxw_worksheet *ws, const char *const *cols, int n)
{
    for (int c = 0; c < n; c++)
        worksheet_write_string(ws, 0, (lxw_col_t)c, cols[c], b->bold);
    worksheet_freeze_panes(ws, 1, 0);
}

static void
row_num(lxw_worksheet *ws, lxw_row_t *row, const char *label, double v)
{
    worksheet_write_string(ws, *row, 0, label, NULL);
    worksheet_write_number(ws, (*row)++, 1, v, NULL);
}

static void
sheet_summary(struct book *b)
{
    const plan_rebalance *r = b->r;
    lxw_worksheet *ws = workbook_add_worksheet(b->wb, "Summary");
    lxw_row_t row = 0;
    row_num(ws, &row, "migrations", (double)r->nmoves);
    row_num(ws, &row, "steps", r->nsteps);
    row_num(ws, &row, "imbalance before", r->imbalance_before);
    row_num(ws, &row, "imbalance after", r->imbalance_after);
    row_num(ws, &row, "cpu std-dev before", r->sd_before[PLAN_DIM_CPU]);
    row_num(ws, &row, "cpu std-dev after", r->sd_after[PLAN_DIM_CPU]);
    row_num(ws, &row, "memory std-dev before", r->sd_before[PLAN_DIM_MEM]);
    row_num(ws, &row, "memory std-dev after", r->sd_after[PLAN_DIM_MEM]);
    row_num(ws, &row, "threshold", r->threshold);
    row_num(ws, &row, "tolerance", r->tolerance);
    row_num(ws, &row, "hosts freed", (double)r->hosts_freed);
    row_num(ws, &row, "memory moved (MiB)", r->memory_moved_mib);
    row_num(ws, &row, "VMs left behind", (double)r->nstuck);
    worksheet_set_column(ws, 0, 0, 24, NULL);
}

static void
sheet_moves(struct book *b)
{
    static const char *const cols[] = {"step", "vm", "from", "to", "vcpus", "memory_mib", "why"};
    lxw_worksheet *ws = workbook_add_worksheet(b->wb, "Moves");
    header(b, ws, cols, 7);
    for (size_t i = 0; i < b->r->nmoves && i < 1048575; i++) {
        const struct plan_rb_move *m = &b->r->moves[i];
        lxw_row_t row = (lxw_row_t)(i + 1);
        worksheet_write_number(ws, row, 0, m->step + 1, NULL);
        worksheet_write_string(ws, row, 1, vm_name(b->vms, m->vm), NULL);
        worksheet_write_string(ws, row, 2, host_name(b->hosts, m->from), NULL);
        worksheet_write_string(ws, row, 3, host_name(b->hosts, m->to), NULL);
        worksheet_write_number(ws, row, 4, b->vms[m->vm].d[PLAN_DIM_CPU], NULL);
        worksheet_write_number(ws, row, 5, b->vms[m->vm].d[PLAN_DIM_MEM], NULL);
        worksheet_write_string(ws, row, 6, m->why, NULL);
    }
    worksheet_set_column(ws, 1, 3, 24, NULL);
}

static void
sheet_hosts(struct book *b)
{
    static const char *const cols[] = {"host",      "cpus",          "memory_mib",  "cpu_before",
                                       "cpu_after", "memory_before", "memory_after"};
    lxw_worksheet *ws = workbook_add_worksheet(b->wb, "Hosts");
    header(b, ws, cols, 7);
    for (size_t h = 0; h < b->r->nhosts && h < 1048575; h++) {
        lxw_row_t row = (lxw_row_t)(h + 1);
        const double *lb = &b->r->load_before[h * PLAN_NDIM],
                     *la = &b->r->load_after[h * PLAN_NDIM];
        worksheet_write_string(ws, row, 0, host_name(b->hosts, h), NULL);
        worksheet_write_number(ws, row, 1, b->hosts[h].cpus, NULL);
        worksheet_write_number(ws, row, 2, b->hosts[h].memory_mib, NULL);
        worksheet_write_number(ws, row, 3, lb[PLAN_DIM_CPU], NULL);
        worksheet_write_number(ws, row, 4, la[PLAN_DIM_CPU], NULL);
        worksheet_write_number(ws, row, 5, lb[PLAN_DIM_MEM], NULL);
        worksheet_write_number(ws, row, 6, la[PLAN_DIM_MEM], NULL);
    }
}

static void
sheet_stuck(struct book *b)
{
    static const char *const cols[] = {"vm", "host", "reason", "nearest_host", "binding"};
    lxw_worksheet *ws = workbook_add_worksheet(b->wb, "Stuck");
    header(b, ws, cols, 5);
    for (size_t i = 0; i < b->r->nstuck && i < 1048575; i++) {
        const struct plan_unplaced *u = &b->r->stuck[i];
        lxw_row_t row = (lxw_row_t)(i + 1);
        worksheet_write_string(ws, row, 0, vm_name(b->vms, u->vm), NULL);
        worksheet_write_string(ws, row, 1, host_name(b->hosts, b->vms[u->vm].host), NULL);
        worksheet_write_string(ws, row, 2, u->reason ? u->reason : "", NULL);
        worksheet_write_string(ws, row, 3, u->nearest_host ? u->nearest_host : "", NULL);
        worksheet_write_string(ws, row, 4, u->binding_dim >= 0 ? plan_dim_name(u->binding_dim) : "",
                               NULL);
    }
}

static int
write_book(struct book *b, const char *path, err *e)
{
    if (!(b->wb = workbook_new(path)))
        return err_set(e, ERR_UNAVAILABLE, "cannot create the xlsx file");
    b->bold = workbook_add_format(b->wb);
    format_set_bold(b->bold);
    sheet_summary(b);
    sheet_moves(b);
    sheet_hosts(b);
    sheet_stuck(b);
    lxw_error rc = workbook_close(b->wb);
    if (rc != LXW_NO_ERROR)
        return err_set(e, ERR_UNAVAILABLE, "writing the xlsx file failed: %s", lxw_strerror(rc));
    return 0;
}

unsigned char *
plan_rebalance_xlsx_mem(const plan_rebalance *r, const struct plan_rb_vm *vms,
                        const struct plan_host *hosts, size_t *len, err *e)
{
    int fd = memfd_create("rebalance.xlsx", MFD_CLOEXEC);
    if (fd < 0) {
        err_set(e, ERR_UNAVAILABLE, "no memory file for the xlsx export");
        return NULL;
    }
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    struct book b = {.r = r, .vms = vms, .hosts = hosts};
    unsigned char *buf = NULL;
    if (write_book(&b, path, e) == 0) {
        off_t size = lseek(fd, 0, SEEK_END);
        buf = size > 0 ? malloc((size_t)size) : NULL;
        if (buf && pread(fd, buf, (size_t)size, 0) == size) {
            *len = (size_t)size;
        } else {
            free(buf);
            buf = NULL;
            err_set(e, ERR_UNAVAILABLE, "reading the xlsx export back failed");
        }
    }
    close(fd);
    return buf;
}
