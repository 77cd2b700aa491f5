/* expiry: the background job of issue 7 that reverts quota grants whose end
 * date has passed (db_quota_request_expire_due), on a thread of its own.
 *
 * It runs once synchronously in expiry_start (a grant that ended while the
 * portal was down is reverted before the server listens: grants are rows, so
 * this survives restarts), then every requests.expiry_interval_s seconds.
 * "Now" is the portal's clock (app_now: wall clock + the test-only offset),
 * so a test moves time instead of sleeping. After a revert that changed
 * runtime limits, app->quota_runtime_push (when set) re-applies the
 * tenant's budgets. Nothing is stopped when a tenant ends up over quota:
 * admission refuses what does not fit, and the store notifies both sides. */
#ifndef VP_EXPIRY_H
#define VP_EXPIRY_H

#include "app.h"
#include "err.h"

struct expiry_job;

/* Runs one pass, then starts the thread. `app` is borrowed and must outlive
 * the job (its db open until expiry_stop). NULL with `e` when the thread
 * cannot start (a failing first pass is logged, not fatal). */
struct expiry_job *expiry_start(struct vp_app *app, err *e);

/* Stops the thread (waits for a pass in progress) and frees `j`. NULL is
 * fine. Call before the database is closed. */
void expiry_stop(struct expiry_job *j);

/* One pass now, on the calling thread: reverts what is due at app_now.
 * *expired (may be NULL) counts the grants reverted. */
int expiry_run_once(struct vp_app *app, int *expired, err *e);

#endif
