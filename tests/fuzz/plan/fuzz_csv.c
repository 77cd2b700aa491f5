/* libFuzzer target: the RVTools CSV reader. The first byte picks the sheet the rest
 * of the input is read as, so every sheet's mapping gets exercised. */
#include <stddef.h>
#include <stdint.h>

#include "plan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const sheets[] = {"vInfo", "vCPU",       "vMemory",  "vDisk",    "vNetwork",
                                         "vHost", "vPartition", "vCluster", "vSnapshot"};
    if (size < 1)
        return 0;
    struct plan_csv_sheet s[2] = {
        {sheets[data[0] % 9], (const char *)data + 1, size - 1},
        /* a second, fixed sheet so cross-sheet checks run */
        {"vInfo", "VM,CPUs,Memory\nvm1,2,2048\n", 27},
    };
    struct plan_limits lim = {.max_cells = 200000, .max_vms = 20000};
    plan_inventory *inv = plan_inv_new();
    err e = {0};
    if (inv)
        plan_rvtools_read_csv(inv, s, data[0] & 0x80 ? 2 : 1, &lim, &e);
    plan_inv_free(inv);
    return 0;
}
