/* audit_chain: append-only audit rows chained by HMAC-SHA256, and their check.
 *
 * Row n stores hash_n = HMAC(key, "virtportal-audit-v1" || fields_n || hash_{n-1})
 * where fields are ts, actor, user_id, token_id, tenant_id, source_ip,
 * user_agent, request_id, action, target, outcome, details, each length
 * prefixed (absent and empty differ), and prev_hash = hash_{n-1} is stored in
 * the row (all zeros for the first row). The key lives outside the database.
 *
 * The seq number is deliberately not inside the HMAC: a row's position is
 * bound by the chain itself (its prev_hash must be the hash of the row before
 * it, the first row follows the all-zero genesis or a signed checkpoint), so
 * a row that is intact but sits in the wrong place still verifies on its own
 * and the verifier can tell "reordered" (its link points at another row of
 * the chain) from "edited" (its content does not match its HMAC) and
 * "deleted" (a gap in seq, or a link to a row that no longer exists).
 * Truncating the tail leaves a valid chain, so signed checkpoints (seq, hash)
 * record heads the chain must still reach.
 *
 * Retention deletes a prefix of the chain and leaves a prune anchor: a
 * checkpoint of the last deleted row signed in its own domain. Only such an
 * anchor may stand in for the rows before the first one left, so deleting a
 * prefix up to an ordinary (head) checkpoint is still reported as deleted. */
#include "db_internal.h"

#include <inttypes.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "autoptr.h"

#define ROW_DOMAIN "virtportal-audit-v1"
#define CHECKPOINT_DOMAIN "virtportal-audit-checkpoint-v1"
#define PRUNE_DOMAIN "virtportal-audit-prune-v1"

/* The hashed fields, in this order; also the column order after seq. */
enum {
    A_TS,
    A_ACTOR,
    A_USER_ID,
    A_TOKEN_ID,
    A_TENANT_ID,
    A_SOURCE_IP,
    A_USER_AGENT,
    A_REQUEST_ID,
    A_ACTION,
    A_TARGET,
    A_OUTCOME,
    A_DETAILS,
    A_PREV_HASH,
    A_NFIELDS
};

#define AUDIT_COLUMNS                                                                              \
    "seq, ts, actor, user_id, token_id, tenant_id, source_ip, user_agent, request_id, action, "    \
    "target, outcome, details, prev_hash, hash"

struct field {
    const char *p; /* NULL: absent (SQL NULL) */
    size_t n;
};

static void
put_u64(unsigned char *out, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        out[i] = (unsigned char)(v & 0xff);
}

static void
hex(const unsigned char *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

/* hex HMAC-SHA256(key, domain NUL, then per field: 0x00 when absent, or 0x01,
 * 8-byte big-endian length, bytes). Unambiguous: no two field lists give the
 * same byte string. Returns 0, or -1 when out of memory. */
static int
mac_fields(const unsigned char *key, size_t keylen, const char *domain, const struct field *f,
           size_t nf, char out[65])
{
    size_t dlen = strlen(domain) + 1, total = dlen;
    for (size_t i = 0; i < nf; i++)
        total += 1 + (f[i].p ? 8 + f[i].n : 0);
    AUTOFREE unsigned char *buf = malloc(total);
    if (!buf)
        return -1;
    memcpy(buf, domain, dlen);
    unsigned char *w = buf + dlen;
    for (size_t i = 0; i < nf; i++) {
        *w++ = f[i].p ? 1 : 0;
        if (!f[i].p)
            continue;
        put_u64(w, f[i].n);
        memcpy(w + 8, f[i].p, f[i].n);
        w += 8 + f[i].n;
    }
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    if (!HMAC(EVP_sha256(), key, (int)keylen, buf, total, mac, &maclen) || maclen != 32)
        return -1;
    hex(mac, 32, out);
    return 0;
}

static struct field
str_field(const char *s)
{
    return (struct field){s, s ? strlen(s) : 0};
}

/* ---- append (writer thread) ---- */

/* The text form of one row being appended; the fields point into it or into
 * the caller's db_audit. */
struct row_text {
    char ts[32], user_id[24], tenant_id[24];
    char *details; /* malloc'd by jansson */
    struct field f[A_NFIELDS];
};

/* details must be an object (a scalar is a caller bug), dumped compact with
 * sorted keys so the stored text is canonical. */
static int
details_text(json_t *details, char **out, err *e)
{
    *out = NULL;
    if (!details)
        return 0;
    if (!json_is_object(details))
        return err_set(e, ERR_INTERNAL, "audit details must be a JSON object");
    *out = json_dumps(details, JSON_COMPACT | JSON_SORT_KEYS);
    return *out ? 0 : err_set(e, ERR_UNAVAILABLE, "audit details cannot be encoded");
}

static struct field
id_field(char *buf, size_t n, int64_t id)
{
    if (id == 0)
        return (struct field){NULL, 0};
    snprintf(buf, n, "%" PRId64, id);
    return str_field(buf);
}

static int
row_text_fill(struct row_text *t, const struct db_audit *a, const char *prev_hash, err *e)
{
    if (!a->action || !a->action[0])
        return err_set(e, ERR_INTERNAL, "audit row without an action");
    const char *outcome = a->outcome ? a->outcome : "ok";
    if (strcmp(outcome, "ok") && strcmp(outcome, "denied") && strcmp(outcome, "failed"))
        return err_set(e, ERR_INTERNAL, "audit outcome must be ok, denied or failed");
    if (details_text(a->details, &t->details, e) < 0)
        return -1;
    db_now_rfc3339(t->ts, sizeof(t->ts));
    t->f[A_TS] = str_field(t->ts);
    t->f[A_ACTOR] = str_field(a->actor);
    t->f[A_USER_ID] = id_field(t->user_id, sizeof(t->user_id), a->user_id);
    t->f[A_TOKEN_ID] = str_field(a->token_id);
    t->f[A_TENANT_ID] = id_field(t->tenant_id, sizeof(t->tenant_id), a->tenant_id);
    t->f[A_SOURCE_IP] = str_field(a->source_ip);
    t->f[A_USER_AGENT] = str_field(a->user_agent);
    t->f[A_REQUEST_ID] = str_field(a->request_id);
    t->f[A_ACTION] = str_field(a->action);
    t->f[A_TARGET] = str_field(a->target);
    t->f[A_OUTCOME] = str_field(outcome);
    t->f[A_DETAILS] = str_field(t->details);
    t->f[A_PREV_HASH] = str_field(prev_hash);
    return 0;
}

/* Every field is bound as text: the integer columns convert "42" to 42 by
 * affinity, and the verifier reads them back as the same text. */
static int
row_insert(db_conn *c, int64_t seq, const struct field *f, const char *hash, err *e)
{
    DB_STMT s = db_conn_stmt(c,
                             "INSERT INTO audit(" AUDIT_COLUMNS ") VALUES "
                             "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
                             e);
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, seq);
    for (int i = 0; i < A_NFIELDS; i++)
        if (f[i].p)
            sqlite3_bind_text(s, i + 2, f[i].p, (int)f[i].n, SQLITE_STATIC);
    sqlite3_bind_text(s, 15, hash, 64, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    return rc == SQLITE_DONE ? 0 : db_sqlite_err(e, rc);
}

int
db_audit_chain_append(db_conn *c, struct db_audit_chain *ch, const struct db_audit *a, err *e)
{
    struct row_text t = {0};
    char hash[65];
    if (row_text_fill(&t, a, ch->hash, e) < 0)
        return -1; /* a malformed row: the caller's bug */
    int rc = mac_fields(ch->key, ch->keylen, ROW_DOMAIN, t.f, A_NFIELDS, hash);
    err ins = {0};
    if (rc == 0)
        rc = row_insert(c, ch->seq + 1, t.f, hash, &ins);
    free(t.details);
    /* Whatever refused the row (full disk, I/O error, a constraint), the
     * change cannot be audited, so it must not happen: 503, not 500/409. */
    if (rc < 0)
        return err_set(e, ERR_UNAVAILABLE, "the audit log cannot be written (%s)",
                       rc == -1 && ins.kind ? ins.detail : "out of memory");
    ch->seq++;
    memcpy(ch->hash, hash, sizeof(hash));
    return 0;
}

int
db_audit_chain_load(db_conn *c, struct db_audit_chain *ch, err *e)
{
    DB_STMT s = db_conn_stmt(c, "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1", e);
    if (!s)
        return -1;
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) {
        ch->seq = 0;
        memcpy(ch->hash, DB_AUDIT_GENESIS, sizeof(ch->hash));
        return 0;
    }
    if (rc != SQLITE_ROW)
        return db_sqlite_err(e, rc);
    const char *h = (const char *)sqlite3_column_text(s, 1);
    if (!h || strlen(h) != 64)
        return err_set(e, ERR_INTERNAL, "the audit chain head is malformed");
    ch->seq = sqlite3_column_int64(s, 0);
    memcpy(ch->hash, h, sizeof(ch->hash));
    return 0;
}

/* ---- checkpoints ---- */

static int
checkpoint_sign(const unsigned char *key, size_t keylen, const char *domain, int64_t seq,
                const char *hash, const char *ts, char out[65])
{
    char seqs[24];
    snprintf(seqs, sizeof(seqs), "%" PRId64, seq);
    struct field f[3] = {str_field(seqs), str_field(hash), str_field(ts)};
    return mac_fields(key, keylen, domain, f, 3, out);
}

int
db_audit_checkpoint_sig(const unsigned char *key, size_t keylen, bool prune, int64_t seq,
                        const char *hash, const char *ts, char out[65])
{
    return checkpoint_sign(key, keylen, prune ? PRUNE_DOMAIN : CHECKPOINT_DOMAIN, seq, hash, ts,
                           out);
}

int
db_audit_row_hash(const unsigned char *key, size_t keylen, const char *const fields[], char out[65])
{
    struct field f[A_NFIELDS];
    for (int i = 0; i < A_NFIELDS; i++)
        f[i] = str_field(fields[i]);
    return mac_fields(key, keylen, ROW_DOMAIN, f, A_NFIELDS, out);
}

/* Signs (seq, hash) in `domain` and stores it in audit_checkpoint. */
static int
checkpoint_insert(db_conn *c, const struct db_audit_chain *ch, const char *domain, int64_t seq,
                  const char *hash, struct db_audit_checkpoint *out, err *e)
{
    struct db_audit_checkpoint cp = {.seq = seq};
    snprintf(cp.hash, sizeof(cp.hash), "%s", hash);
    db_now_rfc3339(cp.ts, sizeof(cp.ts));
    if (checkpoint_sign(ch->key, ch->keylen, domain, cp.seq, cp.hash, cp.ts, cp.signature) < 0)
        return err_set(e, ERR_UNAVAILABLE, "out of memory");
    DB_STMT s = db_conn_stmt(
        c, "INSERT INTO audit_checkpoint(seq, hash, ts, signature) VALUES (?1, ?2, ?3, ?4)", e);
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, cp.seq);
    sqlite3_bind_text(s, 2, cp.hash, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, cp.ts, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, cp.signature, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    if (rc != SQLITE_DONE)
        return db_sqlite_err(e, rc);
    cp.id = sqlite3_last_insert_rowid(db_conn_sqlite(c));
    if (out)
        *out = cp;
    return 0;
}

int
db_audit_chain_checkpoint(db_conn *c, const struct db_audit_chain *ch,
                          struct db_audit_checkpoint *out, err *e)
{
    return checkpoint_insert(c, ch, CHECKPOINT_DOMAIN, ch->seq, ch->hash, out, e);
}

int
db_audit_chain_anchor(db_conn *c, const struct db_audit_chain *ch, int64_t seq, const char *hash,
                      struct db_audit_checkpoint *out, err *e)
{
    if (!ch)
        return err_set(e, ERR_INTERNAL, "a prune anchor is written on the writer only");
    return checkpoint_insert(c, ch, PRUNE_DOMAIN, seq, hash, out, e);
}

/* ---- verification ---- */

struct verify {
    db_conn *c;
    const unsigned char *key;
    size_t keylen;
    int64_t from; /* >= 1 */
    bool have_prev;
    int64_t prev_seq, first_seq;
    char prev_hash[65];
    struct db_audit_verify_result *r;
};

static int
found(struct verify *v, enum db_audit_problem p, int64_t seq)
{
    v->r->problem = p;
    v->r->seq = seq;
    return 1;
}

static bool
hash_eq(const char *a, size_t alen, const char *b)
{
    return a && alen == 64 && CRYPTO_memcmp(a, b, 64) == 0;
}

/* Looks up one text value by an integer or text key; 1 found, 0 not, -1 error. */
static int
lookup_text(db_conn *c, const char *sql, int64_t key, const char *skey, char out[65], err *e)
{
    DB_STMT s = db_conn_stmt(c, sql, e);
    if (!s)
        return -1;
    if (skey)
        sqlite3_bind_text(s, 1, skey, -1, SQLITE_STATIC);
    else
        sqlite3_bind_int64(s, 1, key);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE)
        return 0;
    if (rc != SQLITE_ROW)
        return db_sqlite_err(e, rc);
    const char *t = (const char *)sqlite3_column_text(s, 0);
    snprintf(out, 65, "%s", t ? t : "");
    return 1;
}

/* Is this audit_checkpoint row (seq, hash, ts, signature) a prune anchor,
 * i.e. signed in the prune domain with the key? */
static bool
is_prune_anchor(const struct verify *v, sqlite3_stmt *s)
{
    const char *hash = (const char *)sqlite3_column_text(s, 1);
    const char *ts = (const char *)sqlite3_column_text(s, 2);
    const char *sig = (const char *)sqlite3_column_text(s, 3);
    char want[65];
    return hash && ts && sig &&
           checkpoint_sign(v->key, v->keylen, PRUNE_DOMAIN, sqlite3_column_int64(s, 0), hash, ts,
                           want) == 0 &&
           hash_eq(sig, strlen(sig), want);
}

/* The newest prune anchor at seq <= `at`: its seq (0: none) and hash. */
static int
prune_anchor_at_most(struct verify *v, int64_t at, int64_t *seq, char hash[65], err *e)
{
    DB_STMT s = db_conn_stmt(v->c,
                             "SELECT seq, hash, ts, signature FROM audit_checkpoint "
                             "WHERE seq <= ?1 ORDER BY seq DESC, id DESC",
                             e);
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, at);
    *seq = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (!is_prune_anchor(v, s))
            continue;
        *seq = sqlite3_column_int64(s, 0);
        snprintf(hash, 65, "%s", (const char *)sqlite3_column_text(s, 1));
        return 0;
    }
    return rc == SQLITE_DONE ? 0 : db_sqlite_err(e, rc);
}

/* The row before the first one checked: genesis, the row before `from`, or
 * the prune anchor of a pruned prefix. Returns 0 (anchored), 1 (problem
 * found), -1. */
static int
verify_anchor(struct verify *v, int64_t seq, const char *row_prev, err *e)
{
    v->have_prev = true;
    v->first_seq = seq;
    v->prev_seq = seq - 1;
    if (seq == 1) {
        memcpy(v->prev_hash, DB_AUDIT_GENESIS, sizeof(v->prev_hash));
        return 0;
    }
    int rc =
        lookup_text(v->c, "SELECT hash FROM audit WHERE seq = ?1", seq - 1, NULL, v->prev_hash, e);
    if (rc != 0)
        return rc < 0 ? -1 : 0;
    int64_t anchor = 0;
    if (prune_anchor_at_most(v, seq - 1, &anchor, v->prev_hash, e) < 0)
        return -1;
    if (anchor == seq - 1)
        return 0; /* retention removed everything before this row */
    /* Nothing before it: the rows from `from` up to here are gone, unless
     * the check starts exactly here, past a prefix it was not asked about. */
    if (v->from > 1 && seq == v->from) {
        snprintf(v->prev_hash, sizeof(v->prev_hash), "%s", row_prev ? row_prev : "");
        return 0;
    }
    /* The first missing row: after the last legitimately pruned one. */
    return found(v, DB_AUDIT_DELETED, anchor + 1 > v->from ? anchor + 1 : v->from);
}

/* Returns 0 (row fine), 1 (problem found, recorded), -1 (error). */
static int
verify_row(struct verify *v, sqlite3_stmt *s, err *e)
{
    int64_t seq = sqlite3_column_int64(s, 0);
    struct field f[A_NFIELDS];
    for (int i = 0; i < A_NFIELDS; i++) {
        f[i].p = (const char *)sqlite3_column_text(s, i + 1);
        f[i].n = (size_t)sqlite3_column_bytes(s, i + 1);
    }
    const char *stored = (const char *)sqlite3_column_text(s, 14);
    size_t stored_len = (size_t)sqlite3_column_bytes(s, 14);
    int rc = 0;
    if (!v->have_prev)
        rc = verify_anchor(v, seq, f[A_PREV_HASH].p, e);
    else if (seq != v->prev_seq + 1)
        rc = found(v, DB_AUDIT_DELETED, v->prev_seq + 1);
    if (rc != 0)
        return rc;
    char mac[65];
    if (mac_fields(v->key, v->keylen, ROW_DOMAIN, f, A_NFIELDS, mac) < 0)
        return err_set(e, ERR_UNAVAILABLE, "out of memory");
    if (!hash_eq(stored, stored_len, mac))
        return found(v, DB_AUDIT_EDITED, seq);
    if (!hash_eq(f[A_PREV_HASH].p, f[A_PREV_HASH].n, v->prev_hash)) {
        /* Intact row, wrong predecessor: moved if that predecessor is still
         * somewhere in the table, otherwise the predecessor was removed. */
        char other[65];
        int k = f[A_PREV_HASH].p ? lookup_text(v->c, "SELECT hash FROM audit WHERE hash = ?1", 0,
                                               f[A_PREV_HASH].p, other, e)
                                 : 0;
        return k < 0 ? -1 : found(v, k ? DB_AUDIT_REORDERED : DB_AUDIT_DELETED, seq);
    }
    v->prev_seq = seq;
    memcpy(v->prev_hash, stored, 64);
    v->prev_hash[64] = '\0';
    v->r->rows++;
    return 0;
}

static int
verify_rows(struct verify *v, err *e)
{
    DB_STMT s =
        db_conn_stmt(v->c, "SELECT " AUDIT_COLUMNS " FROM audit WHERE seq >= ?1 ORDER BY seq", e);
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, v->from);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        int k = verify_row(v, s, e);
        if (k != 0)
            return k;
    }
    return rc == SQLITE_DONE ? 0 : db_sqlite_err(e, rc);
}

/* One checkpoint: its signature, and the chain must still reach its head. */
static int
verify_checkpoint(struct verify *v, sqlite3_stmt *s, err *e)
{
    int64_t seq = sqlite3_column_int64(s, 0);
    const char *hash = (const char *)sqlite3_column_text(s, 1);
    const char *ts = (const char *)sqlite3_column_text(s, 2);
    const char *sig = (const char *)sqlite3_column_text(s, 3);
    char want[65];
    if (!hash || !ts || !sig)
        return found(v, DB_AUDIT_BAD_CHECKPOINT, seq);
    if (checkpoint_sign(v->key, v->keylen, CHECKPOINT_DOMAIN, seq, hash, ts, want) < 0)
        return err_set(e, ERR_UNAVAILABLE, "out of memory");
    if (!hash_eq(sig, strlen(sig), want) && !is_prune_anchor(v, s))
        return found(v, DB_AUDIT_BAD_CHECKPOINT, seq);
    v->r->checkpoints++;
    if (seq > v->r->last_seq)
        return found(v, DB_AUDIT_TRUNCATED, v->r->last_seq + 1);
    if (!v->have_prev || seq < v->first_seq)
        return 0; /* before the checked range (or a pruned prefix) */
    char row_hash[65];
    int k = lookup_text(v->c, "SELECT hash FROM audit WHERE seq = ?1", seq, NULL, row_hash, e);
    if (k < 0)
        return -1;
    /* The chain no longer reaches this signed head: rows after some earlier
     * point were replaced (e.g. truncated, then appended to again). */
    return k && strcmp(row_hash, hash) == 0 ? 0 : found(v, DB_AUDIT_BAD_CHECKPOINT, seq);
}

static int
verify_checkpoints(struct verify *v, err *e)
{
    DB_STMT s = db_conn_stmt(
        v->c, "SELECT seq, hash, ts, signature FROM audit_checkpoint ORDER BY seq, id", e);
    if (!s)
        return -1;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        int k = verify_checkpoint(v, s, e);
        if (k != 0)
            return k;
    }
    return rc == SQLITE_DONE ? 0 : db_sqlite_err(e, rc);
}

static int
verify_chain(db_conn *c, const unsigned char *key, size_t keylen, int64_t from_seq,
             struct db_audit_verify_result *r, err *e)
{
    memset(r, 0, sizeof(*r));
    struct verify v = {.c = c, .key = key, .keylen = keylen, .r = r};
    v.from = from_seq > 1 ? from_seq : 1;
    int rc = verify_rows(&v, e);
    if (rc < 0)
        return -1;
    r->last_seq = v.have_prev ? v.prev_seq : v.from - 1;
    if (rc == 0 && verify_checkpoints(&v, e) < 0)
        return -1;
    if (r->problem == DB_AUDIT_OK)
        r->seq = 0;
    return 0;
}

const char *
db_audit_problem_name(enum db_audit_problem p)
{
    switch (p) {
    case DB_AUDIT_OK:
        return "ok";
    case DB_AUDIT_EDITED:
        return "edited";
    case DB_AUDIT_DELETED:
        return "deleted";
    case DB_AUDIT_REORDERED:
        return "reordered";
    case DB_AUDIT_TRUNCATED:
        return "truncated";
    case DB_AUDIT_BAD_CHECKPOINT:
        return "bad-checkpoint";
    }
    return "unknown";
}

static int
is_virtportal_db(db_conn *c, err *e)
{
    char name[65];
    int k = lookup_text(c, "SELECT name FROM sqlite_schema WHERE type = 'table' AND name = ?1", 0,
                        "audit_checkpoint", name, e);
    if (k < 0)
        return -1;
    return k ? 0 : err_set(e, ERR_INVALID, "not a virtportal database");
}

/* The whole check sees one snapshot, even while the server keeps writing. */
int
db_audit_chain_verify(db_conn *c, const unsigned char *key, size_t keylen, int64_t from_seq,
                      struct db_audit_verify_result *r, err *e)
{
    if (db_conn_exec(c, "BEGIN", e) < 0)
        return -1;
    int rc = is_virtportal_db(c, e);
    if (rc == 0)
        rc = verify_chain(c, key, keylen, from_seq, r, e);
    sqlite3_exec(db_conn_sqlite(c), "COMMIT", NULL, NULL, NULL);
    return rc;
}

int
db_audit_verify(const char *path, const unsigned char *key, size_t keylen, int64_t from_seq,
                struct db_audit_verify_result *r, err *e)
{
    if (!path || !key || keylen < DB_AUDIT_KEY_MIN || keylen > DB_AUDIT_KEY_MAX)
        return err_set(e, ERR_INVALID, "a database path and a 32..64 byte audit key are needed");
    db_conn *c = db_conn_open(path, DB_CONN_VERIFY, DB_SYNC_FULL, e);
    if (!c)
        return -1;
    int rc = db_audit_chain_verify(c, key, keylen, from_seq, r, e);
    db_conn_close(c);
    return rc;
}
