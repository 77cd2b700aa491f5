/* Cleanup at scope exit (libvirt's virautoclean.h, glib's g_autoptr).
 *
 *   AUTOPTR(json_t) j = json_object();   // json_decref'd when j leaves scope
 *   return STEAL(j);                      // hand ownership out, j becomes NULL
 *
 * A type gets a cleanup with AUTOPTR_DEFINE(type, free_fn) once, in the header
 * that declares free_fn. free_fn must accept NULL or we guard it here. */
#ifndef VP_AUTOPTR_H
#define VP_AUTOPTR_H

#include <stdlib.h>

#define AUTOPTR_FN(T) autoptr_cleanup_##T

#define AUTOPTR_DEFINE(T, free_fn)                                                                 \
    static inline void AUTOPTR_FN(T)(T * *p)                                                       \
    {                                                                                              \
        if (*p)                                                                                    \
            free_fn(*p);                                                                           \
    }

#define AUTOPTR(T) __attribute__((cleanup(AUTOPTR_FN(T)))) T *

/* Plain malloc'd memory: AUTOFREE char *s = strdup(x); */
static inline void
autofree_cleanup(void *p)
{
    free(*(void **)p);
}
#define AUTOFREE __attribute__((cleanup(autofree_cleanup)))

/* Returns the value of *pp and sets it to NULL: ownership leaves the scope. */
#define STEAL(p)                                                                                   \
    ({                                                                                             \
        __typeof__(p) steal_tmp_ = (p);                                                            \
        (p) = NULL;                                                                                \
        steal_tmp_;                                                                                \
    })

#endif
