/* quota_history: the measured runtime usage of a tenant over time, per host
 * and per time bucket, derived in SQL from the cumulative counters of
 * quota_usage_sample (db/quota_history.c). The samples are written by the
 * sampler through db_quota_sample_record (quota.h); this file only reads.
 *
 * Buckets are aligned to multiples of step_s seconds since the epoch (so a
 * chart does not shift between two reloads); the first one may start before
 * `since`, but only samples taken at or after `since` are counted. A rate is
 * the bucket's time-weighted mean: the sum of the counter's increases between
 * consecutive samples of a host that end in the bucket, divided by the sum of
 * their durations. A counter that went down (reset: host or partition
 * recreated) or a change of enforcement mode between two samples skips that
 * interval for that counter. The output is bounded by the sample retention
 * (the sampler keeps a fixed number of samples per tenant and host) and by
 * the caller's bucket count. */
#ifndef VP_DB_QUOTA_HISTORY_H
#define VP_DB_QUOTA_HISTORY_H

#include <stdint.h>

#include "db.h"

/* One host's usage in one bucket. A double is NAN when the bucket holds no
 * usable interval for it (a single sample, a reset). */
struct quota_history_point {
    int64_t host_id;          /* 0 = the portal's own host (not in the host table) */
    const char *host_name;    /* borrowed for the callback; "" for host 0 or a deleted host */
    int64_t t;                /* bucket start, seconds since the epoch */
    int64_t samples;          /* samples taken in the bucket */
    double cpu_cores;         /* CPU time used per second of wall time */
    double cpu_throttled_pct; /* throttled / (used + throttled) CPU time, 0..100 */
    double io_read_bps, io_write_bps, io_read_iops, io_write_iops;
    int64_t memory_bytes; /* the largest sample in the bucket */
    int64_t pids;         /* the largest sample in the bucket */
    int64_t oom_kills;    /* OOM kills that happened in the bucket */
};

/* Called for each point, ordered by host id then time; return 0, or -1 with
 * e filled to stop. */
typedef int (*db_quota_history_fn)(void *arg, const struct quota_history_point *p, err *e);

/* The usage history of tenant_id since `since_rfc3339` (borrowed, RFC 3339)
 * in buckets of step_s (>= 1) seconds, on a reader. ERR_INVALID for a
 * malformed `since` or step. Does not check that the tenant exists (no
 * samples: no points). */
int db_quota_history(db *d, int64_t tenant_id, const char *since_rfc3339, int step_s,
                     db_quota_history_fn fn, void *arg, err *e);

#endif
