/* Sizing ("how many hosts of shape X") and the inventory → placement items bridge. */
#include "place_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void
plan_items_from_inventory(const plan_inventory *inv, const struct plan_place_opts *opts,
                          const struct plan_vm_assessment *assess, struct plan_item *items)
{
    for (size_t i = 0; i < inv->nvms; i++) {
        const struct plan_vm *vm = inv->vms[i];
        struct plan_item *it = &items[i];
        memset(it, 0, sizeof(*it));
        it->d[PLAN_DIM_CPU] = vm->vcpus > 0 ? vm->vcpus : 0;
        it->d[PLAN_DIM_MEM] = (double)vm->memory_mib;
        uint64_t disk = opts && opts->disk_basis == PLAN_DISK_USED ? plan_vm_used_mib(vm)
                                                                   : plan_vm_disk_mib(vm);
        it->d[PLAN_DIM_DISK] = (double)disk / 1024.0;
        it->evc_key = vm->evc_key;
        /* without vCPUs or memory the VM cannot be sized: it is reported, not placed */
        it->skip = vm->vcpus <= 0 || vm->memory_mib == 0;
        if (opts && opts->skip_templates && vm->template_)
            it->skip = true;
        if (opts && opts->skip_not_ready && assess && assess[i].readiness == PLAN_NOT_READY)
            it->skip = true;
    }
}

/* The dimension with the largest volume bound (cpu before memory before disk on ties). */
static int
limiting(const size_t *by_dim)
{
    int best = -1;
    size_t v = 0;
    for (int d = 0; d < PLAN_NDIM; d++)
        if (by_dim[d] > v) {
            v = by_dim[d];
            best = d;
        }
    return best;
}

static void
sizing_figures(const struct plan_item *items, size_t n, const struct plan_placement *p,
               struct plan_sizing *out)
{
    double demand[PLAN_NDIM] = {0};
    for (size_t i = 0; i < n; i++)
        if (p->host_of[i] >= 0)
            for (int d = 0; d < PLAN_NDIM; d++)
                demand[d] += items[i].d[d];
    for (int d = 0; d < PLAN_NDIM; d++) {
        double cap = p->nhosts ? p->capacity[d] : 0; /* every host has the shape */
        out->by_dim[d] = p->bound.volume[d];
        out->utilisation[d] =
            isfinite(cap) && cap > 0 && out->packed ? demand[d] / (cap * (double)out->packed) : 0;
    }
    out->limiting_dim = limiting(out->by_dim);
}

int
plan_size(const struct plan_item *items, size_t nitems, const struct plan_host *shape,
          const struct plan_constraints *cons, const struct plan_place_opts *opts, double reserve,
          struct plan_sizing *out, err *e)
{
    memset(out, 0, sizeof(*out));
    out->shape = *shape;
    out->limiting_dim = -1;
    if (!(shape->cpus > 0) || !(shape->memory_mib > 0) || shape->disk_gib < 0)
        return err_set(e, ERR_INVALID, "a host shape needs CPUs and memory");
    if (reserve < 0 || reserve > 10)
        return err_set(e, ERR_INVALID, "the failover reserve must be between 0 and 10");
    size_t n = 0;
    for (size_t i = 0; i < nitems; i++)
        n += !items[i].skip;
    if (!n)
        return 0;
    /* one host per VM is always enough; pins and exclusions name another fleet's hosts */
    struct plan_host *hosts = malloc(n * sizeof(*hosts));
    if (!hosts)
        return err_set(e, ERR_INTERNAL, "out of memory");
    for (size_t i = 0; i < n; i++)
        hosts[i] = *shape;
    struct plan_constraints c = {0};
    if (cons) {
        c.groups = cons->groups;
        c.ngroups = cons->ngroups;
        c.cpu_compat = cons->cpu_compat;
        c.cpu_ctx = cons->cpu_ctx;
    }
    struct plan_placement *p = plan_place(items, nitems, hosts, n, &c, opts, e);
    free(hosts);
    if (!p)
        return -1;
    out->packed = p->hosts_used;
    out->bound = p->bound.hosts;
    out->unplaceable = p->nunplaced;
    out->reserve = reserve > 0 && out->packed ? (size_t)ceil((double)out->packed * reserve) : 0;
    out->hosts = out->packed + out->reserve;
    sizing_figures(items, nitems, p, out);
    plan_placement_free(p);
    return 0;
}
