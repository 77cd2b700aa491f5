/* audit: reading the audit trail back — query, export records, retention, and
 * the external checkpoint file that makes a truncated tail detectable even when
 * the checkpoint rows inside the database were deleted with it.
 *
 * Rows are appended only by the writer (audit_chain.c, through db_mutate and
 * db_audit_event); this module reads them on the caller's reader connection,
 * each call in its own short read transaction (a long read snapshot pins the
 * WAL), and prunes old prefixes through the writer.
 *
 * Record JSON (db_audit_rec_json) is the one serialization shared by the API
 * list, the JSONL export, syslog forwarding and the offline verifier: text
 * fields are strings (or {"base64": "..."} when the stored bytes are not valid
 * UTF-8), user_id / tenant_id numbers, details the stored JSON object, and
 * hash / prev_hash the chain's hex HMACs, so an exported file can be verified
 * without the database (db_audit_export_verify). */
#ifndef VP_DB_AUDIT_H
#define VP_DB_AUDIT_H

#include <stdbool.h>
#include <stdio.h>

#include "db.h"

/* One stored row as read back. Text is borrowed (valid during the callback
 * only); NULL is SQL NULL. user_id and tenant_id are the stored text ("42"),
 * which is what the HMAC covers. */
struct db_audit_rec {
    int64_t seq;
    const char *ts, *actor, *user_id, *token_id, *tenant_id, *source_ip, *user_agent, *request_id,
        *action, *target, *outcome, *details, *prev_hash, *hash;
};

/* Which rows. Every member is optional (NULL / 0). Strings are borrowed. */
struct db_audit_filter {
    const char *from, *to; /* canonical UTC ts ("2024-05-01T12:00:00.000Z"): from <= ts < to */
    const char *actor;
    int64_t tenant_id;         /* > 0: only this tenant's rows */
    const char *tenants;       /* JSON array of tenant ids: only rows of these (NULL: all) */
    const char *action_prefix; /* "tenant." matches tenant.create, tenant.delete... */
    const char *target, *outcome, *source_ip, *request_id; /* exact */
    int64_t after_seq, before_seq; /* exclusive seq bounds (cursor), 0 = none */
};

enum db_audit_order { DB_AUDIT_NEWEST_FIRST, DB_AUDIT_OLDEST_FIRST };

/* Called per row; returns 0 to go on, 1 to stop, -1 to fail (e filled). */
typedef int (*db_audit_row_fn)(void *arg, const struct db_audit_rec *rec, err *e);

/* Up to `limit` (1..100000) rows matching `f` (borrowed) in `order`, on the
 * calling thread's reader, in one read transaction that ends before it
 * returns. The callback must not block on anything slow (the client, the
 * network): buffer, return, then write. Time bounds assume the wall clock did
 * not step back: they are turned into seq bounds through the ts index.
 * Returns 0, or -1 with `e` (ERR_UNAVAILABLE, or the callback's error). */
int db_audit_query(db *d, const struct db_audit_filter *f, enum db_audit_order order, int limit,
                   db_audit_row_fn fn, void *arg, err *e);

/* The last seq of the chain (0 when empty), on the calling thread's reader. */
int db_audit_head(db *d, int64_t *seq, err *e);

/* The newest checkpoint row (any kind) into *out; out->seq = 0 when none. */
int db_audit_last_checkpoint(db *d, struct db_audit_checkpoint *out, err *e);

/* The record as a JSON object (new reference), NULL when out of memory. */
json_t *db_audit_rec_json(const struct db_audit_rec *rec);

/* ---- retention ---- */

struct db_audit_prune_result {
    int64_t rows;      /* rows deleted */
    int64_t first_seq; /* first and last deleted seq (0 when none) */
    int64_t last_seq;
    bool more;                         /* older rows remain beyond max_rows: call again */
    struct db_audit_checkpoint anchor; /* the prune anchor written (seq 0 when none) */
};

/* Deletes up to max_rows of the oldest rows, a prefix of the chain whose ts is
 * before `cutoff` (canonical ts, borrowed), in one mutation that also writes
 * the prune anchor (the last deleted row's seq and hash, signed) and appends
 * `audit` (borrowed; action "audit.prune" is the caller's; details are filled
 * in here: cutoff, first_seq, last_seq, rows, anchor hash). Nothing to prune:
 * returns 0 with rows = 0 and writes nothing. */
int db_audit_prune(db *d, const char *cutoff, int max_rows, struct db_audit *audit,
                   struct db_audit_prune_result *res, err *e);

/* ---- the external checkpoint file (append-only, outside the database) ---- */

/* Appends one JSON line {"kind":"head"|"prune","seq","hash","ts","signature"}
 * for `cp` (borrowed) to `path` (created 0600), and fdatasyncs it. Returns 0,
 * or -1 with ERR_UNAVAILABLE. */
int db_audit_checkpoint_file_append(const char *path, const struct db_audit_checkpoint *cp,
                                    bool prune, err *e);

/* The result of the full check: the chain, its checkpoints, and the external
 * checkpoint file. */
struct db_audit_check {
    struct db_audit_verify_result chain; /* problem/seq: the first problem found */
    int64_t external;                    /* external checkpoints checked */
    bool external_missing;               /* the file does not exist */
};

/* db_audit_verify plus the external file `cpfile` (NULL: none; a missing file
 * sets external_missing and is not a problem by itself). Every line of the
 * file must carry a valid signature; its seq must still be in the chain with
 * the same hash, or older than a prune anchor (pruned legitimately). A head
 * the database no longer reaches is TRUNCATED at the first missing seq. All
 * borrowed. Returns 0 when the check ran, -1 with `e` otherwise. */
int db_audit_check(const char *dbpath, const char *cpfile, const unsigned char *key, size_t keylen,
                   int64_t from_seq, struct db_audit_check *r, err *e);

/* The same on a live database through the calling thread's reader, with the
 * key given here (the caller loads it from its file). */
int db_audit_check_live(db *d, const char *cpfile, const unsigned char *key, size_t keylen,
                        int64_t from_seq, struct db_audit_check *r, err *e);

/* ---- offline verification of a JSONL export ---- */

struct db_audit_export_result {
    enum db_audit_problem problem; /* EDITED, DELETED (a gap), REORDERED */
    int64_t seq;                   /* first broken seq (or line number when unparseable) */
    int64_t line;                  /* its line number */
    int64_t records, first_seq, last_seq, gaps;
};

/* Reads JSONL records from `in` (borrowed) and checks each record's HMAC with
 * `key` and the links between consecutive records. Records must be in
 * increasing seq order; a gap is DELETED unless allow_gaps (a filtered
 * export). Returns 0 when the check ran (verdict in *r), -1 with `e` when the
 * input is not an export (ERR_INVALID, line number in r->line). */
int db_audit_export_verify(FILE *in, const unsigned char *key, size_t keylen, bool allow_gaps,
                           struct db_audit_export_result *r, err *e);

/* ---- the chain's own serialization (audit_chain.c) ---- */

enum { DB_AUDIT_NFIELDS = 13 };

/* The hex HMAC of one row: `fields` are ts, actor, user_id, token_id,
 * tenant_id, source_ip, user_agent, request_id, action, target, outcome,
 * details, prev_hash (NULL = absent), exactly as stored. 0 or -1 (no memory). */
int db_audit_row_hash(const unsigned char *key, size_t keylen, const char *const fields[],
                      char out[65]);

/* The signature of a head checkpoint or (prune) a prune anchor. 0 or -1. */
int db_audit_checkpoint_sig(const unsigned char *key, size_t keylen, bool prune, int64_t seq,
                            const char *hash, const char *ts, char out[65]);

#ifdef VP_DB_INTERNAL
/* Writes a prune anchor for (seq, hash) signed with ch's key; writer only. */
int db_audit_chain_anchor(db_conn *c, const struct db_audit_chain *ch, int64_t seq,
                          const char *hash, struct db_audit_checkpoint *out, err *e);
#endif

#endif
