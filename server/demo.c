#include "demo.h"

#include <stdio.h>

int
demo_seed(struct vp_app *app, struct demo_state *st, err *e)
{
    snprintf(st->admin_login, sizeof(st->admin_login), "admin");
    return 0;
}
