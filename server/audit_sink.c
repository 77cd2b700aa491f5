/* audit_sink: checkpoints to the outside, retention and syslog forwarding
 * (see audit_sink.h). One thread; the counters in app->audit are atomics. */
#include "audit_sink.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "../db/audit.h"
#include "db.h"
#include "log.h"

enum {
    FWD_BATCH = 200,         /* events read and held in memory at once */
    FWD_MSG_MAX = 16 * 1024, /* longer events are sent without details */
    FWD_BACKOFF_MAX_S = 5,   /* retry a failing destination at least this often */
    PRUNE_BATCH = 10000,     /* rows per prune transaction */
    PRUNE_RETRY_S = 60,      /* after a failed prune */
    TICK_MS = 1000,          /* checkpoints and retention look this often */
    FWD_TICK_MS = 200,       /* new events are forwarded within this */
};

struct fwd {
    bool on;
    bool unix_sock;
    struct sockaddr_storage addr;
    socklen_t addrlen;
    int fd;         /* -1: not connected */
    int64_t cursor; /* last seq forwarded (or skipped) */
    int64_t saved;  /* cursor last written to the state file */
    struct timespec retry_at;
    int backoff_s;
    char host[256];
    char state_path[600];
    char *msgs[FWD_BATCH]; /* the in-memory queue: formatted, not yet sent */
    int64_t seqs[FWD_BATCH];
    int n;
};

struct audit_sink {
    struct vp_app *app;
    pthread_t thread;
    pthread_mutex_t mu; /* guards stopping */
    pthread_cond_t wake;
    bool stopping;
    int64_t cp_seq;          /* head at the last checkpoint (thread only) */
    struct timespec cp_time; /* monotonic time of the last checkpoint */
    int64_t next_prune;      /* app_now() of the next retention run */
    struct fwd fwd;
};

static struct timespec
mono_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t;
}

static int64_t
mono_s_since(const struct timespec *t)
{
    struct timespec n = mono_now();
    return (int64_t)(n.tv_sec - t->tv_sec);
}

static bool
sink_stopping(struct audit_sink *s)
{
    pthread_mutex_lock(&s->mu);
    bool st = s->stopping;
    pthread_mutex_unlock(&s->mu);
    return st;
}

/* ---- RFC 5424 ---- */

struct sbuf {
    char *p;
    size_t len, cap;
    bool oom;
};

static void
sb_put(struct sbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = (b->len + n + 1) * 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void
sb_str(struct sbuf *b, const char *s)
{
    sb_put(b, s, strlen(s));
}

/* An SD-PARAM: name="value" with '"', '\' and ']' escaped (RFC 5424 6.3.3);
 * bytes outside printable ASCII become '?' so the element stays valid UTF-8
 * whatever a client sent (the exact bytes are in the JSON message). */
static void
sd_param(struct sbuf *b, const char *name, const char *v)
{
    if (!v)
        return;
    sb_str(b, " ");
    sb_str(b, name);
    sb_str(b, "=\"");
    for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
        char c = *p < 0x20 || *p > 0x7e ? '?' : (char)*p;
        if (c == '"' || c == '\\' || c == ']')
            sb_put(b, "\\", 1);
        sb_put(b, &c, 1);
    }
    sb_str(b, "\"");
}

/* <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID: facility 13 (log audit),
 * severity notice for ok, warning for denied/failed. */
static void
syslog_header(struct sbuf *b, const struct fwd *f, int severity, const char *ts, const char *msgid)
{
    char head[400];
    snprintf(head, sizeof(head), "<%d>1 %s %s virtportal %ld %s ", 13 * 8 + severity,
             ts && *ts ? ts : "-", f->host[0] ? f->host : "-", (long)getpid(), msgid);
    sb_str(b, head);
}

/* The event as JSON (ASCII), without details when it would be too long. */
static char *
event_json(const struct db_audit_rec *r)
{
    json_t *j = db_audit_rec_json(r);
    char *s = j ? json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
    if (s && strlen(s) > FWD_MSG_MAX - 2048) {
        free(s);
        json_object_set_new(j, "details", json_null());
        json_object_set_new(j, "details_truncated", json_true());
        s = json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII);
    }
    json_decref(j);
    return s;
}

/* The SD-ID uses 32473, the enterprise number RFC 5612 reserves for
 * documentation: replace it with the operator's own if a collector cares. */
static char *
event_message(const struct fwd *f, const struct db_audit_rec *r)
{
    struct sbuf b = {0};
    char seq[24];
    snprintf(seq, sizeof(seq), "%lld", (long long)r->seq);
    bool ok = r->outcome && !strcmp(r->outcome, "ok");
    syslog_header(&b, f, ok ? 5 : 4, r->ts, "audit");
    sb_str(&b, "[audit@32473");
    const char *kv[][2] = {{"seq", seq},
                           {"action", r->action},
                           {"outcome", r->outcome},
                           {"actor", r->actor},
                           {"user_id", r->user_id},
                           {"token_id", r->token_id},
                           {"tenant_id", r->tenant_id},
                           {"target", r->target},
                           {"source_ip", r->source_ip},
                           {"request_id", r->request_id},
                           {"hash", r->hash},
                           {"prev_hash", r->prev_hash}};
    for (size_t i = 0; i < sizeof(kv) / sizeof(kv[0]); i++)
        sd_param(&b, kv[i][0], kv[i][1]);
    sb_str(&b, "] ");
    char *js = event_json(r);
    sb_str(&b, js ? js : "-");
    free(js);
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    return b.p;
}

static char *
checkpoint_message(const struct fwd *f, const struct db_audit_checkpoint *cp, bool prune)
{
    struct sbuf b = {0};
    char seq[24];
    snprintf(seq, sizeof(seq), "%lld", (long long)cp->seq);
    syslog_header(&b, f, 5, cp->ts, "checkpoint");
    sb_str(&b, "[checkpoint@32473");
    sd_param(&b, "kind", prune ? "prune" : "head");
    sd_param(&b, "seq", seq);
    sd_param(&b, "hash", cp->hash);
    sd_param(&b, "signature", cp->signature);
    sb_str(&b, prune ? "] audit chain prune anchor" : "] audit chain head");
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    return b.p;
}

/* ---- the destination ---- */

/* "unix:/dev/log" or "udp:HOST:PORT" ("udp:[::1]:514"). */
static int
fwd_parse(struct fwd *f, const char *spec, err *e)
{
    if (!strncmp(spec, "unix:", 5)) {
        struct sockaddr_un *un = (struct sockaddr_un *)&f->addr;
        if (!spec[5] || strlen(spec + 5) >= sizeof(un->sun_path))
            return err_set(e, ERR_INVALID, "audit.syslog: the socket path is empty or too long");
        un->sun_family = AF_UNIX;
        memcpy(un->sun_path, spec + 5, strlen(spec + 5) + 1);
        f->addrlen = sizeof(*un);
        f->unix_sock = true;
        return 0;
    }
    if (strncmp(spec, "udp:", 4))
        return err_set(e, ERR_INVALID, "audit.syslog: expected unix:PATH or udp:HOST:PORT");
    char host[256];
    const char *h = spec + 4, *colon = strrchr(h, ':');
    if (!colon || colon == h || !colon[1] || (size_t)(colon - h) >= sizeof(host))
        return err_set(e, ERR_INVALID, "audit.syslog: expected udp:HOST:PORT");
    memcpy(host, h, (size_t)(colon - h));
    host[colon - h] = '\0';
    if (host[0] == '[' && host[strlen(host) - 1] == ']') {
        memmove(host, host + 1, strlen(host));
        host[strlen(host) - 1] = '\0';
    }
    struct addrinfo hints = {.ai_socktype = SOCK_DGRAM}, *res = NULL;
    int rc = getaddrinfo(host, colon + 1, &hints, &res);
    if (rc != 0 || !res || res->ai_addrlen > sizeof(f->addr)) {
        if (res)
            freeaddrinfo(res);
        return err_set(e, ERR_INVALID, "audit.syslog: cannot resolve %.100s", spec);
    }
    memcpy(&f->addr, res->ai_addr, res->ai_addrlen);
    f->addrlen = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

static void
fwd_close(struct fwd *f)
{
    if (f->fd >= 0)
        close(f->fd);
    f->fd = -1;
}

/* A connected datagram socket: errors (no listener) come back to us. */
static int
fwd_connect(struct fwd *f)
{
    if (f->fd >= 0)
        return 0;
    int fd = socket(f->addr.ss_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&f->addr, f->addrlen) < 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    f->fd = fd;
    return 0;
}

/* Sends one datagram. UDP learns of a missing listener from an ICMP error
 * that arrives after the send: SO_ERROR right after catches it on a local
 * network (on loopback always), and then this very message counts as failed
 * and is sent again later. Further away, UDP is best effort. */
static int
fwd_send(struct fwd *f, const char *msg)
{
    if (fwd_connect(f) < 0)
        return -1;
    size_t n = strlen(msg);
    ssize_t w = send(f->fd, msg, n, MSG_DONTWAIT | MSG_NOSIGNAL);
    int soerr = 0;
    socklen_t sl = sizeof(soerr);
    if (w == (ssize_t)n && !f->unix_sock &&
        getsockopt(f->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr) {
        errno = soerr;
        w = -1;
    }
    if (w == (ssize_t)n)
        return 0;
    int saved = errno;
    if (f->unix_sock)
        fwd_close(f); /* reconnect next time: the listener may come back */
    errno = saved;
    return -1;
}

static void
fwd_state(struct audit_sink *s, enum vp_audit_forwarding st, const char *why)
{
    int old = atomic_exchange(&s->app->audit.forwarding, (int)st);
    if (old == (int)st)
        return;
    if (st == VP_AUDIT_FWD_DEGRADED)
        log_event(LOG_WARN, "audit forwarding failing; events stay stored and are retried",
                  json_pack("{s:s}", "error", why));
    else
        log_msg(LOG_INFO, "audit forwarding works again");
}

/* ---- forwarding ---- */

static void
fwd_clear(struct fwd *f)
{
    for (int i = 0; i < f->n; i++)
        free(f->msgs[i]);
    f->n = 0;
}

static int
fwd_take(void *arg, const struct db_audit_rec *rec, err *e)
{
    struct fwd *f = arg;
    char *m = event_message(f, rec);
    if (!m)
        return err_set(e, ERR_UNAVAILABLE, "out of memory");
    f->msgs[f->n] = m;
    f->seqs[f->n++] = rec->seq;
    return 0;
}

/* Skips what is beyond the queue bound; returns the head. */
static int64_t
fwd_bound(struct audit_sink *s, int64_t head)
{
    struct fwd *f = &s->fwd;
    int64_t max = s->app->cfg.audit_syslog_queue;
    if (head - f->cursor > max) {
        atomic_fetch_add(&s->app->audit.forward_dropped, (unsigned long)(head - max - f->cursor));
        f->cursor = head - max;
    }
    atomic_store(&s->app->audit.forward_backlog, (unsigned long)(head - f->cursor));
    return head;
}

/* Sends the queue in order; stops at the first failure (to retry later). */
static bool
fwd_flush(struct audit_sink *s)
{
    struct fwd *f = &s->fwd;
    int i = 0;
    for (; i < f->n; i++) {
        if (fwd_send(f, f->msgs[i]) < 0)
            break;
        f->cursor = f->seqs[i];
        atomic_fetch_add(&s->app->audit.forwarded, 1);
        atomic_fetch_sub(&s->app->audit.forward_backlog, 1);
    }
    if (i == f->n) {
        f->backoff_s = 0;
        fwd_state(s, VP_AUDIT_FWD_OK, NULL);
        return true;
    }
    atomic_fetch_add(&s->app->audit.forward_failed, 1);
    fwd_state(s, VP_AUDIT_FWD_DEGRADED, strerror(errno));
    f->backoff_s = f->backoff_s ? f->backoff_s * 2 : 1;
    if (f->backoff_s > FWD_BACKOFF_MAX_S)
        f->backoff_s = FWD_BACKOFF_MAX_S;
    f->retry_at = mono_now();
    f->retry_at.tv_sec += f->backoff_s;
    return false;
}

static void
fwd_save(struct fwd *f)
{
    if (f->cursor == f->saved || !f->state_path[0])
        return;
    char tmp[640];
    snprintf(tmp, sizeof(tmp), "%s.tmp", f->state_path);
    FILE *o = fopen(tmp, "we");
    if (!o)
        return;
    fprintf(o, "%lld\n", (long long)f->cursor);
    if (fclose(o) == 0 && rename(tmp, f->state_path) == 0)
        f->saved = f->cursor;
}

/* One round: returns true when more events are waiting right now. */
static bool
fwd_round(struct audit_sink *s)
{
    struct fwd *f = &s->fwd;
    struct timespec now = mono_now();
    err e = {0};
    int64_t head = 0;
    if (now.tv_sec < f->retry_at.tv_sec || db_audit_head(s->app->db, &head, &e) < 0)
        return false;
    fwd_bound(s, head);
    if (f->cursor >= head)
        return false;
    struct db_audit_filter q = {.after_seq = f->cursor};
    if (db_audit_query(s->app->db, &q, DB_AUDIT_OLDEST_FIRST, FWD_BATCH, fwd_take, f, &e) < 0) {
        fwd_clear(f);
        return false;
    }
    int n = f->n;
    bool sent = fwd_flush(s);
    fwd_clear(f);
    fwd_save(f);
    return sent && n == FWD_BATCH;
}

/* ---- checkpoints ---- */

static void
checkpoint_out(struct audit_sink *s, const struct db_audit_checkpoint *cp, bool prune)
{
    err e = {0};
    if (db_audit_checkpoint_file_append(s->app->cfg.audit_checkpoint_file, cp, prune, &e) < 0) {
        atomic_fetch_add(&s->app->audit.checkpoint_failures, 1);
        log_event(LOG_ERROR, "audit checkpoint not written to the external file",
                  json_pack("{s:s,s:I}", "error", e.detail, "seq", (json_int_t)cp->seq));
    }
    if (s->fwd.on) {
        char *m = checkpoint_message(&s->fwd, cp, prune);
        if (!m || fwd_send(&s->fwd, m) < 0)
            atomic_fetch_add(&s->app->audit.forward_failed, 1);
        free(m);
    }
}

static void
checkpoint_maybe(struct audit_sink *s, bool force)
{
    err e = {0};
    int64_t head = 0;
    if (db_audit_head(s->app->db, &head, &e) < 0 || head <= s->cp_seq)
        return;
    bool due = force || head - s->cp_seq >= s->app->cfg.audit_checkpoint_every ||
               mono_s_since(&s->cp_time) >= 60L * s->app->cfg.audit_checkpoint_minutes;
    if (!due)
        return;
    struct db_audit_checkpoint cp;
    if (db_audit_checkpoint(s->app->db, &cp, &e) < 0) {
        atomic_fetch_add(&s->app->audit.checkpoint_failures, 1);
        log_event(LOG_ERROR, "audit checkpoint failed", json_pack("{s:s}", "error", e.detail));
        return;
    }
    s->cp_seq = cp.seq;
    s->cp_time = mono_now();
    atomic_fetch_add(&s->app->audit.checkpoints, 1);
    checkpoint_out(s, &cp, false);
}

/* ---- retention ---- */

static void
format_ts(int64_t t, char out[32])
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 32 - n, ".000Z");
}

/* One batch; returns 1 when more is left, 0 when done, -1 on failure. */
static int
prune_batch(struct audit_sink *s, const char *cutoff)
{
    struct db_audit a = {
        .actor = "system", .action = "audit.prune", .target = "audit", .outcome = "ok"};
    struct db_audit_prune_result res;
    err e = {0};
    if (db_audit_prune(s->app->db, cutoff, PRUNE_BATCH, &a, &res, &e) < 0) {
        log_event(LOG_ERROR, "audit retention failed", json_pack("{s:s}", "error", e.detail));
        return -1;
    }
    if (res.rows == 0)
        return 0;
    atomic_fetch_add(&s->app->audit.pruned_rows, (unsigned long)res.rows);
    log_event(LOG_INFO, "audit rows pruned",
              json_pack("{s:I,s:I,s:s}", "first_seq", (json_int_t)res.first_seq, "last_seq",
                        (json_int_t)res.last_seq, "cutoff", cutoff));
    checkpoint_out(s, &res.anchor, true);
    return res.more ? 1 : 0;
}

static void
retention_maybe(struct audit_sink *s)
{
    int days = s->app->cfg.audit_retention_days;
    int64_t now = app_now(s->app);
    if (days <= 0 || now < s->next_prune)
        return;
    char cutoff[32];
    format_ts(now - (int64_t)days * 86400, cutoff);
    int rc;
    while ((rc = prune_batch(s, cutoff)) == 1 && !sink_stopping(s))
        ;
    s->next_prune = now + (rc < 0 ? PRUNE_RETRY_S : 86400);
}

/* ---- the thread ---- */

static void
sink_wait(struct audit_sink *s)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    long ms = s->fwd.on ? FWD_TICK_MS : TICK_MS;
    t.tv_nsec += (ms % 1000) * 1000000L;
    t.tv_sec += ms / 1000 + t.tv_nsec / 1000000000L;
    t.tv_nsec %= 1000000000L;
    pthread_mutex_lock(&s->mu);
    if (!s->stopping)
        pthread_cond_timedwait(&s->wake, &s->mu, &t);
    pthread_mutex_unlock(&s->mu);
}

/* Where the previous process stopped: the last checkpoint, the forwarder's
 * cursor (the head when there is no state file: history is not replayed). */
static void
sink_resume(struct audit_sink *s)
{
    err e = {0};
    struct db_audit_checkpoint cp;
    int64_t head = 0;
    if (db_audit_last_checkpoint(s->app->db, &cp, &e) == 0)
        s->cp_seq = cp.seq;
    s->cp_time = mono_now();
    db_audit_head(s->app->db, &head, &e);
    struct fwd *f = &s->fwd;
    f->cursor = head;
    FILE *in = f->on ? fopen(f->state_path, "re") : NULL;
    char line[32];
    if (in && fgets(line, sizeof(line), in)) {
        char *end = NULL;
        long long v = strtoll(line, &end, 10);
        if (end != line && v >= 0 && v <= head)
            f->cursor = v;
    }
    if (in)
        fclose(in);
    f->saved = f->cursor;
}

static void *
sink_main(void *arg)
{
    struct audit_sink *s = arg;
    sink_resume(s);
    checkpoint_maybe(s, true); /* a crash may have left an unsigned tail */
    while (!sink_stopping(s)) {
        bool busy = s->fwd.on && fwd_round(s);
        checkpoint_maybe(s, false);
        retention_maybe(s);
        if (!busy)
            sink_wait(s);
    }
    if (s->fwd.on) {
        for (int i = 0; i < 10 && fwd_round(s); i++) /* a little of the backlog */
            ;
        fwd_save(&s->fwd);
    }
    checkpoint_maybe(s, true);
    return NULL;
}

static int
sink_config(struct audit_sink *s, err *e)
{
    struct fwd *f = &s->fwd;
    const struct vp_config *c = &s->app->cfg;
    f->fd = -1;
    f->on = c->audit_syslog[0] != '\0';
    atomic_store(&s->app->audit.forwarding, f->on ? VP_AUDIT_FWD_OK : VP_AUDIT_FWD_OFF);
    if (!f->on)
        return 0;
    if (gethostname(f->host, sizeof(f->host)) != 0)
        f->host[0] = '\0';
    for (char *p = f->host; *p; p++)
        if (*p <= 0x20 || *p > 0x7e)
            *p = '-';
    snprintf(f->state_path, sizeof(f->state_path), "%s/audit-forward.state", c->data_dir);
    return fwd_parse(f, c->audit_syslog, e);
}

struct audit_sink *
audit_sink_start(struct vp_app *app, err *e)
{
    struct audit_sink *s = calloc(1, sizeof(*s));
    if (!s) {
        err_set(e, ERR_UNAVAILABLE, "out of memory");
        return NULL;
    }
    s->app = app;
    pthread_mutex_init(&s->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->wake, &ca);
    pthread_condattr_destroy(&ca);
    if (sink_config(s, e) < 0 || pthread_create(&s->thread, NULL, sink_main, s) != 0) {
        if (e && e->kind == ERR_NONE)
            err_set(e, ERR_UNAVAILABLE, "cannot start the audit sink");
        pthread_cond_destroy(&s->wake);
        pthread_mutex_destroy(&s->mu);
        free(s);
        return NULL;
    }
    return s;
}

void
audit_sink_stop(struct audit_sink *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    s->stopping = true;
    pthread_cond_signal(&s->wake);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL);
    fwd_close(&s->fwd);
    pthread_cond_destroy(&s->wake);
    pthread_mutex_destroy(&s->mu);
    free(s);
}
