-- 0004: indexes for the audit query API (GET /api/v1/audit and /export).
-- Each index ends in the rowid (seq), so "this action prefix / this target,
-- newest first" walks one index range in seq order with no sort. The other
-- filters have theirs already (ts, actor, tenant_id, request_id in 0001);
-- outcome and source_ip are too unselective to be worth the write cost.
CREATE INDEX audit_action ON audit(action);
CREATE INDEX audit_target ON audit(target);
