/* tls: certificates and the server's SSL_CTX, owned by us rather than civetweb
 * so that SIGHUP can swap the certificate without dropping connections. */
#ifndef VP_TLS_H
#define VP_TLS_H

#include "err.h"

struct tls_server;

/* Writes a new self-signed P-256 certificate (CN=virtportal, SAN localhost,
 * 127.0.0.1, ::1, one year) and its key (mode 0600). Creates parent dirs. */
int tls_make_self_signed(const char *cert_path, const char *key_path, err *e);

/* An SSL_CTX for TLS 1.2+ with modern ciphers, serving cert/key (loaded now).
 * Caller frees with tls_server_free. */
struct tls_server *tls_server_new(const char *cert_path, const char *key_path, err *e);

/* Reloads cert/key from the same paths; the old pair keeps serving on error. */
int tls_server_reload(struct tls_server *t, err *e);

/* The SSL_CTX (an SSL_CTX *), borrowed. */
void *tls_server_ctx(struct tls_server *t);

void tls_server_free(struct tls_server *t);

#endif
