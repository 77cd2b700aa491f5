/* err: the one error type every layer fills and api/ turns into a problem.
 *
 * Functions return 0 / -1 (or a pointer / NULL) and fill an `err *`. `detail`
 * is safe to show a client (never SQL, libvirt text or paths); `func`/`line`
 * are for logs only. Below api/, nobody speaks HTTP: kinds are mapped to
 * RFC 9457 problems in one table (api/problem.c). */
#ifndef VP_ERR_H
#define VP_ERR_H

#include <stdarg.h>

#define ERR_KIND_LIST(X)                                                                           \
    X(NONE, "none")                                                                                \
    X(INVALID, "invalid")                          /* bad input: 400 */                            \
    X(UNAUTHENTICATED, "unauthenticated")          /* 401 */                                       \
    X(FORBIDDEN, "forbidden")                      /* 403 */                                       \
    X(NOT_FOUND, "not-found")                      /* 404, also another tenant's object */         \
    X(METHOD, "method-not-allowed")                /* 405 */                                       \
    X(CONFLICT, "conflict")                        /* 409 */                                       \
    X(TOO_LARGE, "payload-too-large")              /* 413 */                                       \
    X(UNSUPPORTED_MEDIA, "unsupported-media-type") /* 415 */                                       \
    X(QUOTA, "quota-exceeded")                     /* 403 with per-resource details */             \
    X(RATE_LIMITED, "rate-limited")                /* 429 */                                       \
    X(UNAVAILABLE, "unavailable")                  /* 503: storage/audit/hypervisor down */        \
    X(INTERNAL, "internal")                        /* 500 */

enum err_kind {
#define X(name, slug) ERR_##name,
    ERR_KIND_LIST(X)
#undef X
        ERR_KIND_COUNT
};

typedef struct err {
    enum err_kind kind;
    char detail[256]; /* client-safe sentence */
    char field[64];   /* the input field at fault ("slug", "limits.vcpus"), or "" */
    const char *func; /* where it was raised, for logs */
    int line;
} err;

#define err_set(e, kind, ...) err_set_at((e), (kind), __func__, __LINE__, __VA_ARGS__)

/* Fills `e` (which may be NULL) and returns -1, so callers can `return err_set(...)`. */
int err_set_at(err *e, enum err_kind kind, const char *func, int line, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Like err_set, naming the input field at fault (shown as problem `errors[].field`). */
#define err_set_field(e, fieldname, ...)                                                           \
    err_set_field_at((e), (fieldname), __func__, __LINE__, __VA_ARGS__)
int err_set_field_at(err *e, const char *field, const char *func, int line, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Resets `e` to ERR_NONE. */
void err_clear(err *e);

/* The slug of a kind ("not-found"); never NULL. */
const char *err_kind_slug(enum err_kind kind);

#endif
