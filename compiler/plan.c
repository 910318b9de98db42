/* plan.c - the arena planner (docs/memory-plan.md) and the plan of a finished program.
 *
 * Views share their input's bytes and leave the schedule, elementwise outputs take the buffer
 * of an input that dies at that node, Concat inputs are written straight into their slice of
 * the output; then every buffer lives from the first to the last step that touches it, and
 * several deterministic placement orders (first or best fit, 64-aligned) are tried, keeping
 * the smallest arena. kiln_plan_from_program recovers the same buffers from a program. */
#include <stdlib.h>
#include <string.h>

#include "ops/ops.h"
#include "plan.h"

#define ALIGN_UP(x, a) (((x) + (a)-1) / (a) * (a))

static enum kiln_status oom(struct kiln_diag *d)
{
    return kiln_diag_set(d, KILN_STATUS_NO_MEMORY, NULL, NULL, "out of memory while lowering");
}

void kiln_plan_free(struct kiln_plan *plan)
{
    free(plan->entries);
    plan->entries = NULL;
    plan->n = 0;
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

static uint32_t node_io(const struct kiln_plan_tables *b, uint32_t s, uint32_t j)
{
    return b->io[b->nodes[s].io_first + j];
}

static bool is_arena(const struct kiln_plan_tables *b, uint32_t t)
{
    return t && b->tensors[t].storage == KILN_STORAGE_ARENA;
}

/* A tensor whose extents a run sets: its node must run (to store them), and it shares no
 * buffer with a tensor of other extents. */
static bool runtime_dims(const struct kiln_plan_tables *b, uint32_t t)
{
    return b->tensors[t].flags & KILN_TENSOR_RUNTIME_DIMS;
}

/* Views (Reshape, Flatten, Squeeze, Unsqueeze, Identity, Dropout without a used mask) give
 * their output the input's bytes and leave the schedule. A view of a weight or graph input
 * points at the same storage; a view that is a graph output stays a copy (the caller's
 * buffer is not the arena). */
static void alias_views(const struct kiln_plan_tables *b, struct groups *gr, bool *drop,
                        const uint32_t *reads)
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
static bool group_dies_at(const struct kiln_plan_tables *b, struct groups *gr, uint32_t t,
                          uint32_t s)
{
    if (!is_arena(b, t))
        return false;
    uint32_t r = uf_find(gr, t);
    return uf_off(gr, t) == 0 && b->tensors[r].nbytes == b->tensors[t].nbytes &&
           gr->last[r] == (int64_t)s;
}

/* In place: output 0 of an op flagged KILN_OPF_INPLACE takes the buffer of input 0 or 1 when
 * that input has its layout and dies here, and no other input shares that buffer. */
static void plan_inplace(const struct kiln_plan_tables *b, struct groups *gr, uint32_t s)
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
static void plan_concat(const struct kiln_plan_tables *b, struct groups *gr, uint32_t s,
                        bool *drop)
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

void kiln_plan_sort(struct kiln_plan_entry *e, uint32_t n)
{
    qsort(e, n, sizeof *e, cmp_plan);
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

/* The blocks a control node runs (two for If, one for Loop and Scan, none for other ops). */
static int node_blocks(const uint8_t *params, const struct kiln_node_desc *nd, int32_t *out)
{
    const uint8_t *p = params + nd->params_offset;
    if (nd->op == KILN_OP_IF) {
        struct kiln_p_if pi;
        memcpy(&pi, p, sizeof pi);
        int n = 0; /* a refused branch (negative) has no block */
        if (pi.then_block >= 0)
            out[n++] = pi.then_block;
        if (pi.else_block >= 0)
            out[n++] = pi.else_block;
        return n;
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

static void relocate_node_blocks(const struct kiln_plan_tables *b,
                                 const struct kiln_node_desc *nd);

static void relocate_block(const struct kiln_plan_tables *b, int32_t k, uint64_t base)
{
    for (uint32_t t = 0; t < b->n_tensors; t++)
        if (b->tensor_block[t] == k && b->tensors[t].storage == KILN_STORAGE_ARENA)
            b->tensors[t].offset += base;
    const struct kiln_block_desc *bd = &b->blocks[k];
    for (uint32_t i = bd->first_node; i < bd->first_node + bd->n_nodes; i++) {
        struct kiln_node_desc *nd = &b->block_nodes[i];
        if (nd->scratch_size)
            nd->scratch_offset += base;
        relocate_node_blocks(b, nd);
    }
}

static void relocate_node_blocks(const struct kiln_plan_tables *b,
                                 const struct kiln_node_desc *nd)
{
    int32_t ks[2];
    int n = node_blocks(b->params, nd, ks);
    for (int i = 0; i < n; i++)
        relocate_block(b, ks[i], nd->scratch_offset);
}

enum kiln_status kiln_plan_block(const struct kiln_plan_tables *b, int32_t k,
                                 const uint32_t *formal, uint32_t n_formal, uint64_t *size,
                                 struct kiln_diag *d)
{
    uint32_t nt = b->n_tensors, ns = b->n_nodes;
    uint32_t *first = malloc((nt + 1) * sizeof *first), *last = calloc(nt + 1, sizeof *last);
    struct buf *bufs = calloc(nt + ns + 1, sizeof *bufs);
    uint64_t *off = calloc(nt + ns + 1, sizeof *off);
    uint32_t *buf_of = malloc((nt + 1) * sizeof *buf_of);
    enum kiln_status st = KILN_STATUS_OK;
    if (!first || !last || !bufs || !off || !buf_of) {
        st = oom(d);
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
        st = oom(d);
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

enum kiln_status kiln_plan_schedule(const struct kiln_plan_tables *b,
                                    const struct kiln_lower_options *opt, bool *drop,
                                    struct kiln_plan *plan, uint64_t *arena_out,
                                    struct kiln_diag *d)
{
    enum kiln_status st = KILN_STATUS_OK;
    uint32_t nt = b->n_tensors, ns0 = b->n_nodes;
    struct groups gr = {malloc(nt * sizeof *gr.parent), calloc(nt, sizeof *gr.rel),
                        malloc(nt * sizeof *gr.last)};
    uint32_t *reads = calloc(nt, sizeof *reads);
    uint32_t *first = malloc(nt * sizeof *first), *last = malloc(nt * sizeof *last);
    uint32_t *buf_of = malloc(nt * sizeof *buf_of), *rep = malloc(nt * sizeof *rep);
    struct buf *bufs = calloc(nt + ns0 + 1, sizeof *bufs);
    uint64_t *off = calloc(nt + ns0 + 1, sizeof *off);
    *plan = (struct kiln_plan){0};
    if (!gr.parent || !gr.rel || !gr.last || !reads || !first || !last || !buf_of || !rep ||
        !bufs || !off) {
        st = oom(d);
        goto done;
    }
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
                plan->naive += ALIGN_UP(b->tensors[t].nbytes ? b->tensors[t].nbytes : 1,
                                          KILN_ARENA_ALIGN);
            }
        }
        plan->naive += ALIGN_UP(nd->scratch_size, KILN_ARENA_ALIGN);
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
    if (!place_best(bufs, nb, step, off, &arena, &plan->lower_bound, &plan->strategy)) {
        st = oom(d);
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
    plan->entries = calloc(nb ? nb : 1, sizeof *plan->entries);
    if (!plan->entries) {
        st = oom(d);
        goto done;
    }
    for (uint32_t i = 0; i < nb; i++) {
        uint32_t t = bufs[i].tensor;
        plan->entries[i] = (struct kiln_plan_entry){t == UINT32_MAX ? UINT32_MAX : rep[t], off[i],
                                                    bufs[i].size, bufs[i].first, bufs[i].last};
    }
    plan->n = nb;
    kiln_plan_sort(plan->entries, nb);
    *arena_out = arena;
done:
    free(gr.parent), free(gr.rel), free(gr.last), free(reads), free(first), free(last);
    free(buf_of), free(rep), free(bufs), free(off);
    return st;
}

/* ---- the plan of a finished program ---- */

/* Main-schedule steps of every tensor (first > last: none); in_block[t] (may be NULL) marks a
 * tensor only blocks use, given the step of the main control node that runs its block. */
static enum kiln_status tensor_steps(const struct kiln_program *p, uint32_t *first,
                                     uint32_t *last, bool *in_block, struct kiln_diag *d)
{
    uint32_t nb = p->n_blocks, n_all = p->n_nodes + p->n_block_nodes;
    uint32_t *owner = malloc((nb + 1) * sizeof *owner); /* node that runs each block */
    if (!owner)
        return oom(d);
    for (uint32_t t = 0; t < p->n_tensors; t++) {
        first[t] = UINT32_MAX, last[t] = 0;
        if (in_block)
            in_block[t] = false;
    }
    for (uint32_t k = 0; k < nb; k++)
        owner[k] = UINT32_MAX;
    for (uint32_t s = 0; s < n_all; s++) {
        const struct kiln_node_desc *nd = &p->nodes[s];
        int32_t ks[2];
        int n = node_blocks(p->params, nd, ks);
        for (int i = 0; i < n; i++)
            if (ks[i] >= 0 && (uint32_t)ks[i] < nb && owner[ks[i]] == UINT32_MAX)
                owner[ks[i]] = s;
        if (s >= p->n_nodes)
            continue;
        for (uint32_t j = 0; j < (uint32_t)nd->n_in + nd->n_out; j++) {
            uint32_t t = p->io[nd->io_first + j];
            if (first[t] == UINT32_MAX)
                first[t] = s;
            last[t] = s;
        }
    }
    for (uint32_t k = 0; k < nb; k++) {
        /* climb to the main node that runs block k (at most nb hops: nesting is acyclic) */
        uint32_t s = owner[k];
        for (uint32_t hop = 0; s != UINT32_MAX && s >= p->n_nodes && hop <= nb; hop++) {
            uint32_t up = UINT32_MAX;
            for (uint32_t q = 0; q < nb && up == UINT32_MAX; q++)
                if (s >= p->blocks[q].first_node &&
                    s - p->blocks[q].first_node < p->blocks[q].n_nodes)
                    up = owner[q];
            s = up;
        }
        if (s == UINT32_MAX || s >= p->n_nodes)
            continue;
        const struct kiln_block_desc *bd = &p->blocks[k];
        uint32_t n_formal = (uint32_t)bd->n_in + bd->n_out;
        for (uint32_t i = 0; i < n_formal + bd->n_nodes; i++) {
            const struct kiln_node_desc *nd =
                i < n_formal ? NULL : &p->nodes[bd->first_node + i - n_formal];
            uint32_t n_io = nd ? (uint32_t)nd->n_in + nd->n_out : 1;
            for (uint32_t j = 0; j < n_io; j++) {
                uint32_t t = p->io[nd ? nd->io_first + j : bd->io_first + i];
                if (first[t] != UINT32_MAX && !(in_block && in_block[t]))
                    continue; /* a main tensor the block reads */
                first[t] = last[t] = s;
                if (in_block)
                    in_block[t] = true;
            }
        }
    }
    free(owner);
    return KILN_STATUS_OK;
}

enum kiln_status kiln_plan_tensor_steps(const struct kiln_program *p, uint32_t *first,
                                        uint32_t *last, struct kiln_diag *d)
{
    return tensor_steps(p, first, last, NULL, d);
}

/* The bytes a tensor occupies (an empty tensor still owns a buffer of its own). */
static uint64_t tensor_end(const struct kiln_tensor_desc *td)
{
    return td->offset + (td->nbytes ? td->nbytes : 1);
}

static uint32_t root_of(uint32_t *parent, uint32_t t)
{
    while (parent[t] != t)
        t = parent[t] = parent[parent[t]];
    return t;
}

struct cover {
    uint64_t lo, hi;
};

static int cmp_cover(const void *pa, const void *pb)
{
    const struct cover *a = pa, *b = pb;
    return a->lo < b->lo ? -1 : a->lo > b->lo;
}

/* Whether [lo, hi) lies inside the union of c[0..n) (sorted here). */
static bool covered(struct cover *c, uint32_t n, uint64_t lo, uint64_t hi)
{
    qsort(c, n, sizeof *c, cmp_cover);
    for (uint32_t i = 0; i < n && lo < hi; i++)
        if (c[i].lo <= lo && c[i].hi > lo)
            lo = c[i].hi;
    return lo >= hi;
}

/* A tensor no step writes holds the bytes the steps before it wrote there (it is a view, or a
 * Concat its inputs' producers assembled in place): it joins, for every byte, the tensor
 * written there last before its first use. */
static void join_sources(const struct kiln_program *p, const uint32_t *first,
                         const uint32_t *arena, uint32_t n_arena, uint32_t v,
                         const bool *written, uint32_t *parent, uint32_t *cand,
                         struct cover *cov)
{
    const struct kiln_tensor_desc *tv = &p->tensors[v];
    uint32_t nc = 0, ncov = 0;
    for (uint32_t i = 0; i < n_arena; i++) {
        const struct kiln_tensor_desc *tu = &p->tensors[arena[i]];
        if (written[arena[i]] && first[arena[i]] < first[v] && tu->offset < tensor_end(tv) &&
            tv->offset < tensor_end(tu))
            cand[nc++] = arena[i];
    }
    while (nc && !covered(cov, ncov, tv->offset, tensor_end(tv))) {
        uint32_t best = 0; /* the latest written candidate left */
        for (uint32_t i = 1; i < nc; i++)
            if (first[cand[i]] > first[cand[best]])
                best = i;
        uint32_t u = cand[best];
        cand[best] = cand[--nc];
        const struct kiln_tensor_desc *tu = &p->tensors[u];
        uint64_t lo = tu->offset > tv->offset ? tu->offset : tv->offset;
        uint64_t hi = tensor_end(tu) < tensor_end(tv) ? tensor_end(tu) : tensor_end(tv);
        if (covered(cov, ncov, lo, hi))
            continue; /* later writes hid it */
        parent[root_of(parent, u)] = root_of(parent, v);
        cov[ncov++] = (struct cover){lo, hi};
    }
}

enum kiln_status kiln_plan_from_program(const struct kiln_program *p, uint64_t lower_bound,
                                        uint64_t naive, struct kiln_plan *plan,
                                        struct kiln_diag *d)
{
    uint32_t nt = p->n_tensors, ns = p->n_nodes;
    uint32_t *first = malloc((nt + 1) * sizeof *first), *last = malloc((nt + 1) * sizeof *last);
    uint32_t *parent = malloc((nt + 1) * sizeof *parent), *arena = malloc((nt + 1) * sizeof *arena);
    uint32_t *cand = malloc((nt + 1) * sizeof *cand), *slot = malloc((nt + 1) * sizeof *slot);
    bool *in_block = malloc(nt + 1), *written = calloc(nt + 1, 1);
    struct cover *cov = malloc((nt + 1) * sizeof *cov);
    *plan = (struct kiln_plan){NULL, 0, lower_bound, naive, NULL};
    plan->entries = calloc((size_t)nt + ns + 1, sizeof *plan->entries);
    enum kiln_status st = KILN_STATUS_OK;
    if (!first || !last || !parent || !arena || !cand || !slot || !in_block || !written || !cov ||
        !plan->entries || (st = tensor_steps(p, first, last, in_block, d))) {
        st = st ? st : oom(d);
        kiln_plan_free(plan);
        goto done;
    }
    uint32_t na = 0;
    for (uint32_t t = 0; t < nt; t++) {
        parent[t] = t;
        if (p->tensors[t].storage == KILN_STORAGE_ARENA && first[t] != UINT32_MAX &&
            !in_block[t])
            arena[na++] = t;
    }
    for (uint32_t s = 0; s < ns; s++)
        for (uint32_t j = 0; j < p->nodes[s].n_out; j++)
            written[p->io[p->nodes[s].io_first + p->nodes[s].n_in + j]] = true;
    /* bytes and steps in common: one buffer (the planner never lets two buffers meet) */
    for (uint32_t i = 0; i < na; i++)
        for (uint32_t k = 0; k < i; k++) {
            uint32_t u = arena[i], v = arena[k];
            const struct kiln_tensor_desc *tu = &p->tensors[u], *tv = &p->tensors[v];
            if (tu->offset < tensor_end(tv) && tv->offset < tensor_end(tu) &&
                first[u] <= last[v] && first[v] <= last[u])
                parent[root_of(parent, u)] = root_of(parent, v);
        }
    for (uint32_t i = 0; i < na; i++)
        if (!written[arena[i]])
            join_sources(p, first, arena, na, arena[i], written, parent, cand, cov);
    /* one entry per buffer: its members' bytes and steps, named by the widest (earliest) */
    uint32_t n = 0;
    for (uint32_t t = 0; t < nt; t++)
        slot[t] = UINT32_MAX;
    for (uint32_t i = 0; i < na; i++) {
        uint32_t t = arena[i], r = root_of(parent, t);
        const struct kiln_tensor_desc *td = &p->tensors[t];
        if (slot[r] == UINT32_MAX) { /* size holds the buffer's end until every member is in */
            slot[r] = n;
            plan->entries[n++] =
                (struct kiln_plan_entry){t, td->offset, tensor_end(td), first[t], last[t]};
            continue;
        }
        struct kiln_plan_entry *e = &plan->entries[slot[r]];
        if (td->nbytes > p->tensors[e->tensor].nbytes)
            e->tensor = t;
        e->offset = td->offset < e->offset ? td->offset : e->offset;
        e->size = tensor_end(td) > e->size ? tensor_end(td) : e->size;
        e->first = first[t] < e->first ? first[t] : e->first;
        e->last = last[t] > e->last ? last[t] : e->last;
    }
    for (uint32_t i = 0; i < n; i++)
        plan->entries[i].size = ALIGN_UP(plan->entries[i].size - plan->entries[i].offset,
                                         KILN_ARENA_ALIGN);
    for (uint32_t s = 0; s < ns; s++)
        if (p->nodes[s].scratch_size)
            plan->entries[n++] = (struct kiln_plan_entry){
                UINT32_MAX, p->nodes[s].scratch_offset,
                ALIGN_UP(p->nodes[s].scratch_size, KILN_ARENA_ALIGN), s, s};
    plan->n = n;
    kiln_plan_sort(plan->entries, n);
done:
    free(first), free(last), free(parent), free(arena), free(cand), free(slot), free(in_block);
    free(written), free(cov);
    return st;
}
