/* loop: libvirt's process-wide initialisation and event loop thread.
 *
 * libvirt has exactly one event implementation per process, so this file holds
 * the only global state of server/virt (guarded by loop_lock): every
 * virt_hosts shares the loop thread through a reference count. The default
 * implementation must be registered before the first connection is opened, or
 * that connection never delivers events. */
#include "virt_priv.h"

#include <errno.h>
#include <string.h>
#include <time.h>

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_rc = -1; /* written once inside init_once */

static pthread_mutex_t loop_lock = PTHREAD_MUTEX_INITIALIZER;
static int loop_users;        /* guarded by loop_lock */
static pthread_t loop_thread; /* guarded by loop_lock */
static atomic_bool loop_quit;

/* libvirt prints every error to stderr unless told otherwise; we read errors
 * with virGetLastError and send them to the on_log sink instead. */
static void
silent_error(void *ctx, virErrorPtr error)
{
    (void)ctx;
    (void)error;
}

static void
lib_init_once(void)
{
    if (virInitialize() < 0)
        return;
    virSetErrorFunc(NULL, silent_error);
    if (virEventRegisterDefaultImpl() < 0)
        return;
    init_rc = 0;
}

int
virt_lib_init(err *e)
{
    pthread_once(&init_once, lib_init_once);
    if (init_rc < 0)
        return err_set(e, ERR_INTERNAL, "the libvirt library could not be initialised");
    return 0;
}

static void *
loop_main(void *arg)
{
    (void)arg;
    while (!atomic_load(&loop_quit)) {
        if (virEventRunDefaultImpl() < 0) {
            /* Should not happen; do not spin if it does. */
            struct timespec ts = {0, 50 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
    }
    return NULL;
}

/* The wake-up timer needs a real callback: libvirt refuses a NULL one and a
 * loop blocked in poll() would then never see loop_quit. */
static void
loop_wake(int timer, void *opaque)
{
    (void)timer;
    (void)opaque;
}

int
virt_loop_acquire(err *e)
{
    if (virt_lib_init(e) < 0)
        return -1;
    pthread_mutex_lock(&loop_lock);
    if (loop_users == 0) {
        atomic_store(&loop_quit, false);
        int rc = pthread_create(&loop_thread, NULL, loop_main, NULL);
        if (rc != 0) {
            pthread_mutex_unlock(&loop_lock);
            return err_set(e, ERR_INTERNAL, "cannot start the libvirt event thread (%s)",
                           strerror(rc));
        }
    }
    loop_users++;
    pthread_mutex_unlock(&loop_lock);
    return 0;
}

void
virt_loop_release(void)
{
    pthread_mutex_lock(&loop_lock);
    if (--loop_users == 0) {
        atomic_store(&loop_quit, true);
        int timer = virEventAddTimeout(0, loop_wake, NULL, NULL);
        pthread_join(loop_thread, NULL);
        if (timer >= 0)
            virEventRemoveTimeout(timer);
    }
    pthread_mutex_unlock(&loop_lock);
}
