/* arena.c - the compiler's bump allocator: chunks chained in a list, freed all at once, every
 * byte charged against the memory limit of the model being compiled (--max-memory). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir.h"

struct kiln_arena_chunk {
    struct kiln_arena_chunk *next;
    size_t size, used;
    unsigned char data[];
};

#define CHUNK_MIN (1u << 20)

/* Offset >= used at which c->data + offset is aligned (align: power of two). */
static size_t align_off(const struct kiln_arena_chunk *c, size_t used, size_t align)
{
    uintptr_t p = (uintptr_t)(c->data + used);
    return used + (((p + align - 1) & ~(uintptr_t)(align - 1)) - p);
}

void *kiln_arena_alloc_aligned(struct kiln_arena *a, size_t size, size_t align)
{
    if (align < 16)
        align = 16;
    struct kiln_arena *b = a->budget ? a->budget : a;
    if (b->limit && (b->charged > b->limit || size > b->limit - b->charged)) {
        if (!b->refused)
            b->refused = size ? size : 1;
        return NULL;
    }
    struct kiln_arena_chunk *c = a->head;
    if (c) {
        size_t at = align_off(c, c->used, align);
        if (at <= c->size && size <= c->size - at) {
            c->used = at + size;
            a->total += size;
            b->charged += size;
            return memset(c->data + at, 0, size);
        }
    }
    if (size > SIZE_MAX - align - sizeof *c)
        return NULL;
    size_t want = size + align;
    size_t csize = want > CHUNK_MIN ? want : CHUNK_MIN;
    c = malloc(sizeof *c + csize);
    if (!c)
        return NULL;
    c->size = csize;
    c->used = 0;
    /* A big one-off block goes behind the current head so the head's free space stays usable. */
    if (a->head && want > CHUNK_MIN) {
        c->next = a->head->next;
        a->head->next = c;
    } else {
        c->next = a->head;
        a->head = c;
    }
    size_t at = align_off(c, 0, align);
    c->used = at + size;
    a->total += size;
    b->charged += size;
    return memset(c->data + at, 0, size);
}

void *kiln_arena_alloc(struct kiln_arena *a, size_t size)
{
    return kiln_arena_alloc_aligned(a, size ? size : 1, 16);
}

char *kiln_arena_strndup(struct kiln_arena *a, const char *s, size_t n)
{
    char *p = kiln_arena_alloc(a, n + 1);
    if (p && n)
        memcpy(p, s, n);
    return p;
}

char *kiln_arena_strdup(struct kiln_arena *a, const char *s)
{
    return kiln_arena_strndup(a, s, strlen(s));
}

void kiln_arena_free(struct kiln_arena *a)
{
    struct kiln_arena_chunk *c = a->head;
    while (c) {
        struct kiln_arena_chunk *n = c->next;
        free(c);
        c = n;
    }
    if (a->budget && a->budget->charged >= a->total)
        a->budget->charged -= a->total;
    a->head = NULL;
    a->total = 0;
    a->charged = 0;
}

void kiln_arena_explain(const struct kiln_arena *a, struct kiln_diag *d)
{
    const struct kiln_arena *b = a->budget ? a->budget : a;
    if (!d || d->status != KILN_STATUS_NO_MEMORY || !b->refused)
        return;
    char was[sizeof d->message];
    snprintf(was, sizeof was, "%s", d->message);
    snprintf(d->message, sizeof d->message,
             "%s: the compile-time memory limit of %llu bytes is reached (%llu bytes in use, "
             "%llu more asked for); --max-memory BYTES raises it (docs/robustness.md)",
             was, (unsigned long long)b->limit, (unsigned long long)b->charged,
             (unsigned long long)b->refused);
}
