/* The per-VM table shared by the CSV and xlsx exports: one column list, one way to
 * render each cell. */
#include "plan_int.h"

#include "export_int.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

const char *const export_columns[EXPORT_NCOLS] = {
    "vm",
    "source",
    "power",
    "vcpus",
    "memory_mib",
    "disk_gib",
    "used_gib",
    "guest_os",
    "readiness",
    "confidence",
    "critical",
    "warnings",
    "findings",
    "target_host",
    "unplaced_reason",
    "wave",
    "transfer_hours",
    "downtime_cold_hours",
    "downtime_warm_hours",
    "risk",
    "virt_v2v",
};

static const char *
power_text(enum plan_power p)
{
    static const char *const n[] = {"", "on", "off", "suspended"};
    return (unsigned)p < PLAN_ARRAY_LEN(n) ? n[p] : "";
}

static size_t
count_sev(const struct plan_vm_assessment *a, enum plan_severity s)
{
    size_t n = 0;
    for (size_t i = 0; i < a->nfindings; i++)
        n += a->findings[i].severity == s;
    return n;
}

/* "rule: message; rule: message" for warnings and criticals, into the result's arena. */
static const char *
findings_text(const plan_result *r, size_t vm)
{
    const struct plan_vm_assessment *a = &r->assess[vm];
    size_t len = 1;
    for (size_t i = 0; i < a->nfindings; i++)
        len += strlen(a->findings[i].rule) + strlen(a->findings[i].message) + 4;
    char *s = arena_alloc(r->arena, len), *p = s;
    if (!s)
        return "";
    *p = '\0';
    for (size_t i = 0; i < a->nfindings; i++) {
        if (a->findings[i].severity == PLAN_SEV_INFO)
            continue;
        p += snprintf(p, len - (size_t)(p - s), "%s%s: %s", p == s ? "" : "; ", a->findings[i].rule,
                      a->findings[i].message);
    }
    return s;
}

static const char *
unplaced_reason(const plan_result *r, size_t vm)
{
    const struct plan_placement *p = r->placement;
    for (size_t i = 0; p && i < p->nunplaced; i++)
        if (p->unplaced[i].vm == vm)
            return p->unplaced[i].reason;
    return "";
}

static int
num(double v, double *out)
{
    *out = v;
    return isfinite(v) ? EXPORT_NUM : EXPORT_EMPTY;
}

static int
cell_text(const plan_result *r, size_t vm, int col, const char **s)
{
    const struct plan_vm *v = r->inv->vms[vm];
    const struct plan_vm_assessment *a = &r->assess[vm];
    static const char *const risk[] = {"low", "medium", "high"};
    int h = r->placement ? r->placement->host_of[vm] : -1;
    switch (col) {
    case 0:
        *s = v->name;
        break;
    case 1:
        *s = v->source ? v->source : "";
        break;
    case 2:
        *s = power_text(v->power);
        break;
    case 7:
        *s = a->os ? a->os->name : v->guest_name ? v->guest_name : v->guest_id ? v->guest_id : "";
        break;
    case 8:
        *s = plan_readiness_name(a->readiness);
        break;
    case 12:
        *s = findings_text(r, vm);
        break;
    case 13:
        *s = h >= 0 ? r->hosts[h].name : "";
        break;
    case 14:
        *s = unplaced_reason(r, vm);
        break;
    case 19:
        *s = risk[r->estimates[vm].risk];
        break;
    case 20:
        *s = r->v2v[vm];
        break;
    default:
        return -1;
    }
    return EXPORT_STR;
}

int
export_cell(const plan_result *r, size_t vm, int col, const char **s, double *n)
{
    const struct plan_vm *v = r->inv->vms[vm];
    const struct plan_vm_estimate *e = &r->estimates[vm];
    int kind = cell_text(r, vm, col, s);
    if (kind >= 0)
        return kind;
    switch (col) {
    case 3:
        return num(v->vcpus, n);
    case 4:
        return num((double)v->memory_mib, n);
    case 5:
        return num((double)plan_vm_disk_mib(v) / 1024.0, n);
    case 6:
        return num((double)plan_vm_used_mib(v) / 1024.0, n);
    case 9:
        return num(round(r->assess[vm].confidence * 100) / 100, n);
    case 10:
        return num((double)count_sev(&r->assess[vm], PLAN_SEV_CRITICAL), n);
    case 11:
        return num((double)count_sev(&r->assess[vm], PLAN_SEV_WARNING), n);
    case 15:
        return e->wave >= 0 ? num(e->wave, n) : EXPORT_EMPTY;
    case 16:
        return num(e->transfer_hours, n);
    case 17:
        return num(e->downtime_cold_hours, n);
    case 18:
        return e->warm_possible ? num(e->downtime_warm_hours, n) : EXPORT_EMPTY;
    default:
        return EXPORT_EMPTY;
    }
}
