/* The plan result as one JSON document (jansson). */
#include "plan_int.h"

#include <math.h>
#include <string.h>

#include <jansson.h>

/* json_object_set_new that tolerates NULL values (out of memory is caught at the end). */
static void
put(json_t *o, const char *k, json_t *v)
{
    if (o && v)
        json_object_set_new(o, k, v);
    else
        json_decref(v);
}

static json_t *
str(const char *s)
{
    return s ? json_string(s) : json_null();
}

static json_t *
real(double v)
{
    return isfinite(v) ? json_real(round(v * 1000) / 1000) : json_null();
}

static json_t *
tri(enum plan_tri t)
{
    return t == PLAN_UNKNOWN ? json_null() : json_boolean(t == PLAN_YES);
}

static json_t *
dims(const double *v)
{
    json_t *o = json_object();
    put(o, "cpu", real(v[PLAN_DIM_CPU]));
    put(o, "memory_mib", real(v[PLAN_DIM_MEM]));
    put(o, "disk_gib", real(v[PLAN_DIM_DISK]));
    return o;
}

static json_t *
sizes(const size_t *v)
{
    json_t *o = json_object();
    put(o, "cpu", json_integer((json_int_t)v[PLAN_DIM_CPU]));
    put(o, "memory", json_integer((json_int_t)v[PLAN_DIM_MEM]));
    put(o, "disk", json_integer((json_int_t)v[PLAN_DIM_DISK]));
    return o;
}

static const char *
power_name(enum plan_power p)
{
    static const char *const n[] = {NULL, "on", "off", "suspended"};
    return (unsigned)p < PLAN_ARRAY_LEN(n) ? n[p] : NULL;
}

static const char *
firmware_name(enum plan_firmware f)
{
    return f == PLAN_FW_UEFI ? "uefi" : f == PLAN_FW_BIOS ? "bios" : NULL;
}

static const char *
risk_name(enum plan_risk r)
{
    return r == PLAN_RISK_HIGH ? "high" : r == PLAN_RISK_MEDIUM ? "medium" : "low";
}

static json_t *
warnings_json(const struct plan_warning *w, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++) {
        json_t *o = json_object();
        put(o, "code", str(w[i].code));
        put(o, "message", str(w[i].message));
        json_array_append_new(a, o);
    }
    return a;
}

static json_t *
findings_json(const struct plan_vm_assessment *as)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < as->nfindings; i++) {
        json_t *o = json_object();
        put(o, "rule", str(as->findings[i].rule));
        put(o, "severity", str(plan_severity_name(as->findings[i].severity)));
        put(o, "message", str(as->findings[i].message));
        json_array_append_new(a, o);
    }
    return a;
}

static json_t *
disks_json(const struct plan_vm *vm)
{
    static const char *const bus[] = {NULL, "scsi", "sata", "ide", "nvme", "virtio"};
    json_t *a = json_array();
    for (size_t i = 0; a && i < vm->ndisks; i++) {
        const struct plan_disk *d = &vm->disks[i];
        json_t *o = json_object();
        put(o, "label", str(d->label));
        put(o, "file", str(d->file));
        put(o, "bus", str((unsigned)d->bus < PLAN_ARRAY_LEN(bus) ? bus[d->bus] : NULL));
        put(o, "controller", str(d->controller));
        put(o, "capacity_mib",
            d->capacity_known ? json_integer((json_int_t)d->capacity_mib) : json_null());
        put(o, "used_mib", d->used_mib ? json_integer((json_int_t)d->used_mib) : json_null());
        put(o, "independent", json_boolean(d->independent));
        put(o, "rdm", json_boolean(d->rdm));
        put(o, "shared", json_boolean(d->shared));
        put(o, "thin", tri(d->thin));
        json_array_append_new(a, o);
    }
    return a;
}

static json_t *
nics_json(const struct plan_vm *vm)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < vm->nnics; i++) {
        const struct plan_nic *n = &vm->nics[i];
        json_t *o = json_object();
        put(o, "label", str(n->label));
        put(o, "model", str(n->model));
        put(o, "mac", str(n->mac));
        put(o, "network", str(n->network));
        json_array_append_new(a, o);
    }
    return a;
}

static void
vm_source_fields(json_t *o, const struct plan_vm *vm)
{
    put(o, "name", str(vm->name));
    put(o, "id", str(vm->vm_id));
    put(o, "uuid", str(vm->uuid));
    put(o, "source", str(vm->source));
    put(o, "power", str(power_name(vm->power)));
    put(o, "template", json_boolean(vm->template_));
    put(o, "vcpus", json_integer(vm->vcpus));
    put(o, "memory_mib", json_integer((json_int_t)vm->memory_mib));
    put(o, "disk_mib", json_integer((json_int_t)plan_vm_disk_mib(vm)));
    put(o, "used_mib", json_integer((json_int_t)plan_vm_used_mib(vm)));
    put(o, "firmware", str(firmware_name(vm->firmware)));
    put(o, "secure_boot", tri(vm->secure_boot));
    put(o, "guest_id", str(vm->guest_id));
    put(o, "guest_name", str(vm->guest_name));
    put(o, "cluster", str(vm->cluster));
    put(o, "host", str(vm->host));
    put(o, "disks", disks_json(vm));
    put(o, "nics", nics_json(vm));
    put(o, "warnings", warnings_json(vm->warnings, vm->nwarnings));
}

static json_t *
vm_json(const plan_result *r, size_t i)
{
    const struct plan_vm *vm = r->inv->vms[i];
    const struct plan_vm_assessment *as = &r->assess[i];
    const struct plan_vm_estimate *es = &r->estimates[i];
    json_t *o = json_object();
    vm_source_fields(o, vm);
    put(o, "os", str(as->os ? as->os->name : NULL));
    put(o, "readiness", str(plan_readiness_name(as->readiness)));
    put(o, "confidence", real(as->confidence));
    put(o, "cpu_model_hint", str(as->cpu_model_hint));
    put(o, "findings", findings_json(as));
    int h = r->placement ? r->placement->host_of[i] : -1;
    put(o, "target_host", h >= 0 ? str(r->hosts[h].name) : json_null());
    put(o, "wave", es->wave >= 0 ? json_integer(es->wave) : json_null());
    put(o, "transfer_hours", real(es->transfer_hours));
    put(o, "downtime_cold_hours", real(es->downtime_cold_hours));
    put(o, "downtime_warm_hours", es->warm_possible ? real(es->downtime_warm_hours) : json_null());
    put(o, "risk", str(risk_name(es->risk)));
    put(o, "virt_v2v", str(r->v2v[i]));
    return o;
}

static json_t *
hosts_json(const plan_result *r)
{
    json_t *a = json_array();
    const struct plan_placement *p = r->placement;
    for (size_t h = 0; a && p && h < r->nhosts; h++) {
        json_t *o = json_object();
        const struct plan_host *H = &r->hosts[h];
        put(o, "name", str(H->name));
        put(o, "cpus", real(H->cpus));
        put(o, "memory_mib", real(H->memory_mib));
        put(o, "disk_gib", real(H->disk_gib));
        put(o, "cpu_model", str(H->cpu_model));
        put(o, "capacity", dims(&p->capacity[h * PLAN_NDIM]));
        put(o, "used", dims(&p->used[h * PLAN_NDIM]));
        size_t n = 0;
        for (size_t i = 0; i < p->nvms; i++)
            n += p->host_of[i] == (int)h;
        put(o, "vms", json_integer((json_int_t)n));
        json_array_append_new(a, o);
    }
    return a;
}

static json_t *
bound_json(const struct plan_lower_bound *b)
{
    json_t *o = json_object();
    put(o, "hosts", json_integer((json_int_t)b->hosts));
    put(o, "volume", sizes(b->volume));
    put(o, "l2", sizes(b->l2));
    put(o, "anti_affinity", json_integer((json_int_t)b->anti_affinity));
    put(o, "pinned", json_integer((json_int_t)b->pinned));
    put(o, "placeable_vms", json_integer((json_int_t)b->placeable));
    return o;
}

static json_t *
unplaced_json(const plan_result *r)
{
    json_t *a = json_array();
    const struct plan_placement *p = r->placement;
    for (size_t i = 0; a && p && i < p->nunplaced; i++) {
        const struct plan_unplaced *u = &p->unplaced[i];
        json_t *o = json_object(), *f = json_array();
        put(o, "vm", str(r->inv->vms[u->vm]->name));
        put(o, "reason", str(u->reason));
        put(o, "constraint", str(u->constraint));
        put(o, "nearest_host", str(u->nearest_host));
        if (u->constraint && !strcmp(u->constraint, "tenant_budget")) {
            /* binding and shortfall are the budget's: a quota resource, in its unit */
            put(o, "tenant", str(u->tenant));
            put(o, "binding", str(plan_budget_dim_name(u->budget_dim)));
            put(o, "shortfall", real(u->budget_short));
            put(o, "budget_left", real(u->budget_left));
        } else {
            put(o, "binding",
                u->binding_dim >= 0 ? str(plan_dim_name(u->binding_dim)) : json_null());
            put(o, "shortfall", u->binding_dim >= 0 ? real(u->shortfall) : json_null());
        }
        for (size_t k = 0; f && k < u->nfilters; k++) {
            json_t *fo = json_object();
            put(fo, "filter", str(u->filters[k].filter));
            put(fo, "start", json_integer((json_int_t)u->filters[k].start));
            put(fo, "end", json_integer((json_int_t)u->filters[k].end));
            json_array_append_new(f, fo);
        }
        put(o, "filters", f);
        json_array_append_new(a, o);
    }
    return a;
}

static json_t *
placement_json(const plan_result *r)
{
    const struct plan_placement *p = r->placement;
    if (!p)
        return json_null();
    json_t *o = json_object(), *tried = json_array();
    put(o, "algorithm", str(p->algo));
    put(o, "hosts_used", json_integer((json_int_t)p->hosts_used));
    put(o, "placed", json_integer((json_int_t)p->placed));
    put(o, "skipped", json_integer((json_int_t)p->skipped));
    put(o, "unplaced", json_integer((json_int_t)p->nunplaced));
    put(o, "lower_bound", bound_json(&p->bound));
    put(o, "gap", real(p->gap));
    for (size_t i = 0; tried && i < p->ntried; i++) {
        json_t *t = json_object();
        put(t, "name", str(p->tried[i].name));
        put(t, "hosts_used", json_integer((json_int_t)p->tried[i].hosts_used));
        put(t, "placed", json_integer((json_int_t)p->tried[i].placed));
        json_array_append_new(tried, t);
    }
    put(o, "heuristics", tried);
    put(o, "overcommit", dims(r->place.overcommit));
    put(o, "headroom", real(r->place.headroom));
    return o;
}

static json_t *
sizing_json(const plan_result *r)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < r->nsizing; i++) {
        const struct plan_sizing *s = &r->sizing[i];
        json_t *o = json_object();
        double shape[PLAN_NDIM] = {s->shape.cpus, s->shape.memory_mib, s->shape.disk_gib};
        put(o, "shape", dims(shape));
        put(o, "hosts", json_integer((json_int_t)s->hosts));
        put(o, "packed", json_integer((json_int_t)s->packed));
        put(o, "reserve", json_integer((json_int_t)s->reserve));
        put(o, "lower_bound", json_integer((json_int_t)s->bound));
        put(o, "by_dimension", sizes(s->by_dim));
        put(o, "limiting",
            s->limiting_dim >= 0 ? str(plan_dim_name(s->limiting_dim)) : json_null());
        put(o, "utilisation", dims(s->utilisation));
        put(o, "unplaceable", json_integer((json_int_t)s->unplaceable));
        json_array_append_new(a, o);
    }
    return a;
}

static json_t *
waves_json(const plan_result *r)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < r->nwaves; i++) {
        const struct plan_wave *w = &r->waves[i];
        json_t *o = json_object(), *vms = json_array();
        put(o, "number", json_integer(w->number));
        put(o, "kind", str(w->kind));
        for (size_t k = 0; vms && k < w->nvms; k++)
            json_array_append_new(vms, str(r->inv->vms[w->vms[k]]->name));
        put(o, "vms", vms);
        put(o, "data_gib", real(w->data_gib));
        put(o, "hours", real(w->hours));
        put(o, "risk", str(risk_name(w->risk)));
        json_array_append_new(a, o);
    }
    return a;
}

static json_t *
tco_json(const struct plan_tco *t)
{
    json_t *o = json_object();
    put(o, "source_hosts", json_integer((json_int_t)t->source_hosts));
    put(o, "source_cores", json_integer((json_int_t)t->source_cores));
    put(o, "target_hosts", json_integer((json_int_t)t->target_hosts));
    put(o, "source_per_year", real(t->source_per_year));
    put(o, "target_per_year", real(t->target_per_year));
    put(o, "source_total", real(t->source_total));
    put(o, "target_total", real(t->target_total));
    put(o, "savings_total", real(t->savings_total));
    return o;
}

static json_t *
summary_json(const plan_result *r)
{
    json_t *o = json_object(), *rd = json_object();
    put(o, "vms", json_integer((json_int_t)r->inv->nvms));
    for (int k = 0; k < 4; k++)
        put(rd, plan_readiness_name((enum plan_readiness)k),
            json_integer((json_int_t)r->counts[k]));
    put(o, "readiness", rd);
    double gib = 0, hours = 0;
    for (size_t i = 0; i < r->inv->nvms; i++) {
        gib += (double)plan_vm_used_mib(r->inv->vms[i]) / 1024.0;
        hours += isfinite(r->estimates[i].transfer_hours) ? r->estimates[i].transfer_hours : 0;
    }
    put(o, "data_gib", real(gib));
    put(o, "transfer_hours", real(hours));
    put(o, "waves", json_integer((json_int_t)r->nwaves));
    put(o, "bandwidth_mbps", real(r->wave_opts.bandwidth_mbps));
    return o;
}

json_t *
plan_export_json(const plan_result *r)
{
    json_t *root = json_object(), *vms = json_array();
    if (!root || !vms) {
        json_decref(root);
        json_decref(vms);
        return NULL;
    }
    put(root, "summary", summary_json(r));
    put(root, "warnings", warnings_json(r->inv->warnings, r->inv->nwarnings));
    for (size_t i = 0; i < r->inv->nvms; i++)
        json_array_append_new(vms, vm_json(r, i));
    put(root, "vms", vms);
    put(root, "placement", placement_json(r));
    put(root, "hosts", hosts_json(r));
    put(root, "unplaced", unplaced_json(r));
    put(root, "sizing", sizing_json(r));
    put(root, "waves", waves_json(r));
    put(root, "tco", tco_json(&r->tco));
    return root;
}
