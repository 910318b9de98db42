/* interp.c - the interpreter: walks the program's node list and calls each kernel with
 * tensor views resolved against the caller's arena, inputs, outputs and the weights.
 * No allocation: views live on the stack, everything else in the caller's arena. */
#include <string.h>

#include "kernels/kernels.h"

/* Upper bound on a node's inputs + outputs the interpreter resolves at once; the compiler
 * refuses larger nodes (see KILN_MAX_NODE_IO users). */
#define KILN_MAX_NODE_IO 64

static void *tensor_data(const struct kiln_program *p, const struct kiln_tensor_desc *d,
                         uint8_t *arena, const void *const inputs[], void *const outputs[])
{
    switch (d->storage) {
    case KILN_STORAGE_ARENA: return arena + d->offset;
    case KILN_STORAGE_WEIGHT: return (void *)(p->weights + d->offset);
    case KILN_STORAGE_INPUT: return (void *)inputs[d->index];
    case KILN_STORAGE_OUTPUT: return outputs[d->index];
    default: return NULL;
    }
}

static void make_view(struct kiln_tensor *v, const struct kiln_tensor_desc *d, void *data)
{
    v->data = data;
    v->rank = d->rank;
    v->dtype = d->dtype;
    v->scale = d->scale;
    v->zero_point = d->zero_point;
    for (int i = 0; i < KILN_MAX_RANK; i++)
        v->dims[i] = i < d->rank ? d->dims[i] : 1;
}

enum kiln_status kiln_run_hooked(const struct kiln_program *p, void *arena,
                                 const void *const inputs[], void *const outputs[],
                                 kiln_node_hook hook, void *user)
{
    if (!p || (!arena && p->arena_size) || (!inputs && p->n_inputs) ||
        (!outputs && p->n_outputs))
        return KILN_STATUS_INVALID_ARG;
    uint8_t *a = arena;
    struct kiln_tensor views[KILN_MAX_NODE_IO];
    for (uint32_t ni = 0; ni < p->n_nodes; ni++) {
        const struct kiln_node_desc *n = &p->nodes[ni];
        const struct kiln_kernel *k = kiln_rt_kernel(n->op, n->variant);
        uint32_t nio = (uint32_t)n->n_in + n->n_out;
        if (!k || nio > KILN_MAX_NODE_IO)
            return KILN_STATUS_INTERNAL;
        for (uint32_t j = 0; j < nio; j++) {
            const struct kiln_tensor_desc *d = &p->tensors[p->io[n->io_first + j]];
            make_view(&views[j], d, tensor_data(p, d, a, inputs, outputs));
        }
        struct kiln_kernel_args args = {
            .params = p->params + n->params_offset,
            .in = views,
            .out = views + n->n_in,
            .n_in = n->n_in,
            .n_out = n->n_out,
            .scratch = n->scratch_size ? a + n->scratch_offset : NULL,
            .scratch_size = n->scratch_size,
        };
        if (hook)
            hook(user, ni, 0);
        k->fn(&args);
        if (hook)
            hook(user, ni, 1);
    }
    return KILN_STATUS_OK;
}

enum kiln_status kiln_run(const struct kiln_program *p, void *arena, const void *const inputs[],
                          void *const outputs[])
{
    return kiln_run_hooked(p, arena, inputs, outputs, NULL, NULL);
}
