/* demo: seeds a fresh data dir so `virtportal demo` is useful at once — a
 * global admin with a random password (shown once), and a demo inventory
 * (hosts as libvirt test-driver files, VMs, three tenants owning some). */
#include "demo.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../db/inventory.h"
#include "db.h"
#include "identity.h"
#include "inventory.h"
#include "log.h"
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

/* ---- the demo inventory ---- */

/* The tenants the demo VMs' metadata names: ids 1, 2, 3 in a fresh data dir. */
static const char *const demo_tenants[][2] = {
    {"research", "Research"}, {"web-shop", "Web shop"}, {"ci", "CI"}};

static int
demo_tenants_ensure(struct vp_app *app, err *e)
{
    for (size_t i = 0; i < sizeof(demo_tenants) / sizeof(demo_tenants[0]); i++) {
        int64_t id = 0;
        err fe = {0};
        if (db_tenant_find_slug(app->db, demo_tenants[i][0], &id, &fe) < 0) {
            if (fe.kind != ERR_NOT_FOUND)
                return err_set(e, fe.kind, "%s", fe.detail);
            struct db_audit a = {.actor = "demo", .action = "tenant.create", .outcome = "ok"};
            if (db_tenant_create(app->db, demo_tenants[i][0], demo_tenants[i][1], &a, &id, e) < 0)
                return -1;
        }
        if (id != (int64_t)i + 1)
            log_msg(LOG_WARN,
                    "demo: tenant %s has id %lld; the demo VMs of tenant %zu belong to "
                    "whichever tenant has that id",
                    demo_tenants[i][0], (long long)id, i + 1);
    }
    return 0;
}

/* Writes the test-driver files (server/virt/demo.c: 4 hosts, ~100 VMs, pools,
 * networks) into <data_dir>/demo-hosts/ and registers them as hosts. */
static int
demo_hosts(struct vp_app *app, err *e)
{
    char dir[600];
    snprintf(dir, sizeof(dir), "%s/demo-hosts", app->cfg.data_dir);
    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        return err_set(e, ERR_UNAVAILABLE, "cannot create %s", dir);
    char **paths = NULL;
    size_t n = 0;
    if (virt_demo_write(dir, 1, &paths, &n, e) < 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const char *base = strrchr(paths[i], '/');
        char name[64], uri[PATH_MAX + 16];
        snprintf(name, sizeof(name), "%.*s", (int)strcspn(base + 1, "."), base + 1);
        snprintf(uri, sizeof(uri), "test://%s", paths[i]);
        struct db_audit a = {.actor = "demo", .action = "host.create", .outcome = "ok"};
        rc = inventory_host_create(app->inventory, name, uri, &a, NULL, e);
    }
    virt_demo_paths_free(paths, n);
    return rc;
}

/* The demo inventory, once: only while no host is registered, so that
 * running demo again on the same data dir adds nothing. The test driver
 * keeps its state in the process: changes made in the portal last until the
 * next start. */
static int
demo_inventory(struct vp_app *app, err *e)
{
    struct db_host_ref *refs = NULL;
    size_t n = 0;
    if (!app->inventory || db_host_refs(app->db, &refs, &n, e) < 0)
        return app->inventory ? -1 : 0;
    free(refs);
    if (n)
        return 0;
    return demo_tenants_ensure(app, e) < 0 ? -1 : demo_hosts(app, e);
}

int
demo_seed(struct vp_app *app, struct demo_state *st, err *e)
{
    snprintf(st->admin_login, sizeof(st->admin_login), "admin");
    st->admin_password[0] = '\0';
    int64_t users = 0;
    if (db_user_count(app->db, &users, e) < 0)
        return -1;
    if (!users && create_admin(app, st, e) < 0)
        return -1;
    err ie = {0};
    if (demo_inventory(app, &ie) < 0) /* the portal is useful without it */
        log_msg(LOG_WARN, "demo: no demo inventory: %s", ie.detail);
    return 0;
}
