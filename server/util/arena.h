/* arena: a per-request memory pool (nginx r->pool, h2o req->pool).
 *
 * Everything a request allocates comes from its arena and is released at once
 * when the dispatcher destroys it. Non-memory resources (a quota reservation,
 * a json_t) register a cleanup that runs, in reverse order, at destroy. */
#ifndef VP_ARENA_H
#define VP_ARENA_H

#include <stddef.h>
#include <stdarg.h>

typedef struct arena arena;

/* Returns a new arena, or NULL when out of memory. Caller destroys. */
arena *arena_new(void);

/* Runs the cleanups (last registered first) and frees all memory. NULL is fine. */
void arena_destroy(arena *a);

/* Runs the cleanups and forgets every allocation, keeping one block for the
 * next request (a worker thread reuses its arena instead of malloc/free). */
void arena_reset(arena *a);

/* Zeroed memory owned by the arena; NULL only when out of memory. */
void *arena_alloc(arena *a, size_t n);

/* Copies of strings owned by the arena; NULL in gives NULL out. */
char *arena_strdup(arena *a, const char *s);
char *arena_strndup(arena *a, const char *s, size_t n);
char *arena_printf(arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Registers fn(arg) to run at arena_destroy. Returns 0, or -1 when out of memory
 * (then fn is called at once, so the resource is never leaked). */
int arena_defer(arena *a, void (*fn)(void *), void *arg);

#endif
