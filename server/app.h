/* app: the one server context (STYLE rule 14), built before the server starts
 * and shared read-only by every thread, except the fields that say otherwise. */
#ifndef VP_APP_H
#define VP_APP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "config.h"

struct db;
struct auth_jwt;
struct auth_throttle;

struct vp_app {
    struct vp_config cfg; /* immutable after start */
    struct db *db;
    struct auth_jwt *jwt;           /* internally locked (verified-token cache) */
    struct auth_throttle *throttle; /* internally locked */
    atomic_bool ready;              /* /readyz: false until started, false while draining */
    atomic_long clock_offset_s;     /* added to the wall clock; moved by tests only */
    /* metrics (atomics) */
    atomic_ulong requests_total;
    atomic_ulong responses_5xx;
};

/* Seconds since the epoch as the portal sees it (wall clock + test offset). */
static inline int64_t
app_now(const struct vp_app *app)
{
    return (int64_t)time(NULL) + atomic_load(&app->clock_offset_s);
}

#endif
