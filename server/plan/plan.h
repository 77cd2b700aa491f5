/* plan: VMware → KVM migration planner core (pure C, no I/O).
 *
 * Layers, each usable alone:
 *   inventory  plan_inventory: VMs, disks, NICs, partitions, source hosts, warnings.
 *              Filled by the readers below, or by hand (plan_inv_add_*), e.g. from a
 *              live libvirt inventory.
 *   readers    .vmx (plan_vmx_read), OVF (plan_ovf_read), RVTools xlsx / csv
 *              (plan_rvtools_read_xlsx / _csv). All take memory buffers.
 *   assess     named rules → findings with severity → readiness per VM.
 *   place      vector bin packing (CPU, memory, disk) onto target hosts under affinity,
 *              pins, exclusions, CPU models and tenant budgets; lower bound, Nova-style
 *              reasons for every VM left unplaced; sizing per host shape.
 *   waves      pilot + rollout waves, transfer time, downtime, risk, TCO.
 *   export     JSON (jansson), CSV, xlsx (export_xlsx.c is the one file that writes
 *              a temporary file, because libxlsxwriter only writes files).
 *
 * Units: memory and disk sizes in the inventory are MiB (uint64_t); placement works
 * in doubles: CPUs, MiB of memory, GiB of disk. Ownership: an inventory owns every
 * string and array reachable from it (one arena); a plan_result likewise. */
#ifndef VP_PLAN_H
#define VP_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* ---------------------------------------------------------------- inventory */

/* A yes/no that may be unknown: zero-initialised structs read "unknown". */
enum plan_tri { PLAN_UNKNOWN = 0, PLAN_NO, PLAN_YES };

enum plan_power { PLAN_POWER_UNKNOWN = 0, PLAN_POWER_ON, PLAN_POWER_OFF, PLAN_POWER_SUSPENDED };

enum plan_firmware { PLAN_FW_UNKNOWN = 0, PLAN_FW_BIOS, PLAN_FW_UEFI };

enum plan_bus {
    PLAN_BUS_UNKNOWN = 0,
    PLAN_BUS_SCSI,
    PLAN_BUS_SATA,
    PLAN_BUS_IDE,
    PLAN_BUS_NVME,
    PLAN_BUS_VIRTIO, /* a live KVM inventory */
};

struct plan_disk {
    const char *label; /* "Hard disk 1", "scsi0:0" */
    const char *file;  /* "[ds1] vm/vm.vmdk", "vm.vmdk", or NULL */
    enum plan_bus bus;
    const char
        *controller; /* model: "pvscsi" "lsilogic" "lsisas1068" "buslogic" "ahci" "nvme" "ide" */
    int ctrl, unit;  /* controller number and unit on it, -1 unknown */
    uint64_t capacity_mib; /* meaningful when capacity_known */
    bool capacity_known;
    uint64_t used_mib; /* 0 = unknown (then capacity is the transfer size) */
    bool independent;  /* independent-persistent / -nonpersistent */
    bool rdm;          /* raw device mapping */
    bool shared;       /* multi-writer or shared SCSI bus */
    enum plan_tri thin;
    enum plan_tri cbt; /* changed block tracking on this disk */
    const char *mode;  /* raw mode text ("persistent", …), or NULL */
};

struct plan_cdrom {
    enum plan_bus bus;
    int ctrl, unit;
    const char *file;
};

struct plan_nic {
    const char *label; /* "ethernet0", "Network adapter 1" */
    const char *model; /* lower case: "vmxnet3" "e1000" "e1000e" "vmxnet2" "pcnet32" "sriov" … */
    const char *mac;   /* lower case aa:bb:…, or NULL */
    const char *network;    /* port group / network name, or NULL */
    const char *connection; /* vmx connectionType: "bridged" "nat" "hostonly" "custom", or NULL */
    const char *ipv4;
    enum plan_tri connected;
    bool passthrough; /* DirectPath I/O */
    bool sriov;
};

struct plan_partition {
    const char *path; /* "/", "/boot", "C:\\" */
    uint64_t capacity_mib, free_mib;
};

struct plan_warning {
    const char *code; /* stable slug: "sheet-mismatch", "missing-value", … */
    const char *message;
};

/* Everything we know about one source VM. Arrays travel with their count; the
 * *_cap fields belong to the inventory's allocator, do not touch them. */
struct plan_vm {
    size_t index; /* position in inventory->vms */
    const char *name;
    const char *vm_id;  /* vCenter moref "vm-123", or NULL */
    const char *uuid;   /* BIOS UUID, or NULL */
    const char *genid;  /* VM generation id as a UUID, or NULL */
    const char *source; /* "vmx" "ovf" "rvtools" "libvirt" … */
    enum plan_power power;
    bool template_;
    int vcpus;            /* 0 = unknown */
    int cores_per_socket; /* 0 = unknown */
    uint64_t memory_mib;  /* 0 = unknown */
    enum plan_firmware firmware;
    enum plan_tri secure_boot, vtpm, cbt, cpu_hot_add, mem_hot_add, enable_uuid;
    const char *guest_id;   /* VMware guest id ("rhel8-64", "windows9_64Guest"), or NULL */
    const char *guest_name; /* full name ("Red Hat Enterprise Linux 9 (64-bit)"), or NULL */
    int hw_version;         /* vmx-NN, 0 unknown */
    bool hosted;            /* Workstation/Fusion (virtualHW.productCompatibility=hosted) */
    bool passthrough;       /* PCI passthrough device present */
    bool sriov;
    bool usb;
    bool cpu_affinity;
    bool nested_hv;
    bool consolidation_needed;
    bool fault_tolerance;
    int snapshots;       /* count, -1 unknown */
    const char *evc_key; /* "intel-cascadelake", or NULL */
    const char *datacenter, *cluster, *host;
    const char *folder;     /* VM folder (RVTools vInfo "Folder"), or NULL */
    const char *annotation; /* notes (RVTools "Annotation", vmx "annotation"), or NULL */
    uint64_t provisioned_mib, used_mib; /* whole-VM figures when the source gives them */
    const char **affinity;              /* VM–VM affinity rule names */
    size_t naffinity, affinity_cap;
    const char **anti_affinity; /* VM–VM anti-affinity rule names */
    size_t nanti_affinity, anti_affinity_cap;
    struct plan_disk *disks;
    size_t ndisks, disks_cap;
    struct plan_cdrom *cdroms;
    size_t ncdroms, cdroms_cap;
    struct plan_nic *nics;
    size_t nnics, nics_cap;
    struct plan_partition *partitions;
    size_t npartitions, partitions_cap;
    struct plan_warning *warnings;
    size_t nwarnings, warnings_cap;
};

/* A source (ESXi) host, e.g. from the vHost sheet. */
struct plan_src_host {
    const char *name, *datacenter, *cluster;
    const char *cpu_model;
    int sockets, cores, threads; /* cores = physical cores in total; threads 0 unknown */
    int mhz;
    uint64_t memory_mib;
    const char *evc_current, *evc_max;
    const char *esx_version;
    bool maintenance;
    double cpu_usage_pct, mem_usage_pct; /* -1 unknown */
};

typedef struct plan_inventory {
    struct plan_vm **vms; /* stable pointers: adding a VM never moves another */
    size_t nvms, vms_cap;
    struct plan_src_host *hosts;
    size_t nhosts, hosts_cap;
    struct plan_warning *warnings; /* not tied to one VM ("sheet vHost missing") */
    size_t nwarnings, warnings_cap;
    struct arena *arena;
    size_t cells_read; /* statistics of the last spreadsheet read */
} plan_inventory;

/* Returns an empty inventory or NULL when out of memory. Caller frees with plan_inv_free. */
plan_inventory *plan_inv_new(void);
/* Frees the inventory and everything it owns. NULL is fine. */
void plan_inv_free(plan_inventory *inv);

/* Appends a VM named `name` (copied); returns it (owned by inv) or NULL when out of memory. */
struct plan_vm *plan_inv_add_vm(plan_inventory *inv, const char *name);
/* Appends a zeroed element; the pointer is valid until the next add to the same array.
 * Return NULL when out of memory. */
struct plan_disk *plan_vm_add_disk(plan_inventory *inv, struct plan_vm *vm);
struct plan_cdrom *plan_vm_add_cdrom(plan_inventory *inv, struct plan_vm *vm);
struct plan_nic *plan_vm_add_nic(plan_inventory *inv, struct plan_vm *vm);
struct plan_partition *plan_vm_add_partition(plan_inventory *inv, struct plan_vm *vm);
struct plan_src_host *plan_inv_add_host(plan_inventory *inv, const char *name);
/* Adds a rule name to vm->affinity (anti=false) or vm->anti_affinity. Returns 0 / -1 (OOM). */
int plan_vm_add_rule(plan_inventory *inv, struct plan_vm *vm, bool anti, const char *rule);
/* Copies `s` into the inventory (NULL gives NULL). */
const char *plan_inv_strdup(plan_inventory *inv, const char *s);
const char *plan_inv_strndup(plan_inventory *inv, const char *s, size_t n);
/* Records a warning on `vm` (or on the inventory when vm is NULL). `code` must be a
 * string literal. Never fails visibly: out of memory drops the warning. */
void plan_inv_warn(plan_inventory *inv, struct plan_vm *vm, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Σ disk capacity, or provisioned_mib when the VM has no disks listed. */
uint64_t plan_vm_disk_mib(const struct plan_vm *vm);
/* Σ disk used (falling back to capacity per disk), or used_mib. */
uint64_t plan_vm_used_mib(const struct plan_vm *vm);

/* ------------------------------------------------------------------ readers */

/* Limits that keep a hostile file from costing unbounded time or memory. Zero
 * fields take the defaults of plan_limits_default(). */
struct plan_limits {
    uint64_t max_input;          /* bytes of the file handed to a reader */
    uint64_t max_uncompressed;   /* Σ bytes inflated from an xlsx (zip bomb guard) */
    uint64_t max_entry;          /* bytes inflated from one zip entry */
    uint64_t max_cells;          /* non-empty cells read from all sheets */
    uint64_t max_shared_strings; /* count of shared strings */
    uint64_t max_vms;            /* VMs one read may add */
};
struct plan_limits plan_limits_default(void);

/* Call once at process start before threads (initialises libxml2). Idempotent. */
void plan_global_init(void);

/* Parses one .vmx file (its bytes) and appends one VM. `origin` names the file in
 * messages and virt-v2v commands (borrowed, copied). 0 / -1 with ERR_INVALID. */
int plan_vmx_read(plan_inventory *inv, const char *buf, size_t len, const char *origin, err *e);

/* Parses an OVF descriptor and appends one VM per VirtualSystem. 0 / -1. */
int plan_ovf_read(plan_inventory *inv, const char *buf, size_t len, const char *origin, err *e);

/* Reads an RVTools xlsx export (the whole file in memory). `lim` may be NULL.
 * Sheets used: vInfo vCPU vMemory vDisk vNetwork vHost vPartition vCluster vSnapshot.
 * Disagreements between sheets become warnings. 0 / -1 (ERR_INVALID / ERR_TOO_LARGE). */
int plan_rvtools_read_xlsx(plan_inventory *inv, const void *buf, size_t len,
                           const struct plan_limits *lim, err *e);

/* One CSV file of an RVTools export; `sheet` is its sheet name ("vInfo"). */
struct plan_csv_sheet {
    const char *sheet;
    const char *data;
    size_t len;
};
/* Reads several CSV sheets of one export (any order; vInfo is applied first). 0 / -1. */
int plan_rvtools_read_csv(plan_inventory *inv, const struct plan_csv_sheet *sheets, size_t n,
                          const struct plan_limits *lim, err *e);
/* The sheet name a CSV file name stands for ("RVTools_tabvInfo.csv" → "vInfo"), or NULL.
 * Returns a static string. */
const char *plan_rvtools_sheet_from_filename(const char *filename);

/* ------------------------------------------------------------- guest OS table */

enum plan_os_family { PLAN_OS_UNKNOWN = 0, PLAN_OS_LINUX, PLAN_OS_WINDOWS, PLAN_OS_OTHER };

struct plan_guest_os {
    const char *key; /* normalised VMware guest id */
    enum plan_os_family family;
    const char *name; /* "Windows Server 2016" */
    int v2v;          /* virt-v2v converts it: 1 yes, 0 no, -1 unknown */
    int virtio;       /* virtio drivers available (in kernel / injected): 1, 0, -1 */
};
/* Looks up a VMware guest id (any spelling: "rhel8-64", "rhel8_64Guest") or full name
 * ("Red Hat Enterprise Linux 9 (64-bit)"). Returns a static entry, or NULL if unknown. */
const struct plan_guest_os *plan_guest_os_lookup(const char *guest_id, const char *guest_name);

/* QEMU CPU model suggested for a VMware EVC key ("intel-haswell" → "Haswell-noTSX").
 * Only a hint: libvirt decides. Static string or NULL. */
const char *plan_evc_qemu_model(const char *evc_key);

/* --------------------------------------------------------------- target hosts */

enum { PLAN_DIM_CPU, PLAN_DIM_MEM, PLAN_DIM_DISK, PLAN_NDIM };

/* A KVM target host (from the inventory or described by the request). */
struct plan_host {
    const char *name;
    double cpus; /* logical CPUs */
    double memory_mib;
    double disk_gib;       /* storage for VM disks; 0 = not a constraint */
    const char *cpu_model; /* libvirt/QEMU model name, or NULL */
};

/* Returns 1 if a VM needing `qemu_model` (hint from its EVC key, may be NULL) can run
 * on `host`, 0 if not, -1 unknown. The lead plugs virConnectCompareHypervisorCPU here.
 * `detail` (size n) may receive a short reason. */
typedef int (*plan_cpu_compat_fn)(void *ctx, const char *evc_key, const char *qemu_model,
                                  const struct plan_host *host, char *detail, size_t n);

/* Parses a host spec: comma-separated `[N x]CPUSc/MEM/DISK[@NAME]`, e.g.
 * "4x32c/512g/10t,2x64c/1t/20t@big". Sizes take k/m/g/t suffixes (binary, default g);
 * DISK may be omitted ("32c/256g"). Hosts get names NAME-1.. (default "kvm-1"…).
 * Fills *out (array allocated in `inv`'s arena) and *n. 0 / -1 ERR_INVALID. */
int plan_hosts_parse_spec(plan_inventory *inv, const char *spec, struct plan_host **out, size_t *n,
                          err *e);
/* Parses a JSON host list: [{"name":…,"cpus":…,"memory_gib":…,"disk_gib":…,"cpu_model":…,
 * "count":…}] (or {"hosts":[…]}). Same ownership as plan_hosts_parse_spec. */
int plan_hosts_parse_json(plan_inventory *inv, const char *json, size_t len, struct plan_host **out,
                          size_t *n, err *e);

/* --------------------------------------------------------------- assessment */

enum plan_severity { PLAN_SEV_INFO = 0, PLAN_SEV_WARNING, PLAN_SEV_CRITICAL };
enum plan_readiness {
    PLAN_READY = 0,
    PLAN_READY_WITH_CONDITIONS,
    PLAN_NOT_READY,
    PLAN_READINESS_UNKNOWN, /* essential data (vCPUs, memory) missing */
};

struct plan_finding {
    const char *rule; /* stable id: "secure-boot", "guest-free-space", … (static) */
    enum plan_severity severity;
    const char *message;
};

struct plan_assess_opts {
    const struct plan_host *targets; /* for the CPU rule; may be NULL */
    size_t ntargets;
    plan_cpu_compat_fn cpu_compat; /* NULL: built-in hint comparison */
    void *cpu_ctx;
    bool target_lacks_ovmf;  /* UEFI guests need OVMF: set when the targets lack it */
    bool target_lacks_swtpm; /* vTPM needs swtpm: set when the targets lack it */
};

struct plan_vm_assessment {
    enum plan_readiness readiness;
    struct plan_finding *findings;
    size_t nfindings, findings_cap;
    const struct plan_guest_os *os; /* NULL when unknown */
    const char *cpu_model_hint;     /* QEMU model from the EVC table, or NULL */
    double confidence;              /* share of the data points we had, 0..1 */
};

/* Descriptions of every rule, for documentation and the UI. */
struct plan_rule_info {
    const char *id;
    enum plan_severity severity; /* the severity it usually raises */
    const char *summary;
};
const struct plan_rule_info *plan_rules(size_t *n);

const char *plan_severity_name(enum plan_severity s);
const char *plan_readiness_name(enum plan_readiness r);

/* -------------------------------------------------------------- placement */

enum plan_algo {
    PLAN_ALGO_BEST = 0, /* best of several heuristics (default) */
    PLAN_ALGO_FFD,      /* first-fit decreasing by normalised size (baseline) */
};

enum plan_disk_basis { PLAN_DISK_PROVISIONED = 0, PLAN_DISK_USED };

struct plan_place_opts {
    double overcommit[PLAN_NDIM]; /* capacity multiplier per dimension; 0 means 1 */
    double headroom;              /* fraction kept free after overcommit, 0 ≤ h < 1 */
    enum plan_algo algo;
    enum plan_disk_basis disk_basis;
    bool skip_templates; /* default false here; plan_run sets true */
    bool skip_not_ready;
};

enum plan_group_kind { PLAN_AFFINITY, PLAN_ANTI_AFFINITY };

/* A VM–VM rule: affinity = all on one host; anti-affinity = all on different hosts.
 * Members must be distinct VM indices (plan_run deduplicates the groups it builds). */
struct plan_group {
    const char *name;
    enum plan_group_kind kind;
    const size_t *members; /* VM indices */
    size_t nmembers;
};

/* VM `vm` must run on host `host` (pin) or must not (exclude). vm = SIZE_MAX: all VMs. */
struct plan_host_rule {
    size_t vm;
    size_t host;
};

/* Tenant budgets: what one tenant may still allocate (its quota's allocation limits
 * minus what it uses and has reserved), in the quota's resources. */
enum {
    PLAN_BUDGET_VMS,
    PLAN_BUDGET_VCPUS,
    PLAN_BUDGET_MEMORY_MIB,
    PLAN_BUDGET_DISK_GIB,
    PLAN_NBUDGET
};

struct plan_budget {
    const char *name;               /* the tenant as reasons name it ("tenant 7") */
    double remaining[PLAN_NBUDGET]; /* < 0: unlimited (0: nothing left) */
    const size_t *members;          /* VM indices of the tenant's VMs; a VM in one budget only */
    size_t nmembers;
};

/* Placement never places a set of a tenant's VMs whose Σ demand exceeds its remaining
 * budget in any resource. Who gets the budget is decided by the placement order of the
 * heuristic that runs: pinned VMs first (largest first), then FFD in its decreasing order,
 * a bin-centric greedy in the order it fills hosts; best-of-several keeps the plan that
 * places the most VMs (then uses the fewest hosts), so under a tight budget the winner is
 * the heuristic that fits the most VMs into it. All deterministic. A VM left out by its
 * budget is unplaced with constraint "tenant_budget" (struct plan_unplaced).
 * Budgets bind plan_place only: plan_size sizes for the whole inventory (a capacity
 * question), plan_lower_bound_compute ignores them, and plan_rebalance_run ignores them
 * (a live migration does not change a tenant's allocation). */
struct plan_constraints {
    const struct plan_group *groups;
    size_t ngroups;
    const struct plan_host_rule *pins;
    size_t npins;
    const struct plan_host_rule *excludes;
    size_t nexcludes;
    plan_cpu_compat_fn cpu_compat; /* NULL: built-in hint comparison */
    void *cpu_ctx;
    const struct plan_budget *budgets;
    size_t nbudgets;
    /* nitems × PLAN_NBUDGET: what each VM costs its tenant, or NULL: 1 VM, d[CPU] vCPUs,
     * d[MEM] MiB, d[DISK] GiB of the item (plan_run passes the quota's own figures:
     * vCPUs, memory and provisioned disk rounded up to GiB, whatever the disk basis). */
    const double *budget_demand;
};

/* A VM reduced to what placement needs. */
struct plan_item {
    double d[PLAN_NDIM]; /* CPUs, MiB, GiB */
    const char *evc_key; /* may be NULL */
    bool skip;           /* not to be placed (template, not ready) */
};

/* Fills items[i] from inventory VM i. `items` has inv->nvms entries. */
void plan_items_from_inventory(const plan_inventory *inv, const struct plan_place_opts *opts,
                               const struct plan_vm_assessment *assess, struct plan_item *items);

struct plan_lower_bound {
    size_t hosts;             /* the bound: max of the parts below */
    size_t volume[PLAN_NDIM]; /* ⌈Σ demand / capacity⌉ (heterogeneous: k largest hosts) */
    size_t l2[PLAN_NDIM];     /* Martello–Toth L2 with the largest host's capacity */
    size_t anti_affinity;     /* largest anti-affinity group */
    size_t pinned;            /* distinct hosts that pinned VMs occupy */
    size_t placeable;         /* VMs counted: those that fit some host on their own */
};

/* Per constraint, how many hosts it removed (Nova: "RamFilter: (start: 9, end: 1)"). */
struct plan_filter_count {
    const char *filter;
    size_t start, end;
};

struct plan_unplaced {
    size_t vm;
    struct plan_filter_count filters[8];
    size_t nfilters;
    const char *nearest_host; /* NULL if every host was removed by a non-capacity rule */
    int binding_dim;          /* PLAN_DIM_*, -1 none */
    double shortfall;         /* in the dimension's unit: CPUs, MiB, GiB */
    const char *reason; /* "host3: memory short 12.3 GiB after 1.5× overcommit and 10% headroom" */
    /* The constraint that keeps it out (static): "capacity", "tenant_budget", "excluded",
     * "pinned", "cpu_model", "anti_affinity", "conflict", "heuristic" (it fits a host but
     * the heuristic left it out); NULL in rebalance results. For "tenant_budget" (it wins
     * over the others: no host could take the VM within its tenant's budget): */
    const char *constraint;
    const char *tenant;  /* the budget's name */
    int budget_dim;      /* PLAN_BUDGET_*, -1 none */
    double budget_short; /* in the resource's unit: VMs, vCPUs, MiB, GiB */
    double budget_left;  /* what the budget had left after the VMs placed */
};

struct plan_heuristic_score {
    const char *name;
    size_t hosts_used, placed;
};

struct plan_placement {
    size_t nvms, nhosts;
    int *host_of;     /* per VM: host index, -1 unplaced (or skipped) */
    double *used;     /* nhosts × PLAN_NDIM demand placed on each host */
    double *capacity; /* nhosts × PLAN_NDIM effective capacity (overcommit, headroom) */
    size_t hosts_used, placed, skipped;
    struct plan_lower_bound bound;
    double gap;       /* hosts_used / bound - 1 (0 when bound is 0) */
    const char *algo; /* the heuristic whose plan was kept */
    struct plan_heuristic_score tried[12];
    size_t ntried;
    struct plan_unplaced *unplaced;
    size_t nunplaced;
    struct arena *arena; /* owns everything above */
};

/* Effective capacity of `h` in dimension `dim` under `opts`. */
double plan_host_capacity(const struct plan_host *h, int dim, const struct plan_place_opts *opts);

/* Places items onto hosts. Returns a placement (caller frees with plan_placement_free)
 * or NULL with ERR_INVALID (bad options, constraint indices out of range) / ERR_INTERNAL.
 * Objective: place the most VMs, then use the fewest hosts. Above 3,000 units the
 * bin-centric heuristics score the 1,024 largest feasible units per step instead of all.
 * Single-threaded; no global state, so separate calls may run in parallel. */
struct plan_placement *plan_place(const struct plan_item *items, size_t nitems,
                                  const struct plan_host *hosts, size_t nhosts,
                                  const struct plan_constraints *cons,
                                  const struct plan_place_opts *opts, err *e);
void plan_placement_free(struct plan_placement *p);

/* The lower bound alone (items with skip set are ignored). */
void plan_lower_bound_compute(const struct plan_item *items, size_t nitems,
                              const struct plan_host *hosts, size_t nhosts,
                              const struct plan_constraints *cons,
                              const struct plan_place_opts *opts, struct plan_lower_bound *out);

/* Sizing: how many hosts of one shape. */
struct plan_sizing {
    struct plan_host shape;
    size_t hosts;                  /* hosts needed by the packing (incl. reserve) */
    size_t packed;                 /* hosts the packing used before the reserve */
    size_t reserve;                /* failover hosts added (reserve fraction) */
    size_t bound;                  /* lower bound */
    size_t by_dim[PLAN_NDIM];      /* volume bound per dimension */
    int limiting_dim;              /* the dimension that drives the count */
    double utilisation[PLAN_NDIM]; /* Σ demand / Σ capacity of the packed hosts */
    size_t unplaceable;            /* VMs larger than one host of this shape */
};
/* Sizes one shape; `reserve` is the failover fraction (0.1 = +10%, rounded up). 0 / -1. */
int plan_size(const struct plan_item *items, size_t nitems, const struct plan_host *shape,
              const struct plan_constraints *cons, const struct plan_place_opts *opts,
              double reserve, struct plan_sizing *out, err *e);
const char *plan_dim_name(int dim);
/* "vms" "vcpus" "memory_mib" "disk_gib" (the quota's API names), or "?". */
const char *plan_budget_dim_name(int dim);

/* ---------------------------------------------------------------- waves */

struct plan_wave_opts {
    double bandwidth_mbps;      /* default 620 */
    int parallel;               /* conversions at once, default 10 */
    double window_hours;        /* length of one wave's window, default 8 */
    int pilot_size;             /* VMs in the pilot wave, default 5 */
    double conversion_minutes;  /* per VM fixed cost (virt-v2v inspection), default 15 */
    double post_minutes;        /* per VM post-migration work, default 60 */
    double warm_delta_fraction; /* share of used data copied at cutover when warm, 0.02 */
};

enum plan_risk { PLAN_RISK_LOW = 0, PLAN_RISK_MEDIUM, PLAN_RISK_HIGH };

struct plan_vm_estimate {
    double transfer_hours;      /* full copy of used data at the bandwidth */
    double downtime_cold_hours; /* VM off for the full copy + conversion */
    double downtime_warm_hours; /* final delta + conversion; -1 when warm is impossible */
    bool warm_possible;
    enum plan_risk risk;
    int risk_score;
    int wave; /* -1: not in any wave (blocked: not ready / skipped) */
};

struct plan_wave {
    int number;       /* 0 = pilot */
    const char *kind; /* "pilot" "rollout" */
    size_t *vms;
    size_t nvms;
    double data_gib;
    double hours; /* estimated duration with `parallel` streams sharing the bandwidth */
    enum plan_risk risk;
};

/* Cost model for the TCO comparison; all money in one currency per year. */
struct plan_cost_model {
    double years;                   /* horizon, default 3 */
    double target_host_capex;       /* per host, amortised over `years`, default 15000 */
    double target_host_watts;       /* default 400 */
    double kwh_price;               /* default 0.15 */
    double pue;                     /* default 1.8 */
    double target_support_per_host; /* per year, default 1000 */
    double source_licence_per_core; /* VMware per core per year, default 350 */
    double source_support_per_host; /* per year, default 1500 */
    double source_host_watts;       /* default 450 */
    double admin_per_host;          /* both sides, per year, default 2000 */
};

struct plan_tco {
    double source_per_year, target_per_year;
    double source_total, target_total, savings_total;
    size_t source_hosts, source_cores, target_hosts;
};

/* ---------------------------------------------------------------- whole plan */

struct plan_v2v_opts {
    const char *vcenter;        /* "vcenter.example.com" → -ic vpx://…; NULL: placeholder */
    const char *vcenter_user;   /* default "administrator@vsphere.local" */
    const char *output_storage; /* libvirt pool, default "default" */
    const char *output_format;  /* "qcow2" (default) or "raw" */
    const char *bridge;         /* --bridge target, or NULL */
};

struct plan_request {
    const plan_inventory *inv;
    const struct plan_host *hosts; /* targets for placement, may be 0 */
    size_t nhosts;
    const struct plan_host *shapes; /* shapes for sizing, may be 0 */
    size_t nshapes;
    double sizing_reserve;
    struct plan_place_opts place;
    struct plan_constraints cons; /* groups from the request (RVTools rules are added), budgets */
    struct plan_assess_opts assess;
    struct plan_wave_opts waves;
    struct plan_cost_model cost;
    struct plan_v2v_opts v2v;
};

typedef struct plan_result {
    const plan_inventory *inv;     /* borrowed */
    const struct plan_host *hosts; /* borrowed from the request */
    size_t nhosts;
    struct plan_place_opts place;
    struct plan_wave_opts wave_opts;
    struct plan_vm_assessment *assess; /* inv->nvms */
    size_t counts[4];                  /* VMs per readiness */
    struct plan_placement *placement;  /* NULL when no target hosts */
    struct plan_group *groups;         /* request groups + inventory rules */
    size_t ngroups;
    struct plan_sizing *sizing;
    size_t nsizing;
    struct plan_vm_estimate *estimates; /* inv->nvms */
    struct plan_wave *waves;
    size_t nwaves, waves_cap;
    struct plan_tco tco;
    const char **v2v; /* per VM virt-v2v command line */
    struct arena *arena;
} plan_result;

/* Sets every option to its documented default. */
void plan_request_defaults(struct plan_request *req);

/* Runs assessment, placement (if hosts), sizing (if shapes), waves and TCO. The inventory
 * and request arrays are borrowed and must outlive the result. NULL + err on failure. */
plan_result *plan_run(const struct plan_request *req, err *e);
void plan_result_free(plan_result *r);

/* Assessment of one VM (for the lead's live inventory). Findings are allocated in `a`. */
int plan_assess_vm(const plan_inventory *inv, const struct plan_vm *vm,
                   const struct plan_assess_opts *opts, struct arena *a,
                   struct plan_vm_assessment *out);

/* Waves and estimates on an assessed inventory; allocations in r->arena. 0 / -1. */
int plan_waves_build(plan_result *r, const struct plan_wave_opts *opts, err *e);
/* TCO from the source hosts of the inventory and the target hosts used. */
void plan_tco_compute(const plan_inventory *inv, size_t target_hosts,
                      const struct plan_cost_model *m, struct plan_tco *out);

/* virt-v2v command line for one VM (shell-quoted); allocated in `a`. */
const char *plan_v2v_command(struct arena *a, const struct plan_vm *vm,
                             const struct plan_v2v_opts *o);

/* ---------------------------------------------------------------- export */

struct json_t;
/* The whole result as JSON. New reference, NULL when out of memory. */
struct json_t *plan_export_json(const plan_result *r);
/* Per-VM CSV (RFC 4180, CRLF). Returns malloc'd text (caller frees), *len set. */
char *plan_export_csv(const plan_result *r, size_t *len, err *e);
/* Writes an xlsx workbook to `path`. 0 / -1. */
int plan_export_xlsx_file(const plan_result *r, const char *path, err *e);
/* Writes an xlsx workbook to memory (through an anonymous memory file).
 * Returns malloc'd bytes (caller frees), *len set; NULL + err on failure. */
unsigned char *plan_export_xlsx_mem(const plan_result *r, size_t *len, err *e);

/* ------------------------------------------------- KVM rebalance and drain */

/* rebalance.c: a minimal list of live migrations between KVM hosts, grouped into
 * steps that run at once, such that every intermediate state is feasible:
 * while a VM migrates its memory (and disk) counts on its source AND its target;
 * a host takes part in at most `per_host` migrations of a step, a step holds at
 * most `max_parallel`. Capacity is plan_host_capacity() (overcommit, headroom).
 *
 * Imbalance (VMware DRS): per host the normalised load used / capacity of CPU and
 * memory; the standard deviation over the hosts that stay in service, per
 * dimension; the metric is their quadratic mean sqrt((sd_cpu² + sd_mem²) / 2).
 * Thresholds 1–5 as DRS's migration threshold: 1 makes only mandatory moves
 * (drain, requested; its tolerance 0.20 is only reported), 2–5 balance until the
 * metric is within a tolerance (0.20, 0.10, 0.05, 0.02) while a move lowers the
 * sum over hosts of squared deviations from the mean load (n × metric²) by at
 * least (0.02, 0.005, 0.002, 0.0005): moving a VM of 3% of a host across a load
 * gap of 10% gains about 0.006. Only moves from a host above the mean to one
 * below it are balancing moves. Moves are chosen one at a time, each feasible in the state the ones
 * before it leave (so the sequence alone is always a valid order); then a VM's
 * A→B→A is dropped and A→B→C collapsed to A→C when the result still has a
 * feasible order; then the sequence is packed into steps.
 *
 * Constraints (struct plan_constraints, VM indices): affinity groups move as one
 * unit (all members to one host in one step); anti-affinity: a move never puts
 * two members of a group on one host, not even for one step; pins (a pinned VM
 * only moves to its pin); excludes (host never a target for that VM, or for
 * every VM when vm = SIZE_MAX); cpu_compat(ctx, vm.evc_key, NULL, host) == 0
 * forbids a target (the caller plugs libvirt's CPU comparison in there). */

/* One VM of the live inventory, reduced to what a move needs. */
struct plan_rb_vm {
    const char *name;    /* borrowed; used in reasons */
    size_t host;         /* index of the host it is on now */
    double d[PLAN_NDIM]; /* vCPUs, MiB, GiB */
    const char *evc_key; /* key handed to cons->cpu_compat (e.g. the VM's UUID), or NULL */
    bool active;         /* running or paused: holds CPU and memory, can move live */
    const char *stuck;   /* not NULL: cannot be migrated, and why (borrowed) */
};

enum plan_rb_goal {
    PLAN_RB_BALANCE = 0, /* balancing moves up to the threshold */
    PLAN_RB_DRAIN,       /* empty the hosts in `drain` (no balancing beyond that) */
};

/* A move the caller asks for ("VM 3 to host 1"), planned before the planner's own. */
struct plan_rb_want {
    size_t vm, to;
};

struct plan_rb_opts {
    enum plan_rb_goal goal;
    const size_t *drain; /* hosts to empty (DRAIN); never targets, out of the metric */
    size_t ndrain;
    int threshold;                /* 1..5; 0 = 3 */
    struct plan_place_opts place; /* overcommit and headroom; the rest is unused */
    int per_host;                 /* migrations of one step touching one host; 0 = 2 */
    int max_parallel;             /* migrations of one step; 0 = 6 */
    size_t max_moves;             /* balancing moves at most; 0 = 4 × VMs */
    bool double_book_cpu;         /* vCPUs also count on the target while migrating */
    const struct plan_rb_want *wants;
    size_t nwants;
};

struct plan_rb_move {
    size_t vm, from, to;
    int step;        /* 0-based: the moves of one step run at once */
    const char *why; /* "drain" "balance" "make-room" "requested" (static) */
};

typedef struct plan_rebalance {
    size_t nvms, nhosts;
    struct plan_rb_move *moves; /* ordered by step */
    size_t nmoves;
    int nsteps;
    int *host_after;             /* per VM: its host once every move is done */
    struct plan_unplaced *stuck; /* VMs that had to move (drain, requested) and cannot */
    size_t nstuck;
    double *load_before, *load_after; /* nhosts × PLAN_NDIM: used / effective capacity */
    double sd_before[PLAN_NDIM], sd_after[PLAN_NDIM];
    double imbalance_before, imbalance_after;
    double tolerance; /* the threshold's target for the metric */
    int threshold;
    size_t hosts_counted; /* hosts in the metric (not drained, not excluded) */
    size_t hosts_freed;   /* hosts that held VMs before and hold none after */
    size_t removed;       /* migrations saved by collapsing A→B→A and A→B→C */
    size_t staged;        /* VMs that keep a hop because the direct move had no order */
    double memory_moved_mib;
    bool balanced;  /* imbalance_after <= tolerance */
    bool truncated; /* the search budget ran out: balancing stopped early */
    struct arena *arena;
} plan_rebalance;

/* Plans the moves. Arrays are borrowed (only during the call). Returns a result
 * (caller frees with plan_rebalance_free) or NULL with ERR_INVALID (an index out of
 * range, a bad option or figure) / ERR_TOO_LARGE / ERR_INTERNAL (out of memory).
 * Deterministic: the same input gives the same plan. Single-threaded. */
plan_rebalance *plan_rebalance_run(const struct plan_rb_vm *vms, size_t nvms,
                                   const struct plan_host *hosts, size_t nhosts,
                                   const struct plan_constraints *cons,
                                   const struct plan_rb_opts *opts, err *e);
void plan_rebalance_free(plan_rebalance *r);

/* The tolerance of a threshold (1..5; 0 = 3): 0.20, 0.20, 0.10, 0.05, 0.02. */
double plan_rb_tolerance(int threshold);

/* rebalance_export.c. `vms` and `hosts` are the arrays the plan was made from.
 * JSON: a new reference (NULL when out of memory). CSV (one row per migration):
 * malloc'd text, caller frees. xlsx (sheets Summary, Moves, Hosts, Stuck):
 * malloc'd bytes, caller frees; NULL + err on failure. */
struct json_t *plan_rebalance_json(const plan_rebalance *r, const struct plan_rb_vm *vms,
                                   const struct plan_host *hosts);
char *plan_rebalance_csv(const plan_rebalance *r, const struct plan_rb_vm *vms,
                         const struct plan_host *hosts, size_t *len, err *e);
unsigned char *plan_rebalance_xlsx_mem(const plan_rebalance *r, const struct plan_rb_vm *vms,
                                       const struct plan_host *hosts, size_t *len, err *e);

/* ---------------------------------------------------------------- CLI */

/* `virtportal plan …`: see usage in cli.c. Returns the process exit code. */
int plan_cli_main(int argc, char **argv);

#endif
