/* webhook: the delivery worker of outgoing webhooks (issue 7), on a thread
 * of its own, so no request ever waits on a receiver.
 *
 * The outbox is the webhook_delivery table, filled by the stores in the same
 * transaction as the event (db/notify.h). Every webhooks.poll_ms the worker
 * takes the due deliveries and POSTs each payload, exactly as stored, to its
 * webhook's URL with libcurl:
 *
 *   Content-Type: application/json
 *   X-VP-Event: quota_request.approved
 *   X-VP-Delivery: <delivery id>          (the same on every retry: dedupe on it)
 *   X-VP-Timestamp: <unix seconds of this attempt>
 *   X-VP-Signature: sha256=<hex HMAC-SHA256 of the raw body, keyed by the secret>
 *
 * A 2xx answer delivers it; anything else (another status, no answer within
 * webhooks.timeout_ms, a refused connection) is retried after
 * webhooks.retry_base_ms * 2^(attempts-1) (at most one hour) until
 * webhooks.max_attempts, then the delivery is "failed". Every attempt goes to
 * the delivery log. Redirects are not followed, proxies from the environment
 * are ignored, only http and https are spoken, and unless
 * webhooks.allow_private=1 the address actually connected to (after DNS) must
 * not be loopback, private or link-local. */
#ifndef VP_WEBHOOK_H
#define VP_WEBHOOK_H

#include <stddef.h>
#include <stdint.h>

#include "app.h"
#include "err.h"

struct webhook_worker;

/* Starts the thread. `app` is borrowed and must outlive the worker. NULL
 * with `e` when the thread or libcurl cannot start. */
struct webhook_worker *webhook_start(struct vp_app *app, err *e);

/* Stops the thread (an attempt in progress is aborted and stays pending)
 * and frees `w`. NULL is fine. Call before the database is closed. */
void webhook_stop(struct webhook_worker *w);

/* "sha256=" + the hex HMAC-SHA256 of body[len] keyed by `secret` (all
 * borrowed) into out (>= 72 bytes). */
void webhook_sign(const char *secret, const void *body, size_t len, char out[72]);

/* The delay before the next attempt after `attempts` (>= 1) failed ones:
 * base_ms * 2^(attempts-1), at most one hour. */
int64_t webhook_backoff_ms(int base_ms, int attempts);

#endif
