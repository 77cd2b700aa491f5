-- 0006: self-service quota requests, grants that expire, notifications and
-- webhooks (issue 7; db/quota_request_store.c, db/notify_store.c).
--
-- 1. quota_request is rebuilt (0001 had no room for withdrawals, targets,
--    partial grants or the grant's bookkeeping; nothing wrote it yet, so its
--    rows are copied as they are). A request is also its grant: an approved
--    request holds what was granted and what was actually added to each limit
--    (`applied`, stored units), so the grant can be reverted exactly when it
--    ends, even after restarts. Amounts are stored units (cpu_cores in
--    thousandths, like quota.limit_value).
-- 2. notification (0001) is used as is, one row per recipient (user_id set):
--    each user has their own read state.
-- 3. webhook + webhook_delivery (the outbox, filled in the same transaction as
--    the event) + webhook_attempt (the delivery log).

CREATE TABLE quota_request_new (
    id                 INTEGER PRIMARY KEY,
    tenant_id          INTEGER NOT NULL REFERENCES tenant(id) ON DELETE CASCADE,
    deltas             TEXT NOT NULL CHECK (json_valid(deltas)),   -- requested {"vcpus": 8}
    targets            TEXT CHECK (targets IS NULL OR json_valid(targets)), -- as asked, if so
    justification      TEXT NOT NULL DEFAULT '' CHECK (length(justification) <= 2000),
    ends_at            TEXT,                                       -- asked end; NULL = for good
    state              TEXT NOT NULL DEFAULT 'pending'
                       CHECK (state IN ('pending', 'approved', 'denied', 'withdrawn', 'expired')),
    requested_by       INTEGER REFERENCES user(id) ON DELETE SET NULL,
    requested_login    TEXT NOT NULL DEFAULT '',
    decided_by         INTEGER REFERENCES user(id) ON DELETE SET NULL,
    decided_login      TEXT,                                       -- a login, or "policy"
    reason             TEXT,                                       -- approval comment / denial
    granted            TEXT CHECK (granted IS NULL OR json_valid(granted)),
    applied            TEXT CHECK (applied IS NULL OR json_valid(applied)),
    grant_expires_at   TEXT,                                       -- NULL = permanent grant
    reverted           TEXT CHECK (reverted IS NULL OR json_valid(reverted)),
    reverted_at        TEXT,
    decision_context   TEXT CHECK (decision_context IS NULL OR json_valid(decision_context)),
    created_at         TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    decided_at         TEXT,
    CHECK ((state = 'pending') = (decided_at IS NULL))  -- decided_at: also when withdrawn
);
INSERT INTO quota_request_new (id, tenant_id, deltas, justification, state, requested_by,
                               decided_by, reason, grant_expires_at, created_at, decided_at)
    SELECT id, tenant_id, deltas, substr(justification, 1, 2000), state, requested_by,
           decided_by, reason, grant_expires_at, created_at,
           CASE WHEN state = 'pending' THEN NULL ELSE ifnull(decided_at, created_at) END
    FROM quota_request;
DROP TABLE quota_request;
ALTER TABLE quota_request_new RENAME TO quota_request;
CREATE INDEX quota_request_tenant_state ON quota_request(tenant_id, state);
CREATE INDEX quota_request_state ON quota_request(state, id);
-- the expiry job's question: which active grants have ended?
CREATE INDEX quota_request_grant_due ON quota_request(grant_expires_at)
    WHERE state = 'approved' AND grant_expires_at IS NOT NULL;

CREATE INDEX notification_user_unread ON notification(user_id, read_at);

-- The signing secret must be readable to sign (HMAC): it is stored, shown
-- once at creation and never returned by the API again.
CREATE TABLE webhook (
    id          INTEGER PRIMARY KEY,
    url         TEXT NOT NULL CHECK (length(url) BETWEEN 1 AND 2000),
    events      TEXT NOT NULL CHECK (json_valid(events)),  -- ["quota_request.created", ...]
    tenant_id   INTEGER REFERENCES tenant(id) ON DELETE CASCADE,  -- NULL: every tenant
    description TEXT NOT NULL DEFAULT '' CHECK (length(description) <= 200),
    secret      TEXT NOT NULL,
    active      INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_by  INTEGER REFERENCES user(id) ON DELETE SET NULL,
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at  TEXT
);

-- One event for one webhook. `payload` is the exact body sent (and signed).
CREATE TABLE webhook_delivery (
    id               INTEGER PRIMARY KEY,
    webhook_id       INTEGER NOT NULL REFERENCES webhook(id) ON DELETE CASCADE,
    event            TEXT NOT NULL,
    payload          TEXT NOT NULL CHECK (json_valid(payload)),
    state            TEXT NOT NULL DEFAULT 'pending'
                     CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at  TEXT NOT NULL,
    last_status      INTEGER,            -- HTTP status of the last attempt, NULL: no response
    last_error       TEXT,               -- client-safe sentence
    created_at       TEXT NOT NULL,
    finished_at      TEXT
);
CREATE INDEX webhook_delivery_due ON webhook_delivery(next_attempt_at) WHERE state = 'pending';
CREATE INDEX webhook_delivery_hook ON webhook_delivery(webhook_id, id);

CREATE TABLE webhook_attempt (
    id           INTEGER PRIMARY KEY,
    delivery_id  INTEGER NOT NULL REFERENCES webhook_delivery(id) ON DELETE CASCADE,
    at           TEXT NOT NULL,
    status       INTEGER,                -- NULL: no HTTP response
    error        TEXT,
    duration_ms  INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX webhook_attempt_delivery ON webhook_attempt(delivery_id, id);
