-- 0007: runtime enforcement of tenant quotas (issue 6; server/quota/runtime.c,
-- db/quota_runtime_store.c). Bookkeeping written by the quota runtime thread
-- (no audit rows: nobody's action, like quota_usage_sample).
--
-- quota_host_mode: how runtime limits can be enforced on each host, as last
-- checked: 'cgroup' (the portal's own cgroup v2 tree: a tenant partition per
-- host), 'libvirt' (per-VM libvirt tunables), 'none' (with the reason).
CREATE TABLE quota_host_mode (
    host_id     INTEGER PRIMARY KEY REFERENCES host(id) ON DELETE CASCADE,
    mode        TEXT NOT NULL CHECK (mode IN ('cgroup', 'libvirt', 'none')),
    detail      TEXT NOT NULL DEFAULT '' CHECK (length(detail) <= 500),
    checked_at  TEXT NOT NULL
);

-- quota_enforcement: what was last applied for a tenant on a host: the
-- tenant's budget there (API units, JSON object of the set runtime limits),
-- when it was last applied successfully (NULL: never), and the error of the
-- last attempt ('' when it worked). A row exists while the tenant has VMs on
-- the host and a runtime limit (or had one: an unlimited budget resets).
CREATE TABLE quota_enforcement (
    tenant_id    INTEGER NOT NULL REFERENCES tenant(id) ON DELETE CASCADE,
    host_id      INTEGER NOT NULL REFERENCES host(id) ON DELETE CASCADE,
    mode         TEXT NOT NULL CHECK (mode IN ('cgroup', 'libvirt', 'none')),
    detail       TEXT NOT NULL DEFAULT '' CHECK (length(detail) <= 500),
    budget_json  TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(budget_json)),
    applied_at   TEXT,
    error        TEXT NOT NULL DEFAULT '' CHECK (length(error) <= 500),
    updated_at   TEXT NOT NULL,
    PRIMARY KEY (tenant_id, host_id)
) WITHOUT ROWID;
CREATE INDEX quota_enforcement_host ON quota_enforcement(host_id);
