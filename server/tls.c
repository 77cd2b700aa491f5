#include "tls.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

/* One certificate + key; handshakes take a reference, reload swaps the pointer. */
struct tls_pair {
    X509 *cert;
    EVP_PKEY *key;
    STACK_OF(X509) * chain;
};

struct tls_server {
    SSL_CTX *ctx;
    char *cert_path, *key_path;
    pthread_mutex_t lock; /* guards `current` */
    struct tls_pair *current;
};

static int
mkdir_parents(const char *path)
{
    char buf[1024];
    snprintf(buf, sizeof(buf), "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0700) < 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return 0;
}

static int
add_ext(X509 *cert, int nid, const char *value)
{
    X509V3_CTX v3;
    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, cert, cert, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
    if (!ext)
        return -1;
    int ok = X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    return ok ? 0 : -1;
}

static X509 *
build_cert(EVP_PKEY *key)
{
    X509 *cert = X509_new();
    unsigned char serial[16];
    BIGNUM *bn = NULL;
    if (!cert || RAND_bytes(serial, sizeof(serial)) != 1)
        goto fail;
    serial[0] &= 0x7f;
    bn = BN_bin2bn(serial, sizeof(serial), NULL);
    X509_NAME *name = X509_get_subject_name(cert);
    if (!bn || !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) || !X509_set_version(cert, 2) ||
        !X509_gmtime_adj(X509_getm_notBefore(cert), -3600) ||
        !X509_gmtime_adj(X509_getm_notAfter(cert), 365L * 86400) ||
        !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"virtportal",
                                    -1, -1, 0) ||
        !X509_set_issuer_name(cert, name) || !X509_set_pubkey(cert, key) ||
        add_ext(cert, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1,IP:::1") < 0 ||
        add_ext(cert, NID_basic_constraints, "critical,CA:FALSE") < 0 ||
        add_ext(cert, NID_ext_key_usage, "serverAuth") < 0 || !X509_sign(cert, key, EVP_sha256()))
        goto fail;
    BN_free(bn);
    return cert;
fail:
    BN_free(bn);
    X509_free(cert);
    return NULL;
}

static int
write_pem(const char *path, mode_t mode, X509 *cert, EVP_PKEY *key)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    int ok = cert ? PEM_write_X509(f, cert) : PEM_write_PrivateKey(f, key, NULL, NULL, 0, 0, 0);
    return (fclose(f) == 0 && ok) ? 0 : -1;
}

int
tls_make_self_signed(const char *cert_path, const char *key_path, err *e)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *cert = key ? build_cert(key) : NULL;
    int rc = -1;
    if (!cert)
        err_set(e, ERR_INTERNAL, "could not generate a TLS certificate");
    else if (mkdir_parents(cert_path) < 0 || mkdir_parents(key_path) < 0 ||
             write_pem(key_path, 0600, NULL, key) < 0 || write_pem(cert_path, 0644, cert, NULL) < 0)
        err_set(e, ERR_UNAVAILABLE, "could not write the TLS certificate or key (%s)",
                strerror(errno));
    else
        rc = 0;
    X509_free(cert);
    EVP_PKEY_free(key);
    return rc;
}

static void
pair_free(struct tls_pair *p)
{
    if (!p)
        return;
    X509_free(p->cert);
    EVP_PKEY_free(p->key);
    sk_X509_pop_free(p->chain, X509_free);
    free(p);
}

/* Reads the certificate chain file (leaf first) and the key; checks they match. */
static struct tls_pair *
pair_load(const char *cert_path, const char *key_path, err *e)
{
    struct tls_pair *p = calloc(1, sizeof(*p));
    FILE *cf = fopen(cert_path, "r"), *kf = fopen(key_path, "r");
    if (p && cf && kf) {
        p->cert = PEM_read_X509(cf, NULL, NULL, NULL);
        p->chain = sk_X509_new_null();
        X509 *extra;
        while (p->chain && (extra = PEM_read_X509(cf, NULL, NULL, NULL)))
            sk_X509_push(p->chain, extra);
        ERR_clear_error(); /* the loop ends on "no start line" */
        p->key = PEM_read_PrivateKey(kf, NULL, NULL, NULL);
    }
    if (cf)
        fclose(cf);
    if (kf)
        fclose(kf);
    if (!p || !p->cert || !p->key || !p->chain || X509_check_private_key(p->cert, p->key) != 1) {
        pair_free(p);
        err_set(e, ERR_INVALID, "cannot load the TLS certificate %s with key %s", cert_path,
                key_path);
        return NULL;
    }
    return p;
}

static int
cert_cb(SSL *ssl, void *arg)
{
    struct tls_server *t = arg;
    pthread_mutex_lock(&t->lock);
    struct tls_pair *p = t->current;
    int ok = SSL_use_cert_and_key(ssl, p->cert, p->key, p->chain, 1);
    pthread_mutex_unlock(&t->lock);
    return ok == 1 ? 1 : 0;
}

static SSL_CTX *
ctx_new(void)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx)
        return NULL;
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                                 SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_TICKET);
    /* TLS 1.2: forward-secret AEAD suites only; TLS 1.3 suites are all modern. */
    if (!SSL_CTX_set_cipher_list(ctx,
                                 "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
                                 "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
                                 "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305")) {
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

struct tls_server *
tls_server_new(const char *cert_path, const char *key_path, err *e)
{
    struct tls_server *t = calloc(1, sizeof(*t));
    if (!t)
        return err_set(e, ERR_INTERNAL, "out of memory"), NULL;
    pthread_mutex_init(&t->lock, NULL);
    t->cert_path = strdup(cert_path);
    t->key_path = strdup(key_path);
    t->current = pair_load(cert_path, key_path, e);
    t->ctx = t->current ? ctx_new() : NULL;
    if (!t->ctx) {
        if (t->current)
            err_set(e, ERR_INTERNAL, "cannot create the TLS context");
        tls_server_free(t);
        return NULL;
    }
    SSL_CTX_set_cert_cb(t->ctx, cert_cb, t);
    return t;
}

int
tls_server_reload(struct tls_server *t, err *e)
{
    struct tls_pair *p = pair_load(t->cert_path, t->key_path, e);
    if (!p)
        return -1;
    pthread_mutex_lock(&t->lock);
    struct tls_pair *old = t->current;
    t->current = p;
    pthread_mutex_unlock(&t->lock);
    /* SSL_use_cert_and_key took its own references: in-flight handshakes are safe */
    pair_free(old);
    return 0;
}

void *
tls_server_ctx(struct tls_server *t)
{
    return t->ctx;
}

void
tls_server_free(struct tls_server *t)
{
    if (!t)
        return;
    SSL_CTX_free(t->ctx);
    pair_free(t->current);
    pthread_mutex_destroy(&t->lock);
    free(t->cert_path);
    free(t->key_path);
    free(t);
}
