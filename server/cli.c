#include "cli.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app.h"
#include "config.h"
#include "../db/audit.h"
#include "db.h"
#include "demo.h"
#include "log.h"
#include "secret.h"
#include "serve.h"

#ifdef VP_HAVE_PLAN
#include "plan.h"
#endif

extern char **environ;

/* Builds the configuration: defaults < --config file < environment < flags.
 * Flags other than --config are applied last, in order. Returns 0, or 2 after
 * printing the error (the exit code for bad usage). */
static int
load_config(struct vp_config *c, int argc, char **argv, bool *print)
{
    static const struct option opts[] = {
        {"config", required_argument, 0, 'c'},    {"print-config", no_argument, 0, 'P'},
        {"set", required_argument, 0, 's'},       {"listen", required_argument, 0, 'l'},
        {"port", required_argument, 0, 'p'},      {"data-dir", required_argument, 0, 'd'},
        {"port-file", required_argument, 0, 'f'}, {0, 0, 0, 0}};
    err e = {0};
    config_defaults(c);
    const char *file = NULL;
    optind = 1;
    for (int o; (o = getopt_long(argc, argv, "", opts, NULL)) != -1;) {
        if (o == '?')
            return 2;
        if (o == 'c')
            file = optarg;
        if (o == 'P')
            *print = true;
    }
    if (optind < argc) {
        fprintf(stderr, "virtportal: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    if ((file && config_load_file(c, file, &e) < 0) || config_load_env(c, environ, &e) < 0)
        goto bad;
    static const char *const shortcut[] = {['l'] = "server.listen",
                                           ['p'] = "server.port",
                                           ['d'] = "server.data_dir",
                                           ['f'] = "server.port_file"};
    optind = 1;
    for (int o; (o = getopt_long(argc, argv, "", opts, NULL)) != -1;) {
        char assign[700];
        if (o == 'c' || o == 'P')
            continue;
        snprintf(assign, sizeof(assign), "%s=%s", o == 's' ? "" : shortcut[o], optarg);
        if (config_set(c, o == 's' ? optarg : assign, "command line", &e) < 0)
            goto bad;
    }
    if (config_finish(c, &e) < 0)
        goto bad;
    return 0;
bad:
    fprintf(stderr, "virtportal: %s\n", e.detail);
    return 2;
}

static struct vp_app *
app_new(void)
{
    struct vp_app *app = calloc(1, sizeof(*app));
    if (!app)
        fprintf(stderr, "virtportal: out of memory\n");
    return app;
}

static void
print_line(const char *line, void *arg)
{
    puts(line);
}

int
cli_serve(int argc, char **argv)
{
    struct vp_app *app = app_new();
    if (!app)
        return 1;
    bool print = false;
    int rc = load_config(&app->cfg, argc, argv, &print);
    if (rc == 0 && print) {
        config_print(&app->cfg, print_line, NULL);
        free(app);
        return 0;
    }
    if (rc == 0 && log_open(app->cfg.access_log) < 0) {
        fprintf(stderr, "virtportal: server.access_log: cannot open %s\n", app->cfg.access_log);
        rc = 1;
    }
    if (rc == 0)
        rc = serve_run(app, NULL, NULL, NULL);
    log_close();
    free(app);
    return rc;
}

static void
demo_announce(struct vp_app *app, int port, void *arg)
{
    const struct demo_state *st = arg;
    printf("virtportal demo ready: https://%s:%d/\n", app->cfg.listen_addr, port);
    printf("data dir: %s\n", app->cfg.data_dir);
    printf("login: %s\n", st->admin_login);
    if (st->admin_password[0])
        printf("password: %s\n", st->admin_password);
    else
        printf("password: (set at first start; reset with `virtportal user passwd %s "
               "--data-dir %s`)\n",
               st->admin_login, app->cfg.data_dir);
    fflush(stdout);
}

static int
demo_seed_hook(struct vp_app *app, void *arg, err *e)
{
    return demo_seed(app, arg, e);
}

int
cli_demo(int argc, char **argv)
{
    static const struct option opts[] = {{"dir", required_argument, 0, 'd'},
                                         {"port", required_argument, 0, 'p'},
                                         {"set", required_argument, 0, 's'},
                                         {0, 0, 0, 0}};
    struct vp_app *app = app_new();
    if (!app)
        return 1;
    config_defaults(&app->cfg);
    err e = {0};
    snprintf(app->cfg.data_dir, sizeof(app->cfg.data_dir), "%s", "virtportal-demo");
    optind = 1;
    int rc = 0;
    for (int o; rc == 0 && (o = getopt_long(argc, argv, "", opts, NULL)) != -1;) {
        char assign[700];
        if (o == '?') {
            rc = 2;
            break;
        }
        snprintf(assign, sizeof(assign), "server.%s=%s", o == 'd' ? "data_dir" : "port", optarg);
        if (config_set(&app->cfg, o == 's' ? optarg : assign, "command line", &e) < 0)
            rc = 2;
    }
    if (rc == 0 && config_finish(&app->cfg, &e) < 0)
        rc = 2;
    if (rc == 2 && e.detail[0])
        fprintf(stderr, "virtportal: %s\n", e.detail);
    if (rc == 0) {
        log_open("stderr");
        struct demo_state st = {0};
        rc = serve_run(app, demo_seed_hook, &st, demo_announce);
        explicit_bzero(st.admin_password, sizeof(st.admin_password));
        log_close();
    }
    free(app);
    return rc;
}

/* The audit key from its file; verifying must never create a key. */
static int
audit_key(const char *keypath, unsigned char *key, size_t cap, size_t *len)
{
    err e = {0};
    if (access(keypath, R_OK) != 0) {
        fprintf(stderr, "virtportal: %s: cannot read the audit key\n", keypath);
        return -1;
    }
    if (auth_secret_file_load_or_create(keypath, cap, key, len, &e) < 0) {
        fprintf(stderr, "virtportal: %s: %s\n", keypath, e.detail);
        return -1;
    }
    return 0;
}

/* The database's chain and checkpoints, cross-checked with the external
 * checkpoint file (a missing default file is reported, not an error; a file
 * named with --checkpoints must exist). */
static int
audit_verify(const char *dbpath, const char *keypath, const char *cpfile, bool cp_required,
             int64_t from)
{
    unsigned char key[64];
    size_t len = 0;
    err e = {0};
    if (audit_key(keypath, key, sizeof(key), &len) < 0)
        return 2;
    struct db_audit_check c = {0};
    int rc = db_audit_check(dbpath, cpfile, key, len, from, &c, &e);
    explicit_bzero(key, sizeof(key));
    if (rc < 0) {
        fprintf(stderr, "virtportal: %s\n", e.detail);
        return 2;
    }
    if (c.external_missing)
        printf("external checkpoint file %s: missing%s\n", cpfile,
               cp_required ? "" : " (only the database's own checkpoints were checked)");
    const struct db_audit_verify_result *r = &c.chain;
    if (r->problem == DB_AUDIT_OK && !(cp_required && c.external_missing)) {
        printf("audit chain ok: %lld rows, last seq %lld, %lld checkpoints, %lld external "
               "checkpoints\n",
               (long long)r->rows, (long long)r->last_seq, (long long)r->checkpoints,
               (long long)c.external);
        return 0;
    }
    if (r->problem == DB_AUDIT_OK)
        return 1;
    printf("audit chain BROKEN at seq %lld: %s (%lld rows checked)\n", (long long)r->seq,
           db_audit_problem_name(r->problem), (long long)r->rows);
    return 1;
}

/* A JSONL export, offline: every record's HMAC and the links between them. */
static int
audit_verify_export(const char *file, const char *keypath, bool allow_gaps)
{
    unsigned char key[64];
    size_t len = 0;
    err e = {0};
    if (audit_key(keypath, key, sizeof(key), &len) < 0)
        return 2;
    FILE *in = strcmp(file, "-") ? fopen(file, "re") : stdin;
    if (!in) {
        fprintf(stderr, "virtportal: %s: cannot open\n", file);
        explicit_bzero(key, sizeof(key));
        return 2;
    }
    struct db_audit_export_result r;
    int rc = db_audit_export_verify(in, key, len, allow_gaps, &r, &e);
    explicit_bzero(key, sizeof(key));
    if (in != stdin)
        fclose(in);
    if (rc < 0) {
        fprintf(stderr, "virtportal: %s: %s\n", file, e.detail);
        return 2;
    }
    if (r.problem != DB_AUDIT_OK) {
        printf("export BROKEN at seq %lld (line %lld): %s\n", (long long)r.seq, (long long)r.line,
               db_audit_problem_name(r.problem));
        return 1;
    }
    printf("export ok: %lld records, seq %lld..%lld, %lld gaps\n", (long long)r.records,
           (long long)r.first_seq, (long long)r.last_seq, (long long)r.gaps);
    return 0;
}

int
cli_audit(int argc, char **argv)
{
    static const struct option opts[] = {{"db", required_argument, 0, 'b'},
                                         {"key", required_argument, 0, 'k'},
                                         {"from", required_argument, 0, 'f'},
                                         {"data-dir", required_argument, 0, 'd'},
                                         {"config", required_argument, 0, 'c'},
                                         {"checkpoints", required_argument, 0, 'p'},
                                         {"export", required_argument, 0, 'x'},
                                         {"allow-gaps", no_argument, 0, 'g'},
                                         {0, 0, 0, 0}};
    if (argc < 2 || strcmp(argv[1], "verify")) {
        fprintf(stderr, "usage: virtportal audit verify [--db FILE] [--key FILE] [--from SEQ] "
                        "[--checkpoints FILE] [--data-dir DIR] [--config FILE]\n"
                        "       virtportal audit verify --export FILE.jsonl [--allow-gaps] "
                        "[--key FILE] [--data-dir DIR]\n");
        return 2;
    }
    struct vp_config c;
    config_defaults(&c);
    const char *dbfile = NULL, *key = NULL, *cpfile = NULL, *export = NULL;
    bool allow_gaps = false;
    long long from = 0;
    err e = {0};
    optind = 1;
    for (int o; (o = getopt_long(argc - 1, argv + 1, "", opts, NULL)) != -1;) {
        char *end = NULL;
        if (o == 'b')
            dbfile = optarg;
        else if (o == 'k')
            key = optarg;
        else if (o == 'p')
            cpfile = optarg;
        else if (o == 'x')
            export = optarg;
        else if (o == 'g')
            allow_gaps = true;
        else if (o == 'f' && ((from = strtoll(optarg, &end, 10)) < 0 || !end || *end)) {
            fprintf(stderr, "virtportal: --from: expected a sequence number\n");
            return 2;
        } else if (o == 'd')
            snprintf(c.data_dir, sizeof(c.data_dir), "%s", optarg);
        else if (o == 'c' && config_load_file(&c, optarg, &e) < 0) {
            fprintf(stderr, "virtportal: %s\n", e.detail);
            return 2;
        } else if (o == '?')
            return 2;
    }
    if (config_finish(&c, &e) < 0) {
        fprintf(stderr, "virtportal: %s\n", e.detail);
        return 2;
    }
    if (export)
        return audit_verify_export(export, key ? key : c.audit_key_file, allow_gaps);
    return audit_verify(dbfile ? dbfile : c.db_path, key ? key : c.audit_key_file,
                        cpfile ? cpfile : c.audit_checkpoint_file, cpfile != NULL, from);
}

#ifdef VP_HAVE_PLAN
int
cli_plan(int argc, char **argv)
{
    return plan_cli_main(argc, argv);
}
#endif
