/* serve: the portal's lifecycle — prepare the data dir, secrets, certificate
 * and database, start HTTPS, wait for signals, shut down gracefully. */
#ifndef VP_SERVE_H
#define VP_SERVE_H

#include "app.h"

/* Called once the database is open and before HTTPS starts (the demo seeds
 * its admin and inventory here). Returns 0 or -1 with e. */
typedef int (*serve_hook)(struct vp_app *app, void *arg, err *e);

/* Opens everything for app->cfg (already finished), runs `before_listen`
 * (may be NULL), serves until SIGTERM/SIGINT, reloads TLS on SIGHUP, and
 * `on_listening(port)` once bound. Returns the process exit code. */
int serve_run(struct vp_app *app, serve_hook before_listen, void *arg,
              void (*on_listening)(struct vp_app *app, int port, void *arg));

/* Opens the data dir, secrets and database only (CLI subcommands). */
int serve_open_state(struct vp_app *app, err *e);
void serve_close_state(struct vp_app *app);

#endif
