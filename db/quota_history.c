/* quota_history: derived usage series from quota_usage_sample. See
 * quota_history.h. */
#include "quota_history.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "db_internal.h"
#include "timefmt.h"

/* How far before `since` samples are read, so that the first interval that
 * ends after `since` has its start (the sampler writes every few seconds). */
#define HISTORY_LEAD_S 3600

/* s: the samples from a little before `since`, time in epoch seconds (t,
 * real, rounded to the millisecond the timestamps carry so that durations
 * are exact; sec, whole, for the buckets);
 * d: each one's increases since the previous sample of its host (NULL for
 * the first; `ok` = the interval is usable: later, same enforcement mode);
 * the outer query sums the non-negative increases per host and bucket. A
 * negative increase is a counter reset: that interval is skipped for that
 * counter, and so is its duration. */
static const char history_sql[] =
    "WITH s AS (SELECT ifnull(host_id, 0) AS hid, id, mode, "
    "  round((julianday(ts) - 2440587.5) * 86400000.0) / 1000.0 AS t, "
    "  CAST(strftime('%s', ts) AS INTEGER) AS sec, "
    "  cpu_usage_usec AS cpu, "
    "  cpu_throttled_usec AS thr, memory_bytes AS mem, oom_kills AS oom, io_read_bytes AS rb, "
    "  io_write_bytes AS wb, io_read_ios AS rio, io_write_ios AS wio, pids "
    "  FROM quota_usage_sample WHERE tenant_id = ?1 AND ts >= ?2), "
    "d AS (SELECT hid, t, sec, mem, pids, t - lag(t) OVER w AS dt, "
    "  (t - lag(t) OVER w) > 0 AND lag(mode) OVER w = mode AS ok, "
    "  cpu - lag(cpu) OVER w AS dcpu, thr - lag(thr) OVER w AS dthr, "
    "  oom - lag(oom) OVER w AS doom, rb - lag(rb) OVER w AS drb, wb - lag(wb) OVER w AS dwb, "
    "  rio - lag(rio) OVER w AS drio, "
    "  wio - lag(wio) OVER w AS dwio "
    "  FROM s WINDOW w AS (PARTITION BY hid ORDER BY t, id)), "
    "e AS (SELECT *, (sec / ?4) * ?4 AS b FROM d WHERE sec >= ?3) "
    "SELECT e.hid, ifnull(h.name, ''), e.b, count(*), "
    "  sum(CASE WHEN ok AND dcpu >= 0 THEN dcpu END) / 1e6 "
    "    / sum(CASE WHEN ok AND dcpu >= 0 THEN dt END), "
    "  CASE WHEN sum(CASE WHEN ok AND dcpu >= 0 AND dthr >= 0 THEN dcpu + dthr END) > 0 "
    "    THEN 100.0 * sum(CASE WHEN ok AND dcpu >= 0 AND dthr >= 0 THEN dthr END) "
    "      / sum(CASE WHEN ok AND dcpu >= 0 AND dthr >= 0 THEN dcpu + dthr END) "
    "    WHEN count(CASE WHEN ok AND dcpu >= 0 AND dthr >= 0 THEN 1 END) > 0 THEN 0.0 END, "
    "  sum(CASE WHEN ok AND drb >= 0 THEN drb END) / sum(CASE WHEN ok AND drb >= 0 THEN dt END), "
    "  sum(CASE WHEN ok AND dwb >= 0 THEN dwb END) / sum(CASE WHEN ok AND dwb >= 0 THEN dt END), "
    "  sum(CASE WHEN ok AND drio >= 0 THEN drio END) "
    "    / sum(CASE WHEN ok AND drio >= 0 THEN dt END), "
    "  sum(CASE WHEN ok AND dwio >= 0 THEN dwio END) "
    "    / sum(CASE WHEN ok AND dwio >= 0 THEN dt END), "
    "  max(mem), max(pids), ifnull(sum(CASE WHEN ok AND doom > 0 THEN doom END), 0) "
    "FROM e LEFT JOIN host h ON h.id = e.hid GROUP BY e.hid, e.b ORDER BY e.hid, e.b";

static double
col_real(sqlite3_stmt *s, int i)
{
    return sqlite3_column_type(s, i) == SQLITE_NULL ? NAN : sqlite3_column_double(s, i);
}

static void
point_row(sqlite3_stmt *s, struct quota_history_point *p)
{
    memset(p, 0, sizeof(*p));
    p->host_id = sqlite3_column_int64(s, 0);
    const char *name = (const char *)sqlite3_column_text(s, 1);
    p->host_name = name ? name : "";
    p->t = sqlite3_column_int64(s, 2);
    p->samples = sqlite3_column_int64(s, 3);
    p->cpu_cores = col_real(s, 4);
    p->cpu_throttled_pct = col_real(s, 5);
    p->io_read_bps = col_real(s, 6);
    p->io_write_bps = col_real(s, 7);
    p->io_read_iops = col_real(s, 8);
    p->io_write_iops = col_real(s, 9);
    p->memory_bytes = sqlite3_column_int64(s, 10);
    p->pids = sqlite3_column_int64(s, 11);
    p->oom_kills = sqlite3_column_int64(s, 12);
}

/* "YYYY-MM-DDTHH:MM:SS" of t: a prefix that sorts before every stored form of
 * the same second (".123Z", "Z"), so `ts >= it` can use the index. */
static int
text_bound(int64_t t, char out[32])
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (!gmtime_r(&tt, &tm) || !strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm))
        return -1;
    return 0;
}

int
db_quota_history(db *d, int64_t tenant_id, const char *since_rfc3339, int step_s,
                 db_quota_history_fn fn, void *arg, err *e)
{
    int64_t since;
    char bound[32];
    if (!since_rfc3339 || time_rfc3339_parse(since_rfc3339, &since) < 0 || since < HISTORY_LEAD_S ||
        text_bound(since - HISTORY_LEAD_S, bound) < 0)
        return err_set(e, ERR_INVALID, "'since' must be an RFC 3339 date-time.");
    if (step_s < 1)
        return err_set(e, ERR_INVALID, "step must be at least 1 second");
    db_conn *c = db_reader(d, e);
    DB_STMT s = c ? db_conn_stmt(c, history_sql, e) : NULL;
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, tenant_id);
    sqlite3_bind_text(s, 2, bound, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 3, since);
    sqlite3_bind_int(s, 4, step_s);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct quota_history_point p;
        point_row(s, &p);
        if (fn(arg, &p, e) < 0)
            return -1;
    }
    return rc == SQLITE_DONE ? 0 : db_sqlite_err(e, rc);
}
