/* writer: group commit on one connection, owned by one thread.
 *
 * Callers queue jobs and sleep. The writer takes everything queued (up to
 * max_batch), runs it in one BEGIN IMMEDIATE transaction, each job inside its
 * own SAVEPOINT together with its audit row, commits once (one fsync for the
 * whole batch) and only then wakes the callers. No timer is needed to form
 * batches: while one batch is being fsync'd the next one queues up, so the
 * batch size follows the load by itself.
 *
 * The writer also owns WAL checkpoints (SQLite's automatic ones are off): under
 * sustained writes with readers always active, automatic checkpoints never
 * restarted the WAL and it grew to 823 MB (PITFALLS). */
#include "writer.h"

#include <stdatomic.h>

#include <errno.h>
#include <stdio.h>
#include <semaphore.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

enum {
    /* A PASSIVE checkpoint after every 4 MiB of new WAL; it never waits. */
    CKPT_PASSIVE_BYTES = 4 * 1024 * 1024,
    /* Past 16 MiB the WAL did not restart by itself (readers kept using it):
     * TRUNCATE, which waits up to 20 ms for readers to leave the WAL. Tried
     * at most every 100 ms, so readers can cost the writer at most ~20% of
     * its time. */
    CKPT_TRUNCATE_BYTES = 16 * 1024 * 1024,
    CKPT_TRUNCATE_WAIT_MS = 20,
    CKPT_TRUNCATE_RETRY_MS = 100,
    /* Past 48 MiB the bound matters more than the writer's latency: TRUNCATE
     * after every batch, waiting up to 250 ms for readers. */
    CKPT_HARD_BYTES = 48 * 1024 * 1024,
    CKPT_HARD_WAIT_MS = 250,
    WRITER_BUSY_TIMEOUT_MS = 5000,
    MAX_BATCH_LIMIT = 4096,
};

struct job {
    db_apply_fn fn; /* NULL: an audit row alone */
    void *arg;
    struct db_audit *audit; /* NULL: no audit row */
    int rc;                 /* writer sets; read by the caller after done */
    err e;
    sem_t done;       /* posted by the writer once rc and e are final */
    struct job *next; /* guarded by w->mu */
};

struct db_writer {
    /* Writer thread only (the opening thread until the thread starts). */
    db_conn *c;
    struct db_audit_chain chain;
    bool chain_ok; /* false: the in-memory head may be stale, read it again */
    enum db_commit_mode mode;
    int max_batch;
    struct job **batch;
    int64_t wal_frames; /* frames in the WAL after the last commit (wal hook) */
    int64_t ckpt_mark;  /* wal_frames at the last checkpoint */
    int64_t frame_bytes;
    struct timespec last_truncate_try;

    pthread_t thread;
    bool started;
    pthread_mutex_t mu; /* guards everything below */
    pthread_cond_t wake;
    struct job *head, *tail;
    bool stopping;
    struct db_stats stats;
    _Atomic uint64_t identity_epoch; /* bumped after a commit that changed identity */
};

/* ---- the queue ---- */

/* Blocks until there is work; moves up to max_batch jobs into w->batch.
 * Returns their number, 0 when stopping with nothing left to do. */
static int
queue_take(struct db_writer *w)
{
    int limit = w->mode == DB_COMMIT_SINGLE ? 1 : w->max_batch, n = 0;
    pthread_mutex_lock(&w->mu);
    while (!w->head && !w->stopping)
        pthread_cond_wait(&w->wake, &w->mu);
    while (w->head && n < limit) {
        w->batch[n++] = w->head;
        w->head = w->head->next;
        w->stats.queued--;
    }
    if (!w->head)
        w->tail = NULL;
    pthread_mutex_unlock(&w->mu);
    return n;
}

/* Counts a finished batch and wakes its callers. The wake-ups happen outside
 * the lock (a semaphore per job) so that callers queueing the next batch are
 * not held up by 64 futex wakes, and woken callers do not pile up on w->mu. */
static void
batch_answer(struct db_writer *w, int n, bool committed)
{
    uint64_t failed = 0;
    for (int i = 0; i < n; i++)
        failed += w->batch[i]->rc != 0;
    pthread_mutex_lock(&w->mu);
    w->stats.commits += committed;
    w->stats.failed_commits += !committed;
    w->stats.jobs += (uint64_t)n;
    w->stats.jobs_failed += failed;
    if ((uint64_t)n > w->stats.max_batch_seen)
        w->stats.max_batch_seen = (uint64_t)n;
    pthread_mutex_unlock(&w->mu);
    /* after sem_post the job (on its caller's stack) may be gone */
    for (int i = 0; i < n; i++)
        sem_post(&w->batch[i]->done);
}

/* ---- one batch ---- */

/* Transaction control through the statement cache: these run several times
 * per job, and parsing them each time is measurable at 20k jobs/s.
 * `sql` must be a literal (the cache key). */
static int
exec_ok(struct db_writer *w, const char *sql)
{
    err ignored;
    DB_STMT s = db_conn_stmt(w->c, sql, &ignored);
    return s && sqlite3_step(s) == SQLITE_DONE ? 0 : -1;
}

/* A COMMIT whose sync failed has already written its frames, commit frame
 * included, to the WAL file: SQLite only leaves them out of the wal-index, so
 * WAL recovery after a crash would replay the transaction its callers were
 * told had failed. A tiny transaction written over the start of those frames
 * breaks their checksum chain; if it is replayed itself, it changes nothing
 * (page 1 as it is). Its own failure changes nothing either. */
static void
wal_scrub(struct db_writer *w)
{
    if (exec_ok(w, "BEGIN IMMEDIATE") < 0)
        return;
    err ignored;
    DB_STMT s = db_conn_stmt(w->c, "PRAGMA user_version", &ignored);
    int v = s && sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int(s, 0) : -1;
    if (s)
        sqlite3_reset(s);
    char sql[48];
    snprintf(sql, sizeof(sql), "PRAGMA user_version=%d", v);
    if (v < 0 || sqlite3_exec(db_conn_sqlite(w->c), sql, NULL, NULL, NULL) != SQLITE_OK ||
        exec_ok(w, "COMMIT") < 0) {
        if (!sqlite3_get_autocommit(db_conn_sqlite(w->c)))
            exec_ok(w, "ROLLBACK");
    }
}

/* Nothing of the batch is stored: every job that had succeeded fails. Jobs
 * that failed on their own keep their own error. The in-memory chain head
 * is stale now and is read back from the database. */
static void
batch_fail(struct db_writer *w, int n)
{
    if (!sqlite3_get_autocommit(db_conn_sqlite(w->c)))
        exec_ok(w, "ROLLBACK");
    for (int i = 0; i < n; i++) {
        struct job *j = w->batch[i];
        if (j->rc == 0)
            j->rc = err_set(&j->e, ERR_UNAVAILABLE, "storage is unavailable; nothing was saved");
    }
    err ignored;
    w->chain_ok = db_audit_chain_load(w->c, &w->chain, &ignored) == 0;
}

/* fn, then the audit row, inside a SAVEPOINT: on any failure the job is
 * rolled back alone and the chain head goes back to where it was. */
static void
job_run(struct db_writer *w, struct job *j)
{
    int64_t seq = w->chain.seq;
    char hash[65];
    memcpy(hash, w->chain.hash, sizeof(hash));
    err_clear(&j->e);
    if (exec_ok(w, "SAVEPOINT job") < 0) {
        j->rc = err_set(&j->e, ERR_UNAVAILABLE, "storage is unavailable");
        return;
    }
    j->rc = 0;
    if (j->fn && j->fn(w->c, j->arg, j->audit, &j->e) < 0)
        j->rc = -1;
    else if (j->audit && db_audit_chain_append(w->c, &w->chain, j->audit, &j->e) < 0)
        j->rc = -1, w->chain_ok = false; /* re-read the head before the next batch */
    if (j->rc == 0 && exec_ok(w, "RELEASE job") == 0)
        return;
    if (j->rc == 0 || j->e.kind == ERR_NONE)
        j->rc = err_set(&j->e, ERR_INTERNAL, "the change could not be applied");
    exec_ok(w, "ROLLBACK TO job");
    exec_ok(w, "RELEASE job");
    w->chain.seq = seq;
    memcpy(w->chain.hash, hash, sizeof(hash));
}

/* Returns true when the batch was committed. */
static bool
batch_run(struct db_writer *w, int n)
{
    sqlite3 *s = db_conn_sqlite(w->c);
    err ignored;
    for (int i = 0; i < n; i++)
        w->batch[i]->rc = 0;
    if (exec_ok(w, "BEGIN IMMEDIATE") < 0) {
        batch_fail(w, n);
        return false;
    }
    /* Read under the write lock, so the head cannot move before we append. */
    if (!w->chain_ok && !(w->chain_ok = db_audit_chain_load(w->c, &w->chain, &ignored) == 0)) {
        batch_fail(w, n);
        return false;
    }
    for (int i = 0; i < n; i++) {
        job_run(w, w->batch[i]);
        /* An I/O error or a full disk can make SQLite roll back the whole
         * transaction under us: then the jobs before this one are gone too. */
        if (sqlite3_get_autocommit(s)) {
            batch_fail(w, n);
            return false;
        }
    }
    /* The one fsync of the batch (synchronous=FULL): only after it returns
     * may anyone be told that their change is stored. */
    if (exec_ok(w, "COMMIT") < 0) {
        batch_fail(w, n);
        wal_scrub(w);
        return false;
    }
    /* after the commit: a reader that saw the old epoch reloads the new rows */
    if (db_conn_take_identity_changed(w->c))
        atomic_fetch_add(&w->identity_epoch, 1);
    return true;
}

uint64_t
db_writer_identity_epoch(struct db_writer *w)
{
    return atomic_load(&w->identity_epoch);
}

/* ---- WAL checkpoints ---- */

static int
wal_hook(void *arg, sqlite3 *s, const char *dbname, int frames)
{
    struct db_writer *w = arg;
    w->wal_frames = frames;
    return SQLITE_OK;
}

static int64_t
ms_since(const struct timespec *t)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (now.tv_sec - t->tv_sec) * 1000 + (now.tv_nsec - t->tv_nsec) / 1000000;
}

/* TRUNCATE waits (busy handler) for readers to leave the WAL, copies it all
 * and cuts the file to zero. Returns SQLite's code. */
static int
wal_truncate(struct db_writer *w, int wait_ms)
{
    sqlite3 *s = db_conn_sqlite(w->c);
    clock_gettime(CLOCK_MONOTONIC, &w->last_truncate_try);
    sqlite3_busy_timeout(s, wait_ms);
    int rc = sqlite3_wal_checkpoint_v2(s, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
    sqlite3_busy_timeout(s, WRITER_BUSY_TIMEOUT_MS);
    if (rc == SQLITE_OK)
        w->wal_frames = 0;
    return rc;
}

/* How long a TRUNCATE may wait for readers now, 0 for no TRUNCATE. */
static int
truncate_wait_ms(struct db_writer *w, int64_t wal_bytes)
{
    if (wal_bytes >= CKPT_HARD_BYTES)
        return CKPT_HARD_WAIT_MS;
    if (wal_bytes >= CKPT_TRUNCATE_BYTES &&
        ms_since(&w->last_truncate_try) >= CKPT_TRUNCATE_RETRY_MS)
        return CKPT_TRUNCATE_WAIT_MS;
    return 0;
}

/* PASSIVE copies what it can and never blocks anyone; once the WAL is fully
 * copied and no reader still uses it, the next commit starts it over (and
 * journal_size_limit cuts the file back). Readers that were in the middle of
 * a read keep that from happening, and under a steady read load they often
 * are: then TRUNCATE waits a little for them (see CKPT_TRUNCATE_*). */
static void
wal_maybe_checkpoint(struct db_writer *w)
{
    int64_t bytes = w->wal_frames * w->frame_bytes;
    if (w->wal_frames < w->ckpt_mark)
        w->ckpt_mark = 0; /* the WAL was restarted */
    int wait_ms = truncate_wait_ms(w, bytes);
    if (!wait_ms && (w->wal_frames - w->ckpt_mark) * w->frame_bytes < CKPT_PASSIVE_BYTES)
        return;
    int rc = wait_ms ? wal_truncate(w, wait_ms)
                     : sqlite3_wal_checkpoint_v2(db_conn_sqlite(w->c), NULL,
                                                 SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    w->ckpt_mark = w->wal_frames;
    pthread_mutex_lock(&w->mu);
    w->stats.wal_checkpoints++;
    w->stats.wal_truncates += wait_ms && rc == SQLITE_OK;
    pthread_mutex_unlock(&w->mu);
}

/* ---- the thread ---- */

static void *
writer_main(void *arg)
{
    struct db_writer *w = arg;
    int n;
    while ((n = queue_take(w)) > 0) {
        bool committed = batch_run(w, n);
        batch_answer(w, n, committed);
        wal_maybe_checkpoint(w);
    }
    return NULL;
}

static int
writer_init(struct db_writer *w, db_conn *c, const struct db_options *o, err *e)
{
    w->c = c;
    w->mode = o->commit_mode;
    w->max_batch = o->max_batch > 0 ? o->max_batch : DB_DEFAULT_MAX_BATCH;
    if (w->max_batch > MAX_BATCH_LIMIT)
        w->max_batch = MAX_BATCH_LIMIT;
    w->batch = calloc((size_t)w->max_batch, sizeof(*w->batch));
    if (!w->batch)
        return err_set(e, ERR_UNAVAILABLE, "out of memory");
    memcpy(w->chain.key, o->audit_key, o->audit_key_len);
    w->chain.keylen = o->audit_key_len;
    if (db_audit_chain_load(c, &w->chain, e) < 0)
        return -1;
    w->chain_ok = true;
    db_conn_set_chain(c, &w->chain);
    DB_STMT s = db_conn_stmt(c, "PRAGMA page_size", e);
    if (!s || sqlite3_step(s) != SQLITE_ROW)
        return err_set(e, ERR_UNAVAILABLE, "storage is unavailable");
    w->frame_bytes = 24 + sqlite3_column_int64(s, 0); /* frame header + one page */
    sqlite3_wal_hook(db_conn_sqlite(c), wal_hook, w);
    db_conn_watch_identity(c);
    return 0;
}

struct db_writer *
db_writer_start(db_conn *c, const struct db_options *o, err *e)
{
    struct db_writer *w = calloc(1, sizeof(*w));
    if (!w) {
        db_conn_close(c);
        err_set(e, ERR_UNAVAILABLE, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->wake, NULL);
    if (writer_init(w, c, o, e) < 0) {
        db_writer_free(w);
        return NULL;
    }
    if (pthread_create(&w->thread, NULL, writer_main, w) != 0) {
        err_set(e, ERR_UNAVAILABLE, "cannot start the database writer");
        db_writer_free(w);
        return NULL;
    }
    w->started = true;
    return w;
}

int
db_writer_submit(struct db_writer *w, db_apply_fn fn, void *arg, struct db_audit *audit, err *e)
{
    /* The writer waiting for itself would never wake up. */
    if (w->started && pthread_equal(pthread_self(), w->thread))
        return err_set(e, ERR_INTERNAL, "a mutation cannot start another mutation");
    struct job j = {.fn = fn, .arg = arg, .audit = audit};
    sem_init(&j.done, 0, 0);
    pthread_mutex_lock(&w->mu);
    if (w->stopping) {
        pthread_mutex_unlock(&w->mu);
        sem_destroy(&j.done);
        return err_set(e, ERR_UNAVAILABLE, "the database is closing");
    }
    if (w->tail)
        w->tail->next = &j;
    else
        w->head = &j;
    w->tail = &j;
    w->stats.queued++;
    pthread_cond_signal(&w->wake);
    pthread_mutex_unlock(&w->mu);
    while (sem_wait(&j.done) != 0 && errno == EINTR)
        ;
    sem_destroy(&j.done);
    if (j.rc != 0 && e)
        *e = j.e;
    return j.rc == 0 ? 0 : -1;
}

void
db_writer_stop(struct db_writer *w)
{
    if (!w || !w->started)
        return;
    pthread_mutex_lock(&w->mu);
    w->stopping = true;
    pthread_cond_signal(&w->wake);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    w->started = false;
}

void
db_writer_free(struct db_writer *w)
{
    if (!w)
        return;
    db_writer_stop(w);
    if (w->c) {
        /* Leave a short WAL behind; closing the last connection also
         * checkpoints and removes it. */
        sqlite3_wal_checkpoint_v2(db_conn_sqlite(w->c), NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL,
                                  NULL);
        db_conn_close(w->c);
    }
    OPENSSL_cleanse(w->chain.key, sizeof(w->chain.key));
    free(w->batch);
    pthread_cond_destroy(&w->wake);
    pthread_mutex_destroy(&w->mu);
    free(w);
}

void
db_writer_stats(struct db_writer *w, struct db_stats *out)
{
    pthread_mutex_lock(&w->mu);
    *out = w->stats;
    pthread_mutex_unlock(&w->mu);
}
