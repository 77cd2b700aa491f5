/* GET /api/v1/tenants/{id}/usage/history. See quota_history.h. */
#include "quota_history.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* db/quota_history.h shares this file's name: name it by its folder. */
#include "../db/quota_history.h"
#include "app.h"
#include "db.h"
#include "quota.h"
#include "timefmt.h"

#define DAY_S 86400
#define MAX_AGE_S (31 * DAY_S)

/* The numbers summed over hosts for one bucket; have[i]: some host had
 * metric i (else it stays null). */
enum { M_CPU, M_THR, M_RBPS, M_WBPS, M_RIOPS, M_WIOPS, M_COUNT };
static const char *const metric_names[M_COUNT] = {"cpu_cores",    "cpu_throttled_pct",
                                                  "io_read_bps",  "io_write_bps",
                                                  "io_read_iops", "io_write_iops"};
static const double metric_scale[M_COUNT] = {1000, 10, 10, 10, 100, 100};

struct total {
    double sum[M_COUNT];
    int have[M_COUNT];
    int64_t memory_bytes, pids, oom_kills, hosts;
};

struct collect {
    int64_t b0, step; /* the first bucket's start; bucket i starts at b0 + i*step */
    size_t n;         /* buckets in totals */
    struct total *totals;
    json_t *hosts;  /* [{host_id, host_name, points}] */
    json_t *points; /* the current host's points (borrowed from hosts) */
    int64_t host;
};

static void
time_text(int64_t t, char out[32])
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (!gmtime_r(&tt, &tm) || !strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm))
        snprintf(out, 32, "1970-01-01T00:00:00Z");
}

/* v rounded to 1/scale (v >= 0), or null. */
static json_t *
real_json(double v, double scale)
{
    return isnan(v) ? json_null() : json_real(floor(v * scale + 0.5) / scale);
}

static json_t *
point_json(int64_t t, const double *m, const int *have, int64_t mem, int64_t pids, int64_t oom)
{
    char ts[32];
    time_text(t, ts);
    json_t *j = json_pack("{s:s,s:I,s:I,s:I}", "t", ts, "memory_bytes", (json_int_t)mem, "pids",
                          (json_int_t)pids, "oom_kills", (json_int_t)oom);
    for (int i = 0; j && i < M_COUNT; i++)
        json_object_set_new(j, metric_names[i],
                            real_json(have && !have[i] ? NAN : m[i], metric_scale[i]));
    return j;
}

/* A new host object when the point is of another host than the previous. */
static int
host_switch(struct collect *c, const struct quota_history_point *p)
{
    if (c->points && c->host == p->host_id)
        return 0;
    c->points = json_array();
    json_t *h = json_pack(
        "{s:o,s:o,s:o}", "host_id", p->host_id ? json_integer(p->host_id) : json_null(),
        "host_name", *p->host_name ? json_string(p->host_name) : json_null(), "points", c->points);
    c->host = p->host_id;
    return h && c->points && json_array_append_new(c->hosts, h) == 0 ? 0 : -1;
}

static void
total_add(struct collect *c, const struct quota_history_point *p, const double *m)
{
    if (p->t < c->b0 || (p->t - c->b0) / c->step >= (int64_t)c->n)
        return; /* a sample dated in the future (clock skew): in its host only */
    struct total *t = &c->totals[(p->t - c->b0) / c->step];
    for (int i = 0; i < M_COUNT; i++)
        if (!isnan(m[i])) {
            t->sum[i] += m[i];
            t->have[i] = 1;
        }
    t->memory_bytes += p->memory_bytes;
    t->pids += p->pids;
    t->oom_kills += p->oom_kills;
    t->hosts++;
}

static int
point_push(void *arg, const struct quota_history_point *p, err *e)
{
    struct collect *c = arg;
    const double m[M_COUNT] = {p->cpu_cores,    p->cpu_throttled_pct, p->io_read_bps,
                               p->io_write_bps, p->io_read_iops,      p->io_write_iops};
    if (host_switch(c, p) < 0 ||
        json_array_append_new(
            c->points, point_json(p->t, m, NULL, p->memory_bytes, p->pids, p->oom_kills)) < 0)
        return err_set(e, ERR_INTERNAL, "out of memory");
    total_add(c, p, m);
    return 0;
}

static json_t *
totals_json(const struct collect *c)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < c->n; i++) {
        const struct total *t = &c->totals[i];
        if (t->hosts &&
            json_array_append_new(a, point_json(c->b0 + (int64_t)i * c->step, t->sum, t->have,
                                                t->memory_bytes, t->pids, t->oom_kills)) < 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

/* ?since (default now - 24 h): RFC 3339, not in the future, within 31 days.
 * A '+' of an offset that arrived unencoded reads as a space. */
static int
since_param(struct api_req *r, int64_t now, int64_t *since, err *e)
{
    bool bad = false;
    const char *v = api_query(r, "since", &bad);
    if (!v && !bad) {
        *since = now - DAY_S;
        return 0;
    }
    char buf[64];
    if (bad || !v || strlen(v) >= sizeof(buf))
        return err_set_field(e, "since", "'since' must be an RFC 3339 date-time.");
    memcpy(buf, v, strlen(v) + 1);
    char *sp = strchr(buf, ' ');
    if (sp)
        *sp = '+';
    if (time_rfc3339_parse(buf, since) < 0)
        return err_set_field(e, "since",
                             "'since' must be an RFC 3339 date-time (2025-01-02T03:04:05Z).");
    if (*since > now)
        return err_set_field(e, "since", "'since' must not be in the future.");
    if (*since < now - MAX_AGE_S)
        return err_set_field(e, "since", "'since' must be within the last 31 days.");
    return 0;
}

/* ?step (seconds, default 300), small enough a count of buckets. */
static int
step_param(struct api_req *r, int64_t now, int64_t since, int64_t *step, err *e)
{
    if (api_query_int(r, "step", 10, DAY_S, 300, step, e) < 0)
        return -1;
    int64_t need = (now - since) / API_QUOTA_HISTORY_MAX_BUCKETS + 1;
    if ((now - since) / *step + 1 > API_QUOTA_HISTORY_MAX_BUCKETS)
        return err_set_field(e, "step",
                             "'step' must be at least %lld for this range (at most %d buckets).",
                             (long long)(need < 10 ? 10 : need), API_QUOTA_HISTORY_MAX_BUCKETS);
    return 0;
}

/* The runtime limits (API units), like /usage's runtime.limits. */
static json_t *
runtime_limits_json(const struct quota_limits *l)
{
    struct quota_limits rt = *l;
    for (int res = 0; res < QUOTA_ALLOC_COUNT; res++)
        rt.v[res] = QUOTA_UNLIMITED;
    return db_quota_limits_json(&rt);
}

static int
collect_init(struct api_req *r, struct collect *c, int64_t now, int64_t since, int64_t step)
{
    memset(c, 0, sizeof(*c));
    c->step = step;
    c->b0 = since / step * step;
    c->n = (size_t)((now - c->b0) / step + 1);
    c->totals = arena_alloc(r->a, c->n * sizeof(*c->totals));
    c->hosts = json_array();
    if (c->totals)
        memset(c->totals, 0, c->n * sizeof(*c->totals));
    return c->totals && c->hosts ? 0 : -1;
}

int
api_quota_history_get(struct api_req *r, struct api_resp *w, err *e)
{
    int64_t tid, since, step, now = (int64_t)time(NULL);
    struct quota_limits l;
    struct collect c;
    char since_s[32];
    if (api_param_id(r, 0, &tid, e) < 0 || since_param(r, now, &since, e) < 0 ||
        step_param(r, now, since, &step, e) < 0 || db_quota_get(r->app->db, tid, &l, NULL, e) < 0)
        return -1;
    time_text(since, since_s);
    if (collect_init(r, &c, now, since, step) < 0) {
        json_decref(c.hosts);
        return err_set(e, ERR_INTERNAL, "out of memory");
    }
    if (db_quota_history(r->app->db, tid, since_s, (int)step, point_push, &c, e) < 0) {
        json_decref(c.hosts);
        return -1;
    }
    json_t *j = json_pack("{s:I,s:s,s:I,s:o,s:o,s:o*}", "tenant_id", (json_int_t)tid, "since",
                          since_s, "step_s", (json_int_t)step, "limits", runtime_limits_json(&l),
                          "hosts", c.hosts, "total", totals_json(&c));
    if (!j)
        return err_set(e, ERR_INTERNAL, "out of memory");
    api_reply_json(r, w, 200, j);
    json_decref(j);
    return 0;
}
