/* idt: small helpers for the identity integration tests (tenants, users,
 * roles, bindings, tokens) on top of the harness: one server per test binary,
 * a global admin logged in, JSON requests with printf-built bodies. */
#ifndef VP_IDT_H
#define VP_IDT_H

#include <stdint.h>

#include "harness.h"

/* The one server of a test binary and its admin's access token. */
extern struct vp_proc idt_p;
extern char *idt_admin;

/* The password every test user has (it passes the policy). */
#define IDT_PASSWORD "Quartz-Lumen-7741-Zebra"

/* Group setup / teardown: start the server, log the admin in. */
int idt_setup(void **state);
int idt_teardown(void **state);

/* A JSON request; the body is printf-formatted (NULL for none). */
int idt_req(struct vp_resp *r, const char *method, const char *path, const char *token,
            const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* POSTs and returns the new object's id, failing the test unless 201. */
int64_t idt_create(const char *path, const char *token, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Shortcuts (admin token): a tenant, a user (tenant 0 = global), a binding. */
int64_t idt_tenant(const char *slug);
int64_t idt_user(const char *login, int64_t tenant_id);
int64_t idt_bind(int64_t user_id, const char *role, int64_t tenant_id);

/* Logs a user in with IDT_PASSWORD; fails the test when it does not work. */
char *idt_login(const char *login);

/* errors[0].field of a problem response, or "". */
const char *idt_field(const struct vp_resp *r);

/* Integer member of the response object (or -1). */
int64_t idt_int(const struct vp_resp *r, const char *key);

/* Does any item of a list response have member key == id? */
int idt_list_has(const struct vp_resp *r, const char *key, int64_t id);

/* Runs SQL returning one integer against the server's database file,
 * read-only, the way an auditor would look at it (-1 on error). */
int64_t idt_db_int(const char *sql);

/* The binary with argv (NULL-terminated, after the binary), stdin = input. */
int idt_run(const char *const *argv, const char *input);

#endif
