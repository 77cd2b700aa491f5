/* xlsx export through libxlsxwriter. This is the one planner file that touches the
 * file system: libxlsxwriter only writes to a path. The memory variant writes to an
 * anonymous memory file (memfd) through its /proc/self/fd path and reads it back. */
#include "export_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <xlsxwriter.h>

struct book {
    lxw_workbook *wb;
    lxw_format *bold;
};

static void
header(struct book *b, lxw_worksheet *ws, const char *const *cols, int n)
{
    for (int c = 0; c < n; c++)
        worksheet_write_string(ws, 0, (lxw_col_t)c, cols[c], b->bold);
    worksheet_freeze_panes(ws, 1, 0);
}

static void
sheet_vms(struct book *b, const plan_result *r)
{
    lxw_worksheet *ws = workbook_add_worksheet(b->wb, "VMs");
    header(b, ws, export_columns, EXPORT_NCOLS);
    for (size_t i = 0; i < r->inv->nvms && i < 1048575; i++)
        for (int c = 0; c < EXPORT_NCOLS; c++) {
            const char *s = NULL;
            double n = 0;
            int kind = export_cell(r, i, c, &s, &n);
            if (kind == EXPORT_STR && s && *s)
                worksheet_write_string(ws, (lxw_row_t)(i + 1), (lxw_col_t)c, s, NULL);
            else if (kind == EXPORT_NUM)
                worksheet_write_number(ws, (lxw_row_t)(i + 1), (lxw_col_t)c, n, NULL);
        }
    worksheet_set_column(ws, 0, 0, 28, NULL);
}

static void
sheet_findings(struct book *b, const plan_result *r)
{
    static const char *const cols[] = {"vm", "rule", "severity", "message"};
    lxw_worksheet *ws = workbook_add_worksheet(b->wb, "Findings");
    header(b, ws, cols, 4);
    lxw_row_t row = 1;
    for (size_t i = 0; i < r->inv->nvms; i++)
        for (size_t k = 0; k < r->assess[i].nfindings && row < 1048575; k++, row++) {
            const struct plan_finding *f = &r->assess[i].findings[k];
            worksheet_write_string(ws, row, 0, r->inv->vms[i]->name, NULL);
            worksheet_write_string(ws, row, 1, f->rule, NULL);
            worksheet_write_string(ws, row, 2, plan_severity_name(f->severity), NULL);
            worksheet_write_string(ws, row, 3, f->message, NULL);
        }
}

static void
sheet_hosts(struct book *b, const plan_result *r)
{
    static const char *const cols[] = {"host",
                                       "cpu_capacity",
                                       "cpu_used",
                                       "memory_capacity_mib",
                                       "memory_used_mib",
                                       "disk_capacity_gib",
                                       "disk_used_gib"};
    const struct plan_placement *p = r->placement;
    if (!p)
        return;
    lxw_worksheet *ws = workbook_add_worksheet(b->wb, "Hosts");
    header(b, ws, cols, 7);
    for (size_t h = 0; h < r->nhosts && h < 1048575; h++) {
        worksheet_write_string(ws, (lxw_row_t)(h + 1), 0, r->hosts[h].name, NULL);
        for (int d = 0; d < PLAN_NDIM; d++) {
            double cap = p->capacity[h * PLAN_NDIM + d];
            if (cap < 1e300)
                worksheet_write_number(ws, (lxw_row_t)(h + 1), (lxw_col_t)(1 + 2 * d), cap, NULL);
            worksheet_write_number(ws, (lxw_row_t)(h + 1), (lxw_col_t)(2 + 2 * d),
                                   p->used[h * PLAN_NDIM + d], NULL);
        }
    }
}

static void
sheet_unplaced(struct book *b, const plan_result *r)
{
    static const char *const cols[] = {"vm", "reason", "nearest_host", "binding", "filters"};
    const struct plan_placement *p = r->placement;
    if (!p)
        return;
    lxw_worksheet *ws = workbook_add_worksheet(b->wb, "Unplaced");
    header(b, ws, cols, 5);
    for (size_t i = 0; i < p->nunplaced && i < 1048575; i++) {
        const struct plan_unplaced *u = &p->unplaced[i];
        lxw_row_t row = (lxw_row_t)(i + 1);
        char filters[512] = "";
        size_t off = 0;
        for (size_t k = 0; k < u->nfilters && off < sizeof(filters); k++)
            off += (size_t)snprintf(filters + off, sizeof(filters) - off,
                                    "%s%s: (start: %zu, end: %zu)", k ? "; " : "",
                                    u->filters[k].filter, u->filters[k].start, u->filters[k].end);
        worksheet_write_string(ws, row, 0, r->inv->vms[u->vm]->name, NULL);
        worksheet_write_string(ws, row, 1, u->reason ? u->reason : "", NULL);
        worksheet_write_string(ws, row, 2, u->nearest_host ? u->nearest_host : "", NULL);
        bool budget = u->constraint && !strcmp(u->constraint, "tenant_budget");
        const char *binding = budget                ? plan_budget_dim_name(u->budget_dim)
                              : u->binding_dim >= 0 ? plan_dim_name(u->binding_dim)
                                                    : "";
        worksheet_write_string(ws, row, 3, binding, NULL);
        worksheet_write_string(ws, row, 4, filters, NULL);
    }
}

static void
sheet_waves(struct book *b, const plan_result *r)
{
    static const char *const cols[] = {"wave", "kind", "vms", "data_gib", "hours", "risk"};
    static const char *const risk[] = {"low", "medium", "high"};
    lxw_worksheet *ws = workbook_add_worksheet(b->wb, "Waves");
    header(b, ws, cols, 6);
    for (size_t i = 0; i < r->nwaves && i < 1048575; i++) {
        const struct plan_wave *w = &r->waves[i];
        lxw_row_t row = (lxw_row_t)(i + 1);
        worksheet_write_number(ws, row, 0, w->number, NULL);
        worksheet_write_string(ws, row, 1, w->kind, NULL);
        worksheet_write_number(ws, row, 2, (double)w->nvms, NULL);
        worksheet_write_number(ws, row, 3, w->data_gib, NULL);
        worksheet_write_number(ws, row, 4, w->hours, NULL);
        worksheet_write_string(ws, row, 5, risk[w->risk], NULL);
    }
}

static void
summary_row(lxw_worksheet *ws, lxw_row_t *row, const char *label, double v)
{
    worksheet_write_string(ws, *row, 0, label, NULL);
    worksheet_write_number(ws, (*row)++, 1, v, NULL);
}

static void
sheet_summary(struct book *b, const plan_result *r)
{
    lxw_worksheet *ws = workbook_add_worksheet(b->wb, "Summary");
    lxw_row_t row = 0;
    summary_row(ws, &row, "VMs", (double)r->inv->nvms);
    for (int k = 0; k < 4; k++)
        summary_row(ws, &row, plan_readiness_name((enum plan_readiness)k), (double)r->counts[k]);
    if (r->placement) {
        summary_row(ws, &row, "hosts used", (double)r->placement->hosts_used);
        summary_row(ws, &row, "lower bound", (double)r->placement->bound.hosts);
        summary_row(ws, &row, "unplaced VMs", (double)r->placement->nunplaced);
    }
    for (size_t i = 0; i < r->nsizing; i++)
        summary_row(ws, &row, "hosts needed (sizing)", (double)r->sizing[i].hosts);
    summary_row(ws, &row, "waves", (double)r->nwaves);
    summary_row(ws, &row, "TCO source per year", r->tco.source_per_year);
    summary_row(ws, &row, "TCO target per year", r->tco.target_per_year);
    summary_row(ws, &row, "TCO savings over horizon", r->tco.savings_total);
    worksheet_set_column(ws, 0, 0, 28, NULL);
}

int
plan_export_xlsx_file(const plan_result *r, const char *path, err *e)
{
    struct book b = {.wb = workbook_new(path)};
    if (!b.wb)
        return err_set(e, ERR_UNAVAILABLE, "cannot create the xlsx file");
    b.bold = workbook_add_format(b.wb);
    format_set_bold(b.bold);
    sheet_summary(&b, r);
    sheet_vms(&b, r);
    sheet_findings(&b, r);
    sheet_hosts(&b, r);
    sheet_unplaced(&b, r);
    sheet_waves(&b, r);
    lxw_error rc = workbook_close(b.wb);
    if (rc != LXW_NO_ERROR)
        return err_set(e, ERR_UNAVAILABLE, "writing the xlsx file failed: %s", lxw_strerror(rc));
    return 0;
}

unsigned char *
plan_export_xlsx_mem(const plan_result *r, size_t *len, err *e)
{
    int fd = memfd_create("plan.xlsx", MFD_CLOEXEC);
    if (fd < 0) {
        err_set(e, ERR_UNAVAILABLE, "no memory file for the xlsx export");
        return NULL;
    }
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    unsigned char *buf = NULL;
    if (plan_export_xlsx_file(r, path, e) == 0) {
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
