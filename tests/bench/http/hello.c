/* bench_hello CERT_AND_KEY_PEM THREADS: the ceiling for any tiny JSON response
 * through civetweb here — one handler, one write, tcp_nodelay, same TLS.
 * Prints the port, serves until stdin closes. */
#include <stdio.h>
#include <string.h>

#include <civetweb.h>

static int
hello(struct mg_connection *conn, void *arg)
{
    static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                               "Content-Length: 15\r\n\r\n{\"status\":\"ok\"}";
    mg_write(conn, resp, sizeof(resp) - 1);
    return 200;
}

int
main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench_hello CERT_AND_KEY_PEM THREADS\n");
        return 2;
    }
    mg_init_library(MG_FEATURES_TLS);
    const char *opts[] = {"listening_ports",
                          "127.0.0.1:0s",
                          "ssl_certificate",
                          argv[1],
                          "num_threads",
                          argv[2],
                          "enable_keep_alive",
                          "yes",
                          "tcp_nodelay",
                          "1",
                          "keep_alive_timeout_ms",
                          "30000",
                          "ssl_protocol_version",
                          "4",
                          NULL};
    struct mg_callbacks cb;
    memset(&cb, 0, sizeof(cb));
    struct mg_context *ctx = mg_start(&cb, NULL, opts);
    if (!ctx)
        return 1;
    mg_set_request_handler(ctx, "/", hello, NULL);
    struct mg_server_port port;
    mg_get_server_ports(ctx, 1, &port);
    printf("%d\n", port.port);
    fflush(stdout);
    while (getchar() != EOF)
        ;
    mg_stop(ctx);
    return 0;
}
