/* db: open/close, per-thread readers, and the public mutation entry points. */
#include "db_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "writer.h"

/* A thread's reader; also linked into its db so db_close can close the
 * readers of threads that are still alive. */
struct reader {
    db_conn *c;
    struct db *d;
    struct reader *prev, *next; /* guarded by d->readers_mu */
};

struct db {
    char *path;
    int lock_fd; /* flock'ed "<path>.lock": one writing process per database */
    unsigned char key[DB_AUDIT_KEY_MAX]; /* for db_audit_verify_live */
    size_t keylen;
    struct db_writer *w;
    pthread_key_t reader_key; /* this db's reader in each thread */
    bool key_made;
    pthread_mutex_t readers_mu; /* guards readers */
    struct reader *readers;
};

static void
reader_unlink(struct db *d, struct reader *r)
{
    if (r->prev)
        r->prev->next = r->next;
    else
        d->readers = r->next;
    if (r->next)
        r->next->prev = r->prev;
}

/* Thread exit: the thread's reader goes with it. */
static void
reader_destroy(void *p)
{
    struct reader *r = p;
    pthread_mutex_lock(&r->d->readers_mu);
    reader_unlink(r->d, r);
    pthread_mutex_unlock(&r->d->readers_mu);
    db_conn_close(r->c);
    free(r);
}

db_conn *
db_reader(db *d, err *e)
{
    struct reader *r = pthread_getspecific(d->reader_key);
    if (r)
        return r->c;
    r = calloc(1, sizeof(*r));
    if (!r) {
        err_set(e, ERR_UNAVAILABLE, "out of memory");
        return NULL;
    }
    r->d = d;
    r->c = db_conn_open(d->path, DB_CONN_READER, DB_SYNC_FULL, e);
    if (!r->c || pthread_setspecific(d->reader_key, r) != 0) {
        db_conn_close(r->c);
        free(r);
        if (e && e->kind == ERR_NONE)
            err_set(e, ERR_UNAVAILABLE, "cannot open a database reader");
        return NULL;
    }
    pthread_mutex_lock(&d->readers_mu);
    r->next = d->readers;
    if (d->readers)
        d->readers->prev = r;
    d->readers = r;
    pthread_mutex_unlock(&d->readers_mu);
    return r->c;
}

static int
options_check(const struct db_options *o, err *e)
{
    if (!o || !o->path || !o->path[0])
        return err_set(e, ERR_INVALID, "a database path is needed");
    if (!o->audit_key || o->audit_key_len < DB_AUDIT_KEY_MIN || o->audit_key_len > DB_AUDIT_KEY_MAX)
        return err_set(e, ERR_INVALID, "the audit key must be %d to %d bytes", DB_AUDIT_KEY_MIN,
                       DB_AUDIT_KEY_MAX);
    if (o->max_batch < 0 || o->commit_mode > DB_COMMIT_SINGLE || o->sync > DB_SYNC_OFF)
        return err_set(e, ERR_INVALID, "invalid database options");
    return 0;
}

/* Schema first, on the connection that becomes the writer's: nobody else can
 * write yet, so the migrations run with the same one-writer rule. */
static struct db_writer *
writer_open(const struct db_options *o, err *e)
{
    db_conn *c = db_conn_open(o->path, DB_CONN_WRITER, o->sync, e);
    if (!c)
        return NULL;
    if (db_migrate(c, e) < 0) {
        db_conn_close(c);
        return NULL;
    }
    return db_writer_start(c, o, e);
}

/* SQLite 3.40 can corrupt the WAL when two connections write or checkpoint
 * at the same moment (PITFALLS), so a second process (a CLI run while the
 * server is up) must not open the database for writing. The lock lives in its
 * own file: fcntl locks on the database file itself are SQLite's, and closing
 * any descriptor of that file would drop them. -1 with `e` when taken. */
static int
lock_take(db *d, err *e)
{
    char lp[4096];
    if (snprintf(lp, sizeof(lp), "%s.lock", d->path) >= (int)sizeof(lp))
        return err_set(e, ERR_INVALID, "the database path is too long");
    d->lock_fd = open(lp, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (d->lock_fd < 0)
        return err_set(e, ERR_UNAVAILABLE, "cannot open the database (lock file)");
    if (flock(d->lock_fd, LOCK_EX | LOCK_NB) == 0)
        return 0;
    return err_set(e, ERR_UNAVAILABLE,
                   errno == EWOULDBLOCK ? "the database is in use by another virtportal process"
                                        : "cannot lock the database");
}

db *
db_open(const struct db_options *o, err *e)
{
    if (options_check(o, e) < 0)
        return NULL;
    db *d = calloc(1, sizeof(*d));
    if (!d || !(d->path = strdup(o->path))) {
        free(d);
        err_set(e, ERR_UNAVAILABLE, "out of memory");
        return NULL;
    }
    d->lock_fd = -1;
    memcpy(d->key, o->audit_key, o->audit_key_len);
    d->keylen = o->audit_key_len;
    pthread_mutex_init(&d->readers_mu, NULL);
    if (lock_take(d, e) < 0)
        goto fail;
    if (pthread_key_create(&d->reader_key, reader_destroy) != 0) {
        err_set(e, ERR_UNAVAILABLE, "cannot create the reader key");
        goto fail;
    }
    d->key_made = true;
    if (!(d->w = writer_open(o, e)))
        goto fail;
    return d;
fail:
    db_close(d);
    return NULL;
}

void
db_close(db *d)
{
    if (!d)
        return;
    db_writer_stop(d->w);
    /* No destructor may run for this key after this point. */
    if (d->key_made)
        pthread_key_delete(d->reader_key);
    pthread_mutex_lock(&d->readers_mu);
    while (d->readers) {
        struct reader *r = d->readers;
        reader_unlink(d, r);
        db_conn_close(r->c);
        free(r);
    }
    pthread_mutex_unlock(&d->readers_mu);
    /* The writer's connection is the last one: closing it removes the WAL. */
    db_writer_free(d->w);
    if (d->lock_fd >= 0)
        close(d->lock_fd); /* releases the flock */
    pthread_mutex_destroy(&d->readers_mu);
    OPENSSL_cleanse(d->key, sizeof(d->key));
    free(d->path);
    free(d);
}

int
db_mutate(db *d, db_apply_fn fn, void *arg, struct db_audit *audit, err *e)
{
    if (audit && (!audit->action || !audit->action[0]))
        return err_set(e, ERR_INTERNAL, "audit row without an action");
    return db_writer_submit(d->w, fn, arg, audit, e);
}

int
db_audit_event(db *d, struct db_audit *audit, err *e)
{
    if (!audit)
        return err_set(e, ERR_INTERNAL, "audit event without a row");
    return db_mutate(d, NULL, NULL, audit, e);
}

uint64_t
db_identity_epoch(db *d)
{
    return db_writer_identity_epoch(d->w);
}

void
db_stats(db *d, struct db_stats *out)
{
    db_writer_stats(d->w, out);
}

static int
checkpoint_apply(db_conn *c, void *arg, struct db_audit *audit, err *e)
{
    return db_audit_chain_checkpoint(c, db_conn_chain(c), arg, e);
}

int
db_audit_checkpoint(db *d, struct db_audit_checkpoint *out, err *e)
{
    return db_writer_submit(d->w, checkpoint_apply, out, NULL, e);
}

int
db_audit_verify_live(db *d, int64_t from_seq, struct db_audit_verify_result *r, err *e)
{
    db_conn *c = db_reader(d, e);
    if (!c)
        return -1;
    return db_audit_chain_verify(c, d->key, d->keylen, from_seq, r, e);
}
