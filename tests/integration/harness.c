#include "harness.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

const char *
vp_binary(void)
{
    const char *b = getenv("VP_BINARY");
    return b ? b : "build/virtportal";
}

int
vp_run(char *const argv[], const char *input)
{
    int fds[2];
    if (pipe(fds) < 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[0], 0);
        close(fds[0]);
        close(fds[1]);
        execv(argv[0], argv);
        _exit(127);
    }
    close(fds[0]);
    if (input && write(fds[1], input, strlen(input)) < 0)
        perror("write");
    close(fds[1]);
    int st = 0;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* A random admin password; the policy refuses the rare one that contains a
 * run like "1234" or "abcd", so a few tries are allowed. */
static int
bootstrap_admin(struct vp_proc *p)
{
    for (int attempt = 0; attempt < 8; attempt++) {
        unsigned char rnd[12];
        RAND_bytes(rnd, sizeof(rnd));
        size_t n = (size_t)snprintf(p->admin_password, sizeof(p->admin_password), "Adm1n-");
        for (size_t i = 0; i < sizeof(rnd); i++)
            n += (size_t)snprintf(p->admin_password + n, sizeof(p->admin_password) - n, "%02x",
                                  rnd[i]);
        char input[96];
        snprintf(input, sizeof(input), "%s\n", p->admin_password);
        char *const argv[] = {(char *)vp_binary(), "user", "add", "admin", "--role", "admin",
                              "--data-dir",        p->dir, NULL};
        int rc = vp_run(argv, input);
        if (rc == 0)
            return 0;
        if (rc != 2) /* 2: the password was refused; anything else is a real failure */
            return -1;
    }
    return -1;
}

static int
wait_port(struct vp_proc *p, const char *port_file)
{
    for (int i = 0; i < 600; i++) { /* up to 30 s: ASan builds start slowly */
        FILE *f = fopen(port_file, "r");
        if (f) {
            int port = 0;
            char line[32] = {0};
            if (fgets(line, sizeof(line), f))
                port = (int)strtol(line, NULL, 10);
            fclose(f);
            if (port > 0) {
                p->port = port;
                snprintf(p->base, sizeof(p->base), "https://127.0.0.1:%d", port);
                return 0;
            }
        }
        int st;
        if (waitpid(p->pid, &st, WNOHANG) == p->pid) {
            p->pid = 0;
            return -1;
        }
        usleep(50000);
    }
    return -1;
}

static int
spawn(struct vp_proc *p, const char *const *extra)
{
    char port_file[300], log_opt[320];
    snprintf(port_file, sizeof(port_file), "%s/port", p->dir);
    unlink(port_file);
    snprintf(log_opt, sizeof(log_opt), "server.access_log=%s/server.log", p->dir);
    const char *argv[64] = {vp_binary(), "serve",       "--data-dir", p->dir,  "--port",
                            "0",         "--port-file", port_file,    "--set", log_opt};
    int n = 10;
    for (int i = 0; extra && extra[i] && n < 62; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    p->pid = fork();
    if (p->pid == 0) {
        /* a failed assertion must not leave a server behind (ctest would wait
         * for it, holding the output pipe): it dies with the test */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    return wait_port(p, port_file);
}

int
vp_start(struct vp_proc *p, const char *const *extra)
{
    memset(p, 0, sizeof(*p));
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(p->dir, sizeof(p->dir), "%s/vp-it-XXXXXX", tmp);
    if (!mkdtemp(p->dir))
        return -1;
    snprintf(p->cert, sizeof(p->cert), "%s/tls/cert.pem", p->dir);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (bootstrap_admin(p) < 0) {
        fprintf(stderr, "harness: `virtportal user add admin` failed\n");
        return -1;
    }
    return spawn(p, extra);
}

int
vp_restart(struct vp_proc *p, const char *const *extra)
{
    return spawn(p, extra);
}

int
vp_term(struct vp_proc *p)
{
    if (p->pid <= 0)
        return -1;
    kill(p->pid, SIGTERM);
    int st = 0;
    waitpid(p->pid, &st, 0);
    p->pid = 0;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

void
vp_kill(struct vp_proc *p)
{
    if (p->pid <= 0)
        return;
    kill(p->pid, SIGKILL);
    waitpid(p->pid, NULL, 0);
    p->pid = 0;
}

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    return remove(path);
}

void
vp_stop(struct vp_proc *p)
{
    vp_term(p);
    if (p->dir[0] && !getenv("VP_KEEP_DATA"))
        nftw(p->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

struct sink {
    char *p;
    size_t len;
};

static size_t
sink_write(char *data, size_t size, size_t n, void *arg)
{
    struct sink *s = arg;
    size_t add = size * n;
    char *np = realloc(s->p, s->len + add + 1);
    if (!np)
        return 0;
    memcpy(np + s->len, data, add);
    s->p = np;
    s->len += add;
    s->p[s->len] = '\0';
    return add;
}

int
vp_http(struct vp_proc *p, const char *method, const char *path, const char *const *headers,
        const char *body, size_t body_len, struct vp_resp *r)
{
    memset(r, 0, sizeof(*r));
    CURL *c = curl_easy_init();
    struct sink b = {0}, h = {0};
    struct curl_slist *hl = NULL;
    char url[2048];
    snprintf(url, sizeof(url), "%s%s", p->base, path);
    for (int i = 0; headers && headers[i]; i++)
        hl = curl_slist_append(hl, headers[i]);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L); /* send '..' and %-escapes unchanged */
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_CAINFO, p->cert);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, sink_write);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &h);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    if (!strcmp(method, "HEAD"))
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    }
    CURLcode rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_slist_free_all(hl);
    curl_easy_cleanup(c);
    r->body = b.p ? b.p : strdup("");
    r->len = b.len;
    r->headers = h.p ? h.p : strdup("");
    r->json = json_loadb(r->body, r->len, 0, NULL);
    if (rc != CURLE_OK)
        fprintf(stderr, "harness: %s %s: %s\n", method, path, curl_easy_strerror(rc));
    return rc == CURLE_OK ? 0 : -1;
}

int
vp_json(struct vp_proc *p, const char *method, const char *path, const char *token,
        const char *json_body, struct vp_resp *r)
{
    char auth[4200];
    const char *headers[3] = {"Content-Type: application/json", NULL, NULL};
    if (token) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
        headers[1] = auth;
    }
    return vp_http(p, method, path, headers, json_body, json_body ? strlen(json_body) : 0, r);
}

char *
vp_login(struct vp_proc *p, const char *login, const char *password)
{
    json_t *body = json_pack("{s:s,s:s}", "login", login, "password", password);
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    struct vp_resp r;
    vp_json(p, "POST", "/api/v1/auth/login", NULL, text, &r);
    free(text);
    const char *tok =
        r.status == 200 ? json_string_value(json_object_get(r.json, "access_token")) : NULL;
    char *out = tok ? strdup(tok) : NULL;
    vp_resp_free(&r);
    return out;
}

char *
vp_header(const struct vp_resp *r, const char *name)
{
    size_t n = strlen(name);
    for (const char *line = r->headers; line && *line;) {
        const char *eol = strstr(line, "\r\n");
        if (!eol)
            break;
        if ((size_t)(eol - line) > n && !strncasecmp(line, name, n) && line[n] == ':') {
            const char *v = line + n + 1;
            while (*v == ' ')
                v++;
            return strndup(v, (size_t)(eol - v));
        }
        line = eol + 2;
    }
    return NULL;
}

void
vp_resp_free(struct vp_resp *r)
{
    free(r->body);
    free(r->headers);
    json_decref(r->json);
    memset(r, 0, sizeof(*r));
}

long
vp_raw(struct vp_proc *p, const char *raw, size_t rawlen, char *out, size_t outlen)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)p->port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
        return -1;
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    SSL *ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    long got = -1;
    if (SSL_connect(ssl) == 1 && SSL_write(ssl, raw, (int)rawlen) == (int)rawlen) {
        got = 0;
        int n;
        while ((size_t)got + 1 < outlen &&
               (n = SSL_read(ssl, out + got, (int)(outlen - 1 - (size_t)got))) > 0)
            got += n;
        out[got] = '\0';
    }
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    close(fd);
    return got;
}
