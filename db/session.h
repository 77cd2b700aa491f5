/* session store: what authentication reads and writes on every request —
 * principals (user and bindings), API token lookup, refresh-token families.
 * Times are seconds since the epoch as the portal sees them (app_now). */
#ifndef VP_DB_SESSION_H
#define VP_DB_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "arena.h"
#include "db.h"
#include "roles.h"

struct db_session_user {
    int64_t id;
    char login[65];
    int64_t tenant_id; /* 0 = global user */
    bool disabled;
    char password_hash[256];
    char totp_secret[64]; /* "" when TOTP is off */
};

struct db_session_token {
    int64_t id;
    int64_t user_id;
    char hash[65];
    bool narrowed;
    bool revoked;
    int64_t expires_at; /* 0 = never */
    int64_t last_used_at;
};

/* The user called `login` (case-insensitive) or with `id`; ERR_NOT_FOUND. */
int db_session_user_by_login(db *d, const char *login, struct db_session_user *u, err *e);
int db_session_user_by_id(db *d, int64_t id, struct db_session_user *u, err *e);

/* The bindings of a subject ("user"/"token"), folded to one perm_set per
 * scope. *out is malloc'd (caller frees), possibly NULL with *n = 0. */
int db_session_bindings(db *d, const char *subject_kind, int64_t subject_id,
                        struct auth_binding **out, size_t *n, err *e);

/* The API token with this lookup prefix; ERR_NOT_FOUND. */
int db_session_token_by_prefix(db *d, const char *prefix, struct db_session_token *t, err *e);

/* Is any token of this refresh family revoked (logout, reuse)? */
int db_session_family_revoked(db *d, const char *family, bool *revoked, err *e);

/* Stores a new refresh token (hash only) of `family` for user_id, with the
 * login's audit row, in one transaction. */
int db_session_refresh_create(db *d, int64_t user_id, const char *family, const char *hash,
                              int64_t now, int64_t expires_at, struct db_audit *a, err *e);

enum db_refresh_outcome {
    DB_REFRESH_OK,
    DB_REFRESH_UNKNOWN, /* no such token */
    DB_REFRESH_EXPIRED,
    DB_REFRESH_REVOKED,
    DB_REFRESH_REUSED, /* already used: the whole family is now revoked */
};

struct db_refresh_result {
    enum db_refresh_outcome outcome;
    int64_t user_id;
    char family[48];
};

/* Rotates a refresh token: marks `old_hash` used and stores `new_hash` in the
 * same family; a reused token revokes its family instead. The audit row is
 * written either way (a->outcome and action are set from the outcome). */
int db_session_refresh_rotate(db *d, const char *old_hash, const char *new_hash, int64_t now,
                              int64_t expires_at, struct db_refresh_result *res, struct db_audit *a,
                              err *e);

/* The family of the refresh token with this hash, as an arena string; NULL
 * with ERR_UNAUTHENTICATED when there is none. */
const char *db_session_family_of(db *d, const char *hash, arena *a, err *e);

/* Revokes every refresh token of `family` (logout), with its audit row. */
int db_session_family_revoke(db *d, const char *family, int64_t now, struct db_audit *a, err *e);

/* Records that an API token was used (bookkeeping, no audit row). */
int db_session_token_touch(db *d, int64_t token_id, int64_t now, err *e);

/* Sets (secret, base32) or clears (NULL) the TOTP secret of user `uid`,
 * with its audit row. ERR_NOT_FOUND when the user is gone. */
int db_session_set_totp(db *d, int64_t uid, const char *secret, struct db_audit *a, err *e);

/* RFC 3339 UTC ("2026-01-02T03:04:05.000Z") of t into buf (>= 32 bytes), and back. */
void db_time_format(int64_t t, char *buf, size_t n);
int64_t db_time_parse(const char *s);

#endif
