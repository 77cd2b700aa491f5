/* http: the HTTPS front door (civetweb). Everything civetweb-specific lives
 * here: TLS context, request framing checks, one write per response, the
 * embedded UI, the access log. Requests are handed to api_dispatch(). */
#ifndef VP_HTTP_H
#define VP_HTTP_H

#include "err.h"

struct vp_app;
struct http_server;

/* Starts listening (TLS) with the app's configuration. Caller stops it. */
struct http_server *http_start(struct vp_app *app, err *e);

/* The bound TCP port (useful with port 0). */
int http_port(const struct http_server *s);

/* Reloads the TLS certificate and key from their files (SIGHUP). */
int http_reload_tls(struct http_server *s, err *e);

/* Stops accepting, lets in-flight requests finish, frees everything. */
void http_stop(struct http_server *s);

#endif
