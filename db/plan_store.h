/* plan store: the `plan` table of migration 0001 (db/plan_store.c), written and
 * read by the plan routes (api/plans.c) and the plan executor (server/plan_exec.c).
 *
 * A plan row holds its kind ("vmware-import" | "rebalance" | "drain"), the input
 * it was made from (JSON: the request, an upload's bytes in base64, or the
 * snapshot of the live inventory a KVM plan was made on, so that the same plan can
 * be computed again for an export), the result (JSON, NULL while it is computed)
 * and its state:
 *
 *     draft ──(planned)──> ready ──(execute)──> executing ──> done | failed
 *       └──(planning failed)──> failed
 *
 * "ready" is the state in which a KVM plan may be executed (approved: executing
 * needs plan.write and host.admin). An execution that was cancelled ends "failed"
 * with result.execution.outcome "cancelled". State changes are conditional on the
 * current state (ERR_CONFLICT when it moved meanwhile), so two executions of one
 * plan can never both start. Plans are global objects (no tenant).
 *
 * Text is copied into the caller's arena (db_plan_get) or valid during the list
 * callback only. */
#ifndef VP_DB_PLAN_STORE_H
#define VP_DB_PLAN_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "db.h"

enum db_plan_state {
    DB_PLAN_DRAFT,
    DB_PLAN_READY,
    DB_PLAN_EXECUTING,
    DB_PLAN_DONE,
    DB_PLAN_FAILED,
    DB_PLAN_STATE_COUNT
};

/* "draft", "ready", …; "invalid" otherwise. Static string. */
const char *db_plan_state_name(enum db_plan_state s);
/* The state called `name` into *out; -1 when unknown. */
int db_plan_state_parse(const char *name, enum db_plan_state *out);
/* True for the kinds the table accepts. */
bool db_plan_kind_valid(const char *kind);

struct db_plan {
    int64_t id;
    char kind[16];
    enum db_plan_state state;
    int64_t created_by; /* 0 = none (deleted user) */
    char created_at[32];
    const char *name;   /* input's "name" (arena), or NULL */
    const char *input;  /* JSON text (arena), NULL unless asked for */
    const char *result; /* JSON text (arena), NULL while none */
};

/* A row of a list: what the result's summary says, without the big texts. */
struct db_plan_row {
    int64_t id;
    const char *kind;
    enum db_plan_state state;
    int64_t created_by;
    const char *created_at;
    const char *name;    /* input's "name", or NULL */
    const char *summary; /* JSON text of result.summary, or NULL */
    const char *error;   /* result.error.detail when planning failed, or NULL */
};

struct db_plan_filter {
    const char *kind;  /* exact, NULL = any */
    int state;         /* enum db_plan_state, -1 = any */
    int64_t before_id; /* cursor: ids below it; 0 = from the newest */
};

typedef int (*db_plan_row_fn)(void *arg, const struct db_plan_row *p, err *e);

/* Stores a new plan with the caller's audit row `a` (borrowed, required; its
 * target becomes "plan/<id>" and details get plan_id). `input` must be a JSON
 * object text; `result` may be NULL. *id_out is the new id. */
int db_plan_create(db *d, const char *kind, const char *input, const char *result,
                   enum db_plan_state state, int64_t created_by, struct db_audit *a,
                   int64_t *id_out, err *e);

/* Plan `id` into *out, texts copied into `a`; the input only `with_input`.
 * ERR_NOT_FOUND "No such plan.". */
int db_plan_get(db *d, int64_t id, bool with_input, arena *a, struct db_plan *out, err *e);

/* Newest first, at most `limit` rows (*more: rows remain). */
int db_plan_list(db *d, const struct db_plan_filter *f, int limit, bool *more, db_plan_row_fn fn,
                 void *arg, err *e);

/* Moves plan `id` from state `from` to `to`, replacing its result with `result`
 * when not NULL, with the audit row `a` (may be NULL: bookkeeping such as the
 * end of an asynchronous planning, whose request was audited). ERR_NOT_FOUND,
 * ERR_CONFLICT "The plan is <state>." when it is not in `from`. */
int db_plan_transition(db *d, int64_t id, enum db_plan_state from, enum db_plan_state to,
                       const char *result, struct db_audit *a, err *e);

/* Sets result.execution to `execution` (a JSON object text), and when `to` is
 * not -1 moves the state from `from` to `to` in the same transaction (as
 * db_plan_transition; `from` -1 = any). `a` may be NULL. */
int db_plan_set_execution(db *d, int64_t id, const char *execution, int from, int to,
                          struct db_audit *a, err *e);

#endif
