-- 0002: the quota model of issue 6.
--
-- 1. quota: allocation limits (admission: vms, vcpus, memory_mib, disk_gib) and
--    runtime limits (cgroup v2 per tenant partition: cpu_millicores -> cpu.max,
--    memory_max_mib -> memory.max, io_* -> io.max, io_weight -> io.weight,
--    pids_max -> pids.max). The API's `cpu_cores` is stored in thousandths
--    (cpu_millicores) so the column stays an integer. A missing row means
--    unlimited. The 0001 CHECK allowed only 4 names: the table is rebuilt with
--    the longer list, keeping its rows.
-- 2. quota_reservation: admission reserves (reserve -> apply -> commit); a row
--    outlives a crash so startup reconciliation can release stale ones.
-- 3. quota_usage_sample: measured runtime usage per tenant and host, a bounded
--    history written by the sampler.

CREATE TABLE quota_new (
    tenant_id    INTEGER NOT NULL REFERENCES tenant(id) ON DELETE CASCADE,
    resource     TEXT NOT NULL CHECK (resource IN (
                     'vms', 'vcpus', 'memory_mib', 'disk_gib',
                     'cpu_millicores', 'memory_max_mib', 'io_read_bps', 'io_write_bps',
                     'io_read_iops', 'io_write_iops', 'io_weight', 'pids_max')),
    limit_value  INTEGER NOT NULL CHECK (limit_value >= 0),
    updated_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (tenant_id, resource)
) WITHOUT ROWID;
INSERT INTO quota_new (tenant_id, resource, limit_value)
    SELECT tenant_id, resource, limit_value FROM quota;
DROP TABLE quota;
ALTER TABLE quota_new RENAME TO quota;

-- Deltas are what the pending change adds (negative: gives back; only the
-- positive part is held against the limits while pending).
CREATE TABLE quota_reservation (
    id          INTEGER PRIMARY KEY,
    tenant_id   INTEGER NOT NULL REFERENCES tenant(id) ON DELETE CASCADE,
    vms         INTEGER NOT NULL DEFAULT 0,
    vcpus       INTEGER NOT NULL DEFAULT 0,
    memory_mib  INTEGER NOT NULL DEFAULT 0,
    disk_gib    INTEGER NOT NULL DEFAULT 0,
    purpose     TEXT NOT NULL DEFAULT '' CHECK (length(purpose) <= 200),
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX quota_reservation_tenant ON quota_reservation(tenant_id);
CREATE INDEX quota_reservation_created ON quota_reservation(created_at);

-- One measurement of a tenant's partition on one host. mode says how the
-- tenant's runtime limits are enforced there.
CREATE TABLE quota_usage_sample (
    id                  INTEGER PRIMARY KEY,
    tenant_id           INTEGER NOT NULL REFERENCES tenant(id) ON DELETE CASCADE,
    host_id             INTEGER REFERENCES host(id) ON DELETE CASCADE,
    mode                TEXT NOT NULL CHECK (mode IN ('cgroup', 'libvirt', 'none')),
    ts                  TEXT NOT NULL,
    cpu_usage_usec      INTEGER NOT NULL DEFAULT 0 CHECK (cpu_usage_usec >= 0),
    cpu_throttled_usec  INTEGER NOT NULL DEFAULT 0 CHECK (cpu_throttled_usec >= 0),
    memory_bytes        INTEGER NOT NULL DEFAULT 0 CHECK (memory_bytes >= 0),
    oom_kills           INTEGER NOT NULL DEFAULT 0 CHECK (oom_kills >= 0),
    io_read_bytes       INTEGER NOT NULL DEFAULT 0 CHECK (io_read_bytes >= 0),
    io_write_bytes      INTEGER NOT NULL DEFAULT 0 CHECK (io_write_bytes >= 0),
    io_read_ios         INTEGER NOT NULL DEFAULT 0 CHECK (io_read_ios >= 0),
    io_write_ios        INTEGER NOT NULL DEFAULT 0 CHECK (io_write_ios >= 0),
    pids                INTEGER NOT NULL DEFAULT 0 CHECK (pids >= 0)
);
CREATE INDEX quota_usage_sample_tenant ON quota_usage_sample(tenant_id, host_id, ts);
