/* Files compiled into the binary by vp_embed (see CMakeLists.txt). */
#ifndef VP_EMBEDDED_H
#define VP_EMBEDDED_H

#include <stddef.h>

struct embedded_file {
    const char *name; /* path relative to the embedded folder, '/' separated */
    const unsigned char *data;
    size_t len;
};

/* A table ends with an entry whose name is NULL. Returns NULL when absent. */
static inline const struct embedded_file *
embedded_find(const struct embedded_file *table, const char *name)
{
    for (; table->name; table++) {
        const char *a = table->name, *b = name;
        while (*a && *a == *b)
            a++, b++;
        if (*a == '\0' && *b == '\0')
            return table;
    }
    return NULL;
}

#endif
