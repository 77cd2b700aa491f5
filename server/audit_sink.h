/* audit_sink: the audit trail's background work, on one thread of its own.
 *
 * - Checkpoints: every audit.checkpoint_every events or audit.checkpoint_minutes
 *   (when the head moved), at start (when the head moved since the last one)
 *   and at a clean stop, the chain head is signed into the database
 *   (db_audit_checkpoint) and then appended to the external checkpoint file
 *   (audit.checkpoint_file, fsynced) and, when forwarding is on, to syslog.
 * - Retention: at start and daily, rows older than audit.retention_days are
 *   pruned in batches, each leaving a signed prune anchor (also written to the
 *   file) and an "audit.prune" audit row.
 * - Forwarding (audit.syslog = "unix:PATH" | "udp:HOST:PORT"): every committed
 *   event is sent as RFC 5424 with structured data. The database is the
 *   durable queue: the forwarder reads committed rows after its cursor in
 *   batches of at most 200 (its bounded in-memory queue), retries a failed
 *   send with backoff, and skips ahead (counting "dropped") only when it lags
 *   more than audit.syslog_queue events behind. Its cursor is kept in
 *   <data_dir>/audit-forward.state across restarts. A failure never touches
 *   the stored event; it shows in app->audit (/readyz, /metrics). */
#ifndef VP_AUDIT_SINK_H
#define VP_AUDIT_SINK_H

#include "app.h"
#include "err.h"

struct audit_sink;

/* Starts the thread for `app` (borrowed: its db must stay open until
 * audit_sink_stop). NULL with `e` when audit.syslog is malformed or the
 * thread cannot start. */
struct audit_sink *audit_sink_start(struct vp_app *app, err *e);

/* Stops the thread after a last checkpoint of the head and frees `s`.
 * Call before the database is closed. NULL is fine. */
void audit_sink_stop(struct audit_sink *s);

#endif
