/* `virtportal plan`: the offline planner. The only planner file that reads files
 * (export_xlsx.c writes through libxlsxwriter). No server, no libvirt. */
#include "plan_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

static const char usage[] =
    "usage: virtportal plan (--rvtools FILE… | --vmx FILE… | --ovf FILE…)\n"
    "                       [--hosts SPEC | --hosts @HOSTS.json] [--size SHAPE[,SHAPE…]]\n"
    "                       [--format json|csv|xlsx] [--out FILE] [options]\n"
    "\n"
    "Inputs (may be combined):\n"
    "  --rvtools FILE…   RVTools export: one .xlsx, or .csv files named after their sheet\n"
    "                    (RVTools_tabvInfo.csv, vDisk.csv, …)\n"
    "  --vmx FILE…       VMware .vmx files\n"
    "  --ovf FILE…       OVF descriptors\n"
    "\n"
    "Targets:\n"
    "  --hosts SPEC      target hosts to place onto: [N x]CPUSc/MEM[/DISK][@NAME][:CPU-MODEL],\n"
    "                    comma-separated; sizes take k/m/g/t (binary, default g).\n"
    "                    e.g. 4x32c/512g/10t,2x64c/1t/20t@big  (hosts kvm-1…kvm-4, big-1, big-2)\n"
    "  --hosts @FILE     the same as JSON: [{\"name\":\"kvm1\",\"cpus\":32,\"memory_gib\":512,\n"
    "                    \"disk_gib\":10240,\"cpu_model\":\"Icelake-Server\",\"count\":1}, …]\n"
    "  --size SHAPES     how many hosts of each shape (CPUSc/MEM[/DISK]), e.g. 64c/1t/20t\n"
    "\n"
    "Placement options:\n"
    "  --cpu-overcommit R (default 1)   --mem-overcommit R (1)   --disk-overcommit R (1)\n"
    "  --headroom PCT (0)               --algo best|ffd (best)   --disk provisioned|used\n"
    "  --reserve PCT     failover hosts added to sizing (0)\n"
    "  --affinity NAME=VM,VM…   --anti-affinity NAME=VM,VM…   --pin VM=HOST\n"
    "  --exclude HOST | --exclude VM=HOST   --include-templates\n"
    "Waves and output:\n"
    "  --bandwidth MBPS (620)   --parallel N (10)   --window HOURS (8)   --pilot N (5)\n"
    "  --vcenter HOST   --storage POOL (default)   --bridge BRIDGE\n"
    "  --format json|csv|xlsx (json)   --out FILE (stdout)\n";

enum { CLI_MAX_FILE = 256 << 20, CLI_MAX_LIST = 4096 };

enum input_kind { IN_RVTOOLS, IN_VMX, IN_OVF };

struct rule_arg {
    const char *kind; /* "affinity" "anti-affinity" "pin" "exclude" */
    const char *text;
};

struct cli {
    const char *inputs[CLI_MAX_LIST];
    enum input_kind kinds[CLI_MAX_LIST];
    size_t ninputs;
    const char *hosts_spec, *size_spec, *format, *out;
    struct rule_arg rules[CLI_MAX_LIST];
    size_t nrules;
    double reserve;
    struct plan_request req;
};

static int bad(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints "virtportal plan: <message>" and returns -1. */
static int
bad(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("virtportal plan: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return -1;
}

static char *
slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    struct stat st;
    char *buf = NULL;
    if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) && st.st_size <= CLI_MAX_FILE) {
        buf = malloc((size_t)st.st_size + 1);
        if (buf && fread(buf, 1, (size_t)st.st_size, f) == (size_t)st.st_size) {
            buf[st.st_size] = '\0';
            *len = (size_t)st.st_size;
        } else {
            free(buf);
            buf = NULL;
        }
    } else {
        errno = EFBIG;
    }
    fclose(f);
    return buf;
}

static bool
parse_ratio(const char *s, double lo, double hi, double *out)
{
    return plan_parse_double(s, out) && *out >= lo && *out <= hi;
}

/* Options that take one value. Returns 1 handled, 0 not this kind, -1 bad value. */
static int
opt_value(struct cli *c, const char *opt, const char *v)
{
    struct plan_request *q = &c->req;
    double d;
    if (!strcmp(opt, "--hosts"))
        c->hosts_spec = v;
    else if (!strcmp(opt, "--size"))
        c->size_spec = v;
    else if (!strcmp(opt, "--format"))
        c->format = v;
    else if (!strcmp(opt, "--out"))
        c->out = v;
    else if (!strcmp(opt, "--cpu-overcommit") || !strcmp(opt, "--mem-overcommit") ||
             !strcmp(opt, "--disk-overcommit")) {
        int dim = opt[2] == 'c' ? PLAN_DIM_CPU : opt[2] == 'm' ? PLAN_DIM_MEM : PLAN_DIM_DISK;
        if (!parse_ratio(v, 0.1, 64, &q->place.overcommit[dim]))
            return -1;
    } else if (!strcmp(opt, "--headroom")) {
        if (!parse_ratio(v, 0, 90, &d))
            return -1;
        q->place.headroom = d / 100;
    } else if (!strcmp(opt, "--reserve")) {
        if (!parse_ratio(v, 0, 100, &d))
            return -1;
        q->sizing_reserve = d / 100;
    } else if (!strcmp(opt, "--algo")) {
        if (strcmp(v, "best") && strcmp(v, "ffd"))
            return -1;
        q->place.algo = strcmp(v, "ffd") ? PLAN_ALGO_BEST : PLAN_ALGO_FFD;
    } else if (!strcmp(opt, "--disk")) {
        if (strcmp(v, "used") && strcmp(v, "provisioned"))
            return -1;
        q->place.disk_basis = strcmp(v, "used") ? PLAN_DISK_PROVISIONED : PLAN_DISK_USED;
    } else {
        return 0;
    }
    return 1;
}

static int
opt_value2(struct cli *c, const char *opt, const char *v)
{
    struct plan_request *q = &c->req;
    double d;
    if (!strcmp(opt, "--bandwidth")) {
        if (!parse_ratio(v, 1, 1e6, &q->waves.bandwidth_mbps))
            return -1;
    } else if (!strcmp(opt, "--parallel") || !strcmp(opt, "--pilot")) {
        if (!parse_ratio(v, 0, 10000, &d) || d != (int)d)
            return -1;
        *(opt[3] == 'a' ? &q->waves.parallel : &q->waves.pilot_size) = (int)d;
    } else if (!strcmp(opt, "--window")) {
        if (!parse_ratio(v, 0.1, 1e4, &q->waves.window_hours))
            return -1;
    } else if (!strcmp(opt, "--vcenter")) {
        q->v2v.vcenter = v;
    } else if (!strcmp(opt, "--storage")) {
        q->v2v.output_storage = v;
    } else if (!strcmp(opt, "--bridge")) {
        q->v2v.bridge = v;
    } else if (!strcmp(opt, "--affinity") || !strcmp(opt, "--anti-affinity") ||
               !strcmp(opt, "--pin") || !strcmp(opt, "--exclude")) {
        if (c->nrules == CLI_MAX_LIST)
            return -1;
        c->rules[c->nrules++] = (struct rule_arg){opt + 2, v};
    } else {
        return 0;
    }
    return 1;
}

static int
add_inputs(struct cli *c, enum input_kind k, char **argv, int argc, int *i)
{
    int n = 0;
    while (*i + 1 < argc && strncmp(argv[*i + 1], "--", 2) != 0) {
        if (c->ninputs == CLI_MAX_LIST)
            return -1;
        c->kinds[c->ninputs] = k;
        c->inputs[c->ninputs++] = argv[++*i];
        n++;
    }
    return n ? 0 : -1;
}

static int
parse_args(struct cli *c, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help"))
            return 2;
        if (!strcmp(a, "plan") && i == 1)
            continue; /* called as `virtportal plan …` with argv[0] = "virtportal" */
        if (!strcmp(a, "--include-templates")) {
            c->req.place.skip_templates = false;
            continue;
        }
        enum input_kind k = !strcmp(a, "--rvtools") ? IN_RVTOOLS
                            : !strcmp(a, "--vmx")   ? IN_VMX
                                                    : IN_OVF;
        if (!strcmp(a, "--rvtools") || !strcmp(a, "--vmx") || !strcmp(a, "--ovf")) {
            if (add_inputs(c, k, argv, argc, &i) < 0)
                return bad("%s needs at least one file", a);
            continue;
        }
        if (i + 1 >= argc)
            return bad("unknown option or missing value: %s", a);
        int rc = opt_value(c, a, argv[i + 1]);
        if (rc == 0)
            rc = opt_value2(c, a, argv[i + 1]);
        if (rc == 0)
            return bad("unknown option: %s", a);
        if (rc < 0)
            return bad("bad value for %s", a);
        i++;
    }
    if (!c->ninputs)
        return bad("no input: give --rvtools, --vmx or --ovf");
    if (strcmp(c->format, "json") && strcmp(c->format, "csv") && strcmp(c->format, "xlsx"))
        return bad("--format must be json, csv or xlsx, not %s", c->format);
    return 0;
}

static bool
ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && plan_ieq(s + n - m, suffix);
}

static int
load_rvtools_csv(struct cli *c, plan_inventory *inv, char **bufs, size_t *lens)
{
    struct plan_csv_sheet sheets[CLI_MAX_LIST];
    size_t n = 0;
    for (size_t i = 0; i < c->ninputs; i++) {
        if (c->kinds[i] != IN_RVTOOLS || !ends_with(c->inputs[i], ".csv"))
            continue;
        const char *sheet = plan_rvtools_sheet_from_filename(c->inputs[i]);
        if (!sheet)
            return bad("%s: cannot tell which RVTools sheet this is (name it like vInfo.csv)",
                       c->inputs[i]);
        sheets[n++] = (struct plan_csv_sheet){sheet, bufs[i], lens[i]};
    }
    err e = {0};
    if (n && plan_rvtools_read_csv(inv, sheets, n, NULL, &e) < 0)
        return bad("RVTools CSV: %s", e.detail);
    return 0;
}

static int
load_one(const struct cli *c, size_t i, plan_inventory *inv, const char *buf, size_t len)
{
    err e = {0};
    int rc = 0;
    if (c->kinds[i] == IN_VMX)
        rc = plan_vmx_read(inv, buf, len, c->inputs[i], &e);
    else if (c->kinds[i] == IN_OVF)
        rc = plan_ovf_read(inv, buf, len, c->inputs[i], &e);
    else if (ends_with(c->inputs[i], ".csv"))
        return 0; /* all CSV sheets are read together */
    else
        rc = plan_rvtools_read_xlsx(inv, buf, len, NULL, &e);
    if (rc < 0) {
        fprintf(stderr, "virtportal plan: %s: %s\n", c->inputs[i], e.detail);
        return -1;
    }
    return 0;
}

static int
load_inputs(struct cli *c, plan_inventory *inv)
{
    char **bufs = calloc(c->ninputs, sizeof(char *));
    size_t *lens = calloc(c->ninputs, sizeof(size_t));
    int rc = bufs && lens ? 0 : -1;
    for (size_t i = 0; rc == 0 && i < c->ninputs; i++) {
        bufs[i] = slurp(c->inputs[i], &lens[i]);
        if (!bufs[i])
            rc = bad("cannot read %s", c->inputs[i]);
        else
            rc = load_one(c, i, inv, bufs[i], lens[i]);
    }
    if (rc == 0)
        rc = load_rvtools_csv(c, inv, bufs, lens);
    for (size_t i = 0; bufs && i < c->ninputs; i++)
        free(bufs[i]);
    free(bufs);
    free(lens);
    return rc;
}

static int
load_hosts(const char *spec, plan_inventory *inv, struct plan_host **out, size_t *n)
{
    err e = {0};
    if (spec[0] != '@') {
        if (plan_hosts_parse_spec(inv, spec, out, n, &e) < 0)
            return bad("%s", e.detail);
        return 0;
    }
    size_t len;
    char *buf = slurp(spec + 1, &len);
    if (!buf)
        return bad("cannot read %s", spec + 1);
    int rc = plan_hosts_parse_json(inv, buf, len, out, n, &e);
    free(buf);
    return rc < 0 ? bad("%s", e.detail) : 0;
}

static long
vm_index(const plan_inventory *inv, const char *name, size_t len)
{
    for (size_t i = 0; i < inv->nvms; i++)
        if (strlen(inv->vms[i]->name) == len && !strncmp(inv->vms[i]->name, name, len))
            return (long)i;
    return -1;
}

static long
host_index(const struct plan_host *h, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(h[i].name, name))
            return (long)i;
    return -1;
}

struct rules_out {
    struct plan_group groups[CLI_MAX_LIST];
    size_t ngroups;
    struct plan_host_rule pins[CLI_MAX_LIST], excludes[CLI_MAX_LIST];
    size_t npins, nexcludes;
};

/* "NAME=vm1,vm2" → a group of VM indices (allocated in the inventory's arena). */
static int
rule_group(const struct rule_arg *ra, plan_inventory *inv, struct rules_out *o)
{
    const char *eq = strchr(ra->text, '=');
    if (!eq || eq == ra->text)
        return bad("--%s wants NAME=VM,VM…", ra->kind);
    size_t n = 1;
    for (const char *p = eq + 1; *p; p++)
        n += *p == ',';
    size_t *m = arena_alloc(inv->arena, n * sizeof(size_t));
    if (!m)
        return bad("%s", "out of memory");
    size_t k = 0;
    for (const char *p = eq + 1; *p;) {
        size_t len = strcspn(p, ",");
        long vm = vm_index(inv, p, len);
        if (vm < 0)
            return bad("no VM named in --%s", ra->kind);
        m[k++] = (size_t)vm;
        p += len + (p[len] == ',');
    }
    o->groups[o->ngroups++] = (struct plan_group){
        plan_inv_strndup(inv, ra->text, (size_t)(eq - ra->text)),
        ra->kind[0] == 'a' && ra->kind[1] == 'n' ? PLAN_ANTI_AFFINITY : PLAN_AFFINITY, m, k};
    return 0;
}

/* "VM=HOST" (pin, exclude) or "HOST" (exclude for every VM). */
static int
rule_host(const struct rule_arg *ra, plan_inventory *inv, const struct plan_host *h, size_t nh,
          struct rules_out *o)
{
    const char *eq = strchr(ra->text, '=');
    const char *host = eq ? eq + 1 : ra->text;
    long hi = host_index(h, nh, host), vm = -1;
    if (hi < 0)
        return bad("--%s names a host that is not in --hosts", ra->kind);
    if (eq && (vm = vm_index(inv, ra->text, (size_t)(eq - ra->text))) < 0)
        return bad("--%s names a VM that is not in the inventory", ra->kind);
    if (!strcmp(ra->kind, "pin")) {
        if (vm < 0)
            return bad("--pin wants VM=HOST");
        o->pins[o->npins++] = (struct plan_host_rule){(size_t)vm, (size_t)hi};
    } else {
        o->excludes[o->nexcludes++] =
            (struct plan_host_rule){vm < 0 ? SIZE_MAX : (size_t)vm, (size_t)hi};
    }
    return 0;
}

static int
apply_rules(const struct cli *c, plan_inventory *inv, struct rules_out *o)
{
    const struct plan_request *q = &c->req;
    for (size_t i = 0; i < c->nrules; i++) {
        const struct rule_arg *ra = &c->rules[i];
        bool group = !strcmp(ra->kind, "affinity") || !strcmp(ra->kind, "anti-affinity");
        int rc = group ? rule_group(ra, inv, o) : rule_host(ra, inv, q->hosts, q->nhosts, o);
        if (rc < 0)
            return -1;
    }
    return 0;
}

static int
write_out(const struct cli *c, const void *data, size_t len)
{
    FILE *f = c->out ? fopen(c->out, "wb") : stdout;
    if (!f)
        return bad("cannot write %s", c->out);
    bool ok = fwrite(data, 1, len, f) == len;
    ok &= (c->out ? fclose(f) : fflush(f)) == 0;
    return ok ? 0 : bad("writing %s failed", c->out ? c->out : "stdout");
}

static int
emit(const struct cli *c, const plan_result *r)
{
    err e = {0};
    if (!strcmp(c->format, "xlsx")) {
        if (c->out)
            return plan_export_xlsx_file(r, c->out, &e) < 0 ? bad("%s", e.detail) : 0;
        size_t len;
        unsigned char *x = plan_export_xlsx_mem(r, &len, &e);
        int rc = x ? write_out(c, x, len) : bad("%s", e.detail);
        free(x);
        return rc;
    }
    size_t len = 0;
    char *text = NULL;
    if (!strcmp(c->format, "csv")) {
        text = plan_export_csv(r, &len, &e);
    } else {
        json_t *j = plan_export_json(r);
        char *dump = j ? json_dumps(j, JSON_INDENT(2)) : NULL;
        json_decref(j);
        len = dump ? strlen(dump) : 0;
        text = dump ? realloc(dump, len + 2) : NULL;
        if (!text)
            free(dump);
        else
            memcpy(text + len++, "\n", 2); /* end the document with a newline */
    }
    int rc = text ? write_out(c, text, len) : bad("%s", "out of memory");
    free(text);
    return rc;
}

static void
summary(const plan_result *r)
{
    fprintf(stderr,
            "virtportal plan: %zu VMs: %zu ready, %zu with conditions, %zu not ready, %zu unknown",
            r->inv->nvms, r->counts[PLAN_READY], r->counts[PLAN_READY_WITH_CONDITIONS],
            r->counts[PLAN_NOT_READY], r->counts[PLAN_READINESS_UNKNOWN]);
    if (r->placement)
        fprintf(stderr, "; %zu placed on %zu hosts (lower bound %zu), %zu unplaced",
                r->placement->placed, r->placement->hosts_used, r->placement->bound.hosts,
                r->placement->nunplaced);
    for (size_t i = 0; i < r->nsizing; i++)
        fprintf(stderr, "; shape %zu: %zu hosts (%s-bound)", i + 1, r->sizing[i].hosts,
                plan_dim_name(r->sizing[i].limiting_dim));
    fprintf(stderr, "; %zu waves\n", r->nwaves);
}

static int
run(struct cli *c, plan_inventory *inv)
{
    struct rules_out *o = calloc(1, sizeof(*o));
    struct plan_request *q = &c->req;
    int rc = o ? 0 : bad("%s", "out of memory");
    if (rc == 0 && c->hosts_spec)
        rc = load_hosts(c->hosts_spec, inv, (struct plan_host **)&q->hosts, &q->nhosts);
    if (rc == 0 && c->size_spec)
        rc = load_hosts(c->size_spec, inv, (struct plan_host **)&q->shapes, &q->nshapes);
    if (rc == 0)
        rc = apply_rules(c, inv, o);
    if (rc == 0) {
        q->inv = inv;
        q->cons = (struct plan_constraints){.groups = o->groups,
                                            .ngroups = o->ngroups,
                                            .pins = o->pins,
                                            .npins = o->npins,
                                            .excludes = o->excludes,
                                            .nexcludes = o->nexcludes};
        err e = {0};
        plan_result *r = plan_run(q, &e);
        rc = r ? emit(c, r) : bad("%s", e.detail);
        if (r && rc == 0)
            summary(r);
        plan_result_free(r);
    }
    free(o);
    return rc;
}

int
plan_cli_main(int argc, char **argv)
{
    plan_global_init();
    struct cli *c = calloc(1, sizeof(*c));
    if (!c)
        return 1;
    plan_request_defaults(&c->req);
    c->format = "json";
    int rc = parse_args(c, argc, argv);
    if (rc == 2 || rc < 0) {
        fputs(usage, rc == 2 ? stdout : stderr);
        free(c);
        return rc == 2 ? 0 : 2;
    }
    plan_inventory *inv = plan_inv_new();
    rc = inv && load_inputs(c, inv) == 0 && run(c, inv) == 0 ? 0 : 1;
    plan_inv_free(inv);
    free(c);
    return rc;
}
