/* sampler: measured runtime usage of every tenant's partition on this host,
 * from cgroup v2 files into quota_usage_sample (a bounded history per tenant
 * and host). The caller runs quota_sampler_run periodically (default every
 * 10 s) off the request threads; the usage API shows the newest sample. */
#ifndef VP_QUOTA_SAMPLER_H
#define VP_QUOTA_SAMPLER_H

#include <stdint.h>

#include "cgroup.h"
#include "db.h"
#include "quota.h"

enum { QUOTA_SAMPLE_INTERVAL_S = 10, QUOTA_SAMPLE_KEEP = 8640 /* 24 h at 10 s */ };

/* The usage of tenant (id, slug)'s partition as a sample of host_id
 * (0 = the portal's own host), mode "cgroup". ERR_NOT_FOUND when the tenant
 * has no partition here; ERR_UNAVAILABLE when the tree is not cgroup v2. */
int quota_sampler_read(const struct quota_cgroup_cfg *c, int64_t tenant_id, const char *slug,
                       int64_t host_id, struct quota_sample *out, err *e);

/* Samples every tenant that has a partition under `c` and records it, keeping
 * `keep` samples per tenant and host. *sampled (may be NULL) counts them.
 * ERR_UNAVAILABLE (before touching anything) when the root is not cgroup v2. */
int quota_sampler_run(db *d, const struct quota_cgroup_cfg *c, int64_t host_id, int keep,
                      int *sampled, err *e);

#endif
