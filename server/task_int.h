/* task_int: what server/task.c and server/task_events.c share. Private to the
 * task module. */
#ifndef VP_TASK_INT_H
#define VP_TASK_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "task.h"

enum {
    TASK_SUB_QUEUE = 64, /* events a subscriber may fall behind before a resync */
    TASK_HISTORY = 256,  /* recent events kept for Last-Event-ID replay */
};

/* The event hub: recent history and the subscribers. All of it is guarded by
 * mu. Publishers may hold the runner's lock while they publish (lock order:
 * runner, then hub); the hub never takes the runner's lock. */
struct task_hub {
    pthread_mutex_t mu;
    pthread_cond_t gone; /* a subscriber left (task_hub_drain waits for it) */
    uint64_t seq;        /* seq of the last event published */
    struct task_event *ring[TASK_HISTORY];
    unsigned ring_head, ring_n; /* oldest at ring_head */
    struct task_sub *subs;
    int nsubs, max_subs;
    bool closed;
};

/* Sets up h; event sequence numbers start after first_seq. */
int task_hub_init(struct task_hub *h, int max_subs, uint64_t first_seq);

/* Publishes a copy of v to every subscriber that may see its tenant. */
void task_hub_publish(struct task_hub *h, const struct task_view *v);

/* Ends every stream (their next wait answers CLOSED) and refuses new ones. */
void task_hub_close(struct task_hub *h);

/* Waits until every subscriber has unsubscribed, then frees the history. */
void task_hub_drain(struct task_hub *h);

/* Subscribers now (a snapshot). */
int task_hub_subscribers(struct task_hub *h);

/* The hub of a runner (task.c). */
struct task_hub *task_runner_hub(struct task_runner *tr);

#endif
