-- 0001: the data model of DESIGN.md. Timestamps are RFC 3339 UTC text with
-- milliseconds ("2024-05-01T12:00:00.123Z"), so they sort as text.
-- Enums are CHECKed here as well as validated in code: a bug in one layer
-- cannot store a state the other does not know.

---------------------------------------------------------------- identity

CREATE TABLE tenant (
    id          INTEGER PRIMARY KEY,
    slug        TEXT NOT NULL UNIQUE CHECK (length(slug) BETWEEN 1 AND 63),
    name        TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

-- Logins compare case-insensitively: "Admin" must not be a second "admin".
-- tenant_id NULL: a global user. A tenant with users cannot be deleted.
CREATE TABLE user (
    id             INTEGER PRIMARY KEY,
    login          TEXT NOT NULL UNIQUE COLLATE NOCASE CHECK (length(login) BETWEEN 1 AND 64),
    password_hash  TEXT NOT NULL,
    tenant_id      INTEGER REFERENCES tenant(id) ON DELETE RESTRICT,
    disabled       INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    totp_secret    TEXT,
    created_at     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX user_tenant ON user(tenant_id);

-- Built-in roles (auth/roles.c) are synced at start and marked builtin = 1.
CREATE TABLE role (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 64),
    description  TEXT NOT NULL DEFAULT '',
    builtin      INTEGER NOT NULL DEFAULT 0 CHECK (builtin IN (0, 1)),
    created_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

-- Permission names are the closed list of auth/perms.h; the code checks them.
CREATE TABLE role_permission (
    role_id     INTEGER NOT NULL REFERENCES role(id) ON DELETE CASCADE,
    permission  TEXT NOT NULL CHECK (permission GLOB '[a-z]*.[a-z]*'),
    PRIMARY KEY (role_id, permission)
) WITHOUT ROWID;

CREATE TABLE api_token (
    id            INTEGER PRIMARY KEY,
    user_id       INTEGER NOT NULL REFERENCES user(id) ON DELETE CASCADE,
    name          TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    prefix        TEXT NOT NULL UNIQUE,  -- public lookup id shown in the token
    hash          TEXT NOT NULL,         -- of the secret part; the secret is never stored
    narrowed      INTEGER NOT NULL DEFAULT 0 CHECK (narrowed IN (0, 1)), -- has its own bindings
    expires_at    TEXT,
    revoked_at    TEXT,
    last_used_at  TEXT,
    created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    UNIQUE (user_id, name)
);

-- A role given to a user or to a token (a token is never more powerful than
-- its owner: auth intersects), globally or within one tenant.
CREATE TABLE role_binding (
    id            INTEGER PRIMARY KEY,
    subject_kind  TEXT NOT NULL CHECK (subject_kind IN ('user', 'token')),
    subject_id    INTEGER NOT NULL,
    role_id       INTEGER NOT NULL REFERENCES role(id) ON DELETE RESTRICT,
    scope         TEXT NOT NULL CHECK (scope IN ('global', 'tenant')),
    tenant_id     INTEGER REFERENCES tenant(id) ON DELETE CASCADE,
    created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    CHECK ((scope = 'global' AND tenant_id IS NULL) OR (scope = 'tenant' AND tenant_id IS NOT NULL))
);
-- NULLs are distinct in UNIQUE: fold the global scope to 0 so it is unique too.
CREATE UNIQUE INDEX role_binding_unique
    ON role_binding(subject_kind, subject_id, role_id, ifnull(tenant_id, 0));
CREATE INDEX role_binding_role ON role_binding(role_id);
CREATE INDEX role_binding_tenant ON role_binding(tenant_id);

-- subject_id points at user or api_token depending on subject_kind, which a
-- foreign key cannot say: these triggers keep bindings from outliving subjects.
CREATE TRIGGER user_delete_bindings AFTER DELETE ON user BEGIN
    DELETE FROM role_binding WHERE subject_kind = 'user' AND subject_id = OLD.id;
END;
CREATE TRIGGER api_token_delete_bindings AFTER DELETE ON api_token BEGIN
    DELETE FROM role_binding WHERE subject_kind = 'token' AND subject_id = OLD.id;
END;
CREATE TRIGGER role_binding_subject_exists BEFORE INSERT ON role_binding
WHEN (NEW.subject_kind = 'user' AND NOT EXISTS (SELECT 1 FROM user WHERE id = NEW.subject_id))
  OR (NEW.subject_kind = 'token' AND NOT EXISTS (SELECT 1 FROM api_token WHERE id = NEW.subject_id))
BEGIN
    SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed');
END;

-- Refresh tokens rotate within a family: reusing a used one revokes the family.
CREATE TABLE refresh_token (
    id          INTEGER PRIMARY KEY,
    family      TEXT NOT NULL,
    hash        TEXT NOT NULL UNIQUE,
    user_id     INTEGER NOT NULL REFERENCES user(id) ON DELETE CASCADE,
    expires_at  TEXT NOT NULL,
    used_at     TEXT,
    revoked_at  TEXT,
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX refresh_token_family ON refresh_token(family);
CREATE INDEX refresh_token_user ON refresh_token(user_id);

---------------------------------------------------------------- inventory
-- A cache of libvirt, kept current by events and reconcile.

CREATE TABLE host (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    uri         TEXT NOT NULL UNIQUE,
    state       TEXT NOT NULL DEFAULT 'unknown'
                CHECK (state IN ('unknown', 'connected', 'disconnected', 'maintenance')),
    cpu_model   TEXT,
    cores       INTEGER CHECK (cores IS NULL OR cores >= 0),
    memory_mib  INTEGER CHECK (memory_mib IS NULL OR memory_mib >= 0),
    last_seen   TEXT,
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

-- libvirt's domain states. tenant_id NULL: not assigned to a tenant.
CREATE TABLE vm (
    id          INTEGER PRIMARY KEY,
    uuid        TEXT NOT NULL UNIQUE,
    host_id     INTEGER NOT NULL REFERENCES host(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    tenant_id   INTEGER REFERENCES tenant(id) ON DELETE RESTRICT,
    state       TEXT NOT NULL DEFAULT 'unknown'
                CHECK (state IN ('unknown', 'running', 'blocked', 'paused', 'shutdown',
                                 'shutoff', 'crashed', 'pmsuspended')),
    vcpus       INTEGER NOT NULL DEFAULT 0 CHECK (vcpus >= 0),
    memory_mib  INTEGER NOT NULL DEFAULT 0 CHECK (memory_mib >= 0),
    disk_gib    INTEGER NOT NULL DEFAULT 0 CHECK (disk_gib >= 0),
    updated_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    UNIQUE (host_id, name)
);
CREATE INDEX vm_tenant ON vm(tenant_id);

---------------------------------------------------------------- quotas

CREATE TABLE quota (
    tenant_id    INTEGER NOT NULL REFERENCES tenant(id) ON DELETE CASCADE,
    resource     TEXT NOT NULL CHECK (resource IN ('vms', 'vcpus', 'memory_mib', 'disk_gib')),
    limit_value  INTEGER NOT NULL CHECK (limit_value >= 0),
    PRIMARY KEY (tenant_id, resource)
) WITHOUT ROWID;

CREATE TABLE quota_request (
    id                INTEGER PRIMARY KEY,
    tenant_id         INTEGER NOT NULL REFERENCES tenant(id) ON DELETE CASCADE,
    deltas            TEXT NOT NULL CHECK (json_valid(deltas)),  -- {"vcpus": 8, ...}
    justification     TEXT NOT NULL DEFAULT '',
    state             TEXT NOT NULL DEFAULT 'pending'
                      CHECK (state IN ('pending', 'approved', 'denied', 'expired')),
    requested_by      INTEGER REFERENCES user(id) ON DELETE SET NULL,
    decided_by        INTEGER REFERENCES user(id) ON DELETE SET NULL,
    reason            TEXT,
    grant_expires_at  TEXT,
    created_at        TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    decided_at        TEXT
);
CREATE INDEX quota_request_tenant_state ON quota_request(tenant_id, state);

---------------------------------------------------------------- tasks, plans

CREATE TABLE task (
    id           INTEGER PRIMARY KEY,
    kind         TEXT NOT NULL,  -- "vm.start", "vm.migrate", ...
    target       TEXT,
    tenant_id    INTEGER REFERENCES tenant(id) ON DELETE SET NULL,
    state        TEXT NOT NULL DEFAULT 'queued'
                 CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    progress     INTEGER NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
    error        TEXT,
    created_by   INTEGER REFERENCES user(id) ON DELETE SET NULL,
    created_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    started_at   TEXT,
    finished_at  TEXT
);
CREATE INDEX task_state ON task(state);
CREATE INDEX task_tenant ON task(tenant_id);

CREATE TABLE plan (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('vmware-import', 'rebalance', 'drain')),
    input       TEXT NOT NULL CHECK (json_valid(input)),
    result      TEXT CHECK (result IS NULL OR json_valid(result)),
    state       TEXT NOT NULL DEFAULT 'draft'
                CHECK (state IN ('draft', 'ready', 'executing', 'done', 'failed')),
    created_by  INTEGER REFERENCES user(id) ON DELETE SET NULL,
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

---------------------------------------------------------------- audit
-- Appended only by the writer (db/audit_chain.c). No foreign keys on purpose:
-- rows outlive the users, tokens and tenants they name. hash is the hex
-- HMAC-SHA256 over the row's fields and prev_hash (see audit_chain.c).

CREATE TABLE audit (
    seq         INTEGER PRIMARY KEY,
    ts          TEXT NOT NULL,
    actor       TEXT,
    user_id     INTEGER,
    token_id    TEXT,
    tenant_id   INTEGER,
    source_ip   TEXT,
    user_agent  TEXT,
    request_id  TEXT,
    action      TEXT NOT NULL,
    target      TEXT,
    outcome     TEXT NOT NULL CHECK (outcome IN ('ok', 'denied', 'failed')),
    details     TEXT,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL
);
CREATE INDEX audit_ts ON audit(ts);
CREATE INDEX audit_actor ON audit(actor);
CREATE INDEX audit_tenant ON audit(tenant_id);
CREATE INDEX audit_request ON audit(request_id);

-- Rows are never changed. (Not a defence against someone with the file, which
-- is what the HMAC chain is for: against our own bugs.) Retention deletes a
-- prefix and keeps a checkpoint of it.
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN
    SELECT RAISE(ABORT, 'audit rows are append-only');
END;

-- Signed chain heads: a tail truncated after a checkpoint is detected.
-- signature = hex HMAC-SHA256 over (seq, hash, ts) with the audit key.
CREATE TABLE audit_checkpoint (
    id         INTEGER PRIMARY KEY,
    seq        INTEGER NOT NULL,
    hash       TEXT NOT NULL,
    ts         TEXT NOT NULL,
    signature  TEXT NOT NULL
);
CREATE INDEX audit_checkpoint_seq ON audit_checkpoint(seq);

---------------------------------------------------------------- notifications

CREATE TABLE notification (
    id          INTEGER PRIMARY KEY,
    tenant_id   INTEGER REFERENCES tenant(id) ON DELETE CASCADE,  -- NULL: administrators
    user_id     INTEGER REFERENCES user(id) ON DELETE CASCADE,    -- NULL: everyone in scope
    kind        TEXT NOT NULL,  -- "quota_request.approved", "task.failed", ...
    body        TEXT NOT NULL CHECK (json_valid(body)),
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    read_at     TEXT
);
CREATE INDEX notification_tenant ON notification(tenant_id, created_at);
CREATE INDEX notification_user ON notification(user_id, created_at);
