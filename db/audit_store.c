/* audit_store: reading the audit trail (query, records as JSON), retention
 * (prune a prefix, leave a signed anchor) and the head. The external
 * checkpoint file and the offline verifier are in audit_check.c. */
#include "db_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "audit.h"
#include "autoptr.h"

AUTOPTR_DEFINE(json_t, json_decref)

#define REC_COLUMNS                                                                                \
    "seq, ts, actor, user_id, token_id, tenant_id, source_ip, user_agent, request_id, action, "    \
    "target, outcome, details, prev_hash, hash"

/* ---- the query: constant SQL fragments, every value bound ---- */

enum { QUERY_MAX_ARGS = 20, QUERY_MAX_LIMIT = 100000 };

struct query {
    char sql[2048];
    size_t n;
    int nargs;
    struct {
        const char *s; /* text, or NULL for the integer */
        int64_t i;
    } args[QUERY_MAX_ARGS];
    char action_hi[300]; /* upper bound of the action prefix range */
};

static void
q_sql(struct query *q, const char *frag)
{
    size_t len = strlen(frag);
    if (q->n + len < sizeof(q->sql)) { /* the fragments are constants: always fits */
        memcpy(q->sql + q->n, frag, len + 1);
        q->n += len;
    }
}

static void
q_text(struct query *q, const char *frag, const char *v)
{
    if (!v || q->nargs >= QUERY_MAX_ARGS)
        return;
    q_sql(q, frag);
    q->args[q->nargs++].s = v;
}

static void
q_int(struct query *q, const char *frag, int64_t v)
{
    if (v <= 0 || q->nargs >= QUERY_MAX_ARGS)
        return;
    q_sql(q, frag);
    q->args[q->nargs].s = NULL;
    q->args[q->nargs++].i = v;
}

/* Strings starting with p are exactly those in [p, p with its last byte + 1)
 * (BINARY collation compares bytes): an index range instead of LIKE. */
static void
q_prefix(struct query *q, const char *p)
{
    size_t n = p ? strlen(p) : 0;
    if (!n)
        return;
    if (n >= sizeof(q->action_hi))
        n = sizeof(q->action_hi) - 1;
    memcpy(q->action_hi, p, n);
    while (n > 0 && (unsigned char)q->action_hi[n - 1] == 0xff)
        n--;
    q->action_hi[n] = '\0';
    q_text(q, " AND action >= ?", p);
    if (n > 0) {
        q->action_hi[n - 1] = (char)((unsigned char)q->action_hi[n - 1] + 1);
        q_text(q, " AND action < ?", q->action_hi);
    }
}

/* Time bounds become seq bounds through the ts index (O(log n)), so the scan
 * stays in seq order; the exact ts test (+ts: not through the index) keeps
 * rows near the bound honest. */
static void
q_time(struct query *q, const struct db_audit_filter *f)
{
    if (f->from) {
        q_text(q,
               " AND seq >= ifnull((SELECT seq FROM audit WHERE ts >= ? ORDER BY ts, seq LIMIT 1),"
               " 9223372036854775807)",
               f->from);
        q_text(q, " AND +ts >= ?", f->from);
    }
    if (f->to) {
        q_text(q,
               " AND seq < ifnull((SELECT seq FROM audit WHERE ts >= ? ORDER BY ts, seq LIMIT 1),"
               " 9223372036854775807)",
               f->to);
        q_text(q, " AND +ts < ?", f->to);
    }
}

static void
q_build(struct query *q, const struct db_audit_filter *f, enum db_audit_order order, int limit)
{
    q_sql(q, "SELECT " REC_COLUMNS " FROM audit WHERE 1");
    q_int(q, " AND seq > ?", f->after_seq);
    q_int(q, " AND seq < ?", f->before_seq);
    q_time(q, f);
    q_text(q, " AND actor = ?", f->actor);
    q_int(q, " AND tenant_id = ?", f->tenant_id);
    q_text(q, " AND tenant_id IN (SELECT value FROM json_each(?))", f->tenants);
    q_prefix(q, f->action_prefix);
    q_text(q, " AND target = ?", f->target);
    q_text(q, " AND outcome = ?", f->outcome);
    q_text(q, " AND source_ip = ?", f->source_ip);
    q_text(q, " AND request_id = ?", f->request_id);
    q_sql(q, order == DB_AUDIT_NEWEST_FIRST ? " ORDER BY seq DESC" : " ORDER BY seq");
    q_int(q, " LIMIT ?", limit);
}

static const char *
col_text(sqlite3_stmt *s, int i)
{
    return (const char *)sqlite3_column_text(s, i);
}

static void
rec_fill(sqlite3_stmt *s, struct db_audit_rec *r)
{
    r->seq = sqlite3_column_int64(s, 0);
    const char **f[] = {&r->ts,        &r->actor,      &r->user_id,    &r->token_id, &r->tenant_id,
                        &r->source_ip, &r->user_agent, &r->request_id, &r->action,   &r->target,
                        &r->outcome,   &r->details,    &r->prev_hash,  &r->hash};
    for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
        *f[i] = col_text(s, (int)i + 1);
}

/* Runs the statement to the end (or until fn stops) and finalizes it, which
 * ends its read transaction. */
static int
query_run(sqlite3_stmt *s, db_audit_row_fn fn, void *arg, err *e)
{
    int rc, k = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct db_audit_rec rec;
        rec_fill(s, &rec);
        if ((k = fn(arg, &rec, e)) != 0)
            break;
    }
    sqlite3_finalize(s);
    if (k < 0)
        return -1;
    return k > 0 || rc == SQLITE_DONE ? 0 : db_sqlite_err(e, rc);
}

int
db_audit_query(db *d, const struct db_audit_filter *f, enum db_audit_order order, int limit,
               db_audit_row_fn fn, void *arg, err *e)
{
    if (limit < 1 || limit > QUERY_MAX_LIMIT)
        return err_set(e, ERR_INTERNAL, "audit query limit out of range");
    db_conn *c = db_reader(d, e);
    if (!c)
        return -1;
    struct query q = {.n = 0};
    q_build(&q, f, order, limit);
    /* Built from constant fragments: prepared per query (the filters vary),
     * not cached. */
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(db_conn_sqlite(c), q.sql, (int)q.n + 1, &s, NULL);
    if (rc != SQLITE_OK)
        return db_sqlite_err(e, rc);
    for (int i = 0; i < q.nargs; i++) {
        if (q.args[i].s)
            sqlite3_bind_text(s, i + 1, q.args[i].s, -1, SQLITE_STATIC);
        else
            sqlite3_bind_int64(s, i + 1, q.args[i].i);
    }
    return query_run(s, fn, arg, e);
}

int
db_audit_head(db *d, int64_t *seq, err *e)
{
    db_conn *c = db_reader(d, e);
    DB_STMT s = c ? db_conn_stmt(c, "SELECT ifnull(max(seq), 0) FROM audit", e) : NULL;
    if (!s)
        return -1;
    int rc = sqlite3_step(s);
    if (rc != SQLITE_ROW)
        return db_sqlite_err(e, rc);
    *seq = sqlite3_column_int64(s, 0);
    return 0;
}

int
db_audit_last_checkpoint(db *d, struct db_audit_checkpoint *out, err *e)
{
    memset(out, 0, sizeof(*out));
    db_conn *c = db_reader(d, e);
    DB_STMT s = c ? db_conn_stmt(c,
                                 "SELECT id, seq, hash, ts, signature FROM audit_checkpoint "
                                 "ORDER BY seq DESC, id DESC LIMIT 1",
                                 e)
                  : NULL;
    if (!s)
        return -1;
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE)
        return 0;
    if (rc != SQLITE_ROW)
        return db_sqlite_err(e, rc);
    out->id = sqlite3_column_int64(s, 0);
    out->seq = sqlite3_column_int64(s, 1);
    snprintf(out->hash, sizeof(out->hash), "%s", col_text(s, 2) ? col_text(s, 2) : "");
    snprintf(out->ts, sizeof(out->ts), "%s", col_text(s, 3) ? col_text(s, 3) : "");
    snprintf(out->signature, sizeof(out->signature), "%s", col_text(s, 4) ? col_text(s, 4) : "");
    return 0;
}

/* ---- records as JSON ---- */

/* A text field: a JSON string, or {"base64": …} for bytes that are not UTF-8
 * (a client's User-Agent can be anything), so that the exact stored bytes
 * survive the export and the HMAC can be recomputed. */
static json_t *
text_json(const char *s)
{
    if (!s)
        return json_null();
    json_t *j = json_string(s);
    if (j)
        return j;
    size_t n = strlen(s);
    AUTOFREE char *b64 = malloc(4 * ((n + 2) / 3) + 1);
    if (!b64)
        return NULL;
    EVP_EncodeBlock((unsigned char *)b64, (const unsigned char *)s, (int)n);
    return json_pack("{s:s}", "base64", b64);
}

/* Stored ids are canonical integers; anything else (a tampered row) stays text. */
static json_t *
id_json(const char *s)
{
    if (!s)
        return json_null();
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    char back[24];
    snprintf(back, sizeof(back), "%lld", v);
    if (!errno && end && !*end && !strcmp(back, s))
        return json_integer(v);
    return text_json(s);
}

/* details as the object when it parses back to exactly the stored text
 * (compact, sorted keys: how audit_chain.c wrote it), else the raw text. */
static json_t *
details_json(const char *s)
{
    if (!s)
        return json_null();
    AUTOPTR(json_t) j = json_loads(s, JSON_ALLOW_NUL, NULL);
    if (j && json_is_object(j)) {
        AUTOFREE char *back = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
        if (back && !strcmp(back, s))
            return STEAL(j);
    }
    return text_json(s);
}

json_t *
db_audit_rec_json(const struct db_audit_rec *r)
{
    json_t *j = json_object();
    if (!j)
        return NULL;
    struct {
        const char *key;
        json_t *v;
    } m[] = {
        {"seq", json_integer(r->seq)},
        {"ts", text_json(r->ts)},
        {"actor", text_json(r->actor)},
        {"user_id", id_json(r->user_id)},
        {"token_id", text_json(r->token_id)},
        {"tenant_id", id_json(r->tenant_id)},
        {"source_ip", text_json(r->source_ip)},
        {"user_agent", text_json(r->user_agent)},
        {"request_id", text_json(r->request_id)},
        {"action", text_json(r->action)},
        {"target", text_json(r->target)},
        {"outcome", text_json(r->outcome)},
        {"details", details_json(r->details)},
        {"hash", text_json(r->hash)},
        {"prev_hash", text_json(r->prev_hash)},
    };
    int bad = 0;
    for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++)
        bad |= !m[i].v || json_object_set_new(j, m[i].key, m[i].v) != 0;
    if (bad) {
        json_decref(j);
        return NULL;
    }
    return j;
}

/* ---- retention ---- */

struct prune_job {
    const char *cutoff;
    int max_rows;
    struct db_audit_prune_result *res;
    json_t *details; /* owned; set on the audit row */
};

/* One integer from a one-row query with an optional text and int parameter. */
static int
writer_int(db_conn *c, const char *sql, const char *t, int64_t i, int64_t *out, err *e)
{
    DB_STMT s = db_conn_stmt(c, sql, e);
    if (!s)
        return -1;
    if (t)
        sqlite3_bind_text(s, 1, t, -1, SQLITE_STATIC);
    else
        sqlite3_bind_int64(s, 1, i);
    int rc = sqlite3_step(s);
    if (rc != SQLITE_ROW)
        return rc == SQLITE_DONE ? (*out = 0, 0) : db_sqlite_err(e, rc);
    *out = sqlite3_column_int64(s, 0);
    return 0;
}

/* The prefix to delete: from the oldest row up to the row before the first
 * one (in seq order) that is not older than the cutoff, at most max_rows. */
static int
prune_range(db_conn *c, struct prune_job *j, int64_t *first, int64_t *last, err *e)
{
    int64_t keep = 0;
    if (writer_int(c, "SELECT ifnull(min(seq), 0) FROM audit", NULL, 0, first, e) < 0 ||
        writer_int(c, "SELECT seq FROM audit WHERE +ts >= ?1 ORDER BY seq LIMIT 1", j->cutoff, 0,
                   &keep, e) < 0)
        return -1;
    struct db_audit_chain *ch = db_conn_chain(c);
    *last = keep ? keep - 1 : ch->seq; /* everything is old: the audit row follows */
    j->res->more = false;
    if (*first && *last - *first + 1 > j->max_rows) {
        *last = *first + j->max_rows - 1;
        j->res->more = true;
    }
    return 0;
}

static int
prune_delete(db_conn *c, int64_t last, char hash[65], err *e)
{
    DB_STMT h = db_conn_stmt(c, "SELECT hash FROM audit WHERE seq = ?1", e);
    if (!h)
        return -1;
    sqlite3_bind_int64(h, 1, last);
    int rc = sqlite3_step(h);
    if (rc != SQLITE_ROW || !col_text(h, 0))
        return rc == SQLITE_ROW || rc == SQLITE_DONE
                   ? err_set(e, ERR_INTERNAL, "the audit row to prune is missing")
                   : db_sqlite_err(e, rc);
    snprintf(hash, 65, "%s", col_text(h, 0));
    DB_STMT s = db_conn_stmt(c, "DELETE FROM audit WHERE seq <= ?1", e);
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, last);
    rc = sqlite3_step(s);
    return rc == SQLITE_DONE ? 0 : db_sqlite_err(e, rc);
}

static int
apply_prune(db_conn *c, void *arg, struct db_audit *a, err *e)
{
    struct prune_job *j = arg;
    struct db_audit_prune_result *res = j->res;
    int64_t first = 0, last = 0;
    char hash[65];
    if (prune_range(c, j, &first, &last, e) < 0)
        return -1;
    if (!first || last < first)
        return 0; /* raced with nothing: the audit row still says so */
    if (prune_delete(c, last, hash, e) < 0 ||
        db_audit_chain_anchor(c, db_conn_chain(c), last, hash, &res->anchor, e) < 0)
        return -1;
    res->rows = last - first + 1;
    res->first_seq = first;
    res->last_seq = last;
    j->details =
        json_pack("{s:s,s:I,s:I,s:I,s:s}", "cutoff", j->cutoff, "first_seq", (json_int_t)first,
                  "last_seq", (json_int_t)last, "rows", (json_int_t)res->rows, "anchor_hash", hash);
    if (!j->details)
        return err_set(e, ERR_UNAVAILABLE, "out of memory");
    a->details = j->details;
    return 0;
}

/* Is the oldest row older than the cutoff? (On the reader: cheap, and it
 * keeps a daily no-op from writing an audit row.) */
static int
prune_needed(db *d, const char *cutoff, bool *yes, err *e)
{
    db_conn *c = db_reader(d, e);
    DB_STMT s = c ? db_conn_stmt(c, "SELECT ts < ?1 FROM audit ORDER BY seq LIMIT 1", e) : NULL;
    if (!s)
        return -1;
    sqlite3_bind_text(s, 1, cutoff, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return db_sqlite_err(e, rc);
    *yes = rc == SQLITE_ROW && sqlite3_column_int(s, 0) != 0;
    return 0;
}

int
db_audit_prune(db *d, const char *cutoff, int max_rows, struct db_audit *audit,
               struct db_audit_prune_result *res, err *e)
{
    memset(res, 0, sizeof(*res));
    if (!cutoff || max_rows < 1 || !audit)
        return err_set(e, ERR_INTERNAL, "prune needs a cutoff, a batch size and an audit row");
    bool yes = false;
    if (prune_needed(d, cutoff, &yes, e) < 0)
        return -1;
    if (!yes)
        return 0;
    struct prune_job j = {.cutoff = cutoff, .max_rows = max_rows, .res = res};
    int rc = db_mutate(d, apply_prune, &j, audit, e);
    json_decref(j.details);
    audit->details = NULL;
    if (rc < 0)
        memset(res, 0, sizeof(*res));
    return rc;
}
