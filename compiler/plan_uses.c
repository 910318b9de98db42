/* plan_uses.c - the memory plan as `kiln inspect --plan` shows it: every arena buffer (tensor
 * or node scratch) with its offset, size and the first and last schedule step that uses it.
 * Computed from the program alone, so a loaded bundle (which keeps no planner state) prints
 * the same table as a freshly compiled model. */
#include <stdlib.h>
#include <string.h>

#include "bundle.h"
#include "inspect.h" /* kiln_json_string */

static int cmp_use(const void *pa, const void *pb)
{
    const struct kiln_plan_use *a = pa, *b = pb;
    if (a->offset != b->offset)
        return a->offset < b->offset ? -1 : 1;
    return a->first < b->first ? -1 : a->first > b->first;
}

enum kiln_status kiln_plan_uses(const struct kiln_program *p, struct kiln_plan_use **out,
                                uint32_t *n, struct kiln_diag *d)
{
    *out = NULL;
    *n = 0;
    uint32_t *slot = malloc(((size_t)p->n_tensors + 1) * sizeof *slot);
    struct kiln_plan_use *u = calloc((size_t)p->n_tensors + p->n_nodes + 1, sizeof *u);
    if (!slot || !u) {
        free(slot), free(u);
        return kiln_diag_set(d, KILN_STATUS_NO_MEMORY, NULL, NULL, "out of memory");
    }
    uint32_t k = 0;
    for (uint32_t t = 0; t < p->n_tensors; t++) {
        slot[t] = UINT32_MAX;
        if (p->tensors[t].storage != KILN_STORAGE_ARENA)
            continue;
        slot[t] = k;
        u[k++] = (struct kiln_plan_use){t, UINT32_MAX, p->tensors[t].offset, p->tensors[t].nbytes,
                                        UINT32_MAX, UINT32_MAX};
    }
    for (uint32_t s = 0; s < p->n_nodes; s++) {
        const struct kiln_node_desc *nd = &p->nodes[s];
        for (uint32_t j = 0; j < (uint32_t)nd->n_in + nd->n_out; j++) {
            uint32_t t = p->io[nd->io_first + j];
            if (t >= p->n_tensors || slot[t] == UINT32_MAX)
                continue;
            struct kiln_plan_use *e = &u[slot[t]];
            if (e->first == UINT32_MAX)
                e->first = s;
            e->last = s;
        }
        if (nd->scratch_size)
            u[k++] = (struct kiln_plan_use){UINT32_MAX, s, nd->scratch_offset, nd->scratch_size,
                                            s, s};
    }
    free(slot);
    qsort(u, k, sizeof *u, cmp_use);
    *out = u;
    *n = k;
    return KILN_STATUS_OK;
}

static const char *str(const struct kiln_program *p, uint32_t off)
{
    return off < p->strings_size ? p->strings + off : "";
}

void kiln_plan_print(const struct kiln_program *p, const struct kiln_plan_use *u, uint32_t n,
                     uint64_t lower_bound, uint64_t naive, bool json, FILE *f)
{
    if (json) {
        fprintf(f, "{\"arena_size\": %llu, \"lower_bound\": %llu, \"naive\": %llu, \"buffers\": [",
                (unsigned long long)p->arena_size, (unsigned long long)lower_bound,
                (unsigned long long)naive);
        for (uint32_t i = 0; i < n; i++) {
            const struct kiln_plan_use *e = &u[i];
            char name[192];
            if (e->tensor == UINT32_MAX)
                snprintf(name, sizeof name, "scratch of %s", str(p, p->nodes[e->node].name));
            fprintf(f, "%s\n  {\"tensor\": ", i ? "," : "");
            kiln_json_string(f, e->tensor == UINT32_MAX ? name
                                                        : str(p, p->tensors[e->tensor].name));
            fprintf(f, ", \"scratch\": %s, \"offset\": %llu, \"size\": %llu, \"first\": %lld, "
                       "\"last\": %lld}",
                    e->tensor == UINT32_MAX ? "true" : "false", (unsigned long long)e->offset,
                    (unsigned long long)e->size,
                    e->first == UINT32_MAX ? -1LL : (long long)e->first,
                    e->last == UINT32_MAX ? -1LL : (long long)e->last);
        }
        fprintf(f, "\n]}\n");
        return;
    }
    fprintf(f, "memory plan: arena %llu bytes, %u buffers", (unsigned long long)p->arena_size, n);
    if (lower_bound)
        fprintf(f, " (lower bound %llu, no reuse %llu)", (unsigned long long)lower_bound,
                (unsigned long long)naive);
    fprintf(f, "\n  %12s %12s %6s %6s  %s\n", "offset", "size", "first", "last", "tensor");
    for (uint32_t i = 0; i < n; i++) {
        const struct kiln_plan_use *e = &u[i];
        char a[16], b[16];
        snprintf(a, sizeof a, "%u", e->first);
        snprintf(b, sizeof b, "%u", e->last);
        fprintf(f, "  %12llu %12llu %6s %6s  ", (unsigned long long)e->offset,
                (unsigned long long)e->size, e->first == UINT32_MAX ? "-" : a,
                e->last == UINT32_MAX ? "-" : b);
        if (e->tensor == UINT32_MAX)
            fprintf(f, "(scratch of node %u '%s')\n", e->node, str(p, p->nodes[e->node].name));
        else
            fprintf(f, "%s\n", str(p, p->tensors[e->tensor].name));
    }
}
