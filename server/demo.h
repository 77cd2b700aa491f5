/* demo: what `virtportal demo` seeds into a fresh data dir. */
#ifndef VP_DEMO_H
#define VP_DEMO_H

#include "app.h"

struct demo_state {
    char admin_login[32];
    char admin_password[64]; /* "" when the admin existed already */
};

/* Creates the global admin (random password, returned once in st) when the
 * database has no users yet, and, while no host is registered, the demo
 * inventory (needs app->inventory; its failure is logged, not fatal).
 * Returns 0 or -1 with e. */
int demo_seed(struct vp_app *app, struct demo_state *st, err *e);

#endif
