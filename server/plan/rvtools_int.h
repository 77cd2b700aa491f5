/* RVTools mapper internals shared by rvtools.c (the engine), rvtools_sheets.c (one
 * table and one row handler per sheet) and xlsx.c. */
#ifndef VP_PLAN_RVTOOLS_INT_H
#define VP_PLAN_RVTOOLS_INT_H

#include "plan_int.h"

enum { RV_MAX_FIELDS = 48 };

/* Sheet order is the order rows are applied in: vInfo creates the VMs, vHost before
 * the checks that need hosts. */
enum {
    RV_SHEET_VINFO,
    RV_SHEET_VHOST,
    RV_SHEET_VCLUSTER,
    RV_SHEET_VCPU,
    RV_SHEET_VMEMORY,
    RV_SHEET_VDISK,
    RV_SHEET_VNETWORK,
    RV_SHEET_VPARTITION,
    RV_SHEET_VSNAPSHOT,
    RV_NSHEETS
};

struct rv_alias {
    const char *header; /* normalised: "memory mib" */
    int field;
    double scale; /* multiply values by this (KiB columns → 1/1024) */
};

struct rv_reader;
struct rv_sheet_def {
    const char *name;
    const struct rv_alias *aliases;
    size_t naliases;
    int nfields;
    int key_field; /* the column a row cannot do without, -1 none */
    void (*begin)(struct rv_reader *r);
    int (*apply)(struct rv_reader *r, const char *const *vals, size_t row);
};
extern const struct rv_sheet_def rv_sheets[RV_NSHEETS];

struct rv_vinfo_note {
    int cpus, disks, nics; /* -1 unknown */
    double mem, capacity;
    bool has_capacity;
    const char *os_cfg, *os_tools;
    const char *nets[8];
};

/* A header as the alias tables spell it ("Memory (MB)" → "memory mib") into out[n]. */
void rv_header_normalise(const char *h, size_t len, char *out, size_t n);
/* Is column `col` of the current sheet mapped (or still the header row)? */
bool rv_col_wanted(const struct rv_reader *r, size_t col);
/* The inventory being filled (borrowed). */
plan_inventory *rv_inv(struct rv_reader *r);
/* Unit factor of the current sheet's column for `field` (1 unless KiB → MiB). */
double rv_scale(const struct rv_reader *r, int field);
/* Was sheet RV_SHEET_* seen in this read? */
bool rv_has_sheet(const struct rv_reader *r, int sheet);
/* The VM a secondary sheet's row is about (UUID, then VM ID, then name); *vm is NULL
 * when the row is skipped (reported). With no vInfo sheet the VM is created. 0 / -1 OOM. */
int rv_lookup(struct rv_reader *r, const char *name, const char *id, const char *uuid, size_t row,
              struct plan_vm **vm);
/* Adds and indexes a VM (strings copied). 0 / -1 OOM. */
int rv_new_vm(struct rv_reader *r, const char *name, const char *id, const char *uuid,
              struct plan_vm **out);
/* A vInfo row naming a VM already read, with no ID telling them apart? */
bool rv_is_duplicate(struct rv_reader *r, const char *name, const char *id, const char *uuid);
/* What each sheet said, kept for the cross-checks of rv_reader_finish. */
void rv_note_vinfo(struct rv_reader *r, struct plan_vm *vm, const struct rv_vinfo_note *n);
void rv_note_cpus(struct rv_reader *r, struct plan_vm *vm, int cpus);
void rv_note_mem(struct rv_reader *r, struct plan_vm *vm, double mib);
void rv_note_row(struct rv_reader *r, struct plan_vm *vm, bool disk);
/* Reports the first disagreement of a secondary sheet's host / power state with vInfo. */
void rv_check_host_power(struct rv_reader *r, struct plan_vm *vm, const char *host,
                         const char *power);
/* Source hosts by name (vHost). The host's name must outlive the reader. */
int rv_add_host_index(struct rv_reader *r, const struct plan_src_host *h, size_t idx);
const struct plan_src_host *rv_find_host(const struct rv_reader *r, const char *name);
/* "poweredOn" → PLAN_POWER_ON …, and back (static strings). */
enum plan_power rv_power(const char *s);
const char *rv_power_name(enum plan_power p);

#endif
