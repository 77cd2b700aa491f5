#include "fixture_io.h"

#include <stdio.h>
#include <stdlib.h>

const char *
fx_path(char *buf, size_t n, const char *rel)
{
    const char *root = getenv("VP_FIXTURES");
    snprintf(buf, n, "%s/%s", root ? root : "../shared/fixtures", rel);
    return buf;
}

char *
fx_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (n + 65536 + 1 > cap) {
            cap = cap ? cap * 2 : 131072;
            char *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = nb;
        }
        size_t got = fread(buf + n, 1, 65536, f);
        n += got;
        if (got < 65536)
            break;
    }
    fclose(f);
    buf[n] = '\0';
    *len = n;
    return buf;
}

char *
fx_read_fixture(const char *rel, size_t *len)
{
    char p[4096];
    char *b = fx_read_file(fx_path(p, sizeof(p), rel), len);
    if (!b)
        fprintf(stderr, "cannot read fixture %s (set VP_FIXTURES)\n", p);
    return b;
}
