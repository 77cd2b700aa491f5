/* libFuzzer target: the RVTools xlsx reader (zip + streaming XML) with small limits,
 * so inflate bombs and cell floods end quickly. */
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
    struct plan_limits lim = {.max_uncompressed = 8 << 20,
                              .max_entry = 4 << 20,
                              .max_cells = 100000,
                              .max_shared_strings = 100000,
                              .max_vms = 10000};
    plan_inventory *inv = plan_inv_new();
    err e = {0};
    if (inv)
        plan_rvtools_read_xlsx(inv, data, size, &lim, &e);
    plan_inv_free(inv);
    return 0;
}
