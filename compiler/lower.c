/* lower.c - turns an inferred graph into the runtime program: the schedule of kernel calls,
 * the tensor table, parameter and weight blobs, and control-flow blocks. The arena plan is
 * plan.c's: lowering hands it the tables, then drops the nodes and tensors it made views. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler.h"
#include "kiln/bundle.h"
#include "ops/ops.h"
#include "../runtime/kernels/gemm_core.h"

#define ALIGN_UP(x, a) (((x) + (a)-1) / (a) * (a))

struct builder {
    struct kiln_diag *d;
    const struct kiln_ir_graph *g;
    struct kiln_tensor_desc *tensors;
    uint32_t n_tensors, cap_tensors;
    uint32_t *tensor_of; /* value id -> tensor index + 1 (0 = none yet) */
    struct kiln_node_desc *nodes; /* the list being built: the main schedule or a block */
    uint32_t n_nodes, cap_nodes;
    uint32_t *io;
    uint32_t n_io, cap_io;
    /* control flow: finished blocks (nodes and io kept apart from the main schedule), the
     * block each arena tensor belongs to (-1: the main schedule) and the block being built */
    struct kiln_node_desc *bnodes;
    uint32_t n_bnodes, cap_bnodes;
    uint32_t *bio;
    uint32_t n_bio, cap_bio;
    struct kiln_block_desc *blocks;
    uint32_t n_blocks, cap_blocks;
    int32_t *tensor_block;
    uint32_t cap_tensor_block;
    int32_t cur_block;
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
    uint64_t tcap = b->cap_tensor_block;
    if (!grow((void **)&b->tensor_block, &tcap, b->n_tensors + 1, sizeof *b->tensor_block))
        return UINT32_MAX;
    b->cap_tensor_block = (uint32_t)tcap;
    b->tensor_block[b->n_tensors] = b->cur_block;
    struct kiln_tensor_desc *t = &b->tensors[b->n_tensors];
    memset(t, 0, sizeof *t);
    t->storage = (uint8_t)storage;
    if (v) {
        t->dtype = (uint8_t)v->dtype;
        t->rank = (uint8_t)v->rank;
        t->flags = v->runtime_dims ? KILN_TENSOR_RUNTIME_DIMS : 0;
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
    if (v->is_input && v->owner == b->g)
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

/* A weight tensor holding node n's input 1 packed for its GEMM (kiln_gemm_packed_weight, which
 * gave its rank and dims): a tensor of its own, as other consumers of the value read it
 * unpacked. */
/* The weight of n (input 1) as `fill` lays it out at compile time: packed panels, or sparse. */
static enum kiln_status packed_weight(struct builder *b, const struct kiln_ir_node *n, int rank,
                                      const int64_t *dims,
                                      bool (*fill)(const struct kiln_ir_node *, int *, int64_t *,
                                                   void *),
                                      uint32_t *out)
{
    uint32_t t = new_tensor(b, n->in[1], KILN_STORAGE_WEIGHT);
    if (t == UINT32_MAX)
        return oom(b);
    struct kiln_tensor_desc *td = &b->tensors[t];
    td->rank = (uint8_t)rank;
    td->nbytes = kiln_dtype_size(td->dtype);
    for (int i = 0; i < KILN_MAX_RANK; i++) {
        td->dims[i] = i < rank ? dims[i] : 0;
        td->nbytes *= (uint64_t)(i < rank ? dims[i] : 1);
    }
    uint64_t off = ALIGN_UP(b->n_weights, KILN_ARENA_ALIGN);
    if (!grow((void **)&b->weights, &b->cap_weights, off + td->nbytes + KILN_ARENA_ALIGN, 1))
        return oom(b);
    memset(b->weights + b->n_weights, 0, off - b->n_weights);
    int r;
    int64_t d[KILN_MAX_RANK];
    fill(n, &r, d, b->weights + off);
    td->offset = off;
    b->n_weights = off + td->nbytes;
    *out = t;
    return KILN_STATUS_OK;
}

static enum kiln_status add_node(struct builder *b, const struct kiln_ir_node *n, int op,
                                 int variant, const uint32_t *ins, uint32_t n_in,
                                 const uint32_t *outs, uint32_t n_out, const void *params,
                                 uint32_t params_size, uint64_t scratch)
{
    uint64_t ncap = b->cap_nodes;
    if (!grow((void **)&b->nodes, &ncap, b->n_nodes + 1, sizeof *b->nodes))
        return oom(b);
    b->cap_nodes = (uint32_t)ncap;
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

/* ---- the arena plan (plan.c) ---- */

static struct kiln_plan_tables plan_tables(const struct builder *b)
{
    return (struct kiln_plan_tables){b->tensors, b->n_tensors, b->tensor_block, b->nodes,
                                     b->n_nodes, b->io, b->params, b->bnodes, b->blocks};
}

/* Drops the nodes marked in drop[] and the tensors nothing refers to any more, renumbering
 * io[], inputs[], outputs[]; newidx[t] receives t's new index (UINT32_MAX: dropped). */
static void compact(struct builder *b, struct kiln_compiled *c, const bool *drop,
                    uint32_t *newidx)
{
    uint32_t m = 0, w = 0;
    for (uint32_t s = 0; s < b->n_nodes; s++) {
        if (drop[s])
            continue;
        struct kiln_node_desc nd = b->nodes[s];
        uint32_t cnt = (uint32_t)nd.n_in + nd.n_out;
        memmove(b->io + w, b->io + nd.io_first, cnt * sizeof *b->io);
        nd.io_first = w;
        w += cnt;
        b->nodes[m++] = nd;
    }
    b->n_nodes = m;
    b->n_io = w;
    uint32_t *ins = c->inputs, *outs = c->outputs;
    for (uint32_t t = 0; t < b->n_tensors; t++)
        newidx[t] = t == 0 ? 0 : UINT32_MAX;
    for (uint32_t i = 0; i < b->n_io; i++)
        newidx[b->io[i]] = 0;
    for (uint32_t i = 0; i < b->n_bio; i++)
        newidx[b->bio[i]] = 0;
    for (uint32_t k = 0; k < b->g->n_inputs; k++)
        newidx[ins[k]] = 0;
    for (uint32_t k = 0; k < b->g->n_outputs; k++)
        newidx[outs[k]] = 0;
    uint32_t n = 0;
    for (uint32_t t = 0; t < b->n_tensors; t++) {
        if (newidx[t] == UINT32_MAX)
            continue;
        newidx[t] = n;
        b->tensor_block[n] = b->tensor_block[t];
        b->tensors[n++] = b->tensors[t];
    }
    b->n_tensors = n;
    for (uint32_t i = 0; i < b->n_io; i++)
        b->io[i] = newidx[b->io[i]];
    for (uint32_t i = 0; i < b->n_bio; i++)
        b->bio[i] = newidx[b->bio[i]];
    for (uint32_t k = 0; k < b->g->n_inputs; k++)
        ins[k] = newidx[ins[k]];
    for (uint32_t k = 0; k < b->g->n_outputs; k++)
        outs[k] = newidx[outs[k]];
}

/* Plans the main schedule, then drops what the plan made views; the plan's entries follow the
 * tensors' new indices. Returns the arena size through *arena. */
static enum kiln_status plan_program(struct builder *b, struct kiln_compiled *c,
                                     const struct kiln_lower_options *opt, uint64_t *arena)
{
    struct kiln_plan_tables t = plan_tables(b);
    bool *drop = calloc(b->n_nodes + 1, sizeof *drop);
    uint32_t *newidx = malloc((b->n_tensors + 1) * sizeof *newidx);
    enum kiln_status st = drop && newidx ? KILN_STATUS_OK : oom(b);
    if (!st)
        st = kiln_plan_schedule(&t, opt, drop, &c->plan, arena, b->d);
    if (!st) {
        compact(b, c, drop, newidx);
        for (uint32_t i = 0; i < c->plan.n; i++)
            if (c->plan.entries[i].tensor != UINT32_MAX)
                c->plan.entries[i].tensor = newidx[c->plan.entries[i].tensor];
    }
    free(drop), free(newidx);
    return st;
}

/* ---- lowering nodes ---- */

static bool is_control(int op)
{
    return op == KILN_OP_IF || op == KILN_OP_LOOP || op == KILN_OP_SCAN;
}

static enum kiln_status lower_nodes(struct builder *b, const struct kiln_ir_graph *g,
                                   uint8_t *needed);

static int identity_variant(void)
{
    for (uint32_t vi = 0; vi < kiln_rt_kernel_count(KILN_OP_IDENTITY); vi++)
        if (kiln_rt_kernel(KILN_OP_IDENTITY, vi)->dtype == KILN_DTYPE_UNDEFINED)
            return (int)vi;
    return -1;
}

/* Lowers subgraph `body` into a new block; returns its number and region size. */
static enum kiln_status build_block(struct builder *b, const struct kiln_ir_graph *body,
                                    uint8_t *needed, int32_t *k_out, uint64_t *size)
{
    enum kiln_status st;
    uint64_t cap = b->cap_blocks;
    if (!grow((void **)&b->blocks, &cap, b->n_blocks + 1, sizeof *b->blocks))
        return oom(b);
    b->cap_blocks = (uint32_t)cap;
    int32_t k = (int32_t)b->n_blocks++;
    /* build into a fresh list, then restore the enclosing one */
    struct kiln_node_desc *sn = b->nodes;
    uint32_t snn = b->n_nodes, scn = b->cap_nodes, *sio = b->io, sni = b->n_io, sci = b->cap_io;
    int32_t sblock = b->cur_block;
    b->nodes = NULL, b->n_nodes = b->cap_nodes = 0;
    b->io = NULL, b->n_io = b->cap_io = 0;
    b->cur_block = k;
    uint32_t nf = body->n_inputs + body->n_outputs;
    uint32_t *formal = calloc(nf + 1, sizeof *formal);
    st = formal ? KILN_STATUS_OK : oom(b);
    if (!st && (body->n_inputs > UINT16_MAX || body->n_outputs > UINT16_MAX))
        st = kiln_diag_set(b->d, KILN_STATUS_UNSUPPORTED, NULL, NULL,
                           "a subgraph has %u inputs and %u outputs; a compiled block holds at "
                           "most %u of each (docs/limits.md)",
                           body->n_inputs, body->n_outputs, UINT16_MAX);
    for (uint32_t i = 0; !st && i < body->n_inputs; i++)
        st = tensor_for(b, body->inputs[i], &formal[i]);
    if (!st)
        st = lower_nodes(b, body, needed);
    for (uint32_t i = 0; !st && i < body->n_outputs; i++)
        st = tensor_for(b, body->outputs[i], &formal[body->n_inputs + i]);
    if (!st) {
        struct kiln_plan_tables t = plan_tables(b);
        st = kiln_plan_block(&t, k, formal, nf, size, b->d);
    }
    /* append the block's nodes and io to the finished blocks */
    uint64_t bcap = b->cap_bnodes, icap = b->cap_bio;
    if (!st && (!grow((void **)&b->bnodes, &bcap, b->n_bnodes + b->n_nodes, sizeof *b->bnodes) ||
                !grow((void **)&b->bio, &icap, b->n_bio + nf + b->n_io, sizeof *b->bio)))
        st = oom(b);
    if (!st) {
        b->cap_bnodes = (uint32_t)bcap;
        b->cap_bio = (uint32_t)icap;
        struct kiln_block_desc *bd = &b->blocks[k];
        bd->first_node = b->n_bnodes;
        bd->n_nodes = b->n_nodes;
        bd->io_first = b->n_bio;
        bd->n_in = (uint16_t)body->n_inputs;
        bd->n_out = (uint16_t)body->n_outputs;
        memcpy(b->bio + b->n_bio, formal, nf * sizeof *formal);
        b->n_bio += nf;
        for (uint32_t i = 0; i < b->n_nodes; i++) {
            struct kiln_node_desc nd = b->nodes[i];
            nd.io_first += b->n_bio;
            b->bnodes[b->n_bnodes++] = nd;
        }
        if (b->n_io)
            memcpy(b->bio + b->n_bio, b->io, b->n_io * sizeof *b->io);
        b->n_bio += b->n_io;
    }
    free(formal);
    free(b->nodes), free(b->io);
    b->nodes = sn, b->n_nodes = snn, b->cap_nodes = scn;
    b->io = sio, b->n_io = sni, b->cap_io = sci;
    b->cur_block = sblock;
    *k_out = k;
    return st;
}

static const struct kiln_ir_graph *graph_attr(const struct kiln_ir_node *n, const char *name)
{
    const struct kiln_ir_attr *a = kiln_ir_attr(n, name);
    return a ? a->g : NULL;
}

/* If with a constant condition: the taken branch's nodes join the current list and its
 * results are copied into the If's outputs (copies the planner turns into views). */
static enum kiln_status inline_branch(struct builder *b, const struct kiln_ir_node *n,
                                      uint8_t *needed)
{
    const struct kiln_ir_graph *br =
        graph_attr(n, *(const uint8_t *)n->in[0]->data ? "then_branch" : "else_branch");
    enum kiln_status st = lower_nodes(b, br, needed);
    int variant = identity_variant();
    for (uint32_t o = 0; !st && o < n->n_out; o++) {
        if (!n->out[o] || n->out[o]->data)
            continue;
        uint32_t src, dst;
        if ((st = tensor_for(b, br->outputs[o], &src)) || (st = tensor_for(b, n->out[o], &dst)))
            break;
        st = add_node(b, n, KILN_OP_IDENTITY, variant, &src, 1, &dst, 1, NULL, 0, 0);
    }
    return st;
}

/* One If branch: its block, or for a branch inference refused (br->refused) the reference
 * -1 - s, s the message's offset in the strings, by which the If kernel fails the run. */
static enum kiln_status if_branch(struct builder *b, const struct kiln_ir_graph *br,
                                  uint8_t *needed, int32_t *k, uint64_t *size)
{
    if (!br->refused)
        return build_block(b, br, needed, k, size);
    uint32_t s = add_string(b, br->refused);
    if (s >= INT32_MAX)
        return oom(b);
    *k = -1 - (int32_t)s;
    *size = 0;
    return KILN_STATUS_OK;
}

static enum kiln_status lower_control(struct builder *b, const struct kiln_ir_node *n,
                                      uint8_t *needed, uint32_t *ins, uint32_t *outs)
{
    enum kiln_status st;
    if (n->op == KILN_OP_IF && n->in[0]->data)
        return inline_branch(b, n, needed);
    uint8_t params[sizeof(struct kiln_p_scan)];
    memcpy(params, n->params, n->params_size);
    uint64_t region = 0, size = 0;
    int32_t k0 = -1, k1 = -1;
    if (n->op == KILN_OP_IF) {
        if ((st = if_branch(b, graph_attr(n, "then_branch"), needed, &k0, &size)))
            return st;
        region = size;
        if ((st = if_branch(b, graph_attr(n, "else_branch"), needed, &k1, &size)))
            return st;
        region = size > region ? size : region;
        struct kiln_p_if *p = (struct kiln_p_if *)params;
        p->then_block = k0, p->else_block = k1;
    } else {
        if ((st = build_block(b, graph_attr(n, "body"), needed, &k0, &region)))
            return st;
        if (n->op == KILN_OP_LOOP)
            ((struct kiln_p_loop *)params)->body = k0;
        else
            ((struct kiln_p_scan *)params)->body = k0;
    }
    for (uint32_t j = 0; j < n->n_in; j++) {
        ins[j] = 0;
        if (n->in[j] && (st = tensor_for(b, n->in[j], &ins[j])))
            return st;
    }
    for (uint32_t j = 0; j < n->n_out; j++) {
        outs[j] = 0;
        if (n->out[j] && (st = tensor_for(b, n->out[j], &outs[j])))
            return st;
    }
    return add_node(b, n, n->op, kiln_pick_variant(n), ins, n->n_in, outs, n->n_out, params,
                    n->params_size, region);
}

/* Lowers the nodes of g (the main graph or a block's subgraph) that its outputs need. */
static enum kiln_status lower_nodes(struct builder *b, const struct kiln_ir_graph *g,
                                   uint8_t *needed)
{
    enum kiln_status st = KILN_STATUS_OK;
    uint32_t max_in = 0, max_out = 0;
    for (uint32_t i = 0; i < g->n_nodes; i++) {
        max_in = g->nodes[i]->n_in > max_in ? g->nodes[i]->n_in : max_in;
        max_out = g->nodes[i]->n_out > max_out ? g->nodes[i]->n_out : max_out;
    }
    bool *run = calloc(g->n_nodes + 1, sizeof *run);
    uint32_t *ins = calloc((size_t)max_in + max_out + 1, sizeof *ins), *outs = ins + max_in;
    if (!run || !ins) {
        free(run), free(ins);
        return oom(b);
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
        for (uint32_t j = 0; j < n->n_in; j++)
            if (n->in[j] && !kiln_compile_time_input(n, j))
                needed[n->in[j]->id] = 1;
    }
    for (uint32_t i = 0; i < g->n_nodes && !st; i++) {
        const struct kiln_ir_node *n = g->nodes[i];
        if (!run[i])
            continue;
        if (n->n_in > UINT16_MAX || n->n_out > UINT16_MAX) {
            st = kiln_diag_set(b->d, KILN_STATUS_UNSUPPORTED, n->name, n->op_type,
                               "has %u inputs and %u outputs; a compiled node holds at most %u "
                               "of each (docs/limits.md)",
                               n->n_in, n->n_out, UINT16_MAX);
            break;
        }
        if (is_control(n->op)) {
            st = lower_control(b, n, needed, ins, outs);
            continue;
        }
        int variant = kiln_pick_variant(n);
        if (variant < 0) {
            st = kiln_diag_set(b->d, KILN_STATUS_UNSUPPORTED, n->name, n->op_type,
                               "kiln has no %s kernel for element type %s", n->op_type,
                               kiln_dtype_name(n->kdtype));
            break;
        }
        int prank;
        int64_t pdims[KILN_MAX_RANK];
        uint64_t scratch = n->scratch_size;
        bool sparse = kiln_gemm_sparse_weight(n, &prank, pdims, NULL);
        bool packed = sparse || kiln_gemm_packed_weight(n, &prank, pdims, NULL);
        for (uint32_t j = 0; j < n->n_in && !st; j++) {
            ins[j] = 0;
            if (j == 1 && packed)
                st = packed_weight(b, n, prank, pdims,
                                   sparse ? kiln_gemm_sparse_weight : kiln_gemm_packed_weight,
                                   &ins[j]);
            else if (n->in[j] && !kiln_compile_time_input(n, j))
                st = tensor_for(b, n->in[j], &ins[j]);
        }
        if (sparse) {
            uint64_t need = kiln_spgemm_scratch_bytes((uint64_t)n->in[1]->dims[0] *
                                                      (uint64_t)n->in[1]->dims[1] /
                                                      (uint64_t)n->out[0]->dims[1]);
            variant = KILN_GEMM_VARIANT_SPARSE;
            scratch = scratch > need ? scratch : need;
        } else if (packed) {
            variant += KILN_GEMM_VARIANT_PACKED;
        }
        for (uint32_t j = 0; j < n->n_out && !st; j++) {
            outs[j] = 0;
            if (n->out[j])
                st = tensor_for(b, n->out[j], &outs[j]);
        }
        if (!st)
            st = add_node(b, n, n->op, variant, ins, n->n_in, outs, n->n_out, n->params,
                          n->params_size, scratch);
    }
    free(run), free(ins);
    return st;
}

/* Puts the finished blocks after the (compacted) main schedule: node and io indices shift. */
static enum kiln_status append_blocks(struct builder *b)
{
    if (!b->n_blocks)
        return KILN_STATUS_OK;
    uint64_t ncap = b->cap_nodes, icap = b->cap_io;
    if (!grow((void **)&b->nodes, &ncap, b->n_nodes + b->n_bnodes, sizeof *b->nodes) ||
        !grow((void **)&b->io, &icap, b->n_io + b->n_bio, sizeof *b->io))
        return oom(b);
    b->cap_nodes = (uint32_t)ncap;
    b->cap_io = (uint32_t)icap;
    uint32_t node_base = b->n_nodes, io_base = b->n_io;
    for (uint32_t i = 0; i < b->n_bnodes; i++) {
        struct kiln_node_desc nd = b->bnodes[i];
        nd.io_first += io_base;
        b->nodes[b->n_nodes++] = nd;
    }
    if (b->n_bio)
        memcpy(b->io + b->n_io, b->bio, b->n_bio * sizeof *b->io);
    b->n_io += b->n_bio;
    for (uint32_t k = 0; k < b->n_blocks; k++) {
        b->blocks[k].first_node += node_base;
        b->blocks[k].io_first += io_base;
    }
    return KILN_STATUS_OK;
}

void kiln_compiled_free(struct kiln_compiled *c)
{
    if (!c)
        return;
    free(c->tensors), free(c->nodes), free(c->io), free(c->inputs), free(c->outputs);
    free(c->params), free(c->weights), free(c->strings), free(c->blocks);
    kiln_plan_free(&c->plan);
    free(c);
}

enum kiln_status kiln_lower(const struct kiln_ir_graph *g, struct kiln_compiled **out,
                            struct kiln_diag *d)
{
    return kiln_lower_opts(g, NULL, out, d);
}

enum kiln_status kiln_lower_opts(const struct kiln_ir_graph *g,
                                 const struct kiln_lower_options *opt,
                                 struct kiln_compiled **out, struct kiln_diag *d)
{
    static const struct kiln_lower_options defaults = {0};
    if (!opt)
        opt = &defaults;
    *out = NULL;
    struct builder b = {.d = d, .g = g};
    enum kiln_status st = KILN_STATUS_OK;
    struct kiln_compiled *c = calloc(1, sizeof *c);
    uint8_t *needed = calloc(g->n_values + 1, 1);
    b.tensor_of = calloc(g->n_values + 1, sizeof *b.tensor_of);
    if (!c || !needed || !b.tensor_of) {
        st = oom(&b);
        goto fail;
    }
    /* tensor 0: the omitted-input placeholder */
    b.cur_block = -1;
    if (new_tensor(&b, NULL, KILN_STORAGE_NONE) == UINT32_MAX) {
        st = oom(&b);
        goto fail;
    }
    if ((st = lower_nodes(&b, g, needed)))
        goto fail;
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
    uint64_t arena = 0;
    if ((st = plan_program(&b, c, opt, &arena)) || (st = append_blocks(&b)))
        goto fail;
    /* the extents of run-time-shaped tensors: int64 slots after everything else, live for
     * the whole run (counted in the planner's three numbers too) */
    uint64_t slots = ALIGN_UP(arena, 8);
    for (uint32_t t = 0; t < b.n_tensors; t++) {
        struct kiln_tensor_desc *td = &b.tensors[t];
        if (!(td->flags & KILN_TENSOR_RUNTIME_DIMS))
            continue;
        if (slots / 8 > UINT32_MAX) {
            st = kiln_diag_set(d, KILN_STATUS_UNSUPPORTED, NULL, NULL,
                               "the arena is too large for run-time extents");
            goto fail;
        }
        td->dims_slot = (uint32_t)(slots / 8);
        slots += 8 * (uint64_t)(td->rank ? td->rank : 1);
    }
    if (slots > ALIGN_UP(arena, 8)) {
        uint64_t extra = slots - arena;
        arena = slots;
        c->plan.lower_bound += extra;
        c->plan.naive += extra;
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
    p->n_nodes = b.n_nodes - b.n_bnodes;
    p->n_block_nodes = b.n_bnodes;
    p->n_blocks = b.n_blocks;
    p->blocks = b.blocks;
    c->blocks = b.blocks;
    if (kiln_program_reserve_views(p))
        st = kiln_diag_set(b.d, KILN_STATUS_UNSUPPORTED, NULL, NULL,
                           "an arena of %llu bytes cannot be allocated", (unsigned long long)arena);
    free(needed), free(b.tensor_of), free(b.tensor_block), free(b.bnodes), free(b.bio);
    if (st) {
        kiln_compiled_free(c);
        return st;
    }
    *out = c;
    return KILN_STATUS_OK;
fail:
    free(needed), free(b.tensor_of), free(b.tensor_block), free(b.bnodes), free(b.bio);
    free(b.blocks);
    free(b.tensors), free(b.nodes), free(b.io), free(b.params), free(b.weights), free(b.strings);
    if (c) {
        free(c->inputs), free(c->outputs), kiln_plan_free(&c->plan);
        free(c);
    }
    return st;
}
