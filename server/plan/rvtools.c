/* RVTools mapper: turns sheet rows (from xlsx.c or csv.c) into inventory VMs.
 *
 * Headers are matched after normalisation (lower case, parentheses dropped, blanks
 * collapsed, MB/KB/GB read as MiB/KiB/GiB, because RVTools' "MB" always meant MiB), so
 * one alias table serves RVTools 3.x and 4.x. Only mapped columns are copied. Rows are
 * joined to VMs by VM UUID, then VM ID, then name. Sheets disagree in real exports:
 * each disagreement becomes a warning on the VM, and the planner keeps the larger
 * figure (a plan sized on the smaller one could fail). */
#include "plan_int.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rvtools_int.h"

enum { RV_MAX_COLS = 16384, RV_MAX_ORPHAN_WARNINGS = 20 };

struct rv_vmstate { /* what vInfo said, to compare with the other sheets */
    bool in_vinfo;
    int vinfo_cpus, vcpu_cpus;
    double vinfo_mem, vmem_mem;
    int vinfo_disks, vinfo_nics;
    double vinfo_capacity;
    bool has_vinfo_capacity;
    const char *host;
    const char *os_cfg, *os_tools;
    const char *nets[8];
    enum plan_power power;
    bool host_warned, power_warned;
    size_t disk_rows, nic_rows;
};

struct rv_reader {
    plan_inventory *inv;
    struct plan_limits lim;
    size_t base; /* inventory VMs before this read */
    struct rv_vmstate *st;
    size_t nst;
    struct plan_strmap by_name, by_id, by_uuid, hosts;
    /* the current sheet */
    const struct rv_sheet_def *def;
    int sheet_index;
    bool header_done;
    int16_t *colmap; /* column → field, -1 unmapped */
    size_t ncols;
    double scale[RV_MAX_FIELDS];
    char *buf; /* row values, NUL separated */
    size_t buflen, bufcap;
    size_t off[RV_MAX_FIELDS];
    bool set[RV_MAX_FIELDS];
    bool any_value;
    /* statistics */
    bool seen[RV_NSHEETS];
    size_t orphans, nameless;
    size_t vms_added;
};

/* -------------------------------------------------------------- headers */

/* "Memory (MiB)" → "memory mib", "Total disk capacity MB" → "total disk capacity mib". */
void
rv_header_normalise(const char *h, size_t len, char *out, size_t n)
{
    size_t o = 0;
    bool space = false;
    for (size_t i = 0; i < len && o + 1 < n; i++) {
        unsigned char c = (unsigned char)h[i];
        if (c == '(' || c == ')' || isspace(c) || c == '_') {
            space = o > 0;
            continue;
        }
        if (space && o + 2 < n)
            out[o++] = ' ';
        space = false;
        out[o++] = (char)tolower(c);
    }
    out[o] = '\0';
    /* unit words: the last token only ("mb" → "mib") */
    char *last = strrchr(out, ' ');
    last = last ? last + 1 : out;
    if ((strcmp(last, "mb") == 0 || strcmp(last, "kb") == 0 || strcmp(last, "gb") == 0) &&
        o + 1 < n) {
        last[2] = last[1];
        last[1] = 'i';
        last[3] = '\0';
    }
}

static int
rv_map_header(struct rv_reader *r, size_t col, const char *h, size_t len)
{
    char norm[128];
    rv_header_normalise(h, len, norm, sizeof(norm));
    for (size_t i = 0; i < r->def->naliases; i++) {
        const struct rv_alias *a = &r->def->aliases[i];
        if (strcmp(a->header, norm) != 0)
            continue;
        for (size_t c = 0; c < r->ncols; c++)
            if (r->colmap[c] == a->field)
                return 0; /* first column with a name wins */
        r->colmap[col] = (int16_t)a->field;
        r->scale[a->field] = a->scale;
        return 0;
    }
    return 0;
}

/* -------------------------------------------------------------- sink API */

struct rv_reader *
rv_reader_new(plan_inventory *inv, const struct plan_limits *lim)
{
    struct rv_reader *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->inv = inv;
    r->lim = plan_limits_resolve(lim);
    r->base = inv->nvms;
    r->sheet_index = -1;
    plan_strmap_init(&r->by_name);
    plan_strmap_init(&r->by_id);
    plan_strmap_init(&r->by_uuid);
    plan_strmap_init(&r->hosts);
    return r;
}

void
rv_reader_free(struct rv_reader *r)
{
    if (!r)
        return;
    plan_strmap_free(&r->by_name);
    plan_strmap_free(&r->by_id);
    plan_strmap_free(&r->by_uuid);
    plan_strmap_free(&r->hosts);
    free(r->st);
    free(r->colmap);
    free(r->buf);
    free(r);
}

int
rv_sheet_rank(const char *name)
{
    for (int i = 0; i < RV_NSHEETS; i++)
        if (plan_ieq(rv_sheets[i].name, name))
            return i;
    return -1;
}

int
rv_sheet_begin(struct rv_reader *r, const char *name, err *e)
{
    int idx = rv_sheet_rank(name);
    if (idx < 0)
        return 0;
    r->def = &rv_sheets[idx];
    r->sheet_index = idx;
    r->header_done = false;
    r->ncols = 0;
    r->buflen = 0;
    r->any_value = false;
    memset(r->set, 0, sizeof(r->set));
    if (!r->colmap) {
        r->colmap = malloc(RV_MAX_COLS * sizeof(*r->colmap));
        if (!r->colmap)
            return err_set(e, ERR_INTERNAL, "out of memory");
    }
    for (size_t i = 0; i < RV_MAX_COLS; i++)
        r->colmap[i] = -1;
    for (size_t i = 0; i < RV_MAX_FIELDS; i++)
        r->scale[i] = 1;
    r->seen[idx] = true;
    if (r->def->begin)
        r->def->begin(r);
    return 1;
}

static int
rv_store(struct rv_reader *r, int field, const char *val, size_t len)
{
    if (r->buflen + len + 1 > r->bufcap) {
        size_t ncap = r->bufcap ? r->bufcap : 4096;
        while (ncap < r->buflen + len + 1)
            ncap *= 2;
        char *nb = realloc(r->buf, ncap);
        if (!nb)
            return -1;
        r->buf = nb;
        r->bufcap = ncap;
    }
    r->off[field] = r->buflen;
    memcpy(r->buf + r->buflen, val, len);
    r->buf[r->buflen + len] = '\0';
    r->buflen += len + 1;
    r->set[field] = true;
    return 0;
}

int
rv_cell(struct rv_reader *r, size_t col, const char *val, size_t len, err *e)
{
    if (!r->def || col >= RV_MAX_COLS || !len)
        return 0;
    if (!r->header_done) {
        if (col >= r->ncols)
            r->ncols = col + 1;
        r->any_value = true;
        return rv_map_header(r, col, val, len);
    }
    int f = r->colmap[col];
    if (f < 0)
        return 0;
    while (len && isspace((unsigned char)*val)) {
        val++;
        len--;
    }
    while (len && isspace((unsigned char)val[len - 1]))
        len--;
    if (!len)
        return 0;
    r->any_value = true;
    if (rv_store(r, f, val, len) < 0)
        return err_set(e, ERR_INTERNAL, "out of memory");
    return 0;
}

/* Column wanted by the current sheet? Lets the xlsx reader skip unmapped cells. */
bool
rv_col_wanted(const struct rv_reader *r, size_t col)
{
    if (!r->def || col >= RV_MAX_COLS)
        return false;
    return !r->header_done || r->colmap[col] >= 0;
}

int
rv_row_end(struct rv_reader *r, size_t rownum, err *e)
{
    if (!r->def || !r->any_value)
        goto reset;
    if (!r->header_done) {
        r->header_done = true;
        if (r->def->key_field >= 0) {
            bool have_key = false;
            for (size_t c = 0; c < r->ncols; c++)
                have_key |= r->colmap[c] == r->def->key_field;
            if (!have_key)
                plan_inv_warn(r->inv, NULL, "sheet-no-key",
                              "sheet %s has no '%s' column; its rows are ignored", r->def->name,
                              r->def->aliases[0].header);
        }
        goto reset;
    }
    const char *vals[RV_MAX_FIELDS];
    for (int i = 0; i < r->def->nfields; i++)
        vals[i] = r->set[i] ? r->buf + r->off[i] : NULL;
    if (r->def->apply(r, vals, rownum) < 0)
        return err_set(e, ERR_INTERNAL, "out of memory");
    if (r->vms_added > r->lim.max_vms)
        return err_set(e, ERR_TOO_LARGE, "the export lists more than %llu VMs",
                       (unsigned long long)r->lim.max_vms);
reset:
    r->buflen = 0;
    r->any_value = false;
    memset(r->set, 0, sizeof(r->set));
    return 0;
}

int
rv_sheet_end(struct rv_reader *r, err *e)
{
    (void)e;
    r->def = NULL;
    r->sheet_index = -1;
    return 0;
}

/* -------------------------------------------------------------- helpers for sheets */

plan_inventory *
rv_inv(struct rv_reader *r)
{
    return r->inv;
}

double
rv_scale(const struct rv_reader *r, int field)
{
    return r->scale[field];
}

bool
rv_has_sheet(const struct rv_reader *r, int sheet)
{
    return r->seen[sheet];
}

/* Grows the per-VM state array to cover vm. */
static struct rv_vmstate *
rv_st(struct rv_reader *r, const struct plan_vm *vm)
{
    size_t i = vm->index - r->base;
    if (i >= r->nst) {
        size_t n = r->nst ? r->nst * 2 : 64;
        while (n <= i)
            n *= 2;
        struct rv_vmstate *s = realloc(r->st, n * sizeof(*s));
        if (!s)
            return NULL;
        memset(s + r->nst, 0, (n - r->nst) * sizeof(*s));
        r->st = s;
        r->nst = n;
    }
    return &r->st[i];
}

static int
rv_index_vm(struct rv_reader *r, struct plan_vm *vm)
{
    size_t i = vm->index;
    if (!plan_strmap_get(&r->by_name, vm->name, NULL) &&
        plan_strmap_put(&r->by_name, vm->name, i) < 0)
        return -1;
    if (vm->vm_id && !plan_strmap_get(&r->by_id, vm->vm_id, NULL) &&
        plan_strmap_put(&r->by_id, vm->vm_id, i) < 0)
        return -1;
    if (vm->uuid && !plan_strmap_get(&r->by_uuid, vm->uuid, NULL) &&
        plan_strmap_put(&r->by_uuid, vm->uuid, i) < 0)
        return -1;
    return 0;
}

/* Finds the VM a row of a secondary sheet is about; creates it when there is no vInfo.
 * *vm is NULL when the row is skipped. Returns -1 only when out of memory. */
int
rv_lookup(struct rv_reader *r, const char *name, const char *id, const char *uuid, size_t row,
          struct plan_vm **vm)
{
    size_t i;
    *vm = NULL;
    char lu[64];
    if (uuid) {
        snprintf(lu, sizeof(lu), "%s", uuid);
        plan_lower(lu);
    }
    bool by_key = (uuid && plan_strmap_get(&r->by_uuid, lu, &i)) ||
                  (id && plan_strmap_get(&r->by_id, id, &i));
    if (by_key || (name && plan_strmap_get(&r->by_name, name, &i))) {
        *vm = r->inv->vms[i];
        /* IDs are unique in a vCenter, names are not: the ID wins, the clash is reported */
        if (by_key && name && strcmp(name, (*vm)->name) != 0)
            plan_inv_warn(r->inv, *vm, "sheet-mismatch",
                          "%s row %zu names VM '%s' but its %s belongs to this VM; using the %s",
                          r->def->name, row, name, uuid ? "VM UUID" : "VM ID",
                          uuid ? "UUID" : "ID");
        return 0;
    }
    if (!name) {
        r->nameless++;
        return 0;
    }
    if (r->seen[RV_SHEET_VINFO]) {
        if (r->orphans++ < RV_MAX_ORPHAN_WARNINGS)
            plan_inv_warn(r->inv, NULL, "sheet-mismatch",
                          "sheet %s row %zu is about VM '%s', which vInfo does not list; ignored",
                          r->def->name, row, name);
        return 0;
    }
    return rv_new_vm(r, name, id, uuid, vm);
}

int
rv_new_vm(struct rv_reader *r, const char *name, const char *id, const char *uuid,
          struct plan_vm **out)
{
    struct plan_vm *vm = plan_inv_add_vm(r->inv, name);
    if (!vm)
        return -1;
    r->vms_added++;
    vm->source = "rvtools";
    vm->vm_id = plan_inv_strdup(r->inv, id);
    vm->uuid = uuid ? plan_lower_dup(r->inv->arena, uuid) : NULL;
    if (!rv_st(r, vm) || rv_index_vm(r, vm) < 0)
        return -1;
    *out = vm;
    return 0;
}

/* vInfo row for a name already seen: a duplicate, unless IDs tell them apart. */
bool
rv_is_duplicate(struct rv_reader *r, const char *name, const char *id, const char *uuid)
{
    size_t i;
    if (!plan_strmap_get(&r->by_name, name, &i))
        return false;
    const struct plan_vm *old = r->inv->vms[i];
    if (uuid && old->uuid && !plan_ieq(uuid, old->uuid))
        return false;
    if (id && old->vm_id && strcmp(id, old->vm_id) != 0)
        return false;
    return true;
}

void
rv_note_vinfo(struct rv_reader *r, struct plan_vm *vm, const struct rv_vinfo_note *n)
{
    struct rv_vmstate *s = rv_st(r, vm);
    if (!s)
        return;
    s->in_vinfo = true;
    s->vinfo_cpus = n->cpus;
    s->vinfo_mem = n->mem;
    s->vinfo_disks = n->disks;
    s->vinfo_nics = n->nics;
    s->vinfo_capacity = n->capacity;
    s->has_vinfo_capacity = n->has_capacity;
    s->host = vm->host;
    s->power = vm->power;
    s->os_cfg = n->os_cfg;
    s->os_tools = n->os_tools;
    memcpy(s->nets, n->nets, sizeof(s->nets));
}

void
rv_note_cpus(struct rv_reader *r, struct plan_vm *vm, int cpus)
{
    struct rv_vmstate *s = rv_st(r, vm);
    if (s)
        s->vcpu_cpus = cpus;
}

void
rv_note_mem(struct rv_reader *r, struct plan_vm *vm, double mib)
{
    struct rv_vmstate *s = rv_st(r, vm);
    if (s)
        s->vmem_mem = mib;
}

void
rv_note_row(struct rv_reader *r, struct plan_vm *vm, bool disk)
{
    struct rv_vmstate *s = rv_st(r, vm);
    if (s && disk)
        s->disk_rows++;
    else if (s)
        s->nic_rows++;
}

/* Secondary sheets repeat the host and power state: report the first disagreement. */
void
rv_check_host_power(struct rv_reader *r, struct plan_vm *vm, const char *host, const char *power)
{
    struct rv_vmstate *s = rv_st(r, vm);
    if (!s || !s->in_vinfo)
        return;
    if (host && s->host && strcmp(host, s->host) != 0 && !s->host_warned) {
        s->host_warned = true;
        plan_inv_warn(r->inv, vm, "sheet-mismatch", "%s says host %s, vInfo says host %s",
                      r->def->name, host, s->host);
    }
    enum plan_power p = rv_power(power);
    if (p != PLAN_POWER_UNKNOWN && s->power != PLAN_POWER_UNKNOWN && p != s->power &&
        !s->power_warned) {
        s->power_warned = true;
        plan_inv_warn(r->inv, vm, "sheet-mismatch", "%s says %s, vInfo says %s", r->def->name,
                      power, rv_power_name(s->power));
    }
}

int
rv_add_host_index(struct rv_reader *r, const struct plan_src_host *h, size_t idx)
{
    return plan_strmap_put(&r->hosts, h->name, idx);
}

const struct plan_src_host *
rv_find_host(const struct rv_reader *r, const char *name)
{
    size_t i;
    return name && plan_strmap_get(&r->hosts, name, &i) ? &r->inv->hosts[i] : NULL;
}

/* -------------------------------------------------------------- cross checks */

static void
rv_finish_cpu_mem(struct rv_reader *r, struct plan_vm *vm, const struct rv_vmstate *s)
{
    if (s->vinfo_cpus && s->vcpu_cpus && s->vinfo_cpus != s->vcpu_cpus)
        plan_inv_warn(r->inv, vm, "sheet-mismatch",
                      "vInfo says %d vCPUs, vCPU says %d; planning with %d", s->vinfo_cpus,
                      s->vcpu_cpus, s->vinfo_cpus > s->vcpu_cpus ? s->vinfo_cpus : s->vcpu_cpus);
    int cpus = s->vinfo_cpus > s->vcpu_cpus ? s->vinfo_cpus : s->vcpu_cpus;
    if (cpus)
        vm->vcpus = cpus;
    else
        plan_inv_warn(r->inv, vm, "missing-value", "no sheet gives the number of vCPUs");
    if (s->vinfo_mem > 0 && s->vmem_mem > 0 && fabs(s->vinfo_mem - s->vmem_mem) >= 1)
        plan_inv_warn(r->inv, vm, "sheet-mismatch",
                      "vInfo says %.0f MiB of memory, vMemory says %.0f MiB; planning with %.0f",
                      s->vinfo_mem, s->vmem_mem, fmax(s->vinfo_mem, s->vmem_mem));
    double mem = fmax(s->vinfo_mem, s->vmem_mem);
    if (mem > 0)
        vm->memory_mib = plan_mib(mem);
    else
        plan_inv_warn(r->inv, vm, "missing-value", "no sheet gives the memory size");
}

static int
rv_finish_disks(struct rv_reader *r, struct plan_vm *vm, const struct rv_vmstate *s)
{
    bool vdisk = r->seen[RV_SHEET_VDISK];
    if (vdisk && s->in_vinfo && s->vinfo_disks >= 0 && (size_t)s->vinfo_disks != s->disk_rows)
        plan_inv_warn(r->inv, vm, "sheet-mismatch", "vInfo counts %d disk(s), vDisk lists %zu",
                      s->vinfo_disks, s->disk_rows);
    double sum = 0;
    for (size_t i = 0; i < vm->ndisks; i++)
        sum += (double)vm->disks[i].capacity_mib;
    if (s->has_vinfo_capacity && vm->ndisks && fabs(sum - s->vinfo_capacity) > 1 &&
        fabs(sum - s->vinfo_capacity) > 0.01 * fmax(sum, s->vinfo_capacity))
        plan_inv_warn(r->inv, vm, "sheet-mismatch",
                      "vInfo says %.0f MiB of disk, the vDisk rows add up to %.0f MiB",
                      s->vinfo_capacity, sum);
    if (!vm->ndisks && s->has_vinfo_capacity && s->vinfo_capacity > 0) {
        struct plan_disk *d = plan_vm_add_disk(r->inv, vm);
        if (!d)
            return -1;
        d->label = "(vInfo total)";
        d->capacity_mib = plan_mib(s->vinfo_capacity);
        d->capacity_known = true;
        plan_inv_warn(r->inv, vm, "missing-value",
                      "no vDisk rows; using vInfo's total of %.0f MiB as one disk",
                      s->vinfo_capacity);
    }
    if (vm->used_mib && vm->provisioned_mib && vm->used_mib > vm->provisioned_mib)
        plan_inv_warn(r->inv, vm, "inconsistent-value",
                      "in use (%llu MiB) exceeds provisioned (%llu MiB)",
                      (unsigned long long)vm->used_mib, (unsigned long long)vm->provisioned_mib);
    return 0;
}

static int
rv_finish_nics(struct rv_reader *r, struct plan_vm *vm, const struct rv_vmstate *s)
{
    if (r->seen[RV_SHEET_VNETWORK]) {
        if (s->in_vinfo && s->vinfo_nics >= 0 && (size_t)s->vinfo_nics != s->nic_rows)
            plan_inv_warn(r->inv, vm, "sheet-mismatch",
                          "vInfo counts %d NIC(s), vNetwork lists %zu", s->vinfo_nics, s->nic_rows);
        return 0;
    }
    for (int i = 0; i < 8; i++) { /* no vNetwork sheet: vInfo's Network #N columns */
        if (!s->nets[i])
            continue;
        struct plan_nic *n = plan_vm_add_nic(r->inv, vm);
        if (!n)
            return -1;
        char label[24];
        snprintf(label, sizeof(label), "Network adapter %d", i + 1);
        n->label = plan_inv_strdup(r->inv, label);
        n->network = s->nets[i];
    }
    return 0;
}

static void
rv_finish_partitions(struct rv_reader *r, struct plan_vm *vm)
{
    double cap = 0;
    for (size_t i = 0; i < vm->npartitions; i++)
        cap += (double)vm->partitions[i].capacity_mib;
    double disks = (double)plan_vm_disk_mib(vm);
    if (vm->npartitions && disks > 0 && cap > disks * 1.01 + 1)
        plan_inv_warn(r->inv, vm, "sheet-mismatch",
                      "partitions add up to %.0f MiB, more than the %.0f MiB of disks", cap, disks);
}

/* A VM whose "min required EVC" is above what its host (or, when the host is not in
 * vHost, every host of its cluster) offers: the labels disagree, libvirt will decide. */
static void
rv_check_evc(struct rv_reader *r, struct plan_vm *vm, const struct plan_src_host *h)
{
    char va, ha;
    int need = plan_evc_rank(vm->evc_key, &va);
    if (need < 0)
        return;
    const struct plan_src_host *best = h;
    int max = h ? plan_evc_rank(h->evc_max, &ha) : -1;
    for (size_t i = 0; !h && vm->cluster && i < r->inv->nhosts; i++) {
        const struct plan_src_host *c = &r->inv->hosts[i];
        char cv;
        int rank = plan_evc_rank(c->evc_max, &cv);
        if (c->cluster && strcmp(c->cluster, vm->cluster) == 0 && rank > max) {
            max = rank, ha = cv, best = c;
        }
    }
    if (best && max >= 0 && va == ha && need > max)
        plan_inv_warn(r->inv, vm, "evc-above-host",
                      "needs EVC mode %s, above the max EVC %s of %s %s; trust libvirt's CPU "
                      "comparison, not these labels",
                      vm->evc_key, best->evc_max, h ? "its host" : "every host of cluster",
                      h ? h->name : vm->cluster);
}

static void
rv_finish_host(struct rv_reader *r, struct plan_vm *vm, const struct rv_vmstate *s)
{
    if (s->os_cfg && s->os_tools && strcmp(s->os_cfg, s->os_tools) != 0)
        plan_inv_warn(r->inv, vm, "os-mismatch",
                      "configured OS is '%s' but VMware Tools reports '%s'; assessing '%s'",
                      s->os_cfg, s->os_tools, s->os_tools);
    if (!r->seen[RV_SHEET_VHOST] || !vm->host)
        return;
    const struct plan_src_host *h = rv_find_host(r, vm->host);
    if (!h)
        plan_inv_warn(r->inv, vm, "sheet-mismatch", "host %s is not in vHost", vm->host);
    rv_check_evc(r, vm, h);
}

int
rv_reader_finish(struct rv_reader *r, err *e)
{
    if (!r->seen[RV_SHEET_VINFO])
        plan_inv_warn(r->inv, NULL, "sheet-missing",
                      "no vInfo sheet: VMs are built from the other sheets only");
    if (r->orphans > RV_MAX_ORPHAN_WARNINGS)
        plan_inv_warn(r->inv, NULL, "sheet-mismatch",
                      "%zu rows in all refer to VMs vInfo does not list", r->orphans);
    if (r->nameless)
        plan_inv_warn(r->inv, NULL, "missing-value", "%zu rows have data but no VM name",
                      r->nameless);
    for (size_t i = r->base; i < r->inv->nvms; i++) {
        struct plan_vm *vm = r->inv->vms[i];
        struct rv_vmstate *s = rv_st(r, vm);
        if (!s)
            return err_set(e, ERR_INTERNAL, "out of memory");
        rv_finish_cpu_mem(r, vm, s);
        if (rv_finish_disks(r, vm, s) < 0 || rv_finish_nics(r, vm, s) < 0)
            return err_set(e, ERR_INTERNAL, "out of memory");
        rv_finish_partitions(r, vm);
        rv_finish_host(r, vm, s);
    }
    if (r->inv->nvms == r->base)
        plan_inv_warn(r->inv, NULL, "empty", "the export lists no VM");
    return 0;
}

/* -------------------------------------------------------------- CSV entry point */

const char *
plan_rvtools_sheet_from_filename(const char *filename)
{
    if (!filename)
        return NULL;
    const char *base = strrchr(filename, '/');
    base = base ? base + 1 : filename;
    /* longest name first so "vInfo" never shadows a longer one */
    int best = -1;
    size_t bestlen = 0;
    for (int i = 0; i < RV_NSHEETS; i++) {
        size_t n = strlen(rv_sheets[i].name);
        const char *p = strcasestr(base, rv_sheets[i].name);
        if (!p || n <= bestlen)
            continue;
        char after = p[n];
        if (after == '.' || after == '\0' || after == '_' || after == '-') {
            best = i;
            bestlen = n;
        }
    }
    return best >= 0 ? rv_sheets[best].name : NULL;
}

static int
csv_rank_cmp(const void *a, const void *b)
{
    const struct plan_csv_sheet *x = *(const struct plan_csv_sheet *const *)a;
    const struct plan_csv_sheet *y = *(const struct plan_csv_sheet *const *)b;
    return rv_sheet_rank(x->sheet) - rv_sheet_rank(y->sheet);
}

int
plan_rvtools_read_csv(plan_inventory *inv, const struct plan_csv_sheet *sheets, size_t n,
                      const struct plan_limits *lim, err *e)
{
    struct plan_limits l = plan_limits_resolve(lim);
    const struct plan_csv_sheet **order = calloc(n ? n : 1, sizeof(*order));
    struct rv_reader *r = rv_reader_new(inv, &l);
    int rc = -1;
    uint64_t cells = 0;
    if (!order || !r) {
        err_set(e, ERR_INTERNAL, "out of memory");
        goto cleanup;
    }
    for (size_t i = 0; i < n; i++)
        order[i] = &sheets[i];
    qsort(order, n, sizeof(*order), csv_rank_cmp);
    for (size_t i = 0; i < n; i++) {
        if (order[i]->len > l.max_input) {
            err_set(e, ERR_TOO_LARGE, "CSV sheet %s is larger than the limit", order[i]->sheet);
            goto cleanup;
        }
        int want = rv_sheet_begin(r, order[i]->sheet, e);
        if (want < 0)
            goto cleanup;
        if (!want)
            continue;
        if (plan_csv_feed(r, order[i]->data, order[i]->len, l.max_cells, &cells, e) < 0 ||
            rv_sheet_end(r, e) < 0)
            goto cleanup;
    }
    inv->cells_read = cells;
    rc = rv_reader_finish(r, e);
cleanup:
    rv_reader_free(r);
    free(order);
    return rc;
}
