/* Benchmark: auth_jwt_verify cost per token, without and with the verified-
 * token cache, single thread. Prints figures; asserts nothing about time.
 *
 *   auth_jwt_bench [iterations]   (default 20000) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jwt.h"
#include "secret.h"

#define NTOKENS 256
#define NOW 1700000000

static double
now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static struct auth_jwt *
make(const unsigned char *key, int cache)
{
    struct auth_jwt_config c = {.key = key,
                                .keylen = 32,
                                .issuer = "https://portal.example",
                                .audience = "virtportal",
                                .access_ttl_s = 900,
                                .skew_s = 30,
                                .cache_entries = cache};
    err e;
    struct auth_jwt *j = auth_jwt_init(&c, &e);
    if (!j) {
        fprintf(stderr, "init: %s\n", e.detail);
        exit(1);
    }
    return j;
}

/* Verifies toks round-robin `iters` times; returns µs per verification. */
static double
run(struct auth_jwt *j, char **toks, long iters)
{
    struct auth_jwt_claims c;
    err e;
    double t0 = now_us();
    for (long i = 0; i < iters; i++) {
        if (auth_jwt_verify(j, toks[i % NTOKENS], NOW + 1, &c, NULL, &e) != 0) {
            fprintf(stderr, "verify failed: %s\n", e.detail);
            exit(1);
        }
    }
    return (now_us() - t0) / (double)iters;
}

int
main(int argc, char **argv)
{
    long iters = argc > 1 ? strtol(argv[1], NULL, 10) : 20000;
    if (iters <= 0)
        iters = 20000;
    unsigned char key[32];
    err e;
    if (auth_random_bytes(key, sizeof(key), &e) < 0)
        return 1;
    struct auth_jwt *plain = make(key, 0), *cached = make(key, 4096);
    char *toks[NTOKENS];
    for (int i = 0; i < NTOKENS; i++) {
        struct auth_jwt_claims c = {.uid = i + 1, .tid = i % 5};
        snprintf(c.sub, sizeof(c.sub), "user%03d", i);
        if (auth_jwt_issue(plain, &c, NOW, &toks[i], &e) < 0) {
            fprintf(stderr, "issue: %s\n", e.detail);
            return 1;
        }
    }
    run(plain, toks, iters / 10 + 1); /* warm up */
    double full = run(plain, toks, iters);
    run(cached, toks, NTOKENS); /* fill the cache */
    double hit = run(cached, toks, iters);
    uint64_t hits, misses;
    auth_jwt_cache_stats(cached, &hits, &misses);
    printf("auth_jwt_verify, %d distinct tokens (%zu bytes), %ld iterations, 1 thread\n", NTOKENS,
           strlen(toks[0]), iters);
    printf("  without cache: %8.2f us/token  (%9.0f tokens/s)\n", full, 1e6 / full);
    printf("  with cache   : %8.2f us/token  (%9.0f tokens/s)  hits %llu misses %llu\n", hit,
           1e6 / hit, (unsigned long long)hits, (unsigned long long)misses);
    printf("  speed-up     : %8.1fx\n", full / hit);
    for (int i = 0; i < NTOKENS; i++)
        free(toks[i]);
    auth_jwt_free(plain);
    auth_jwt_free(cached);
    return 0;
}
