/* harness: start the real virtportal binary on 127.0.0.1:0 with a fresh data
 * dir, and talk HTTPS to it with libcurl (verifying its generated certificate).
 * Used by every integration test; no mocks. */
#ifndef VP_HARNESS_H
#define VP_HARNESS_H

#include <jansson.h>
#include <stddef.h>
#include <sys/types.h>

struct vp_proc {
    pid_t pid;
    int port;
    char dir[256];  /* data dir (removed at stop) */
    char base[64];  /* "https://127.0.0.1:PORT" */
    char cert[320]; /* the server's self-signed certificate, used as CA */
    char admin_password[64];
};

struct vp_resp {
    long status;
    char *body; /* NUL-terminated, caller frees via vp_resp_free */
    size_t len;
    char *headers; /* raw response header block */
    json_t *json;  /* parsed body if JSON, else NULL */
};

/* Creates a data dir, bootstraps a global admin (password in p->admin_password)
 * and starts `virtportal serve` with `extra` flags (NULL-terminated, may be
 * NULL). Waits until the port file appears. Returns 0 or -1. */
int vp_start(struct vp_proc *p, const char *const *extra);

/* Starts again on the same data dir (after vp_kill/vp_term). */
int vp_restart(struct vp_proc *p, const char *const *extra);

/* SIGTERM and wait; returns the exit status (or -1). Keeps the data dir. */
int vp_term(struct vp_proc *p);

/* SIGKILL and reap. Keeps the data dir. */
void vp_kill(struct vp_proc *p);

/* vp_term (if running) and removes the data dir. */
void vp_stop(struct vp_proc *p);

/* One HTTPS request. `headers` is NULL-terminated "Name: value" lines (may be
 * NULL); body may be NULL. Returns 0 when a response arrived. */
int vp_http(struct vp_proc *p, const char *method, const char *path, const char *const *headers,
            const char *body, size_t body_len, struct vp_resp *r);

/* A JSON request with an optional bearer token (NULL for none). */
int vp_json(struct vp_proc *p, const char *method, const char *path, const char *token,
            const char *json_body, struct vp_resp *r);

/* Sends raw bytes over TLS and reads the whole response (connection closes).
 * Returns bytes read into out (NUL-terminated) or -1. */
long vp_raw(struct vp_proc *p, const char *raw, size_t rawlen, char *out, size_t outlen);

/* Logs in as login/password; returns a malloc'd access token or NULL. */
char *vp_login(struct vp_proc *p, const char *login, const char *password);

/* The value of a response header (case-insensitive), malloc'd, or NULL. */
char *vp_header(const struct vp_resp *r, const char *name);

void vp_resp_free(struct vp_resp *r);

/* Runs argv (no shell) with `input` on stdin (may be NULL); returns the exit
 * status, or -1 when it did not exit normally. */
int vp_run(char *const argv[], const char *input);

/* Path of the binary under test ($VP_BINARY). */
const char *vp_binary(void);

#endif
