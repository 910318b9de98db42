/* interp.c - the interpreter: walks the program's node list and calls each kernel with
 * tensor views resolved against the caller's arena, inputs, outputs and the weights.
 * No allocation: views live on the stack (for nodes of more than KILN_RT_STACK_VIEWS tensors,
 * in arena space kiln_program_reserve_views set aside), everything else in the caller's arena.
 * Blocks of control-flow ops run through kiln_rt_run_block, called back by their kernels. */
#include <string.h>

#include "dims.h"
#include "exec.h"
#include "kernels/kernels.h"
#include "kiln/ops.h"
#include "kiln/params.h"

static void *tensor_data(const struct kiln_exec *e, const struct kiln_tensor_desc *d)
{
    switch (d->storage) {
    case KILN_STORAGE_ARENA: return e->arena + d->offset;
    case KILN_STORAGE_WEIGHT: return (void *)(e->p->weights + d->offset);
    case KILN_STORAGE_INPUT: return (void *)e->inputs[d->index];
    case KILN_STORAGE_OUTPUT: return e->outputs[d->index];
    default: return NULL;
    }
}

/* d's extents in the run that uses arena: its dims, or for a run-time-shaped tensor the
 * slot's, kept within the bounds its buffer was sized for (a slot not yet written by its
 * producer holds whatever the arena held). */
static void extents(const struct kiln_tensor_desc *d, const uint8_t *arena, int64_t *dims)
{
    const int64_t *s = (const int64_t *)(arena + (uint64_t)d->dims_slot * 8);
    int runtime = (d->flags & KILN_TENSOR_RUNTIME_DIMS) && arena;
    for (int i = 0; i < d->rank; i++)
        dims[i] = !runtime ? d->dims[i] : s[i] < 0 ? 0 : s[i] < d->dims[i] ? s[i] : d->dims[i];
}

void kiln_rt_view(const struct kiln_exec *e, uint32_t t, struct kiln_tensor *v)
{
    const struct kiln_tensor_desc *d = &e->p->tensors[t];
    v->data = tensor_data(e, d);
    v->rank = d->rank;
    v->dtype = d->dtype;
    v->scale = d->scale;
    v->zero_point = d->zero_point;
    for (int i = d->rank; i < KILN_MAX_RANK; i++)
        v->dims[i] = 1;
    extents(d, e->arena, v->dims);
}

/* Before a node runs: the bounds of its run-time-shaped outputs, then their extents by the
 * op's rule. After: the extents into their slots. Returns 1 when they do not fit. */
static int runtime_dims(const struct kiln_exec *e, const struct kiln_node_desc *n,
                        struct kiln_tensor *views, int after)
{
    const struct kiln_program *p = e->p;
    int any = 0;
    for (uint32_t j = 0; j < n->n_out; j++) {
        const struct kiln_tensor_desc *d = &p->tensors[p->io[n->io_first + n->n_in + j]];
        struct kiln_tensor *v = &views[n->n_in + j];
        if (!(d->flags & KILN_TENSOR_RUNTIME_DIMS))
            continue;
        int64_t *s = (int64_t *)(e->arena + (uint64_t)d->dims_slot * 8);
        for (int i = 0; i < d->rank; i++) {
            if (!after)
                v->dims[i] = d->dims[i];
            else if (v->dims[i] < 0 || v->dims[i] > d->dims[i])
                return 1; /* a kernel set extents past the buffer */
            else
                s[i] = v->dims[i];
        }
        any = 1;
    }
    return any && !after &&
           kiln_rt_out_dims(p, n, views, views + n->n_in);
}

static void run_nodes(const struct kiln_exec *e, uint32_t first, uint32_t count)
{
    const struct kiln_program *p = e->p;
    struct kiln_tensor stack[KILN_RT_STACK_VIEWS], *views = stack;
    if (p->views_offset)
        views = (struct kiln_tensor *)(e->arena + p->views_offset) +
                (uint64_t)e->depth * p->views_per_level;
    for (uint32_t ni = first; ni < first + count && !*e->status; ni++) {
        const struct kiln_node_desc *n = &p->nodes[ni];
        const struct kiln_kernel *k = kiln_rt_kernel(n->op, n->variant);
        uint32_t nio = (uint32_t)n->n_in + n->n_out;
        if (nio > (p->views_offset ? p->views_per_level : KILN_RT_STACK_VIEWS) ||
            (p->views_offset && e->depth >= p->view_levels)) {
            *e->status = KILN_STATUS_INTERNAL; /* kiln_program_reserve_views was not called */
            return;
        }
        for (uint32_t j = 0; j < nio; j++)
            kiln_rt_view(e, p->io[n->io_first + j], &views[j]);
        struct kiln_kernel_args args = {
            .params = p->params + n->params_offset,
            .in = views,
            .out = views + n->n_in,
            .n_in = n->n_in,
            .n_out = n->n_out,
            .scratch = n->scratch_size ? e->arena + n->scratch_offset : NULL,
            .scratch_size = n->scratch_size,
            .exec = e,
        };
        if (e->hook)
            e->hook(e->user, ni, 0);
        if (runtime_dims(e, n, views, 0)) {
            *e->status = KILN_STATUS_INVALID_ARG;
            return;
        }
        k->fn(&args);
        if (*e->status)
            return; /* the kernel failed the run (a refused If branch, an out-of-range TopK k):
                     * no after-hook, so a hook's last open node is the one that failed */
        if (runtime_dims(e, n, views, 1)) {
            *e->status = KILN_STATUS_INTERNAL;
            return;
        }
        if (e->hook)
            e->hook(e->user, ni, 1);
    }
}

void kiln_rt_run_block(const struct kiln_exec *e, uint32_t b)
{
    const struct kiln_block_desc *bd = &e->p->blocks[b];
    struct kiln_exec inner = *e;
    inner.depth++;
    run_nodes(&inner, bd->first_node, bd->n_nodes);
}

enum kiln_status kiln_run_opts(const struct kiln_program *p, void *arena,
                               const void *const inputs[], void *const outputs[],
                               const struct kiln_run_opts *opts)
{
    static const struct kiln_run_opts none = {0};
    if (!opts)
        opts = &none;
    if (!p || (!arena && p->arena_size) || (!inputs && p->n_inputs) ||
        (!outputs && p->n_outputs))
        return KILN_STATUS_INVALID_ARG;
    /* the compiler and the loader guarantee these; checked again as they are cheap */
    for (uint32_t ni = 0; ni < p->n_nodes + p->n_block_nodes; ni++)
        if (!kiln_rt_kernel(p->nodes[ni].op, p->nodes[ni].variant))
            return KILN_STATUS_INTERNAL;
    enum kiln_status status = KILN_STATUS_OK;
    struct kiln_exec e = {p,          arena,      inputs, outputs, opts->hook,
                          opts->user, &status, 0,      opts->threads};
    run_nodes(&e, 0, p->n_nodes);
    return status;
}

const char *kiln_node_refusal(const struct kiln_program *p, uint32_t node_index)
{
    if (!p || node_index >= p->n_nodes + p->n_block_nodes)
        return NULL;
    const struct kiln_node_desc *n = &p->nodes[node_index];
    if (n->op != KILN_OP_IF || n->params_size < sizeof(struct kiln_p_if))
        return NULL;
    const struct kiln_p_if *q = (const void *)(p->params + n->params_offset);
    int32_t b = q->then_block < 0 ? q->then_block : q->else_block;
    if (b >= 0 || (uint64_t)(-1 - (int64_t)b) >= p->strings_size)
        return NULL;
    return p->strings + (-1 - (int64_t)b);
}

enum kiln_status kiln_run_hooked(const struct kiln_program *p, void *arena,
                                 const void *const inputs[], void *const outputs[],
                                 kiln_node_hook hook, void *user)
{
    struct kiln_run_opts o = {NULL, hook, user};
    return kiln_run_opts(p, arena, inputs, outputs, &o);
}

int kiln_output_dims(const struct kiln_program *p, const void *arena, uint32_t i,
                     int64_t dims[KILN_MAX_RANK])
{
    if (!p || i >= p->n_outputs)
        return -1;
    const struct kiln_tensor_desc *d = &p->tensors[p->outputs[i]];
    extents(d, arena, dims);
    return d->rank;
}

enum kiln_status kiln_run(const struct kiln_program *p, void *arena, const void *const inputs[],
                          void *const outputs[])
{
    return kiln_run_hooked(p, arena, inputs, outputs, NULL, NULL);
}
