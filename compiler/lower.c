/* lower.c - turns an inferred graph into the runtime program: the schedule of kernel calls,
 * the tensor table, parameter and weight blobs, and the arena plan.
 *
 * Arena plan: every arena tensor lives from the step that writes it to the last step that
 * reads it; scratch lives for its own step. Buffers are placed greedily, largest first, at
 * the lowest 64-aligned offset that does not collide with a placed buffer whose lifetime
 * overlaps. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler.h"
#include "ops/ops.h"

#define ALIGN_UP(x, a) (((x) + (a)-1) / (a) * (a))

struct buf {
    uint64_t size, offset;
    uint32_t first, last; /* schedule steps */
    uint32_t tensor;      /* UINT32_MAX for scratch */
    uint32_t node;        /* program node of scratch */
};

struct builder {
    struct kiln_diag *d;
    const struct kiln_ir_graph *g;
    struct kiln_tensor_desc *tensors;
    uint32_t n_tensors, cap_tensors;
    uint32_t *tensor_of; /* value id -> tensor index + 1 (0 = none yet) */
    struct kiln_node_desc *nodes;
    uint32_t n_nodes;
    uint32_t *io;
    uint32_t n_io, cap_io;
    uint8_t *params;
    uint64_t n_params, cap_params;
    uint8_t *weights;
    uint64_t n_weights, cap_weights;
    char *strings;
    uint64_t n_strings, cap_strings;
};

static bool grow(void **p, uint64_t *cap, uint64_t need, size_t elem)
{
    if (need <= *cap)
        return true;
    uint64_t c = *cap ? *cap : 64;
    while (c < need)
        c *= 2;
    void *np = realloc(*p, c * elem);
    if (!np)
        return false;
    *p = np;
    *cap = c;
    return true;
}

static uint32_t add_string(struct builder *b, const char *s)
{
    uint64_t len = strlen(s) + 1;
    if (!grow((void **)&b->strings, &b->cap_strings, b->n_strings + len, 1))
        return UINT32_MAX;
    memcpy(b->strings + b->n_strings, s, len);
    uint32_t off = (uint32_t)b->n_strings;
    b->n_strings += len;
    return off;
}

static uint32_t new_tensor(struct builder *b, const struct kiln_ir_value *v, int storage)
{
    uint64_t cap = b->cap_tensors;
    if (!grow((void **)&b->tensors, &cap, b->n_tensors + 1, sizeof *b->tensors))
        return UINT32_MAX;
    b->cap_tensors = (uint32_t)cap;
    struct kiln_tensor_desc *t = &b->tensors[b->n_tensors];
    memset(t, 0, sizeof *t);
    t->storage = (uint8_t)storage;
    if (v) {
        t->dtype = (uint8_t)v->dtype;
        t->rank = (uint8_t)v->rank;
        for (int i = 0; i < v->rank; i++)
            t->dims[i] = v->dims[i];
        t->nbytes = kiln_ir_value_nbytes(v);
        t->scale = v->scale;
        t->zero_point = v->zero_point;
        t->name = add_string(b, v->name);
        if (t->name == UINT32_MAX)
            return UINT32_MAX;
    }
    return b->n_tensors++;
}

static enum kiln_status oom(struct builder *b)
{
    return kiln_diag_set(b->d, KILN_STATUS_NO_MEMORY, NULL, NULL, "out of memory while lowering");
}

/* Tensor index for value v, creating it (with weights copied) on first use. */
static enum kiln_status tensor_for(struct builder *b, const struct kiln_ir_value *v,
                                   uint32_t *out)
{
    if (v->id != UINT32_MAX && b->tensor_of[v->id]) {
        *out = b->tensor_of[v->id] - 1;
        return KILN_STATUS_OK;
    }
    int storage = KILN_STORAGE_ARENA;
    if (v->is_input)
        storage = KILN_STORAGE_INPUT;
    else if (v->data)
        storage = KILN_STORAGE_WEIGHT;
    uint32_t t = new_tensor(b, v, storage);
    if (t == UINT32_MAX)
        return oom(b);
    struct kiln_tensor_desc *td = &b->tensors[t];
    if (storage == KILN_STORAGE_INPUT) {
        for (uint32_t i = 0; i < b->g->n_inputs; i++)
            if (b->g->inputs[i] == v)
                td->index = i;
    } else if (storage == KILN_STORAGE_WEIGHT) {
        uint64_t off = ALIGN_UP(b->n_weights, KILN_ARENA_ALIGN);
        if (!grow((void **)&b->weights, &b->cap_weights, off + td->nbytes + KILN_ARENA_ALIGN, 1))
            return oom(b);
        memset(b->weights + b->n_weights, 0, off - b->n_weights);
        memcpy(b->weights + off, v->data, td->nbytes);
        td->offset = off;
        b->n_weights = off + td->nbytes;
    }
    if (v->id != UINT32_MAX)
        b->tensor_of[v->id] = t + 1;
    *out = t;
    return KILN_STATUS_OK;
}

static enum kiln_status add_node(struct builder *b, const struct kiln_ir_node *n, int op,
                                 int variant, const uint32_t *ins, uint32_t n_in,
                                 const uint32_t *outs, uint32_t n_out, const void *params,
                                 uint32_t params_size, uint64_t scratch)
{
    b->nodes[b->n_nodes] = (struct kiln_node_desc){0};
    struct kiln_node_desc *nd = &b->nodes[b->n_nodes];
    nd->op = (uint16_t)op;
    nd->variant = (uint16_t)variant;
    nd->n_in = (uint16_t)n_in;
    nd->n_out = (uint16_t)n_out;
    uint64_t cap = b->cap_io;
    if (!grow((void **)&b->io, &cap, b->n_io + n_in + n_out, sizeof *b->io))
        return oom(b);
    b->cap_io = (uint32_t)cap;
    nd->io_first = b->n_io;
    for (uint32_t i = 0; i < n_in; i++)
        b->io[b->n_io++] = ins[i];
    for (uint32_t i = 0; i < n_out; i++)
        b->io[b->n_io++] = outs[i];
    nd->name = add_string(b, n ? n->name : "");
    if (nd->name == UINT32_MAX)
        return oom(b);
    uint64_t off = ALIGN_UP(b->n_params, 16);
    if (!grow((void **)&b->params, &b->cap_params, off + params_size + 16, 1))
        return oom(b);
    memset(b->params + b->n_params, 0, off - b->n_params + params_size);
    if (params_size)
        memcpy(b->params + off, params, params_size);
    nd->params_offset = (uint32_t)off;
    nd->params_size = params_size;
    b->n_params = off + params_size;
    nd->scratch_size = scratch;
    b->n_nodes++;
    return KILN_STATUS_OK;
}

static int cmp_buf_size(const void *a, const void *b)
{
    const struct buf *x = a, *y = b;
    if (x->size != y->size)
        return x->size < y->size ? 1 : -1;
    return x->first < y->first ? -1 : x->first > y->first;
}

/* Places buffers; returns the arena size, fills lower bound and naive sum. */
static uint64_t plan(struct buf *bufs, uint32_t nb, uint32_t steps, uint64_t *lower,
                     uint64_t *naive)
{
    *naive = 0;
    uint64_t *live = calloc(steps + 1, sizeof *live);
    for (uint32_t i = 0; i < nb; i++) {
        bufs[i].size = ALIGN_UP(bufs[i].size, KILN_ARENA_ALIGN);
        *naive += bufs[i].size;
        if (live)
            for (uint32_t s = bufs[i].first; s <= bufs[i].last && s < steps + 1; s++)
                live[s] += bufs[i].size;
    }
    *lower = 0;
    for (uint32_t s = 0; live && s <= steps; s++)
        if (live[s] > *lower)
            *lower = live[s];
    free(live);
    qsort(bufs, nb, sizeof *bufs, cmp_buf_size);
    uint64_t arena = 0;
    struct buf **placed = malloc((nb ? nb : 1) * sizeof *placed);
    uint32_t np = 0;
    for (uint32_t i = 0; i < nb; i++) {
        struct buf *b = &bufs[i];
        /* candidate offsets: 0 and the end of every overlapping placed buffer */
        uint64_t best = UINT64_MAX;
        for (uint32_t c = 0; c <= np; c++) {
            uint64_t off = c == np ? 0 : placed[c]->offset + placed[c]->size;
            if (c < np && (placed[c]->last < b->first || placed[c]->first > b->last))
                continue;
            bool ok = true;
            for (uint32_t k = 0; k < np && ok; k++) {
                const struct buf *p = placed[k];
                if (p->last < b->first || p->first > b->last)
                    continue;
                if (off < p->offset + p->size && p->offset < off + b->size)
                    ok = false;
            }
            if (ok && off < best)
                best = off;
        }
        b->offset = best;
        placed[np++] = b;
        if (best + b->size > arena)
            arena = best + b->size;
    }
    free(placed);
    return arena;
}

void kiln_compiled_free(struct kiln_compiled *c)
{
    if (!c)
        return;
    free(c->tensors), free(c->nodes), free(c->io), free(c->inputs), free(c->outputs);
    free(c->params), free(c->weights), free(c->strings);
    free(c);
}

enum kiln_status kiln_lower(const struct kiln_ir_graph *g, struct kiln_compiled **out,
                            struct kiln_diag *d)
{
    *out = NULL;
    struct builder b = {.d = d, .g = g};
    enum kiln_status st = KILN_STATUS_OK;
    struct kiln_compiled *c = calloc(1, sizeof *c);
    uint8_t *needed = calloc(g->n_values + 1, 1);
    bool *run = calloc(g->n_nodes + 1, sizeof *run);
    b.tensor_of = calloc(g->n_values + 1, sizeof *b.tensor_of);
    b.nodes = calloc(g->n_nodes + g->n_outputs + 1, sizeof *b.nodes);
    uint32_t *ins = NULL, *outs = NULL;
    struct buf *bufs = NULL;
    uint32_t *last_use = NULL, *first_def = NULL;
    if (!c || !needed || !run || !b.tensor_of || !b.nodes) {
        st = oom(&b);
        goto fail;
    }
    /* which nodes must run: those producing (transitively) a needed non-constant value */
    for (uint32_t i = 0; i < g->n_outputs; i++)
        needed[g->outputs[i]->id] = 1;
    for (uint32_t i = g->n_nodes; i-- > 0;) {
        const struct kiln_ir_node *n = g->nodes[i];
        if (n->dead)
            continue;
        for (uint32_t o = 0; o < n->n_out; o++) {
            const struct kiln_ir_value *v = n->out[o];
            if (v && needed[v->id] && !v->data)
                run[i] = true;
        }
        if (!run[i])
            continue;
        const struct kiln_op_info *info = kiln_op_info(n->op);
        for (uint32_t j = 0; j < n->n_in; j++)
            if (n->in[j] && !((info->compile_time_inputs >> j) & 1))
                needed[n->in[j]->id] = 1;
    }
    /* tensor 0: the omitted-input placeholder */
    if (new_tensor(&b, NULL, KILN_STORAGE_NONE) == UINT32_MAX) {
        st = oom(&b);
        goto fail;
    }
    ins = malloc(256 * sizeof *ins);
    outs = malloc(256 * sizeof *outs);
    if (!ins || !outs) {
        st = oom(&b);
        goto fail;
    }
    for (uint32_t i = 0; i < g->n_nodes; i++) {
        const struct kiln_ir_node *n = g->nodes[i];
        if (!run[i])
            continue;
        if (n->n_in > 256 || n->n_out > 256 || n->n_in + n->n_out > 64) {
            st = kiln_diag_set(d, KILN_STATUS_UNSUPPORTED, n->name, n->op_type,
                               "has %u inputs and %u outputs; kiln supports 64 in all", n->n_in,
                               n->n_out);
            goto fail;
        }
        if (n->op == KILN_OP_IF || n->op == KILN_OP_LOOP || n->op == KILN_OP_SCAN) {
            st = kiln_diag_set(d, KILN_STATUS_UNSUPPORTED, n->name, n->op_type,
                               "lowering of control flow with a run-time decision is not "
                               "implemented yet (only If with a constant condition and "
                               "constant results compiles)");
            goto fail;
        }
        int variant = kiln_pick_variant(n);
        if (variant < 0) {
            st = kiln_diag_set(d, KILN_STATUS_UNSUPPORTED, n->name, n->op_type,
                               "kiln has no %s kernel for element type %s", n->op_type,
                               kiln_dtype_name(n->kdtype));
            goto fail;
        }
        const struct kiln_op_info *info = kiln_op_info(n->op);
        for (uint32_t j = 0; j < n->n_in; j++) {
            ins[j] = 0;
            if (n->in[j] && !((info->compile_time_inputs >> j) & 1) &&
                (st = tensor_for(&b, n->in[j], &ins[j])))
                goto fail;
        }
        for (uint32_t j = 0; j < n->n_out; j++) {
            outs[j] = 0;
            if (!n->out[j])
                continue;
            if ((st = tensor_for(&b, n->out[j], &outs[j])))
                goto fail;
        }
        if ((st = add_node(&b, n, n->op, variant, ins, n->n_in, outs, n->n_out, n->params,
                           n->params_size, n->scratch_size)))
            goto fail;
    }
    /* graph outputs: produced in place, or copied when constant, an input, or listed twice */
    c->outputs = calloc(g->n_outputs + 1, sizeof(uint32_t));
    c->inputs = calloc(g->n_inputs + 1, sizeof(uint32_t));
    if (!c->outputs || !c->inputs) {
        st = oom(&b);
        goto fail;
    }
    for (uint32_t k = 0; k < g->n_outputs; k++) {
        const struct kiln_ir_value *v = g->outputs[k];
        uint32_t t;
        if ((st = tensor_for(&b, v, &t)))
            goto fail;
        if (b.tensors[t].storage == KILN_STORAGE_ARENA) {
            b.tensors[t].storage = KILN_STORAGE_OUTPUT;
            b.tensors[t].index = k;
            ((uint32_t *)c->outputs)[k] = t;
            continue;
        }
        uint32_t ot = new_tensor(&b, v, KILN_STORAGE_OUTPUT);
        if (ot == UINT32_MAX) {
            st = oom(&b);
            goto fail;
        }
        b.tensors[ot].index = k;
        ((uint32_t *)c->outputs)[k] = ot;
        int variant = -1;
        for (uint32_t vi = 0; vi < kiln_rt_kernel_count(KILN_OP_IDENTITY); vi++)
            if (kiln_rt_kernel(KILN_OP_IDENTITY, vi)->dtype == KILN_DTYPE_UNDEFINED)
                variant = (int)vi;
        if (variant < 0) {
            st = kiln_diag_set(d, KILN_STATUS_INTERNAL, NULL, NULL, "no Identity kernel");
            goto fail;
        }
        if ((st = add_node(&b, NULL, KILN_OP_IDENTITY, variant, &t, 1, &ot, 1, NULL, 0, 0)))
            goto fail;
        b.nodes[b.n_nodes - 1].name = add_string(&b, v->name);
    }
    for (uint32_t k = 0; k < g->n_inputs; k++) {
        uint32_t t;
        if ((st = tensor_for(&b, g->inputs[k], &t)))
            goto fail;
        ((uint32_t *)c->inputs)[k] = t;
    }
    /* lifetimes of arena tensors */
    first_def = malloc((b.n_tensors + 1) * sizeof *first_def);
    last_use = calloc(b.n_tensors + 1, sizeof *last_use);
    bufs = calloc(b.n_tensors + b.n_nodes + 1, sizeof *bufs);
    if (!first_def || !last_use || !bufs) {
        st = oom(&b);
        goto fail;
    }
    for (uint32_t t = 0; t < b.n_tensors; t++)
        first_def[t] = UINT32_MAX;
    for (uint32_t s = 0; s < b.n_nodes; s++) {
        const struct kiln_node_desc *nd = &b.nodes[s];
        for (uint32_t j = 0; j < (uint32_t)nd->n_in + nd->n_out; j++) {
            uint32_t t = b.io[nd->io_first + j];
            if (first_def[t] == UINT32_MAX)
                first_def[t] = s;
            last_use[t] = s;
        }
    }
    uint32_t nb = 0;
    for (uint32_t t = 0; t < b.n_tensors; t++) {
        if (b.tensors[t].storage != KILN_STORAGE_ARENA || first_def[t] == UINT32_MAX)
            continue;
        bufs[nb++] = (struct buf){.size = b.tensors[t].nbytes ? b.tensors[t].nbytes : 1,
                                  .first = first_def[t],
                                  .last = last_use[t],
                                  .tensor = t};
    }
    for (uint32_t s = 0; s < b.n_nodes; s++)
        if (b.nodes[s].scratch_size)
            bufs[nb++] = (struct buf){.size = b.nodes[s].scratch_size,
                                      .first = s,
                                      .last = s,
                                      .tensor = UINT32_MAX,
                                      .node = s};
    uint64_t arena = plan(bufs, nb, b.n_nodes, &c->plan_lower_bound, &c->plan_naive);
    for (uint32_t i = 0; i < nb; i++) {
        if (bufs[i].tensor != UINT32_MAX)
            b.tensors[bufs[i].tensor].offset = bufs[i].offset;
        else
            b.nodes[bufs[i].node].scratch_offset = bufs[i].offset;
    }
    c->tensors = b.tensors;
    c->nodes = b.nodes;
    c->io = b.io;
    c->params = b.params;
    c->weights = b.weights;
    c->strings = b.strings;
    struct kiln_program *p = &c->prog;
    p->n_tensors = b.n_tensors;
    p->n_nodes = b.n_nodes;
    p->n_inputs = g->n_inputs;
    p->n_outputs = g->n_outputs;
    p->tensors = b.tensors;
    p->nodes = b.nodes;
    p->io = b.io;
    p->inputs = c->inputs;
    p->outputs = c->outputs;
    p->params = b.params;
    p->params_size = b.n_params;
    p->weights = b.weights;
    p->weights_size = b.n_weights;
    p->strings = b.strings;
    p->strings_size = b.n_strings;
    p->arena_size = arena;
    free(needed), free(run), free(b.tensor_of), free(ins), free(outs), free(bufs);
    free(first_def), free(last_use);
    *out = c;
    return KILN_STATUS_OK;
fail:
    free(needed), free(run), free(b.tensor_of), free(ins), free(outs), free(bufs);
    free(first_def), free(last_use);
    free(b.tensors), free(b.nodes), free(b.io), free(b.params), free(b.weights), free(b.strings);
    if (c) {
        free(c->inputs), free(c->outputs);
        free(c);
    }
    return st;
}
