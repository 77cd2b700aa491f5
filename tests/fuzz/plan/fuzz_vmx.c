/* libFuzzer target: the .vmx reader on arbitrary bytes. */
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "plan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    plan_inventory *inv = plan_inv_new();
    err e = {0};
    if (inv && plan_vmx_read(inv, (const char *)data, size, "fuzz.vmx", &e) == 0) {
        struct plan_vm_assessment a;
        struct arena *ar = arena_new();
        if (ar)
            plan_assess_vm(inv, inv->vms[0], NULL, ar, &a);
        arena_destroy(ar);
    }
    plan_inv_free(inv);
    return 0;
}
