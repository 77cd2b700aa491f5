/* demo: seeds a fresh data dir so `virtportal demo` is useful at once — a
 * global admin with a random password (shown once). */
#include "demo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "identity.h"
#include "password.h"
#include "secret.h"

/* A random password that passes our own policy (base64url of 15 bytes). */
static int
random_password(char *out, size_t n, err *e)
{
    for (int tries = 0; tries < 20; tries++) {
        unsigned char rnd[15];
        if (auth_random_bytes(rnd, sizeof(rnd), e) < 0)
            return -1;
        char *b = auth_b64url_encode(rnd, sizeof(rnd));
        if (!b)
            return err_set(e, ERR_INTERNAL, "out of memory");
        snprintf(out, n, "%s", b);
        free(b);
        err pe = {0};
        if (auth_password_policy(out, "admin", &pe) == 0)
            return 0;
    }
    return err_set(e, ERR_INTERNAL, "could not generate a password");
}

static int
create_admin(struct vp_app *app, struct demo_state *st, err *e)
{
    if (random_password(st->admin_password, sizeof(st->admin_password), e) < 0)
        return -1;
    char *hash = NULL;
    if (auth_password_hash(st->admin_password, &hash, e) < 0)
        return -1;
    struct db_audit a = {.actor = "demo", .action = "user.create", .outcome = "ok"};
    int64_t id = 0;
    int rc = db_user_create(app->db, st->admin_login, hash, 0, &a, &id, e);
    free(hash);
    if (rc < 0)
        return -1;
    struct db_audit b = {.actor = "demo", .action = "role_binding.create", .outcome = "ok"};
    return db_binding_create_builtin(app->db, "user", id, "admin", 0, &b, NULL, e);
}

int
demo_seed(struct vp_app *app, struct demo_state *st, err *e)
{
    snprintf(st->admin_login, sizeof(st->admin_login), "admin");
    st->admin_password[0] = '\0';
    int64_t users = 0;
    if (db_user_count(app->db, &users, e) < 0)
        return -1;
    return users ? 0 : create_admin(app, st, e);
}
