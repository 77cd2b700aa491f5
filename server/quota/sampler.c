/* sampler: cgroup usage -> quota_usage_sample. See sampler.h. */
#include "sampler.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "identity.h"

int
quota_sampler_read(const struct quota_cgroup_cfg *c, int64_t tenant_id, const char *slug,
                   int64_t host_id, struct quota_sample *out, err *e)
{
    struct quota_cgroup_usage u;
    if (quota_cgroup_read(c, slug, &u, e) < 0)
        return -1;
    memset(out, 0, sizeof(*out));
    out->tenant_id = tenant_id;
    out->host_id = host_id;
    out->mode = QUOTA_MODE_CGROUP;
    out->cpu_usage_usec = u.cpu_usage_usec;
    out->cpu_throttled_usec = u.cpu_throttled_usec;
    out->memory_bytes = u.memory_current;
    out->oom_kills = u.memory_oom_kill;
    out->io_read_bytes = u.io_rbytes;
    out->io_write_bytes = u.io_wbytes;
    out->io_read_ios = u.io_rios;
    out->io_write_ios = u.io_wios;
    out->pids = u.pids_current;
    return 0;
}

/* One page of tenants, copied out of the list callback. */
struct page {
    struct db_tenant t[100];
    size_t n;
    char last_key[64]; /* the list's cursor key of the last row */
};

static int
collect(void *arg, const struct db_tenant *t, const char *key, err *e)
{
    struct page *p = arg;
    p->t[p->n++] = *t;
    snprintf(p->last_key, sizeof(p->last_key), "%s", key);
    return 0;
}

static int
sample_page(db *d, const struct quota_cgroup_cfg *c, int64_t host_id, int keep,
            const struct page *p, int *sampled, err *e)
{
    for (size_t i = 0; i < p->n; i++) {
        struct quota_sample s;
        err re = {0};
        if (quota_sampler_read(c, p->t[i].id, p->t[i].slug, host_id, &s, &re) < 0) {
            if (re.kind == ERR_NOT_FOUND || re.kind == ERR_INVALID)
                continue; /* no partition here (or a slug no cgroup can carry) */
            if (e)
                *e = re;
            return -1;
        }
        if (db_quota_sample_record(d, &s, keep, e) < 0)
            return -1;
        (*sampled)++;
    }
    return 0;
}

int
quota_sampler_run(db *d, const struct quota_cgroup_cfg *c, int64_t host_id, int keep, int *sampled,
                  err *e)
{
    int count = 0;
    if (sampled)
        *sampled = 0;
    if (quota_cgroup_probe(c, 0, e) < 0)
        return -1;
    struct page *p = malloc(sizeof(*p));
    if (!p)
        return err_set(e, ERR_UNAVAILABLE, "out of memory");
    struct db_tenant_filter f = {0};
    struct db_page pg = {.limit = 100, .sort = DB_TENANT_SORT_ID};
    char key[64];
    int rc = 0;
    do {
        p->n = 0;
        if ((rc = db_tenant_list(d, &f, &pg, collect, p, e)) < 0 ||
            (rc = sample_page(d, c, host_id, keep, p, &count, e)) < 0 || p->n == 0)
            break;
        snprintf(key, sizeof(key), "%s", p->last_key);
        pg.after_key = key;
        pg.after_id = p->t[p->n - 1].id;
    } while (pg.more);
    free(p);
    if (sampled)
        *sampled = count;
    return rc;
}
