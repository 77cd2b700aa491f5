/* `virtportal user add|passwd|disable|enable`: local accounts for bootstrap
 * and recovery, written straight to the database (audited, actor "cli").
 *
 * The password comes from the first line of stdin when stdin is not a
 * terminal (scripts, tests), else it is asked twice without echo. It passes
 * the same policy as the API. Exit codes: 0 done, 1 failed (state cannot be
 * opened, user exists or is missing), 2 bad usage or refused input. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "../api/identity.h"
#include "app.h"
#include "autoptr.h"
#include "cli.h"
#include "config.h"
#include "password.h"
#include "roles.h"
#include "serve.h"

extern char **environ;

struct user_args {
    const char *verb, *login, *tenant, *role, *config, *data_dir;
};

static int
usage(void)
{
    fprintf(stderr, "usage: virtportal user add LOGIN [--tenant SLUG] [--role ROLE]\n"
                    "       virtportal user passwd LOGIN\n"
                    "       virtportal user disable|enable LOGIN\n"
                    "  common flags: [--data-dir DIR] [--config FILE]\n"
                    "  The password is read from stdin's first line when stdin is not a "
                    "terminal.\n");
    return 2;
}

static int
parse_args(int argc, char **argv, struct user_args *u)
{
    static const struct option opts[] = {
        {"tenant", required_argument, 0, 't'}, {"role", required_argument, 0, 'r'},
        {"config", required_argument, 0, 'c'}, {"data-dir", required_argument, 0, 'd'},
        {"help", no_argument, 0, 'h'},         {0, 0, 0, 0}};
    memset(u, 0, sizeof(*u));
    if (argc < 2)
        return usage();
    u->verb = argv[1];
    optind = 1;
    for (int o; (o = getopt_long(argc - 1, argv + 1, "", opts, NULL)) != -1;) {
        if (o == 't')
            u->tenant = optarg;
        else if (o == 'r')
            u->role = optarg;
        else if (o == 'c')
            u->config = optarg;
        else if (o == 'd')
            u->data_dir = optarg;
        else
            return usage();
    }
    if (optind + 1 != argc - 1) /* exactly one LOGIN after the options */
        return usage();
    u->login = argv[1 + optind];
    bool add = !strcmp(u->verb, "add");
    if (!add && strcmp(u->verb, "passwd") && strcmp(u->verb, "disable") &&
        strcmp(u->verb, "enable"))
        return usage();
    if (!add && (u->tenant || u->role)) {
        fprintf(stderr, "virtportal: --tenant and --role are for `user add`\n");
        return 2;
    }
    return 0;
}

static int
load_config(struct vp_config *c, const struct user_args *u)
{
    err e = {0};
    char assign[600];
    config_defaults(c);
    if (u->config && config_load_file(c, u->config, &e) < 0)
        goto bad;
    if (config_load_env(c, environ, &e) < 0)
        goto bad;
    snprintf(assign, sizeof(assign), "server.data_dir=%s", u->data_dir ? u->data_dir : "");
    if (u->data_dir && config_set(c, assign, "command line", &e) < 0)
        goto bad;
    if (config_finish(c, &e) < 0)
        goto bad;
    return 0;
bad:
    fprintf(stderr, "virtportal: %s\n", e.detail);
    return 2;
}

/* ---- the password ---- */

/* One line of fd 0 into buf (without the newline); -1 at EOF or when longer. */
static int
read_line(char *buf, size_t n)
{
    size_t len = 0;
    char c;
    ssize_t got;
    while ((got = read(0, &c, 1)) == 1 && c != '\n') {
        if (len + 1 >= n)
            return -1;
        buf[len++] = c;
    }
    if (got < 0 || (got == 0 && len == 0))
        return -1;
    if (len && buf[len - 1] == '\r')
        len--;
    buf[len] = '\0';
    return 0;
}

static int
prompt_noecho(const char *prompt, char *buf, size_t n)
{
    struct termios old, quiet;
    if (tcgetattr(0, &old) < 0)
        return -1;
    quiet = old;
    quiet.c_lflag &= ~(tcflag_t)ECHO;
    fputs(prompt, stderr);
    fflush(stderr);
    tcsetattr(0, TCSAFLUSH, &quiet);
    int rc = read_line(buf, n);
    tcsetattr(0, TCSAFLUSH, &old);
    fputc('\n', stderr);
    return rc;
}

/* Reads, checks against the policy and hashes the new password of `login`. */
static int
new_password_hash(const char *login, char **hash)
{
    char pw[AUTH_PASSWORD_MAX_BYTES + 2], again[AUTH_PASSWORD_MAX_BYTES + 2];
    err e = {0};
    int rc = 2;
    if (!isatty(0)) {
        if (read_line(pw, sizeof(pw)) < 0) {
            fprintf(stderr, "virtportal: no password on stdin (one line expected)\n");
            goto out;
        }
    } else if (prompt_noecho("New password: ", pw, sizeof(pw)) < 0 ||
               prompt_noecho("Repeat it: ", again, sizeof(again)) < 0 || strcmp(pw, again)) {
        fprintf(stderr, "virtportal: the passwords were not the same\n");
        goto out;
    }
    if (auth_password_policy(pw, login, &e) < 0) {
        fprintf(stderr, "virtportal: password refused: %s\n", e.detail);
        goto out;
    }
    rc = auth_password_hash(pw, hash, &e) < 0 ? 1 : 0;
    if (rc)
        fprintf(stderr, "virtportal: %s\n", e.detail);
out:
    explicit_bzero(pw, sizeof(pw));
    explicit_bzero(again, sizeof(again));
    return rc;
}

/* ---- the verbs ---- */

/* The role must be a built-in one that may be bound in that scope. */
static int
role_check(const char *role, int64_t tenant_id)
{
    const struct auth_builtin_role *br = role ? auth_builtin_role_find(role) : NULL;
    if (!role)
        return 0;
    if (!br) {
        fprintf(stderr, "virtportal: --role: '%s' is not a built-in role\n", role);
        return 2;
    }
    if (!auth_builtin_role_bindable(br, tenant_id)) {
        fprintf(stderr, "virtportal: role '%s' cannot be given to a %s user\n", role,
                tenant_id ? "tenant's" : "global");
        return 2;
    }
    return 0;
}

static int
fail(const err *e)
{
    fprintf(stderr, "virtportal: %s\n", e->detail);
    return e->kind == ERR_INVALID ? 2 : 1;
}

static int
user_add(struct vp_app *app, const struct user_args *u, const char *hash)
{
    err e = {0};
    int64_t tid = 0, uid = 0;
    if (u->tenant && db_tenant_find_slug(app->db, u->tenant, &tid, &e) < 0) {
        if (e.kind == ERR_NOT_FOUND)
            e.kind = ERR_INVALID; /* a bad --tenant is bad usage */
        return fail(&e);
    }
    int rc = role_check(u->role, tid);
    if (rc)
        return rc;
    struct db_audit a = {.actor = "cli", .action = "user.create"};
    if (db_user_create(app->db, u->login, hash, tid, &a, &uid, &e) < 0)
        return fail(&e);
    struct db_audit b = {.actor = "cli", .action = "role_binding.create"};
    if (u->role && db_binding_create_builtin(app->db, "user", uid, u->role, tid, &b, NULL, &e) < 0)
        return fail(&e);
    printf("user %s created: %s%s, %s%s\n", u->login, u->tenant ? "tenant " : "global",
           u->tenant ? u->tenant : "", u->role ? "role " : "no role", u->role ? u->role : "");
    return 0;
}

static int
user_change(struct vp_app *app, const struct user_args *u, const char *hash)
{
    err e = {0};
    bool disable = !strcmp(u->verb, "disable");
    struct db_audit a = {.actor = "cli", .action = hash ? "user.password" : "user.update"};
    int rc = hash ? db_user_set_password(app->db, u->login, hash, &a, &e)
                  : db_user_set_disabled(app->db, u->login, disable, &a, &e);
    if (rc < 0)
        return fail(&e);
    printf("user %s: %s\n", u->login,
           hash      ? "password changed, sessions ended"
           : disable ? "disabled"
                     : "enabled");
    return 0;
}

int
cli_user(int argc, char **argv)
{
    struct user_args u;
    err e = {0};
    AUTOFREE char *hash = NULL;
    int rc = parse_args(argc, argv, &u);
    if (rc)
        return rc;
    if (api_check_login("LOGIN", u.login, &e) < 0) {
        fprintf(stderr, "virtportal: %s\n", e.detail);
        return 2;
    }
    bool needs_pw = !strcmp(u.verb, "add") || !strcmp(u.verb, "passwd");
    if (needs_pw && (rc = new_password_hash(u.login, &hash)) != 0)
        return rc;
    AUTOFREE struct vp_app *app = calloc(1, sizeof(*app));
    if (!app || (rc = load_config(&app->cfg, &u)) != 0)
        return app ? rc : 1;
    if (serve_open_state(app, &e) < 0 || db_role_sync_builtin(app->db, &e) < 0) {
        fprintf(stderr, "virtportal: %s\n", e.detail);
        serve_close_state(app);
        return 1;
    }
    rc = !strcmp(u.verb, "add") ? user_add(app, &u, hash) : user_change(app, &u, hash);
    serve_close_state(app);
    return rc;
}
