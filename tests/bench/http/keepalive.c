/* bench_keepalive URL CAFILE CLIENTS SECONDS: CLIENTS threads, each with its own
 * keep-alive connection, request URL in a loop for SECONDS. Prints how many
 * clients got at least one response and the total responses: civetweb pins a
 * worker thread per keep-alive connection, so too few workers starve clients
 * silently (PITFALLS). */
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

struct client {
    const char *url, *ca;
    int seconds;
    long ok;
};

static size_t
discard(char *p, size_t s, size_t n, void *arg)
{
    return s * n;
}

static void *
client_main(void *arg)
{
    struct client *c = arg;
    CURL *h = curl_easy_init();
    curl_easy_setopt(h, CURLOPT_URL, c->url);
    curl_easy_setopt(h, CURLOPT_CAINFO, c->ca);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 5L);
    curl_easy_setopt(h, CURLOPT_MAXCONNECTS, 1L);
    time_t end = time(NULL) + c->seconds;
    while (time(NULL) < end) {
        long status = 0;
        if (curl_easy_perform(h) == CURLE_OK &&
            curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK && status == 200)
            c->ok++;
    }
    curl_easy_cleanup(h);
    return NULL;
}

int
main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: bench_keepalive URL CAFILE CLIENTS SECONDS\n");
        return 2;
    }
    int n = (int)strtol(argv[3], NULL, 10), secs = (int)strtol(argv[4], NULL, 10);
    if (n < 1 || n > 4096 || secs < 1)
        return 2;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    struct client *c = calloc((size_t)n, sizeof(*c));
    pthread_t *th = calloc((size_t)n, sizeof(*th));
    for (int i = 0; i < n; i++) {
        c[i] = (struct client){argv[1], argv[2], secs, 0};
        pthread_create(&th[i], NULL, client_main, &c[i]);
    }
    long served = 0, total = 0;
    for (int i = 0; i < n; i++) {
        pthread_join(th[i], NULL);
        served += c[i].ok > 0;
        total += c[i].ok;
    }
    printf("clients_served %ld of %d (%.1f%%), responses %ld\n", served, n, 100.0 * served / n,
           total);
    free(c);
    free(th);
    return 0;
}
