/* RVTools xlsx parse benchmark: writes a 10,000-VM export with libxlsxwriter (vInfo with
 * RVTools 4.x's 80 columns, vCPU, vMemory, vDisk with 1–3 disks per VM, vNetwork,
 * vPartition, vHost), loads it into memory and times plan_rvtools_read_xlsx. Goal < 5 s.
 *
 *   plan_bench_xlsx [VMS] [FILE]     (FILE defaults to a temporary file, deleted after) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xlsxwriter.h>

#include "bench_gen.h"
#include "plan.h"

static const char *const vinfo_cols[] = {"VM",
                                         "Powerstate",
                                         "Template",
                                         "SRM Placeholder",
                                         "Config status",
                                         "Connection state",
                                         "Guest state",
                                         "Heartbeat",
                                         "Consolidation Needed",
                                         "PowerOn",
                                         "Suspended To Memory",
                                         "Suspend time",
                                         "Suspend Interval",
                                         "Creation date",
                                         "Change Version",
                                         "CPUs",
                                         "Overall Cpu Readiness",
                                         "Memory",
                                         "Active Memory",
                                         "NICs",
                                         "Disks",
                                         "Total disk capacity MiB",
                                         "Fixed Passthru HotPlug",
                                         "min Required EVC Mode Key",
                                         "Latency Sensitivity",
                                         "Op Notification Timeout",
                                         "EnableUUID",
                                         "CBT",
                                         "Primary IP Address",
                                         "Network #1",
                                         "Network #2",
                                         "Network #3",
                                         "Network #4",
                                         "Network #5",
                                         "Network #6",
                                         "Network #7",
                                         "Network #8",
                                         "Num Monitors",
                                         "Video Ram KiB",
                                         "Resource pool",
                                         "Folder ID",
                                         "Folder",
                                         "vApp",
                                         "DAS protection",
                                         "FT State",
                                         "FT Role",
                                         "FT Latency",
                                         "FT Bandwidth",
                                         "FT Sec. Latency",
                                         "Vm Failover In Progress",
                                         "Provisioned MiB",
                                         "In Use MiB",
                                         "Unshared MiB",
                                         "HA Restart Priority",
                                         "HA Isolation Response",
                                         "HA VM Monitoring",
                                         "Cluster rule(s)",
                                         "Cluster rule name(s)",
                                         "Boot Required",
                                         "Boot delay",
                                         "Boot retry delay",
                                         "Boot retry enabled",
                                         "Boot BIOS setup",
                                         "Reboot PowerOff",
                                         "EFI Secure boot",
                                         "Firmware",
                                         "HW version",
                                         "HW upgrade status",
                                         "Datacenter",
                                         "Cluster",
                                         "Host",
                                         "OS according to the configuration file",
                                         "OS according to the VMware Tools",
                                         "Customization Info",
                                         "Guest Detailed Data",
                                         "VM ID",
                                         "VM UUID",
                                         "VI SDK Server type",
                                         "VI SDK API Version",
                                         "Annotation"};

static const char *const oses[] = {
    "Red Hat Enterprise Linux 8 (64-bit)", "Microsoft Windows Server 2019 (64-bit)",
    "Ubuntu Linux (64-bit)", "Debian GNU/Linux 12 (64-bit)", "SUSE Linux Enterprise 15 (64-bit)"};

struct w {
    lxw_workbook *wb;
    uint64_t seed;
    size_t n, hosts;
};

static void
row_strings(lxw_worksheet *ws, lxw_row_t r, const char *const *cols, size_t n)
{
    for (size_t c = 0; c < n; c++)
        worksheet_write_string(ws, r, (lxw_col_t)c, cols[c], NULL);
}

enum { VINFO_NCOLS = sizeof(vinfo_cols) / sizeof(*vinfo_cols) };

/* Columns the planner reads get real values; the others get filler like a real export. */
static void
vinfo_row(lxw_worksheet *ws, lxw_row_t r, size_t i, const struct plan_item *it, struct w *w)
{
    char name[32], host[48], id[32], uuid[64];
    snprintf(name, sizeof(name), "vm-%05zu", i);
    snprintf(host, sizeof(host), "esx-%03zu.example.com", i % w->hosts);
    snprintf(id, sizeof(id), "vm-%zu", 1000 + i);
    snprintf(uuid, sizeof(uuid), "4200%04zx-0000-4000-8000-%012zx", i % 65536, i);
    double disk = it->d[PLAN_DIM_DISK] * 1024;
    const char *s[VINFO_NCOLS];
    double v[VINFO_NCOLS];
    for (size_t c = 0; c < VINFO_NCOLS; c++) {
        s[c] = c % 2 ? NULL : "normal";
        v[c] = -1;
    }
    s[0] = name, s[1] = i % 7 ? "poweredOn" : "poweredOff";
    s[2] = s[3] = s[8] = s[22] = "False";
    s[15] = s[17] = s[19] = s[20] = s[21] = s[50] = s[51] = s[66] = NULL;
    v[15] = it->d[PLAN_DIM_CPU], v[17] = it->d[PLAN_DIM_MEM], v[19] = 1;
    v[20] = 1 + (double)(i % 3), v[21] = disk, v[50] = disk * 1.05, v[51] = disk * 0.4;
    v[66] = 19;
    s[27] = i % 3 ? "True" : "False", s[29] = "VM Network";
    s[64] = i % 5 ? "False" : "True", s[65] = i % 4 ? "efi" : "bios";
    s[68] = "DC1", s[69] = "Cluster1", s[70] = host, s[71] = s[72] = oses[i % 5];
    s[56] = s[57] = NULL; /* no cluster rules */
    s[75] = id, s[76] = uuid;
    for (size_t c = 0; c < VINFO_NCOLS; c++) {
        if (s[c])
            worksheet_write_string(ws, r, (lxw_col_t)c, s[c], NULL);
        else if (v[c] >= 0)
            worksheet_write_number(ws, r, (lxw_col_t)c, v[c], NULL);
    }
}

static void
sheet_vinfo(struct w *w, const struct gen *g)
{
    lxw_worksheet *ws = workbook_add_worksheet(w->wb, "vInfo");
    row_strings(ws, 0, vinfo_cols, VINFO_NCOLS);
    for (size_t i = 0; i < w->n; i++)
        vinfo_row(ws, (lxw_row_t)(i + 1), i, &g->items[i], w);
}

static void
sheet_cpu_mem(struct w *w, const struct gen *g, bool cpu)
{
    static const char *const ccols[] = {"VM",        "Powerstate", "CPUs", "Sockets",
                                        "Cores p/s", "Hot Add",    "Host", "VM ID"};
    static const char *const mcols[] = {"VM",      "Powerstate", "Size MiB", "Consumed",
                                        "Hot Add", "Host",       "VM ID"};
    lxw_worksheet *ws = workbook_add_worksheet(w->wb, cpu ? "vCPU" : "vMemory");
    row_strings(ws, 0, cpu ? ccols : mcols, cpu ? 8 : 7);
    for (size_t i = 0; i < w->n; i++) {
        lxw_row_t r = (lxw_row_t)(i + 1);
        char name[32], host[48], id[32];
        snprintf(name, sizeof(name), "vm-%05zu", i);
        snprintf(host, sizeof(host), "esx-%03zu.example.com", i % w->hosts);
        snprintf(id, sizeof(id), "vm-%zu", 1000 + i);
        worksheet_write_string(ws, r, 0, name, NULL);
        worksheet_write_string(ws, r, 1, i % 7 ? "poweredOn" : "poweredOff", NULL);
        double v = cpu ? g->items[i].d[PLAN_DIM_CPU] : g->items[i].d[PLAN_DIM_MEM];
        worksheet_write_number(ws, r, 2, v, NULL);
        worksheet_write_number(ws, r, 3, cpu ? 1 : v / 2, NULL);
        worksheet_write_number(ws, r, 4, cpu ? v : 0, NULL);
        worksheet_write_string(ws, r, cpu ? 5 : 4, "False", NULL);
        worksheet_write_string(ws, r, cpu ? 6 : 5, host, NULL);
        worksheet_write_string(ws, r, cpu ? 7 : 6, id, NULL);
    }
}

static void
sheet_vdisk(struct w *w, const struct gen *g)
{
    static const char *const cols[] = {"VM",        "Disk",         "Capacity MiB", "Raw",
                                       "Disk Mode", "Sharing mode", "Thin",         "Controller",
                                       "Label",     "Unit #",       "Path",         "VM ID"};
    lxw_worksheet *ws = workbook_add_worksheet(w->wb, "vDisk");
    row_strings(ws, 0, cols, 12);
    lxw_row_t r = 1;
    for (size_t i = 0; i < w->n; i++) {
        size_t nd = 1 + i % 3;
        for (size_t k = 0; k < nd; k++, r++) {
            char name[32], disk[40], path[160], id[32];
            snprintf(name, sizeof(name), "vm-%05zu", i);
            snprintf(disk, sizeof(disk), "Hard disk %zu", k + 1);
            snprintf(path, sizeof(path), "[datastore%zu] vm-%05zu/vm-%05zu_%zu.vmdk", i % 20, i, i,
                     k);
            snprintf(id, sizeof(id), "vm-%zu", 1000 + i);
            worksheet_write_string(ws, r, 0, name, NULL);
            worksheet_write_string(ws, r, 1, disk, NULL);
            worksheet_write_number(ws, r, 2, g->items[i].d[PLAN_DIM_DISK] * 1024 / (double)nd,
                                   NULL);
            worksheet_write_string(ws, r, 3, "False", NULL);
            worksheet_write_string(ws, r, 4, "persistent", NULL);
            worksheet_write_string(ws, r, 5, "sharingNone", NULL);
            worksheet_write_string(ws, r, 6, "True", NULL);
            worksheet_write_string(ws, r, 7, "VMware Paravirtual", NULL);
            worksheet_write_string(ws, r, 8, "SCSI controller 0", NULL);
            worksheet_write_number(ws, r, 9, (double)k, NULL);
            worksheet_write_string(ws, r, 10, path, NULL);
            worksheet_write_string(ws, r, 11, id, NULL);
        }
    }
}

static void
sheet_vnetwork_vpartition(struct w *w)
{
    static const char *const ncols[] = {"VM",        "NIC label",   "Adapter",      "Network",
                                        "Connected", "Mac Address", "IPv4 Address", "VM ID"};
    static const char *const pcols[] = {"VM",           "Disk",     "Capacity MiB",
                                        "Consumed MiB", "Free MiB", "VM ID"};
    lxw_worksheet *wn = workbook_add_worksheet(w->wb, "vNetwork");
    lxw_worksheet *wp = workbook_add_worksheet(w->wb, "vPartition");
    row_strings(wn, 0, ncols, 8);
    row_strings(wp, 0, pcols, 6);
    for (size_t i = 0; i < w->n; i++) {
        lxw_row_t r = (lxw_row_t)(i + 1);
        char name[32], mac[64], ip[64], id[32];
        snprintf(name, sizeof(name), "vm-%05zu", i);
        snprintf(mac, sizeof(mac), "00:50:56:%02zx:%02zx:%02zx", (i >> 16) & 255, (i >> 8) & 255,
                 i & 255);
        snprintf(ip, sizeof(ip), "10.%zu.%zu.%zu", (i >> 16) & 255, (i >> 8) & 255, i & 255);
        snprintf(id, sizeof(id), "vm-%zu", 1000 + i);
        const char *nv[] = {
            name, "Network adapter 1", i % 9 ? "Vmxnet3" : "E1000E", "VM Network", "True", mac, ip,
            id};
        row_strings(wn, r, nv, 8);
        for (int k = 0; k < 2; k++) {
            lxw_row_t pr = (lxw_row_t)(2 * i + (size_t)k + 1);
            worksheet_write_string(wp, pr, 0, name, NULL);
            worksheet_write_string(wp, pr, 1, k ? "/boot" : "/", NULL);
            worksheet_write_number(wp, pr, 2, k ? 1024 : 40960, NULL);
            worksheet_write_number(wp, pr, 3, k ? 300 : 20000, NULL);
            worksheet_write_number(wp, pr, 4, k ? 724 : 20960, NULL);
            worksheet_write_string(wp, pr, 5, id, NULL);
        }
    }
}

static void
sheet_vhost(struct w *w)
{
    static const char *const cols[] = {"Host",     "Datacenter", "Cluster",       "CPU Model",
                                       "Speed",    "# CPU",      "Cores per CPU", "# Cores",
                                       "# Memory", "HT Active",  "Max EVC",       "ESX Version"};
    lxw_worksheet *ws = workbook_add_worksheet(w->wb, "vHost");
    row_strings(ws, 0, cols, 12);
    for (size_t h = 0; h < w->hosts; h++) {
        lxw_row_t r = (lxw_row_t)(h + 1);
        char host[48];
        snprintf(host, sizeof(host), "esx-%03zu.example.com", h);
        const char *sv[] = {host, "DC1", "Cluster1", "Intel(R) Xeon(R) Gold 6230"};
        row_strings(ws, r, sv, 4);
        double nv[] = {2100, 2, 20, 40, 786432};
        for (int k = 0; k < 5; k++)
            worksheet_write_number(ws, r, (lxw_col_t)(4 + k), nv[k], NULL);
        worksheet_write_string(ws, r, 9, "True", NULL);
        worksheet_write_string(ws, r, 10, "intel-cascadelake", NULL);
        worksheet_write_string(ws, r, 11, "VMware ESXi 8.0.2", NULL);
    }
}

static int
write_book(const char *path, size_t n)
{
    struct gen g;
    gen_inventory(&g, GEN_RANDOM, n, 11, 0, 0);
    /* not constant_memory: that mode writes inline strings, Excel (and RVTools) use the
     * shared string table, which is the path worth timing */
    struct w w = {.wb = workbook_new(path), .n = n, .hosts = n / 25 + 1};
    if (!w.wb)
        return -1;
    sheet_vinfo(&w, &g);
    sheet_cpu_mem(&w, &g, true);
    sheet_cpu_mem(&w, &g, false);
    sheet_vdisk(&w, &g);
    sheet_vnetwork_vpartition(&w);
    sheet_vhost(&w);
    gen_free(&g);
    return workbook_close(w.wb) == LXW_NO_ERROR ? 0 : -1;
}

static char *
slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = sz > 0 ? malloc((size_t)sz) : NULL;
    *len = buf ? fread(buf, 1, (size_t)sz, f) : 0;
    if (!buf)
        *len = 0;
    fclose(f);
    return buf;
}

int
main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 10000;
    char tmp[] = "/tmp/plan-bench-XXXXXX.xlsx";
    const char *path = argc > 2 ? argv[2] : tmp;
    if (argc <= 2) {
        int fd = mkstemps(tmp, 5);
        if (fd < 0)
            return 2;
        close(fd);
    }
    double t0 = bench_now();
    if (write_book(path, n) < 0) {
        fprintf(stderr, "writing %s failed\n", path);
        return 2;
    }
    double t_write = bench_now() - t0;
    size_t len = 0;
    char *buf = slurp(path, &len);
    if (argc <= 2)
        unlink(path);
    plan_global_init();
    plan_inventory *inv = plan_inv_new();
    err e = {0};
    double w0 = bench_now(), c0 = bench_cpu_now();
    int rc = plan_rvtools_read_xlsx(inv, buf, len, NULL, &e);
    double wall = bench_now() - w0, cpu = bench_cpu_now() - c0;
    size_t warnings = 0;
    for (size_t i = 0; i < inv->nvms; i++)
        warnings += inv->vms[i]->nwarnings;
    printf("wrote %zu VMs (%.1f MiB xlsx) in %.2f s\n", n, (double)len / 1048576, t_write);
    printf("parse: %s in %.3f s wall, %.3f s CPU: %zu VMs, %zu hosts, %zu cells, %zu VM "
           "warnings, peak RSS %ld KiB\n",
           rc == 0 ? "ok" : e.detail, wall, cpu, inv->nvms, inv->nhosts, inv->cells_read, warnings,
           bench_peak_rss_kib());
    plan_inv_free(inv);
    free(buf);
    return rc == 0 ? 0 : 1;
}
