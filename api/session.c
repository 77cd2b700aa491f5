/* Sessions: login, refresh-token rotation, logout, and "who am I".
 *
 * Login returns a short-lived access JWT in the body (the browser keeps it in
 * memory only) and sets the refresh token as an HttpOnly, Secure,
 * SameSite=Strict cookie scoped to /api/v1/auth. Refresh tokens are opaque,
 * stored hashed, single use; presenting a used one revokes its whole family
 * (RFC 6749 security BCP: refresh token rotation with reuse detection). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "app.h"
#include "db.h"
#include "identity.h"
#include "jwt.h"
#include "password.h"
#include "secret.h"
#include "session.h"
#include "session_api.h"
#include "throttle.h"
#include "totp.h"

#define REFRESH_COOKIE "vp_refresh"

static int
set_refresh_cookie(struct api_req *r, struct api_resp *w, const char *token, int max_age)
{
    const char *c = arena_printf(r->a,
                                 REFRESH_COOKIE "=%s; Path=/api/v1/auth; Max-Age=%d; HttpOnly; "
                                                "Secure; SameSite=Strict",
                                 token, max_age);
    if (!c)
        return -1;
    api_add_header(w, "Set-Cookie", c);
    return 0;
}

/* Issues an access token bound to session `family` and renders the body. */
static int
reply_tokens(struct api_req *r, struct api_resp *w, const struct db_session_user *u,
             const char *family, err *e)
{
    unsigned char rnd[6];
    if (auth_random_bytes(rnd, sizeof(rnd), e) < 0)
        return -1;
    struct auth_jwt_claims c = {.uid = u->id, .tid = u->tenant_id};
    snprintf(c.sub, sizeof(c.sub), "%s", u->login);
    snprintf(c.jti, sizeof(c.jti), "%s.%02x%02x%02x%02x%02x%02x", family, rnd[0], rnd[1], rnd[2],
             rnd[3], rnd[4], rnd[5]);
    char *tok = NULL;
    if (auth_jwt_issue(r->app->jwt, &c, (time_t)app_now(r->app), &tok, e) < 0)
        return -1;
    json_t *j = json_pack("{s:s,s:s,s:i}", "access_token", tok, "token_type", "Bearer",
                          "expires_in", r->app->cfg.access_ttl_s);
    free(tok);
    api_reply_json(r, w, 200, j);
    json_decref(j);
    return 0;
}

/* A new refresh token: *token (to send, arena) and *hash (to store, arena). */
static int
new_refresh(struct api_req *r, char **token, char **hash, err *e)
{
    char *t = NULL;
    if (auth_token_new(NULL, &t, NULL, e) < 0)
        return -1;
    char h[AUTH_TOKEN_HASH_LEN + 1];
    auth_token_hash(t, h);
    *token = arena_strdup(r->a, t);
    *hash = arena_strdup(r->a, h);
    explicit_bzero(t, strlen(t));
    free(t);
    return *token && *hash ? 0 : err_set(e, ERR_INTERNAL, "out of memory");
}

/* A session id: 128 random bits, base64url (22 characters). */
static char *
new_family(struct api_req *r, err *e)
{
    unsigned char rnd[16];
    if (auth_random_bytes(rnd, sizeof(rnd), e) < 0)
        return NULL;
    char *b = auth_b64url_encode(rnd, sizeof(rnd));
    char *out = b ? arena_strdup(r->a, b) : NULL;
    free(b);
    if (!out)
        err_set(e, ERR_INTERNAL, "out of memory");
    return out;
}

struct login_in {
    const char *login, *password, *totp;
};

static int
parse_login(json_t *j, struct login_in *in, err *e)
{
    const char *key;
    json_t *v;
    json_object_foreach(j, key, v)
    {
        if (strcmp(key, "login") && strcmp(key, "password") && strcmp(key, "totp"))
            return err_set_field(e, key, "Unknown member '%s'.", key);
        if (!json_is_string(v))
            return err_set_field(e, key, "'%s' must be a string.", key);
    }
    in->login = json_string_value(json_object_get(j, "login"));
    in->password = json_string_value(json_object_get(j, "password"));
    in->totp = json_string_value(json_object_get(j, "totp"));
    if (!in->login || !*in->login || strlen(in->login) > 64)
        return err_set_field(e, "login", "A login of 1 to 64 characters is required.");
    if (!in->password || !*in->password || strlen(in->password) > 1024)
        return err_set_field(e, "password", "A password of 1 to 1024 characters is required.");
    return 0;
}

static void
audit_login(struct api_req *r, const char *login, int64_t uid, const char *outcome,
            const char *reason)
{
    struct db_audit a;
    api_audit_init(r, &a, "auth.login", arena_printf(r->a, "user/%s", login), 0);
    a.actor = login;
    a.user_id = uid;
    a.outcome = outcome;
    json_t *d = reason ? json_pack("{s:s}", "reason", reason) : NULL;
    a.details = d;
    db_audit_event(r->app->db, &a, NULL);
    json_decref(d);
}

/* Throttled per account and per address: 5 failures a minute -> 429. */
static int
login_throttled(struct api_req *r, const char *akey, const char *ikey, struct api_resp *w, err *e)
{
    int wait_a = 0, wait_i = 0;
    time_t now = (time_t)app_now(r->app);
    int blocked = auth_throttle_check(r->app->throttle, akey, now, &wait_a) |
                  auth_throttle_check(r->app->throttle, ikey, now, &wait_i);
    if (!blocked)
        return 0;
    int wait = wait_a > wait_i ? wait_a : wait_i;
    api_add_header(w, "Retry-After", arena_printf(r->a, "%d", wait));
    return err_set(e, ERR_RATE_LIMITED, "Too many failed logins; try again in %d seconds.", wait);
}

static int
check_totp(const struct db_session_user *u, const char *code, int64_t now)
{
    unsigned char key[64];
    size_t klen = 0;
    if (!u->totp_secret[0])
        return 0;
    if (!code || auth_totp_base32_decode(u->totp_secret, key, sizeof(key), &klen) < 0)
        return -1;
    int ok = auth_totp_verify(key, klen, code, (time_t)now, NULL);
    explicit_bzero(key, sizeof(key));
    return ok == 1 ? 0 : -1;
}

/* Verifies the credentials; fills u. A generic error never says which part failed. */
static int
login_verify(struct api_req *r, const struct login_in *in, struct db_session_user *u,
             const char **reason, err *e)
{
    err le = {0};
    if (db_session_user_by_login(r->app->db, in->login, u, &le) < 0) {
        if (le.kind != ERR_NOT_FOUND)
            return err_set(e, le.kind, "%s", le.detail);
        auth_password_dummy_verify(in->password); /* same time as a real check */
        *reason = "unknown-login";
    } else if (auth_password_verify(u->password_hash, in->password) != 1) {
        *reason = "bad-password";
    } else if (u->disabled) {
        *reason = "disabled";
    } else if (check_totp(u, in->totp, app_now(r->app)) < 0) {
        *reason = in->totp ? "bad-totp" : "totp-required";
    } else {
        return 0;
    }
    return err_set(e, ERR_UNAUTHENTICATED, "Invalid login or password.");
}

int
api_session_login(struct api_req *r, struct api_resp *w, err *e)
{
    struct login_in in = {0};
    if (parse_login(r->json, &in, e) < 0)
        return -1;
    const char *akey = arena_printf(r->a, "acct:%s", in.login);
    const char *ikey = arena_printf(r->a, "ip:%s", r->source_ip);
    if (login_throttled(r, akey, ikey, w, e) < 0) {
        audit_login(r, in.login, 0, "denied", "throttled");
        return -1;
    }
    struct db_session_user u = {0};
    const char *reason = NULL;
    if (login_verify(r, &in, &u, &reason, e) < 0) {
        time_t now = (time_t)app_now(r->app);
        auth_throttle_fail(r->app->throttle, akey, now);
        auth_throttle_fail(r->app->throttle, ikey, now);
        audit_login(r, in.login, u.id, "failed", reason);
        if (reason && !strcmp(reason, "totp-required")) {
            err_set_field(e, "totp", "A TOTP code is required.");
            e->kind = ERR_UNAUTHENTICATED; /* 401, with errors[].field = "totp" for the form */
        }
        return -1;
    }
    auth_throttle_ok(r->app->throttle, akey);
    char *family = new_family(r, e), *refresh = NULL, *hash = NULL;
    if (!family || new_refresh(r, &refresh, &hash, e) < 0)
        return -1;
    struct db_audit a;
    api_audit_init(r, &a, "auth.login", arena_printf(r->a, "user/%lld", (long long)u.id),
                   u.tenant_id);
    a.actor = u.login;
    a.user_id = u.id;
    int64_t now = app_now(r->app);
    if (db_session_refresh_create(r->app->db, u.id, family, hash, now,
                                  now + r->app->cfg.refresh_ttl_s, &a, e) < 0)
        return -1;
    if (set_refresh_cookie(r, w, refresh, r->app->cfg.refresh_ttl_s) < 0)
        return err_set(e, ERR_INTERNAL, "out of memory");
    return reply_tokens(r, w, &u, family, e);
}

int
api_session_refresh(struct api_req *r, struct api_resp *w, err *e)
{
    if (api_csrf_check(r, e) < 0)
        return -1;
    const char *old = api_cookie(r, REFRESH_COOKIE);
    if (!old || !*old)
        return err_set(e, ERR_UNAUTHENTICATED, "No session.");
    char old_hash[AUTH_TOKEN_HASH_LEN + 1];
    auth_token_hash(old, old_hash);
    char *refresh = NULL, *hash = NULL;
    if (new_refresh(r, &refresh, &hash, e) < 0)
        return -1;
    struct db_audit a;
    api_audit_init(r, &a, "auth.refresh", "session", 0);
    struct db_refresh_result res;
    int64_t now = app_now(r->app);
    if (db_session_refresh_rotate(r->app->db, old_hash, hash, now, now + r->app->cfg.refresh_ttl_s,
                                  &res, &a, e) < 0)
        return -1;
    struct db_session_user u;
    if (res.outcome != DB_REFRESH_OK || db_session_user_by_id(r->app->db, res.user_id, &u, e) < 0 ||
        u.disabled) {
        set_refresh_cookie(r, w, "", 0);
        return err_set(e, ERR_UNAUTHENTICATED, "The session has ended; log in again.");
    }
    set_refresh_cookie(r, w, refresh, r->app->cfg.refresh_ttl_s);
    return reply_tokens(r, w, &u, res.family, e);
}

/* The session family of a bearer access token, or of the refresh cookie. */
static const char *
logout_family(struct api_req *r, err *e)
{
    const char *h = api_header(r, "Authorization");
    if (h && !strncmp(h, "Bearer ", 7) && strncmp(h + 7, "vpt_", 4)) {
        struct auth_jwt_claims c;
        if (auth_jwt_verify(r->app->jwt, h + 7, (time_t)app_now(r->app), &c, NULL, e) < 0)
            return NULL;
        char *dot = strchr(c.jti, '.');
        if (dot)
            *dot = '\0';
        r->who.login = arena_strdup(r->a, c.sub);
        r->who.user_id = c.uid;
        return arena_strdup(r->a, c.jti);
    }
    const char *cookie = api_cookie(r, REFRESH_COOKIE);
    if (!cookie || !*cookie) {
        err_set(e, ERR_UNAUTHENTICATED, "No session.");
        return NULL;
    }
    if (api_csrf_check(r, e) < 0)
        return NULL;
    char hash[AUTH_TOKEN_HASH_LEN + 1];
    auth_token_hash(cookie, hash);
    return db_session_family_of(r->app->db, hash, r->a, e);
}

int
api_session_logout(struct api_req *r, struct api_resp *w, err *e)
{
    const char *family = logout_family(r, e);
    if (!family)
        return -1;
    struct db_audit a;
    api_audit_init(r, &a, "auth.logout", "session", 0);
    if (db_session_family_revoke(r->app->db, family, app_now(r->app), &a, e) < 0)
        return -1;
    set_refresh_cookie(r, w, "", 0);
    return api_reply_empty(w);
}

static json_t *
perms_json(perm_set s)
{
    json_t *a = json_array();
    for (int p = PERM_FIRST_GRANTABLE; p < PERM_COUNT; p++)
        if (perm_set_has(s, (enum perm)p))
            json_array_append_new(a, json_string(perm_name((enum perm)p)));
    return a;
}

/* {id, slug, name} of the caller's own tenant, or null. */
static json_t *
my_tenant(struct api_req *r)
{
    struct db_tenant t;
    err te = {0};
    if (!r->who.tenant_id || db_tenant_get(r->app->db, r->who.tenant_id, &t, &te) < 0)
        return json_null();
    return json_pack("{s:I,s:s,s:s}", "id", (json_int_t)t.id, "slug", t.slug, "name", t.name);
}

int
api_session_me(struct api_req *r, struct api_resp *w, err *e)
{
    json_t *tenants = json_object();
    for (size_t i = 0; i < r->who.nbindings; i++) {
        int64_t tid = r->who.bindings[i].tenant_id;
        if (tid)
            json_object_set_new(tenants, arena_printf(r->a, "%lld", (long long)tid),
                                perms_json(api_perms(r, tid)));
    }
    json_t *j = json_pack(
        "{s:I,s:s,s:o,s:o,s:o,s:o,s:s}", "id", (json_int_t)r->who.user_id, "login", r->who.login,
        "tenant_id", r->who.tenant_id ? json_integer(r->who.tenant_id) : json_null(), "tenant",
        my_tenant(r), "permissions", perms_json(api_perms(r, 0)), "tenant_permissions", tenants,
        "auth", r->who.token_id ? "token" : "session");
    if (!j)
        return err_set(e, ERR_INTERNAL, "out of memory");
    api_reply_json(r, w, 200, j);
    json_decref(j);
    return 0;
}

/* ---- TOTP second factor (RFC 6238) ----
 * Enrolment is two steps so a typo in the authenticator app cannot lock the
 * user out: POST /me/totp returns a fresh secret (not stored), and
 * POST /me/totp/confirm stores it only with a code that proves the app has it.
 * Sessions only: an API token cannot change its owner's second factor. */

static int
require_session(const struct api_req *r, err *e)
{
    if (r->who.token_id)
        return err_set(e, ERR_FORBIDDEN, "API tokens cannot change the second factor.");
    return 0;
}

int
api_session_totp_new(struct api_req *r, struct api_resp *w, err *e)
{
    unsigned char raw[AUTH_TOTP_SECRET_BYTES];
    char *b32 = NULL;
    if (require_session(r, e) < 0 || auth_totp_secret_new(raw, &b32, e) < 0)
        return -1;
    explicit_bzero(raw, sizeof(raw));
    char *uri = auth_totp_uri(r->app->cfg.issuer, r->who.login, b32);
    json_t *j = json_pack("{s:s,s:s?}", "secret", b32, "otpauth_uri", uri);
    free(uri);
    explicit_bzero(b32, strlen(b32));
    free(b32);
    if (!j)
        return err_set(e, ERR_INTERNAL, "out of memory");
    api_reply_json(r, w, 200, j);
    json_decref(j);
    return 0;
}

/* The code in the body must match `b32` now; a miss counts as a failed login. */
static int
check_code(struct api_req *r, const char *b32, const char *code, err *e)
{
    unsigned char key[64];
    size_t klen = 0;
    const char *tkey = arena_printf(r->a, "acct:%s", r->who.login);
    int wait = 0;
    if (auth_throttle_check(r->app->throttle, tkey, (time_t)app_now(r->app), &wait))
        return err_set(e, ERR_RATE_LIMITED, "Too many failed codes; try again in %d seconds.",
                       wait);
    int ok = b32 && code && auth_totp_base32_decode(b32, key, sizeof(key), &klen) == 0 &&
             auth_totp_verify(key, klen, code, (time_t)app_now(r->app), NULL) == 1;
    explicit_bzero(key, sizeof(key));
    if (ok)
        return 0;
    auth_throttle_fail(r->app->throttle, tkey, (time_t)app_now(r->app));
    return err_set_field(e, "code", "The code is not valid.");
}

int
api_session_totp_confirm(struct api_req *r, struct api_resp *w, err *e)
{
    const char *secret = json_string_value(json_object_get(r->json, "secret"));
    const char *code = json_string_value(json_object_get(r->json, "code"));
    if (require_session(r, e) < 0)
        return -1;
    if (!secret || strlen(secret) < 16 || strlen(secret) > 64)
        return err_set_field(e, "secret", "The secret from POST /api/v1/me/totp is required.");
    if (check_code(r, secret, code, e) < 0)
        return -1;
    struct db_audit a;
    api_audit_init(r, &a, "auth.totp_enable",
                   arena_printf(r->a, "user/%lld", (long long)r->who.user_id), r->who.tenant_id);
    if (db_session_set_totp(r->app->db, r->who.user_id, secret, &a, e) < 0)
        return -1;
    return api_reply_empty(w);
}

int
api_session_totp_disable(struct api_req *r, struct api_resp *w, err *e)
{
    struct db_session_user u;
    const char *code = json_string_value(json_object_get(r->json, "code"));
    if (require_session(r, e) < 0 || db_session_user_by_id(r->app->db, r->who.user_id, &u, e) < 0)
        return -1;
    if (!u.totp_secret[0])
        return err_set(e, ERR_CONFLICT, "The second factor is not enabled.");
    if (check_code(r, u.totp_secret, code, e) < 0)
        return -1;
    struct db_audit a;
    api_audit_init(r, &a, "auth.totp_disable",
                   arena_printf(r->a, "user/%lld", (long long)r->who.user_id), r->who.tenant_id);
    if (db_session_set_totp(r->app->db, r->who.user_id, NULL, &a, e) < 0)
        return -1;
    return api_reply_empty(w);
}
