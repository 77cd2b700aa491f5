/* at: helpers for the audit integration tests, on top of the harness: one
 * server per test binary with its admin logged in, requests, the CLI with its
 * output captured, and plain SQL on database files (the way someone with the
 * file — or an auditor — would look at it). */
#ifndef VP_AT_H
#define VP_AT_H

#include <stddef.h>
#include <stdint.h>

#include "harness.h"

extern struct vp_proc at_p;
extern char *at_admin; /* the admin's access token */

/* A password the tests' users get (passes the password policy). */
#define AT_PASSWORD "Quartz-Lumen-7741-Zebra"

/* Starts the server with `extra` flags (NULL-terminated, may be NULL) and logs
 * the admin in. 0 or -1. */
int at_start(const char *const *extra);

/* Restarts on the same data dir (after vp_term / vp_kill) and logs in again. */
int at_restart(const char *const *extra);

/* Stops the server and removes its data dir. */
void at_stop(void);

/* A JSON request with a printf-formatted body (NULL for none) and token. */
int at_req(struct vp_resp *r, const char *method, const char *path, const char *token,
           const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* GET path (admin) and the parsed JSON; fails the test unless 200. Caller
 * json_decref()s. */
json_t *at_get(const char *path);

/* POST /api/v1/tenants as the admin; returns the id (fails the test unless
 * 201) and copies the response's X-Request-Id into rid (may be NULL). */
int64_t at_tenant(const char *slug, char rid[64]);

/* POSTs (admin) and returns the new object's id, failing the test unless 201. */
int64_t at_create(const char *path, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Runs the binary with argv (after the binary, NULL-terminated); stdout+stderr
 * go to out[n] (NUL-terminated). Returns the exit status, -1 if it died. */
int at_cli(char *out, size_t n, const char *const *argv);

/* Runs SQL on a database file with a fresh connection. 0 or -1. */
int at_sql(const char *path, const char *sql);

/* One integer from a query on a file, read-only; -1 on error. */
int64_t at_sql_int(const char *path, const char *sql);

/* Copies a file. 0 or -1. */
int at_copy(const char *src, const char *dst);

/* Reads a whole file (NUL-terminated, caller frees; *len may be NULL). */
char *at_slurp(const char *path, size_t *len);

/* data dir + "/" + name (static buffer per call: copy it). */
const char *at_path(const char *name);

/* The items of a list response (borrowed from r->json). */
json_t *at_items(const struct vp_resp *r);

#endif
