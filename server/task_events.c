/* task_events: task changes fanned out to live subscribers (Server-Sent Events).
 *
 * Publishing never waits for a subscriber: each one has a bounded queue, and
 * one that falls TASK_SUB_QUEUE events behind loses its queue and is told to
 * resync (reload the list), so a slow browser costs itself, not the tasks.
 * Events are immutable and reference-counted, shared by the history ring and
 * every queue that holds them. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "task_int.h"

/* An event with its reference count (refs: the ring and each queue). */
struct event_box {
    struct task_event ev; /* first: a task_event * is an event_box * */
    atomic_int refs;
};

struct task_sub {
    struct task_hub *hub;
    task_may_see_fn may_see;
    void *ctx;
    struct task_event *q[TASK_SUB_QUEUE]; /* hub->mu */
    unsigned head, n;                     /* hub->mu */
    bool resync;                          /* hub->mu: events were dropped */
    pthread_cond_t cv;                    /* signalled on a new event, resync or close */
    struct task_sub *prev, *next;         /* hub->mu */
};

static struct task_event *
event_ref(struct task_event *ev)
{
    atomic_fetch_add(&((struct event_box *)ev)->refs, 1);
    return ev;
}

void
task_event_release(struct task_event *ev)
{
    if (ev && atomic_fetch_sub(&((struct event_box *)ev)->refs, 1) == 1)
        free(ev);
}

int
task_hub_init(struct task_hub *h, int max_subs, uint64_t first_seq)
{
    memset(h, 0, sizeof(*h));
    h->seq = first_seq;
    h->max_subs = max_subs;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    int rc = pthread_mutex_init(&h->mu, NULL) | pthread_cond_init(&h->gone, &ca);
    pthread_condattr_destroy(&ca);
    return rc ? -1 : 0;
}

static void
sub_drop_queue(struct task_sub *s)
{
    for (; s->n; s->n--, s->head = (s->head + 1) % TASK_SUB_QUEUE)
        task_event_release(s->q[s->head]);
}

static void
sub_push(struct task_sub *s, struct task_event *ev)
{
    if (s->resync)
        return; /* it reloads everything anyway */
    if (s->n == TASK_SUB_QUEUE) {
        sub_drop_queue(s);
        s->resync = true;
    } else {
        s->q[(s->head + s->n) % TASK_SUB_QUEUE] = event_ref(ev);
        s->n++;
    }
    pthread_cond_signal(&s->cv);
}

static void
ring_push(struct task_hub *h, struct task_event *ev)
{
    if (h->ring_n == TASK_HISTORY) {
        task_event_release(h->ring[h->ring_head]);
        h->ring_head = (h->ring_head + 1) % TASK_HISTORY;
        h->ring_n--;
    }
    h->ring[(h->ring_head + h->ring_n) % TASK_HISTORY] = ev; /* the ring's reference */
    h->ring_n++;
}

void
task_hub_publish(struct task_hub *h, const struct task_view *v)
{
    struct event_box *b = malloc(sizeof(*b));
    pthread_mutex_lock(&h->mu);
    h->seq++;
    if (!b) {
        /* nobody can be told what changed: everyone reloads */
        for (struct task_sub *s = h->subs; s; s = s->next) {
            sub_drop_queue(s);
            s->resync = true;
            pthread_cond_signal(&s->cv);
        }
        pthread_mutex_unlock(&h->mu);
        return;
    }
    b->ev.seq = h->seq;
    b->ev.v = *v;
    atomic_init(&b->refs, 1);
    for (struct task_sub *s = h->subs; s; s = s->next)
        if (s->may_see(s->ctx, v->row.tenant_id))
            sub_push(s, &b->ev);
    ring_push(h, &b->ev);
    pthread_mutex_unlock(&h->mu);
}

/* Parses a Last-Event-ID: decimal digits only. */
static int
parse_event_id(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    if (!s || !*s || strlen(s) > 20)
        return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > (UINT64_MAX - 9) / 10)
            return -1;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *out = v;
    return 0;
}

/* Queues the events after last_id that s may see, or flags a resync when
 * some of them are no longer in the history (or the id is not ours). */
static void
sub_replay(struct task_hub *h, struct task_sub *s, const char *last_id)
{
    uint64_t last;
    if (parse_event_id(last_id, &last) < 0 || last > h->seq) {
        s->resync = true;
        return;
    }
    uint64_t oldest = h->ring_n ? h->ring[h->ring_head]->seq : h->seq + 1;
    if (last + 1 < oldest) {
        s->resync = true;
        return;
    }
    for (unsigned i = 0; i < h->ring_n; i++) {
        struct task_event *ev = h->ring[(h->ring_head + i) % TASK_HISTORY];
        if (ev->seq > last && s->may_see(s->ctx, ev->v.row.tenant_id))
            sub_push(s, ev);
    }
}

static struct task_sub *
sub_new(struct task_hub *h, task_may_see_fn may_see, void *ctx)
{
    struct task_sub *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    int rc = pthread_cond_init(&s->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (rc) {
        free(s);
        return NULL;
    }
    s->hub = h;
    s->may_see = may_see;
    s->ctx = ctx;
    return s;
}

struct task_sub *
task_subscribe(struct task_runner *tr, task_may_see_fn may_see, void *ctx,
               const char *last_event_id, err *e)
{
    struct task_hub *h = task_runner_hub(tr);
    struct task_sub *s = sub_new(h, may_see, ctx);
    if (!s) {
        err_set(e, ERR_UNAVAILABLE, "Out of memory.");
        return NULL;
    }
    pthread_mutex_lock(&h->mu);
    if (h->closed || h->nsubs >= h->max_subs) {
        bool closed = h->closed;
        pthread_mutex_unlock(&h->mu);
        pthread_cond_destroy(&s->cv);
        free(s);
        if (closed)
            err_set(e, ERR_UNAVAILABLE, "The server is shutting down.");
        else
            err_set(e, ERR_RATE_LIMITED, "Too many event streams are open; try again later.");
        return NULL;
    }
    if (last_event_id)
        sub_replay(h, s, last_event_id);
    s->next = h->subs;
    if (h->subs)
        h->subs->prev = s;
    h->subs = s;
    h->nsubs++;
    pthread_mutex_unlock(&h->mu);
    return s;
}

static void
deadline_after(struct timespec *ts, int ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

enum task_sub_wait
task_sub_next(struct task_sub *s, int timeout_ms, struct task_event **ev)
{
    struct task_hub *h = s->hub;
    struct timespec until;
    deadline_after(&until, timeout_ms > 0 ? timeout_ms : 0);
    *ev = NULL;
    pthread_mutex_lock(&h->mu);
    int rc = 0;
    while (!h->closed && !s->resync && !s->n && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&s->cv, &h->mu, &until);
    enum task_sub_wait out = TASK_SUB_TIMEOUT;
    if (h->closed) {
        out = TASK_SUB_CLOSED;
    } else if (s->resync) {
        s->resync = false;
        out = TASK_SUB_RESYNC;
    } else if (s->n) {
        *ev = s->q[s->head];
        s->head = (s->head + 1) % TASK_SUB_QUEUE;
        s->n--;
        out = TASK_SUB_EVENT;
    }
    pthread_mutex_unlock(&h->mu);
    return out;
}

void
task_unsubscribe(struct task_sub *s)
{
    if (!s)
        return;
    struct task_hub *h = s->hub;
    pthread_mutex_lock(&h->mu);
    if (s->prev)
        s->prev->next = s->next;
    else
        h->subs = s->next;
    if (s->next)
        s->next->prev = s->prev;
    h->nsubs--;
    sub_drop_queue(s);
    pthread_cond_broadcast(&h->gone);
    pthread_mutex_unlock(&h->mu);
    pthread_cond_destroy(&s->cv);
    free(s);
}

void
task_hub_close(struct task_hub *h)
{
    pthread_mutex_lock(&h->mu);
    h->closed = true;
    for (struct task_sub *s = h->subs; s; s = s->next)
        pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&h->mu);
}

void
task_hub_drain(struct task_hub *h)
{
    task_hub_close(h);
    pthread_mutex_lock(&h->mu);
    while (h->nsubs > 0)
        pthread_cond_wait(&h->gone, &h->mu);
    for (; h->ring_n; h->ring_n--, h->ring_head = (h->ring_head + 1) % TASK_HISTORY)
        task_event_release(h->ring[h->ring_head]);
    pthread_mutex_unlock(&h->mu);
    pthread_cond_destroy(&h->gone);
    pthread_mutex_destroy(&h->mu);
}

int
task_hub_subscribers(struct task_hub *h)
{
    pthread_mutex_lock(&h->mu);
    int n = h->nsubs;
    pthread_mutex_unlock(&h->mu);
    return n;
}
