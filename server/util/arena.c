#include "arena.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Blocks are chained; a request rarely needs more than the first one. Large
 * allocations get a block of their own so small ones keep packing densely. */
enum { ARENA_BLOCK = 16 * 1024, ARENA_ALIGN = 16 };

struct block {
    struct block *next;
    size_t used, size;
    _Alignas(ARENA_ALIGN) unsigned char data[];
};

struct cleanup {
    struct cleanup *next;
    void (*fn)(void *);
    void *arg;
};

struct arena {
    struct block *blocks;
    struct cleanup *cleanups;
};

arena *
arena_new(void)
{
    return calloc(1, sizeof(arena));
}

static void
run_cleanups(arena *a)
{
    for (struct cleanup *c = a->cleanups; c; c = c->next)
        c->fn(c->arg);
    a->cleanups = NULL;
}

void
arena_destroy(arena *a)
{
    if (!a)
        return;
    run_cleanups(a);
    struct block *b = a->blocks;
    while (b) {
        struct block *next = b->next;
        free(b);
        b = next;
    }
    free(a);
}

void
arena_reset(arena *a)
{
    run_cleanups(a);
    struct block *keep = NULL, *b = a->blocks;
    while (b) {
        struct block *next = b->next;
        if (!keep && b->size == ARENA_BLOCK) {
            keep = b;
            keep->used = 0;
            keep->next = NULL;
        } else {
            free(b);
        }
        b = next;
    }
    a->blocks = keep;
}

static struct block *
block_new(size_t size)
{
    struct block *b = malloc(sizeof(*b) + size);
    if (!b)
        return NULL;
    b->next = NULL;
    b->used = 0;
    b->size = size;
    return b;
}

void *
arena_alloc(arena *a, size_t n)
{
    if (n > SIZE_MAX - ARENA_ALIGN)
        return NULL;
    n = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    struct block *b = a->blocks;
    if (!b || b->size - b->used < n) {
        b = block_new(n > ARENA_BLOCK / 4 ? n : ARENA_BLOCK);
        if (!b)
            return NULL;
        if (n > ARENA_BLOCK / 4 && a->blocks) {
            /* keep the current small block at the head for later small allocations */
            b->next = a->blocks->next;
            a->blocks->next = b;
        } else {
            b->next = a->blocks;
            a->blocks = b;
        }
    }
    void *p = b->data + b->used;
    b->used += n;
    memset(p, 0, n);
    return p;
}

char *
arena_strndup(arena *a, const char *s, size_t n)
{
    if (!s)
        return NULL;
    char *p = arena_alloc(a, n + 1);
    if (!p)
        return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *
arena_strdup(arena *a, const char *s)
{
    return s ? arena_strndup(a, s, strlen(s)) : NULL;
}

char *
arena_printf(arena *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    char *p = arena_alloc(a, (size_t)n + 1);
    if (!p)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

int
arena_defer(arena *a, void (*fn)(void *), void *arg)
{
    struct cleanup *c = arena_alloc(a, sizeof(*c));
    if (!c) {
        fn(arg);
        return -1;
    }
    c->fn = fn;
    c->arg = arg;
    c->next = a->cleanups;
    a->cleanups = c;
    return 0;
}
