/* libFuzzer target for auth_jwt_verify.
 *
 * First byte even: the rest is a token, verified as is (header parsing, the
 * size cap, the MAC check). First byte odd: the rest is "<header JSON>\n<payload
 * JSON>", which this target signs with the verifier's own key, so the fuzzer
 * also reaches what only a correctly signed token reaches: the payload parser,
 * every claim check, libjwt's second opinion and the cache. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "jwt.h"
#include "secret.h"

#define NOW 1700000100

static const unsigned char fuzz_key[32] = "fuzz-key-0123456789abcdef-xyz!!";

static struct auth_jwt *
verifier(void)
{
    static struct auth_jwt *j;
    if (!j) {
        struct auth_jwt_config c = {.key = fuzz_key,
                                    .keylen = sizeof(fuzz_key),
                                    .issuer = "https://portal.example",
                                    .audience = "virtportal",
                                    .access_ttl_s = 900,
                                    .skew_s = 30,
                                    .cache_entries = 16};
        j = auth_jwt_init(&c, NULL);
        if (!j)
            abort();
    }
    return j;
}

/* "b64(h).b64(p).b64(HMAC)" for h[hl], p[pl]; caller frees. */
static char *
sign(const uint8_t *h, size_t hl, const uint8_t *p, size_t pl)
{
    char *hb = auth_b64url_encode(h, hl), *pb = auth_b64url_encode(p, pl);
    size_t n = (hb ? strlen(hb) : 0) + (pb ? strlen(pb) : 0) + 48;
    char *out = hb && pb ? malloc(n) : NULL;
    if (out) {
        size_t hlen = strlen(hb), plen = strlen(pb);
        memcpy(out, hb, hlen);
        out[hlen] = '.';
        memcpy(out + hlen + 1, pb, plen);
        unsigned char mac[32];
        unsigned int maclen = 0;
        HMAC(EVP_sha256(), fuzz_key, sizeof(fuzz_key), (unsigned char *)out, hlen + 1 + plen, mac,
             &maclen);
        char *sb = auth_b64url_encode(mac, maclen);
        out[hlen + 1 + plen] = '.';
        memcpy(out + hlen + 2 + plen, sb ? sb : "", sb ? strlen(sb) + 1 : 1);
        free(sb);
    }
    free(hb);
    free(pb);
    return out;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 8192)
        return 0;
    char *tok;
    if ((data[0] & 1) == 0) {
        tok = malloc(size);
        if (!tok)
            return 0;
        memcpy(tok, data + 1, size - 1);
        tok[size - 1] = '\0';
    } else {
        const uint8_t *nl = memchr(data + 1, '\n', size - 1);
        if (!nl)
            return 0;
        tok = sign(data + 1, (size_t)(nl - data - 1), nl + 1, size - (size_t)(nl + 1 - data));
        if (!tok)
            return 0;
    }
    struct auth_jwt_claims c;
    enum auth_jwt_reason why;
    err e;
    if (auth_jwt_verify(verifier(), tok, NOW, &c, &why, &e) == 0) {
        /* whatever got through must satisfy the contract */
        if (strcmp(c.typ, "access") != 0 || c.uid <= 0 || c.tid < 0 || c.exp + 30 <= NOW ||
            c.nbf > NOW + 30 || c.iat > NOW + 30 || c.exp - c.iat > 900 || !c.sub[0])
            abort();
    }
    free(tok);
    return 0;
}
