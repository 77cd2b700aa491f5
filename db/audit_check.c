/* audit_check: the external checkpoint file, the full check (chain +
 * checkpoints + that file), and the offline verifier of a JSONL export.
 *
 * The checkpoint file is written only after the checkpoint is committed to the
 * database, so every line names a head the database once had durably: a line
 * beyond the database's last seq means its tail is gone, even when the
 * checkpoint rows were deleted together with the tail. */
#include "db_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "audit.h"
#include "autoptr.h"

AUTOPTR_DEFINE(json_t, json_decref)

_Static_assert(DB_AUDIT_NFIELDS == 13, "the chain hashes 13 fields");

/* ---- the external checkpoint file ---- */

static int
write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int
db_audit_checkpoint_file_append(const char *path, const struct db_audit_checkpoint *cp, bool prune,
                                err *e)
{
    AUTOPTR(json_t)
    j = json_pack("{s:s,s:I,s:s,s:s,s:s}", "kind", prune ? "prune" : "head", "seq",
                  (json_int_t)cp->seq, "hash", cp->hash, "ts", cp->ts, "signature", cp->signature);
    AUTOFREE char *line = j ? json_dumps(j, JSON_COMPACT) : NULL;
    if (!line)
        return err_set(e, ERR_UNAVAILABLE, "out of memory");
    size_t n = strlen(line);
    line[n] = '\n'; /* json_dumps leaves room for nothing: rewrite the NUL */
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return err_set(e, ERR_UNAVAILABLE, "cannot open the audit checkpoint file");
    int rc = write_all(fd, line, n + 1) < 0 || fdatasync(fd) < 0 ? -1 : 0;
    close(fd);
    return rc < 0 ? err_set(e, ERR_UNAVAILABLE, "cannot write the audit checkpoint file") : 0;
}

/* ---- the external check ---- */

struct ext {
    db_conn *c;
    const unsigned char *key;
    size_t keylen;
    int64_t from, last_seq, pruned_to; /* rows <= pruned_to were pruned legitimately */
    struct db_audit_check *r;
    enum db_audit_problem problem; /* the external file's first problem (by seq) */
    int64_t seq;
};

static void
ext_found(struct ext *x, enum db_audit_problem p, int64_t seq)
{
    if (x->problem == DB_AUDIT_OK || seq < x->seq) {
        x->problem = p;
        x->seq = seq;
    }
}

static int
ext_int(db_conn *c, const char *sql, int64_t *out, err *e)
{
    DB_STMT s = db_conn_stmt(c, sql, e);
    if (!s)
        return -1;
    int rc = sqlite3_step(s);
    if (rc != SQLITE_ROW)
        return db_sqlite_err(e, rc);
    *out = sqlite3_column_int64(s, 0);
    return 0;
}

/* The newest prune anchor in the database with a valid signature. */
static int
ext_pruned_to(struct ext *x, err *e)
{
    DB_STMT s = db_conn_stmt(
        x->c, "SELECT seq, hash, ts, signature FROM audit_checkpoint ORDER BY seq DESC, id DESC",
        e);
    if (!s)
        return -1;
    int rc;
    x->pruned_to = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *h = (const char *)sqlite3_column_text(s, 1);
        const char *ts = (const char *)sqlite3_column_text(s, 2);
        const char *sig = (const char *)sqlite3_column_text(s, 3);
        char want[65];
        int64_t seq = sqlite3_column_int64(s, 0);
        if (h && ts && sig && strlen(sig) == 64 &&
            db_audit_checkpoint_sig(x->key, x->keylen, true, seq, h, ts, want) == 0 &&
            CRYPTO_memcmp(sig, want, 64) == 0) {
            x->pruned_to = seq;
            return 0;
        }
    }
    return rc == SQLITE_DONE ? 0 : db_sqlite_err(e, rc);
}

/* The hash of row seq: 1 found, 0 missing, -1 error. */
static int
ext_row_hash(struct ext *x, int64_t seq, char out[65], err *e)
{
    DB_STMT s = db_conn_stmt(x->c, "SELECT hash FROM audit WHERE seq = ?1", e);
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, seq);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE)
        return 0;
    if (rc != SQLITE_ROW)
        return db_sqlite_err(e, rc);
    const char *h = (const char *)sqlite3_column_text(s, 0);
    snprintf(out, 65, "%s", h ? h : "");
    return 1;
}

/* One checkpoint line: signed, and still reached by the chain (or pruned). */
static int
ext_line(struct ext *x, const char *line, err *e)
{
    AUTOPTR(json_t) j = json_loads(line, 0, NULL);
    const char *kind = json_string_value(json_object_get(j, "kind"));
    const char *hash = json_string_value(json_object_get(j, "hash"));
    const char *ts = json_string_value(json_object_get(j, "ts"));
    const char *sig = json_string_value(json_object_get(j, "signature"));
    json_t *jseq = json_object_get(j, "seq");
    int64_t seq = json_is_integer(jseq) ? json_integer_value(jseq) : 0;
    char want[65], have[65];
    if (!kind || !hash || !ts || !sig || seq < 1 || strlen(sig) != 64 ||
        db_audit_checkpoint_sig(x->key, x->keylen, !strcmp(kind, "prune"), seq, hash, ts, want) <
            0 ||
        CRYPTO_memcmp(sig, want, 64) != 0) {
        ext_found(x, DB_AUDIT_BAD_CHECKPOINT, seq > 0 ? seq : 0);
        return 0;
    }
    x->r->external++;
    if (seq < x->from)
        return 0;
    if (seq > x->last_seq) {
        ext_found(x, DB_AUDIT_TRUNCATED, x->last_seq + 1);
        return 0;
    }
    int k = ext_row_hash(x, seq, have, e);
    if (k < 0)
        return -1;
    if (k == 0 && seq > x->pruned_to)
        ext_found(x, DB_AUDIT_DELETED, seq);
    else if (k == 1 && strcmp(have, hash))
        ext_found(x, DB_AUDIT_BAD_CHECKPOINT, seq);
    return 0;
}

/* Every complete line of the file; a last line without its newline is an
 * append the crash cut short and is ignored. */
static int
ext_lines(struct ext *x, FILE *f, err *e)
{
    AUTOFREE char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, f)) > 0) {
        if (line[n - 1] != '\n')
            break;
        line[n - 1] = '\0';
        if (n > 1 && ext_line(x, line, e) < 0)
            return -1;
    }
    return 0;
}

/* In one read snapshot of c. */
static int
ext_check(db_conn *c, const char *cpfile, const unsigned char *key, size_t keylen, int64_t from,
          struct db_audit_check *r, err *e)
{
    FILE *f = fopen(cpfile, "re");
    if (!f) {
        r->external_missing = errno == ENOENT;
        return r->external_missing ? 0 : err_set(e, ERR_UNAVAILABLE, "cannot read %s", cpfile);
    }
    struct ext x = {.c = c, .key = key, .keylen = keylen, .from = from, .r = r};
    int rc = db_conn_exec(c, "BEGIN", e);
    if (rc == 0)
        rc = ext_int(c, "SELECT ifnull(max(seq), 0) FROM audit", &x.last_seq, e);
    if (rc == 0)
        rc = ext_pruned_to(&x, e);
    if (rc == 0)
        rc = ext_lines(&x, f, e);
    sqlite3_exec(db_conn_sqlite(c), "COMMIT", NULL, NULL, NULL);
    fclose(f);
    /* The chain's own first problem comes first; else the file's. */
    if (rc == 0 && r->chain.problem == DB_AUDIT_OK && x.problem != DB_AUDIT_OK) {
        r->chain.problem = x.problem;
        r->chain.seq = x.seq;
    }
    return rc;
}

static int
check_on(db_conn *c, const char *cpfile, const unsigned char *key, size_t keylen, int64_t from,
         struct db_audit_check *r, err *e)
{
    memset(r, 0, sizeof(*r));
    if (db_audit_chain_verify(c, key, keylen, from, &r->chain, e) < 0)
        return -1;
    return cpfile ? ext_check(c, cpfile, key, keylen, from > 1 ? from : 1, r, e) : 0;
}

int
db_audit_check(const char *dbpath, const char *cpfile, const unsigned char *key, size_t keylen,
               int64_t from_seq, struct db_audit_check *r, err *e)
{
    if (!dbpath || !key || keylen < DB_AUDIT_KEY_MIN || keylen > DB_AUDIT_KEY_MAX)
        return err_set(e, ERR_INVALID, "a database path and a 32..64 byte audit key are needed");
    db_conn *c = db_conn_open(dbpath, DB_CONN_VERIFY, DB_SYNC_FULL, e);
    if (!c)
        return -1;
    int rc = check_on(c, cpfile, key, keylen, from_seq, r, e);
    db_conn_close(c);
    return rc;
}

int
db_audit_check_live(db *d, const char *cpfile, const unsigned char *key, size_t keylen,
                    int64_t from_seq, struct db_audit_check *r, err *e)
{
    if (!key || keylen < DB_AUDIT_KEY_MIN || keylen > DB_AUDIT_KEY_MAX)
        return err_set(e, ERR_INVALID, "a 32..64 byte audit key is needed");
    db_conn *c = db_reader(d, e);
    return c ? check_on(c, cpfile, key, keylen, from_seq, r, e) : -1;
}

/* ---- offline verification of a JSONL export ---- */

/* The stored text of a record member: a string, {"base64": …}, an integer id,
 * the details object (dumped as audit_chain.c stored it) or null. Returns 0
 * (out may be NULL for null) or -1 when the member has no such form. */
static int
member_text(json_t *v, char **out)
{
    *out = NULL;
    if (!v || json_is_null(v))
        return 0;
    if (json_is_string(v))
        return (*out = strdup(json_string_value(v))) ? 0 : -1;
    if (json_is_integer(v)) {
        char buf[24];
        snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return (*out = strdup(buf)) ? 0 : -1;
    }
    const char *b64 = json_string_value(json_object_get(v, "base64"));
    if (b64 && json_object_size(v) == 1) {
        size_t n = strlen(b64);
        unsigned char *raw = malloc(n / 4 * 3 + 4);
        int len = raw ? EVP_DecodeBlock(raw, (const unsigned char *)b64, (int)n) : -1;
        if (len < 0) {
            free(raw);
            return -1;
        }
        while (len > 0 && n > 0 && b64[--n] == '=')
            len--; /* DecodeBlock counts the padding as zero bytes */
        raw[len] = '\0';
        *out = (char *)raw;
        return 0;
    }
    if (json_is_object(v))
        return (*out = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS)) ? 0 : -1;
    return -1;
}

static const char *const export_members[DB_AUDIT_NFIELDS] = {
    "ts",         "actor",  "user_id", "token_id", "tenant_id", "source_ip", "user_agent",
    "request_id", "action", "target",  "outcome",  "details",   "prev_hash"};

/* One record's seq, hash and recomputed HMAC. */
struct xrec {
    int64_t seq;
    char hash[65], prev[65], mac[65];
};

static int
xrec_parse(const char *line, const unsigned char *key, size_t keylen, struct xrec *x)
{
    AUTOPTR(json_t) j = json_loads(line, JSON_ALLOW_NUL, NULL);
    json_t *seq = json_object_get(j, "seq");
    const char *hash = json_string_value(json_object_get(j, "hash"));
    if (!json_is_object(j) || !json_is_integer(seq) || !hash || strlen(hash) != 64)
        return -1;
    x->seq = json_integer_value(seq);
    snprintf(x->hash, sizeof(x->hash), "%s", hash);
    char *f[DB_AUDIT_NFIELDS] = {0};
    int rc = 0;
    for (int i = 0; i < DB_AUDIT_NFIELDS && rc == 0; i++)
        rc = member_text(json_object_get(j, export_members[i]), &f[i]);
    if (rc == 0) {
        snprintf(x->prev, sizeof(x->prev), "%s", f[DB_AUDIT_NFIELDS - 1] ? f[12] : "");
        rc = db_audit_row_hash(key, keylen, (const char *const *)f, x->mac);
    }
    for (int i = 0; i < DB_AUDIT_NFIELDS; i++)
        free(f[i]);
    return rc;
}

/* A problem that needs the rest of the file to be named: a gap (rows
 * missing, or moved further down) or a broken link (its predecessor deleted,
 * or elsewhere in the file). */
struct pending {
    bool open;
    int64_t seq, gap_end; /* gap: [seq, gap_end) */
    char want[65];        /* link: the predecessor hash it points at */
};

struct xstate {
    const unsigned char *key;
    size_t keylen;
    bool allow_gaps, have_prev, decided;
    struct xrec prev;
    struct pending pend;
    struct db_audit_export_result *r;
};

static void
x_found(struct xstate *s, enum db_audit_problem p, int64_t seq, int64_t line)
{
    s->decided = true;
    s->pend.open = false;
    s->r->problem = p;
    s->r->seq = seq;
    s->r->line = line;
}

/* A later record settles a pending problem as reordered. */
static void
x_settle(struct xstate *s, const struct xrec *x)
{
    struct pending *p = &s->pend;
    if (p->gap_end ? (x->seq >= p->seq && x->seq < p->gap_end) : !strcmp(x->hash, p->want)) {
        s->r->problem = DB_AUDIT_REORDERED;
        s->decided = true;
        p->open = false;
    }
}

static void
x_pend(struct xstate *s, const struct xrec *x, int64_t seq, int64_t gap_end, int64_t line)
{
    s->pend = (struct pending){.open = true, .seq = seq, .gap_end = gap_end};
    snprintf(s->pend.want, sizeof(s->pend.want), "%s", x->prev);
    s->r->problem = DB_AUDIT_DELETED; /* unless something later settles it */
    s->r->seq = seq;
    s->r->line = line;
}

static void
x_record(struct xstate *s, const struct xrec *x, int64_t line)
{
    struct db_audit_export_result *r = s->r;
    if (s->pend.open) {
        x_settle(s, x);
        return;
    }
    if (r->problem != DB_AUDIT_OK)
        return;
    r->records++;
    if (!r->first_seq)
        r->first_seq = x->seq;
    if (CRYPTO_memcmp(x->mac, x->hash, 64) != 0)
        return x_found(s, DB_AUDIT_EDITED, x->seq, line);
    if (s->have_prev && x->seq <= s->prev.seq)
        return x_found(s, DB_AUDIT_REORDERED, x->seq, line);
    if (s->have_prev && x->seq > s->prev.seq + 1) {
        r->gaps++;
        if (!s->allow_gaps)
            x_pend(s, x, s->prev.seq + 1, x->seq, line);
    } else if (s->have_prev && strcmp(x->prev, s->prev.hash)) {
        x_pend(s, x, x->seq, 0, line);
    }
    s->prev = *x;
    s->have_prev = true;
    r->last_seq = x->seq;
}

int
db_audit_export_verify(FILE *in, const unsigned char *key, size_t keylen, bool allow_gaps,
                       struct db_audit_export_result *r, err *e)
{
    memset(r, 0, sizeof(*r));
    if (!key || keylen < DB_AUDIT_KEY_MIN || keylen > DB_AUDIT_KEY_MAX)
        return err_set(e, ERR_INVALID, "a 32..64 byte audit key is needed");
    struct xstate s = {.key = key, .keylen = keylen, .allow_gaps = allow_gaps, .r = r};
    AUTOFREE char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int64_t lineno = 0;
    while ((n = getline(&line, &cap, in)) > 0 && !s.decided) {
        lineno++;
        if (line[n - 1] == '\n')
            line[n - 1] = '\0';
        if (!line[0])
            continue;
        struct xrec x;
        if (xrec_parse(line, key, keylen, &x) < 0) {
            r->line = lineno;
            return err_set(e, ERR_INVALID, "line %lld is not an audit record", (long long)lineno);
        }
        x_record(&s, &x, lineno);
    }
    return 0;
}
