/* The inventory model: one arena owns every VM, disk, NIC and string. */
#include "plan_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>

plan_inventory *
plan_inv_new(void)
{
    plan_inventory *inv = calloc(1, sizeof(*inv));
    if (!inv)
        return NULL;
    inv->arena = arena_new();
    if (!inv->arena) {
        free(inv);
        return NULL;
    }
    return inv;
}

void
plan_inv_free(plan_inventory *inv)
{
    if (!inv)
        return;
    arena_destroy(inv->arena);
    free(inv);
}

const char *
plan_inv_strdup(plan_inventory *inv, const char *s)
{
    return arena_strdup(inv->arena, s);
}

const char *
plan_inv_strndup(plan_inventory *inv, const char *s, size_t n)
{
    return s ? arena_strndup(inv->arena, s, n) : NULL;
}

struct plan_vm *
plan_inv_add_vm(plan_inventory *inv, const char *name)
{
    struct plan_vm *vm = arena_alloc(inv->arena, sizeof(*vm));
    if (!vm)
        return NULL;
    struct plan_vm **slot =
        plan_grow(inv->arena, (void **)&inv->vms, &inv->nvms, &inv->vms_cap, sizeof(*inv->vms));
    if (!slot)
        return NULL;
    *slot = vm;
    vm->index = inv->nvms - 1;
    vm->name = arena_strdup(inv->arena, name ? name : "");
    vm->snapshots = -1;
    return vm;
}

struct plan_disk *
plan_vm_add_disk(plan_inventory *inv, struct plan_vm *vm)
{
    struct plan_disk *d =
        plan_grow(inv->arena, (void **)&vm->disks, &vm->ndisks, &vm->disks_cap, sizeof(*d));
    if (d)
        d->ctrl = d->unit = -1;
    return d;
}

struct plan_cdrom *
plan_vm_add_cdrom(plan_inventory *inv, struct plan_vm *vm)
{
    struct plan_cdrom *c =
        plan_grow(inv->arena, (void **)&vm->cdroms, &vm->ncdroms, &vm->cdroms_cap, sizeof(*c));
    if (c)
        c->ctrl = c->unit = -1;
    return c;
}

struct plan_nic *
plan_vm_add_nic(plan_inventory *inv, struct plan_vm *vm)
{
    return plan_grow(inv->arena, (void **)&vm->nics, &vm->nnics, &vm->nics_cap,
                     sizeof(struct plan_nic));
}

struct plan_partition *
plan_vm_add_partition(plan_inventory *inv, struct plan_vm *vm)
{
    return plan_grow(inv->arena, (void **)&vm->partitions, &vm->npartitions, &vm->partitions_cap,
                     sizeof(struct plan_partition));
}

struct plan_src_host *
plan_inv_add_host(plan_inventory *inv, const char *name)
{
    struct plan_src_host *h =
        plan_grow(inv->arena, (void **)&inv->hosts, &inv->nhosts, &inv->hosts_cap, sizeof(*h));
    if (!h)
        return NULL;
    h->name = arena_strdup(inv->arena, name ? name : "");
    h->cpu_usage_pct = h->mem_usage_pct = -1;
    return h;
}

int
plan_vm_add_rule(plan_inventory *inv, struct plan_vm *vm, bool anti, const char *rule)
{
    const char ***arr = anti ? &vm->anti_affinity : &vm->affinity;
    size_t *n = anti ? &vm->nanti_affinity : &vm->naffinity;
    size_t *cap = anti ? &vm->anti_affinity_cap : &vm->affinity_cap;
    for (size_t i = 0; i < *n; i++)
        if (strcmp((*arr)[i], rule) == 0)
            return 0;
    const char **slot = plan_grow(inv->arena, (void **)arr, n, cap, sizeof(**arr));
    if (!slot)
        return -1;
    *slot = arena_strdup(inv->arena, rule);
    return *slot ? 0 : -1;
}

void
plan_inv_warn(plan_inventory *inv, struct plan_vm *vm, const char *code, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    struct plan_warning *w;
    if (vm)
        w = plan_grow(inv->arena, (void **)&vm->warnings, &vm->nwarnings, &vm->warnings_cap,
                      sizeof(*w));
    else
        w = plan_grow(inv->arena, (void **)&inv->warnings, &inv->nwarnings, &inv->warnings_cap,
                      sizeof(*w));
    if (!w)
        return;
    w->code = code;
    w->message = arena_strdup(inv->arena, buf);
}

uint64_t
plan_vm_disk_mib(const struct plan_vm *vm)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < vm->ndisks; i++)
        sum += vm->disks[i].capacity_mib;
    if (!vm->ndisks || (!sum && vm->provisioned_mib))
        return vm->provisioned_mib;
    return sum;
}

uint64_t
plan_vm_used_mib(const struct plan_vm *vm)
{
    uint64_t sum = 0;
    bool any_used = false;
    for (size_t i = 0; i < vm->ndisks; i++) {
        const struct plan_disk *d = &vm->disks[i];
        sum += d->used_mib ? d->used_mib : d->capacity_mib;
        any_used |= d->used_mib != 0;
    }
    /* A VM-level "in use" figure beats per-disk capacities when disks lack usage. */
    if (vm->used_mib && (!any_used || !vm->ndisks))
        return vm->used_mib;
    if (!vm->ndisks)
        return vm->provisioned_mib;
    return sum;
}

struct plan_limits
plan_limits_default(void)
{
    return (struct plan_limits){
        .max_input = 256ULL << 20,
        .max_uncompressed = 2ULL << 30,
        .max_entry = 1ULL << 30,
        .max_cells = 50000000,
        .max_shared_strings = 4000000,
        .max_vms = 1000000,
    };
}

struct plan_limits
plan_limits_resolve(const struct plan_limits *lim)
{
    struct plan_limits d = plan_limits_default();
    if (!lim)
        return d;
    struct plan_limits r = *lim;
    if (!r.max_input)
        r.max_input = d.max_input;
    if (!r.max_uncompressed)
        r.max_uncompressed = d.max_uncompressed;
    if (!r.max_entry)
        r.max_entry = d.max_entry;
    if (!r.max_cells)
        r.max_cells = d.max_cells;
    if (!r.max_shared_strings)
        r.max_shared_strings = d.max_shared_strings;
    if (!r.max_vms)
        r.max_vms = d.max_vms;
    return r;
}

void
plan_global_init(void)
{
    xmlInitParser();
}
