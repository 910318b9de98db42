/* lower.c - turns an inferred graph into the runtime program: the schedule of kernel calls,
 * the tensor table, parameter and weight blobs, and the arena plan.
 *
 * Arena plan (docs/memory-plan.md): views share their input's bytes and leave the schedule,
 * elementwise outputs take the buffer of an input that dies at that node, Concat inputs are
 * written straight into their slice of the output; then every buffer lives from the first to
 * the last step that touches it, and several deterministic placement orders (first or best
 * fit, 64-aligned) are tried, keeping the smallest arena. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler.h"
#include "ops/ops.h"

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

/* ---- the arena plan ----
 *
 * Buffer groups: a weighted union-find over tensors. A group is one arena buffer shared by a
 * tensor and its views, the outputs computed in place over it, or the Concat slices written
 * straight into it. parent[t] == t for a group's root; rel[t] is t's byte offset from its
 * parent (from the root once uf_find has run). The root is the widest member: every member
 * lies inside [0, nbytes(root)). last[root] is the last step of the original schedule that
 * reads any member (-1: none). */
struct groups {
    uint32_t *parent;
    uint64_t *rel;
    int64_t *last;
};

static uint32_t uf_find(struct groups *gr, uint32_t t)
{
    uint32_t r = t;
    uint64_t off = 0;
    while (gr->parent[r] != r) {
        off += gr->rel[r];
        r = gr->parent[r];
    }
    while (gr->parent[t] != t) { /* path compression: point at r, offset from r */
        uint32_t next = gr->parent[t];
        uint64_t step = gr->rel[t];
        gr->parent[t] = r;
        gr->rel[t] = off;
        off -= step;
        t = next;
    }
    return r;
}

/* Byte offset of t inside its group's root. */
static uint64_t uf_off(struct groups *gr, uint32_t t)
{
    return uf_find(gr, t) == t ? 0 : gr->rel[t];
}

/* Places the group of root a at byte `off` inside the group of root b. */
static void uf_join(struct groups *gr, uint32_t a, uint32_t b, uint64_t off)
{
    gr->parent[a] = b;
    gr->rel[a] = off;
    if (gr->last[a] > gr->last[b])
        gr->last[b] = gr->last[a];
}

static uint32_t node_io(const struct builder *b, uint32_t s, uint32_t j)
{
    return b->io[b->nodes[s].io_first + j];
}

static bool is_arena(const struct builder *b, uint32_t t)
{
    return t && b->tensors[t].storage == KILN_STORAGE_ARENA;
}

/* A tensor whose extents a run sets: its node must run (to store them), and it shares no
 * buffer with a tensor of other extents. */
static bool runtime_dims(const struct builder *b, uint32_t t)
{
    return b->tensors[t].flags & KILN_TENSOR_RUNTIME_DIMS;
}

/* Views (Reshape, Flatten, Squeeze, Unsqueeze, Identity, Dropout without a used mask) give
 * their output the input's bytes and leave the schedule. A view of a weight or graph input
 * points at the same storage; a view that is a graph output stays a copy (the caller's
 * buffer is not the arena). */
static void alias_views(struct builder *b, struct groups *gr, bool *drop, const uint32_t *reads)
{
    for (uint32_t s = 0; s < b->n_nodes; s++) {
        const struct kiln_node_desc *nd = &b->nodes[s];
        if (!(kiln_op_info(nd->op)->flags & KILN_OPF_VIEW) || nd->n_in < 1 || nd->n_out < 1)
            continue;
        uint32_t x = node_io(b, s, 0), y = node_io(b, s, nd->n_in);
        bool used_extra = false;
        for (uint32_t j = 1; j < nd->n_out; j++) {
            uint32_t t = node_io(b, s, nd->n_in + j);
            used_extra |= t && (reads[t] || !is_arena(b, t));
        }
        struct kiln_tensor_desc *ty = &b->tensors[y];
        const struct kiln_tensor_desc *tx = &b->tensors[x];
        if (used_extra || !x || !is_arena(b, y) || tx->nbytes != ty->nbytes ||
            runtime_dims(b, x) || runtime_dims(b, y))
            continue;
        if (tx->storage == KILN_STORAGE_ARENA) {
            uint32_t r = uf_find(gr, x);
            uf_join(gr, y, r, uf_off(gr, x));
        } else if (tx->storage == KILN_STORAGE_WEIGHT || tx->storage == KILN_STORAGE_INPUT) {
            ty->storage = tx->storage;
            ty->index = tx->index;
            ty->offset = tx->offset;
        } else {
            continue;
        }
        drop[s] = true;
    }
}

static bool same_layout(const struct kiln_tensor_desc *a, const struct kiln_tensor_desc *b)
{
    if (a->rank != b->rank || a->nbytes != b->nbytes ||
        kiln_dtype_size(a->dtype) != kiln_dtype_size(b->dtype))
        return false;
    for (int i = 0; i < a->rank; i++)
        if (a->dims[i] != b->dims[i])
            return false;
    return true;
}

/* Whether t's whole group may move into another buffer at step s: t sits at the start of its
 * group and is as wide as it, and no step after s reads any member. */
static bool group_dies_at(const struct builder *b, struct groups *gr, uint32_t t, uint32_t s)
{
    if (!is_arena(b, t))
        return false;
    uint32_t r = uf_find(gr, t);
    return uf_off(gr, t) == 0 && b->tensors[r].nbytes == b->tensors[t].nbytes &&
           gr->last[r] == (int64_t)s;
}

/* In place: output 0 of an op flagged KILN_OPF_INPLACE takes the buffer of input 0 or 1 when
 * that input has its layout and dies here, and no other input shares that buffer. */
static void plan_inplace(const struct builder *b, struct groups *gr, uint32_t s)
{
    const struct kiln_node_desc *nd = &b->nodes[s];
    uint32_t y = nd->n_out ? node_io(b, s, nd->n_in) : 0;
    if (!(kiln_op_info(nd->op)->flags & KILN_OPF_INPLACE) || !is_arena(b, y) ||
        runtime_dims(b, y))
        return;
    for (uint32_t j = 0; j < 2 && j < nd->n_in; j++) {
        uint32_t x = node_io(b, s, j);
        if (!is_arena(b, x) || !same_layout(&b->tensors[x], &b->tensors[y]) ||
            runtime_dims(b, x) || !group_dies_at(b, gr, x, s))
            continue;
        uint32_t r = uf_find(gr, x), ry = uf_find(gr, y);
        bool shared = r == ry;
        for (uint32_t k = 0; k < nd->n_in && !shared; k++) {
            uint32_t t = node_io(b, s, k);
            shared = k != j && t != x && is_arena(b, t) && uf_find(gr, t) == r;
        }
        if (shared)
            continue;
        uf_join(gr, r, ry, uf_off(gr, y));
        return;
    }
}

/* Concat in place: when the output is one contiguous run per input (every dim before the axis
 * is 1) and each input's buffer dies here, the producers write straight into their slice. */
static void plan_concat(const struct builder *b, struct groups *gr, uint32_t s, bool *drop)
{
    const struct kiln_node_desc *nd = &b->nodes[s];
    uint32_t y = node_io(b, s, nd->n_in);
    if (nd->op != KILN_OP_CONCAT || !is_arena(b, y) || runtime_dims(b, y) ||
        nd->params_size < sizeof(struct kiln_p_axis))
        return;
    struct kiln_p_axis p;
    memcpy(&p, b->params + nd->params_offset, sizeof p);
    const struct kiln_tensor_desc *ty = &b->tensors[y];
    for (int64_t i = 0; i < p.axis && i < ty->rank; i++)
        if (ty->dims[i] != 1)
            return;
    uint32_t ry = uf_find(gr, y);
    uint64_t off = 0;
    for (uint32_t i = 0; i < nd->n_in; i++) {
        uint32_t x = node_io(b, s, i);
        /* slices stay 64-aligned like every other arena tensor */
        if (!group_dies_at(b, gr, x, s) || !b->tensors[x].nbytes || off % KILN_ARENA_ALIGN)
            return;
        uint32_t r = uf_find(gr, x);
        if (r == ry)
            return;
        for (uint32_t k = 0; k < i; k++)
            if (uf_find(gr, node_io(b, s, k)) == r)
                return;
        off += b->tensors[x].nbytes;
    }
    if (off != ty->nbytes)
        return;
    uint64_t base = uf_off(gr, y);
    off = 0;
    for (uint32_t i = 0; i < nd->n_in; i++) {
        uint32_t x = node_io(b, s, i);
        uf_join(gr, uf_find(gr, x), ry, base + off);
        off += b->tensors[x].nbytes;
    }
    drop[s] = true;
}

/* ---- placement ---- */

struct buf {
    uint64_t size; /* aligned */
    uint32_t first, last;
    uint32_t tensor; /* group root, or UINT32_MAX for scratch */
    uint32_t node;   /* step of a scratch buffer */
};

struct sort_key {
    uint64_t k1, k2; /* descending */
    uint32_t k3;     /* ascending */
    uint32_t idx;
};

static int cmp_key(const void *pa, const void *pb)
{
    const struct sort_key *a = pa, *b = pb;
    if (a->k1 != b->k1)
        return a->k1 < b->k1 ? 1 : -1;
    if (a->k2 != b->k2)
        return a->k2 < b->k2 ? 1 : -1;
    if (a->k3 != b->k3)
        return a->k3 < b->k3 ? -1 : 1;
    return a->idx < b->idx ? -1 : a->idx > b->idx;
}

struct span {
    uint64_t lo, hi;
};

static int cmp_span(const void *pa, const void *pb)
{
    const struct span *a = pa, *b = pb;
    return a->lo < b->lo ? -1 : a->lo > b->lo;
}

/* Places bufs in `order`, each at the lowest free offset (first fit) or in the smallest free
 * gap that holds it (best fit) among buffers whose lifetimes overlap. Returns the arena. */
static uint64_t place(const struct buf *bufs, uint32_t nb, const uint32_t *order, bool best_fit,
                      uint64_t *off, uint32_t *placed, struct span *spans)
{
    uint64_t arena = 0;
    for (uint32_t i = 0; i < nb; i++) {
        const struct buf *b = &bufs[order[i]];
        uint32_t ns = 0;
        for (uint32_t k = 0; k < i; k++) {
            const struct buf *q = &bufs[placed[k]];
            if (q->last >= b->first && q->first <= b->last)
                spans[ns++] = (struct span){off[placed[k]], off[placed[k]] + q->size};
        }
        qsort(spans, ns, sizeof *spans, cmp_span);
        uint64_t cur = 0, best = UINT64_MAX, best_gap = UINT64_MAX;
        for (uint32_t k = 0; k < ns; k++) {
            if (spans[k].lo > cur && spans[k].lo - cur >= b->size) {
                uint64_t gap = spans[k].lo - cur;
                if (!best_fit) {
                    best = cur;
                    break;
                }
                if (gap < best_gap)
                    best_gap = gap, best = cur;
            }
            if (spans[k].hi > cur)
                cur = spans[k].hi;
        }
        if (best == UINT64_MAX)
            best = cur;
        off[order[i]] = best;
        placed[i] = order[i];
        if (best + b->size > arena)
            arena = best + b->size;
    }
    return arena;
}

enum { ORDER_SIZE, ORDER_CONFLICT, ORDER_BREADTH, ORDER_AREA, ORDER_LIFETIME, ORDER_SCHEDULE,
       ORDER_COUNT };

/* Fills order[] for heuristic h. live[s]: bytes live at step s; peak[i]: the largest live[s]
 * over buffer i's lifetime. */
static void make_order(int h, const struct buf *bufs, uint32_t nb, const uint64_t *live,
                       uint32_t steps, const uint64_t *peak, struct sort_key *keys,
                       uint32_t *order, bool *taken)
{
    if (h == ORDER_BREADTH) {
        /* TFLite's greedy by breadth: the widest step first, its buffers largest first */
        struct sort_key *sk = keys;
        for (uint32_t s = 0; s < steps; s++)
            sk[s] = (struct sort_key){live[s], 0, s, s};
        qsort(sk, steps, sizeof *sk, cmp_key);
        uint32_t *st = malloc((steps ? steps : 1) * sizeof *st);
        for (uint32_t s = 0; st && s < steps; s++)
            st[s] = sk[s].idx;
        memset(taken, 0, nb * sizeof *taken);
        uint32_t n = 0;
        for (uint32_t k = 0; st && k < steps; k++) {
            uint32_t s = st[k], m = 0;
            for (uint32_t i = 0; i < nb; i++)
                if (!taken[i] && bufs[i].first <= s && bufs[i].last >= s)
                    keys[m++] = (struct sort_key){bufs[i].size, 0, bufs[i].first, i};
            qsort(keys, m, sizeof *keys, cmp_key);
            for (uint32_t i = 0; i < m; i++) {
                taken[keys[i].idx] = true;
                order[n++] = keys[i].idx;
            }
        }
        for (uint32_t i = 0; i < nb; i++) /* buffers of no step (only if malloc failed) */
            if (!st || !taken[i])
                order[n++] = i;
        free(st);
        return;
    }
    for (uint32_t i = 0; i < nb; i++) {
        const struct buf *b = &bufs[i];
        uint64_t len = (uint64_t)(b->last - b->first) + 1;
        struct sort_key k = {b->size, 0, b->first, i};
        switch (h) {
        case ORDER_CONFLICT: k = (struct sort_key){peak[i], b->size, b->first, i}; break;
        case ORDER_AREA: k = (struct sort_key){b->size * len, b->size, b->first, i}; break;
        case ORDER_LIFETIME: k = (struct sort_key){len, b->size, b->first, i}; break;
        case ORDER_SCHEDULE: k = (struct sort_key){0, b->size, b->first, i}; break;
        default: break;
        }
        keys[i] = k;
    }
    qsort(keys, nb, sizeof *keys, cmp_key);
    for (uint32_t i = 0; i < nb; i++)
        order[i] = keys[i].idx;
}

/* Tries every order with first and best fit; keeps the smallest arena (the first on ties),
 * its offsets in off[]. Fills *lower with the largest sum of buffers live at one step. */
static bool place_best(const struct buf *bufs, uint32_t nb, uint32_t steps, uint64_t *off,
                       uint64_t *arena, uint64_t *lower, const char **strategy)
{
    static const char *const names[2][ORDER_COUNT] = {
        {"size, first fit", "conflict, first fit", "breadth, first fit", "area, first fit",
         "lifetime, first fit", "schedule, first fit"},
        {"size, best fit", "conflict, best fit", "breadth, best fit", "area, best fit",
         "lifetime, best fit", "schedule, best fit"}};
    uint32_t n1 = nb ? nb : 1, s1 = steps ? steps : 1;
    uint64_t *live = calloc(s1, sizeof *live), *peak = calloc(n1, sizeof *peak);
    uint64_t *try_off = calloc(n1, sizeof *try_off);
    uint32_t *order = calloc(n1, sizeof *order), *placed = calloc(n1, sizeof *placed);
    struct sort_key *keys = calloc(n1 > s1 ? n1 : s1, sizeof *keys);
    struct span *spans = calloc(n1, sizeof *spans);
    bool *taken = calloc(n1, sizeof *taken);
    bool ok = live && peak && try_off && order && placed && keys && spans && taken;
    *arena = UINT64_MAX;
    *lower = 0;
    for (uint32_t i = 0; ok && i < nb; i++)
        for (uint32_t s = bufs[i].first; s <= bufs[i].last && s < steps; s++)
            live[s] += bufs[i].size;
    for (uint32_t s = 0; ok && s < steps; s++)
        if (live[s] > *lower)
            *lower = live[s];
    for (uint32_t i = 0; ok && i < nb; i++)
        for (uint32_t s = bufs[i].first; s <= bufs[i].last && s < steps; s++)
            if (live[s] > peak[i])
                peak[i] = live[s];
    for (int h = 0; ok && h < ORDER_COUNT; h++) {
        make_order(h, bufs, nb, live, steps, peak, keys, order, taken);
        for (int fit = 0; fit < 2; fit++) {
            uint64_t a = place(bufs, nb, order, fit, try_off, placed, spans);
            if (a < *arena) {
                *arena = a;
                *strategy = names[fit][h];
                memcpy(off, try_off, nb * sizeof *off);
            }
            if (*arena == *lower)
                break; /* optimal already */
        }
        if (*arena == *lower)
            break;
    }
    if (!nb)
        *arena = 0, *strategy = "empty";
    free(live), free(peak), free(try_off), free(order), free(placed), free(keys), free(spans);
    free(taken);
    return ok;
}

static int cmp_plan(const void *pa, const void *pb)
{
    const struct kiln_plan_entry *a = pa, *b = pb;
    if (a->first != b->first)
        return a->first < b->first ? -1 : 1;
    return a->offset < b->offset ? -1 : a->offset > b->offset;
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

/* ---- control flow: blocks ----
 *
 * A control node's blocks (If branches, a Loop or Scan body) run inside its step, in a region
 * of the arena that is the node's scratch:
 *
 *   arena: [ ...main buffers... | control node scratch: [ block tensors, block scratch ] ... ]
 *
 * Each block is planned on its own (its formal inputs and outputs live through the whole
 * block, since the control kernel writes and reads them around each run), with offsets
 * relative to the region; once the main plan places the control node's scratch, the block's
 * tensors and the scratch of its nodes move by that offset, nested blocks likewise. */

static bool is_control(int op)
{
    return op == KILN_OP_IF || op == KILN_OP_LOOP || op == KILN_OP_SCAN;
}

/* The blocks a control node runs (two for If, one for Loop and Scan). */
static int node_blocks(const struct builder *b, const struct kiln_node_desc *nd, int32_t *out)
{
    const uint8_t *p = b->params + nd->params_offset;
    if (nd->op == KILN_OP_IF) {
        struct kiln_p_if pi;
        memcpy(&pi, p, sizeof pi);
        out[0] = pi.then_block;
        out[1] = pi.else_block;
        return 2;
    }
    if (nd->op == KILN_OP_LOOP) {
        struct kiln_p_loop pl;
        memcpy(&pl, p, sizeof pl);
        out[0] = pl.body;
        return 1;
    }
    if (nd->op == KILN_OP_SCAN) {
        struct kiln_p_scan ps;
        memcpy(&ps, p, sizeof ps);
        out[0] = ps.body;
        return 1;
    }
    return 0;
}

static void relocate_node_blocks(struct builder *b, const struct kiln_node_desc *nd);

static void relocate_block(struct builder *b, int32_t k, uint64_t base)
{
    for (uint32_t t = 0; t < b->n_tensors; t++)
        if (b->tensor_block[t] == k && b->tensors[t].storage == KILN_STORAGE_ARENA)
            b->tensors[t].offset += base;
    const struct kiln_block_desc *bd = &b->blocks[k];
    for (uint32_t i = bd->first_node; i < bd->first_node + bd->n_nodes; i++) {
        struct kiln_node_desc *nd = &b->bnodes[i];
        if (nd->scratch_size)
            nd->scratch_offset += base;
        relocate_node_blocks(b, nd);
    }
}

static void relocate_node_blocks(struct builder *b, const struct kiln_node_desc *nd)
{
    int32_t ks[2];
    int n = is_control(nd->op) ? node_blocks(b, nd, ks) : 0;
    for (int i = 0; i < n; i++)
        relocate_block(b, ks[i], nd->scratch_offset);
}

/* Plans block k, whose nodes are the builder's current list: offsets relative to its region. */
static enum kiln_status plan_block(struct builder *b, int32_t k, const uint32_t *formal,
                                   uint32_t n_formal, uint64_t *size)
{
    uint32_t nt = b->n_tensors, ns = b->n_nodes;
    uint32_t *first = malloc((nt + 1) * sizeof *first), *last = calloc(nt + 1, sizeof *last);
    struct buf *bufs = calloc(nt + ns + 1, sizeof *bufs);
    uint64_t *off = calloc(nt + ns + 1, sizeof *off);
    uint32_t *buf_of = malloc((nt + 1) * sizeof *buf_of);
    enum kiln_status st = KILN_STATUS_OK;
    if (!first || !last || !bufs || !off || !buf_of) {
        st = oom(b);
        goto done;
    }
    for (uint32_t t = 0; t < nt; t++)
        first[t] = UINT32_MAX, buf_of[t] = UINT32_MAX;
    uint32_t end = ns ? ns - 1 : 0;
    for (uint32_t i = 0; i < n_formal; i++) /* the kernel touches these around every run */
        first[formal[i]] = 0, last[formal[i]] = end;
    for (uint32_t s2 = 0; s2 < ns; s2++) {
        const struct kiln_node_desc *nd = &b->nodes[s2];
        for (uint32_t j = 0; j < (uint32_t)nd->n_in + nd->n_out; j++) {
            uint32_t t = b->io[nd->io_first + j];
            if (first[t] == UINT32_MAX || first[t] > s2)
                first[t] = s2;
            if (last[t] < s2)
                last[t] = s2;
        }
    }
    uint32_t nb = 0;
    for (uint32_t t = 0; t < nt; t++) {
        if (b->tensor_block[t] != k || b->tensors[t].storage != KILN_STORAGE_ARENA ||
            first[t] == UINT32_MAX)
            continue;
        uint64_t sz = b->tensors[t].nbytes ? b->tensors[t].nbytes : 1;
        buf_of[t] = nb;
        bufs[nb++] = (struct buf){ALIGN_UP(sz, KILN_ARENA_ALIGN), first[t], last[t], t, 0};
    }
    for (uint32_t s2 = 0; s2 < ns; s2++)
        if (b->nodes[s2].scratch_size)
            bufs[nb++] = (struct buf){ALIGN_UP(b->nodes[s2].scratch_size, KILN_ARENA_ALIGN), s2,
                                      s2, UINT32_MAX, s2};
    uint64_t lower;
    const char *strategy;
    if (!place_best(bufs, nb, ns ? ns : 1, off, size, &lower, &strategy)) {
        st = oom(b);
        goto done;
    }
    for (uint32_t i = 0; i < nb; i++) {
        if (bufs[i].tensor != UINT32_MAX)
            b->tensors[bufs[i].tensor].offset = off[i];
        else
            b->nodes[bufs[i].node].scratch_offset = off[i];
    }
done:
    free(first), free(last), free(bufs), free(off), free(buf_of);
    return st;
}

/* Plans the arena of the built program: views, in place, Concat in place (as opt allows),
 * then lifetimes over the final schedule and placement. Sets offsets, c->plan and the report;
 * returns the arena size through *arena_out. */
static enum kiln_status plan_program(struct builder *b, struct kiln_compiled *c,
                                     const struct kiln_lower_options *opt, uint64_t *arena_out)
{
    enum kiln_status st = KILN_STATUS_OK;
    uint32_t nt = b->n_tensors, ns0 = b->n_nodes;
    struct groups gr = {malloc(nt * sizeof *gr.parent), calloc(nt, sizeof *gr.rel),
                        malloc(nt * sizeof *gr.last)};
    uint32_t *reads = calloc(nt, sizeof *reads), *newidx = malloc(nt * sizeof *newidx);
    uint32_t *first = malloc(nt * sizeof *first), *last = malloc(nt * sizeof *last);
    uint32_t *buf_of = malloc(nt * sizeof *buf_of), *rep = malloc(nt * sizeof *rep);
    bool *drop = calloc(ns0 + 1, sizeof *drop);
    struct buf *bufs = calloc(nt + ns0 + 1, sizeof *bufs);
    uint64_t *off = calloc(nt + ns0 + 1, sizeof *off);
    if (!gr.parent || !gr.rel || !gr.last || !reads || !newidx || !first || !last || !buf_of ||
        !rep || !drop || !bufs || !off) {
        st = oom(b);
        goto done;
    }
    c->plan_naive = 0;
    for (uint32_t t = 0; t < nt; t++) {
        gr.parent[t] = t;
        gr.last[t] = -1;
        first[t] = UINT32_MAX;
    }
    for (uint32_t s = 0; s < ns0; s++) {
        const struct kiln_node_desc *nd = &b->nodes[s];
        for (uint32_t j = 0; j < (uint32_t)nd->n_in + nd->n_out; j++) {
            uint32_t t = node_io(b, s, j);
            if (j < nd->n_in)
                reads[t]++, gr.last[t] = s;
            if (is_arena(b, t) && first[t] == UINT32_MAX) {
                first[t] = s;
                c->plan_naive += ALIGN_UP(b->tensors[t].nbytes ? b->tensors[t].nbytes : 1,
                                          KILN_ARENA_ALIGN);
            }
        }
        c->plan_naive += ALIGN_UP(nd->scratch_size, KILN_ARENA_ALIGN);
    }
    if (!opt->no_alias)
        alias_views(b, &gr, drop, reads);
    for (uint32_t t = 0; t < nt; t++) { /* group read lifetimes, views included */
        uint32_t r = uf_find(&gr, t);
        if (gr.last[t] > gr.last[r])
            gr.last[r] = gr.last[t];
    }
    for (uint32_t s = 0; s < ns0; s++) {
        if (drop[s])
            continue;
        if (!opt->no_inplace)
            plan_inplace(b, &gr, s);
        if (!opt->no_concat)
            plan_concat(b, &gr, s, drop);
    }
    for (uint32_t t = 0; t < nt; t++)
        if (is_arena(b, t))
            uf_find(&gr, t); /* settle every offset relative to its root */
    /* lifetimes over the final schedule, per group */
    uint32_t step = 0;
    for (uint32_t t = 0; t < nt; t++)
        first[t] = UINT32_MAX, last[t] = 0, rep[t] = UINT32_MAX;
    for (uint32_t s = 0; s < ns0; s++) {
        if (drop[s])
            continue;
        const struct kiln_node_desc *nd = &b->nodes[s];
        for (uint32_t j = 0; j < (uint32_t)nd->n_in + nd->n_out; j++) {
            uint32_t t = node_io(b, s, j);
            if (!is_arena(b, t))
                continue;
            uint32_t r = uf_find(&gr, t);
            if (first[r] == UINT32_MAX)
                first[r] = step;
            last[r] = step;
            /* the buffer is named by its widest used member, the earliest on ties */
            if (rep[r] == UINT32_MAX || b->tensors[t].nbytes > b->tensors[rep[r]].nbytes ||
                (b->tensors[t].nbytes == b->tensors[rep[r]].nbytes && t < rep[r]))
                rep[r] = t;
        }
        step++;
    }
    uint32_t nb = 0;
    for (uint32_t t = 0; t < nt; t++) {
        buf_of[t] = UINT32_MAX;
        if (!is_arena(b, t) || gr.parent[t] != t || first[t] == UINT32_MAX)
            continue;
        uint64_t size = b->tensors[t].nbytes ? b->tensors[t].nbytes : 1;
        buf_of[t] = nb;
        bufs[nb++] = (struct buf){ALIGN_UP(size, KILN_ARENA_ALIGN), first[t], last[t], t, 0};
    }
    step = 0;
    for (uint32_t s = 0; s < ns0; s++) {
        if (drop[s])
            continue;
        if (b->nodes[s].scratch_size)
            bufs[nb++] = (struct buf){ALIGN_UP(b->nodes[s].scratch_size, KILN_ARENA_ALIGN), step,
                                      step, UINT32_MAX, s};
        step++;
    }
    uint64_t arena;
    if (!place_best(bufs, nb, step, off, &arena, &c->plan_lower_bound, &c->plan_strategy)) {
        st = oom(b);
        goto done;
    }
    for (uint32_t t = 0; t < nt; t++) {
        if (!is_arena(b, t))
            continue;
        uint32_t r = uf_find(&gr, t);
        if (buf_of[r] != UINT32_MAX)
            b->tensors[t].offset = off[buf_of[r]] + uf_off(&gr, t);
    }
    for (uint32_t i = 0; i < nb; i++)
        if (bufs[i].tensor == UINT32_MAX)
            b->nodes[bufs[i].node].scratch_offset = off[i];
    for (uint32_t st2 = 0; st2 < b->n_nodes; st2++)
        if (!drop[st2])
            relocate_node_blocks(b, &b->nodes[st2]);
    compact(b, c, drop, newidx);
    c->plan = calloc(nb ? nb : 1, sizeof *c->plan);
    if (!c->plan) {
        st = oom(b);
        goto done;
    }
    for (uint32_t i = 0; i < nb; i++) {
        uint32_t t = bufs[i].tensor;
        c->plan[i] = (struct kiln_plan_entry){
            t == UINT32_MAX ? UINT32_MAX : newidx[rep[t]], off[i], bufs[i].size, bufs[i].first,
            bufs[i].last};
    }
    c->n_plan = nb;
    qsort(c->plan, nb, sizeof *c->plan, cmp_plan);
    *arena_out = arena;
done:
    free(gr.parent), free(gr.rel), free(gr.last), free(reads), free(newidx), free(first);
    free(last), free(buf_of), free(rep), free(drop), free(bufs), free(off);
    return st;
}

/* ---- lowering nodes ---- */

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
    for (uint32_t i = 0; !st && i < body->n_inputs; i++)
        st = tensor_for(b, body->inputs[i], &formal[i]);
    if (!st)
        st = lower_nodes(b, body, needed);
    for (uint32_t i = 0; !st && i < body->n_outputs; i++)
        st = tensor_for(b, body->outputs[i], &formal[body->n_inputs + i]);
    if (!st)
        st = plan_block(b, k, formal, nf, size);
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
        if ((st = build_block(b, graph_attr(n, "then_branch"), needed, &k0, &size)))
            return st;
        region = size;
        if ((st = build_block(b, graph_attr(n, "else_branch"), needed, &k1, &size)))
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
    bool *run = calloc(g->n_nodes + 1, sizeof *run);
    uint32_t ins[64], outs[64];
    if (!run)
        return oom(b);
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
    for (uint32_t i = 0; i < g->n_nodes && !st; i++) {
        const struct kiln_ir_node *n = g->nodes[i];
        if (!run[i])
            continue;
        if (n->n_in + n->n_out > 64) {
            st = kiln_diag_set(b->d, KILN_STATUS_UNSUPPORTED, n->name, n->op_type,
                               "has %u inputs and %u outputs; kiln supports 64 in all", n->n_in,
                               n->n_out);
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
        const struct kiln_op_info *info = kiln_op_info(n->op);
        for (uint32_t j = 0; j < n->n_in && !st; j++) {
            ins[j] = 0;
            if (n->in[j] && !((info->compile_time_inputs >> j) & 1))
                st = tensor_for(b, n->in[j], &ins[j]);
        }
        for (uint32_t j = 0; j < n->n_out && !st; j++) {
            outs[j] = 0;
            if (n->out[j])
                st = tensor_for(b, n->out[j], &outs[j]);
        }
        if (!st)
            st = add_node(b, n, n->op, variant, ins, n->n_in, outs, n->n_out, n->params,
                          n->params_size, n->scratch_size);
    }
    free(run);
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
    free(c->params), free(c->weights), free(c->strings), free(c->plan), free(c->blocks);
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
        c->plan_lower_bound += extra;
        c->plan_naive += extra;
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
    free(needed), free(b.tensor_of), free(b.tensor_block), free(b.bnodes), free(b.bio);
    *out = c;
    return KILN_STATUS_OK;
fail:
    free(needed), free(b.tensor_of), free(b.tensor_block), free(b.bnodes), free(b.bio);
    free(b.blocks);
    free(b.tensors), free(b.nodes), free(b.io), free(b.params), free(b.weights), free(b.strings);
    if (c) {
        free(c->inputs), free(c->outputs), free(c->plan);
        free(c);
    }
    return st;
}
