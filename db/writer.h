/* writer: the one thread and the one connection that write (db.c drives it).
 * Private to db/. */
#ifndef VP_DB_WRITER_H
#define VP_DB_WRITER_H

#include "db_internal.h"

struct db_writer;

/* Loads the audit chain head through `c` and starts the writer thread, which
 * then owns `c` (consumed, also on failure). `o` is borrowed: its commit
 * mode, batch size and audit key (copied) are used. NULL with `e` on failure. */
struct db_writer *db_writer_start(db_conn *c, const struct db_options *o, err *e);

/* Queues a job and blocks until its batch is durable or failed. Returns 0 or
 * -1 with `e` filled (see db_mutate). All pointers borrowed. */
int db_writer_submit(struct db_writer *w, db_apply_fn fn, void *arg, struct db_audit *audit,
                     err *e);

/* Refuses new jobs, answers the queued ones and joins the thread. */
void db_writer_stop(struct db_writer *w);

/* After db_writer_stop and once no reader is open any more: truncates the WAL,
 * closes the connection and frees w. NULL is fine. */
void db_writer_free(struct db_writer *w);

/* Copies the counters. */
void db_writer_stats(struct db_writer *w, struct db_stats *out);

/* The identity epoch (see db_identity_epoch in db.h). Any thread. */
uint64_t db_writer_identity_epoch(struct db_writer *w);

#endif
