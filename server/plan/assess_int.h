/* Assessment internals: a per-run cache of CPU compatibility per EVC key, so a target
 * comparison (possibly a libvirt call) runs once per key and host, not once per VM. */
#ifndef VP_PLAN_ASSESS_INT_H
#define VP_PLAN_ASSESS_INT_H

#include "plan_int.h"

struct assess_cpu_entry {
    const char *evc_key;
    size_t ok, bad, unknown;
    char detail[160];
};

struct assess_cpu_cache {
    struct assess_cpu_entry entries[64];
    size_t n;
};

/* plan_assess_vm with an optional cache (NULL: compare every time). */
int assess_vm(const plan_inventory *inv, const struct plan_vm *vm,
              const struct plan_assess_opts *opts, struct arena *a, struct plan_vm_assessment *out,
              struct assess_cpu_cache *cache);

#endif
