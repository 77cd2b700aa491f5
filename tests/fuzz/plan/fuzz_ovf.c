/* libFuzzer target: the OVF reader on arbitrary bytes. */
#include <stddef.h>
#include <stdint.h>

#include "plan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int init;
    if (!init++)
        plan_global_init();
    plan_inventory *inv = plan_inv_new();
    err e = {0};
    if (inv)
        plan_ovf_read(inv, (const char *)data, size, "fuzz.ovf", &e);
    plan_inv_free(inv);
    return 0;
}
