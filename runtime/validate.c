/* validate.c - checks a struct kiln_program before the interpreter trusts it: every offset,
 * size, index, count and alignment of the program, its tensors, nodes and blocks, so that a
 * program from an untrusted bundle cannot make a kernel read or write outside its buffers.
 * Per node it then runs the op's own check (runtime/checks/, reached through the op's kernel
 * list): the facts its kernel relies on (operand shapes, dtypes, parameter ranges, scratch
 * sizes). An op without a check, or one this runtime does not hold, is refused. */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>

#define KILN_CK_FILE "validate.c"
#include "checks/check.h"
#include "dims.h"

#ifndef KILN_RT_TERSE
/* Records "node 'NAME' (Op): message" (unless an error is recorded) and returns 1 (failed).
 * A function rather than a kiln_diag_set macro: a hundred call sites stay small. */
int kiln_ck_bad(struct kiln_vctx *v, const char *fmt, ...)
{
    struct kiln_diag *d = v->d;
    if (d && d->status == KILN_STATUS_OK) {
        kiln_diag_set(d, KILN_STATUS_INVALID_MODEL, v->name, kiln_op_name(v->n->op), "%s", fmt);
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(d->message, sizeof d->message, fmt, ap);
        va_end(ap);
    }
    return 1;
}
#define PBAD(...) kiln_diag_set(d, KILN_STATUS_INVALID_MODEL, NULL, NULL, __VA_ARGS__)
#else
/* -DKILN_RT_TERSE (small runtimes): the same checks, but a failure records only the node and
 * the file and line of the check that refused it, without the message texts. */
int kiln_ck_bad_at(struct kiln_vctx *v, const char *file, int line)
{
    kiln_diag_set(v->d, KILN_STATUS_INVALID_MODEL, v->name, kiln_op_name(v->n->op),
                  "check at %s:%d", file, line);
    return 1;
}
#define PBAD(...)                                                                              \
    kiln_diag_set(d, KILN_STATUS_INVALID_MODEL, NULL, NULL, "check at validate.c:%d", __LINE__)
#endif

int kiln_validate_op_known(uint32_t op)
{
    return op < KILN_OP_COUNT && kiln_rt_op_check(op) != NULL;
}

/* ---- the program ---- */

static enum kiln_status check_tensor(const struct kiln_program *p, uint32_t i,
                                     struct kiln_diag *d)
{
    desc *t = &p->tensors[i];
    size_t es = kiln_dtype_size(t->dtype);
    int64_t n = 1;
    if (t->rank > KILN_MAX_RANK || (t->flags & ~KILN_TENSOR_RUNTIME_DIMS) ||
        t->name >= p->strings_size)
        return PBAD("tensor %u: rank %u, flags %#x or name offset out of range", i, t->rank,
                    t->flags);
    /* run-time extents: a slot of rank int64 in the arena; none for other tensors */
    if ((t->flags & KILN_TENSOR_RUNTIME_DIMS)
            ? t->storage == KILN_STORAGE_NONE || t->storage == KILN_STORAGE_WEIGHT ||
                  t->storage == KILN_STORAGE_INPUT || p->arena_size / 8 < t->dims_slot ||
                  p->arena_size / 8 - t->dims_slot < t->rank
            : t->dims_slot != 0)
        return PBAD("tensor %u: run-time extents at slot %u (%s storage, arena %llu bytes)", i,
                    t->dims_slot, t->flags ? "that" : "not marked", U(p->arena_size));
    for (int k = 0; k < KILN_MAX_RANK; k++)
        if (k < t->rank ? t->dims[k] < 0 || (t->dims[k] && n > MAX_ELEMS / t->dims[k])
                        : t->dims[k] != 0)
            return PBAD("tensor %u: dimension %d is %lld", i, k, L(t->dims[k]));
        else if (k < t->rank)
            n *= t->dims[k];
    if (t->storage == KILN_STORAGE_NONE)
        return t->nbytes ? PBAD("tensor %u: an omitted tensor with %llu bytes", i, U(t->nbytes))
                         : KILN_STATUS_OK;
    if (!es || t->nbytes != (uint64_t)n * es || !(t->scale >= 0) || !isfinite(t->scale))
        return PBAD("tensor %u: type %u, %llu bytes for %lld elements, scale %g", i, t->dtype,
                    U(t->nbytes), L(n), t->scale);
    uint64_t limit = 0, off = t->offset;
    switch (t->storage) {
    case KILN_STORAGE_ARENA: limit = p->arena_size; break;
    case KILN_STORAGE_WEIGHT: limit = p->weights_size; break;
    case KILN_STORAGE_INPUT: /* graph input `index`, or a view of (part of) it */
        if (t->index >= p->n_inputs)
            return PBAD("tensor %u: graph input %u of %u", i, t->index, p->n_inputs);
        limit = p->tensors[p->inputs[t->index]].nbytes;
        break;
    case KILN_STORAGE_OUTPUT:
        return t->index < p->n_outputs && p->outputs[t->index] == i
                   ? KILN_STATUS_OK
                   : PBAD("tensor %u: not graph output %u", i, t->index);
    default: return PBAD("tensor %u: storage kind %u", i, t->storage);
    }
    if (off % es || off > limit || t->nbytes > limit - off)
        return PBAD("tensor %u: %llu bytes at %llu leave the %s (%llu bytes) or are misaligned",
                    i, U(t->nbytes), U(off),
                    t->storage == KILN_STORAGE_ARENA    ? "arena"
                    : t->storage == KILN_STORAGE_WEIGHT ? "weights"
                                                        : "input",
                    U(limit));
    return KILN_STATUS_OK;
}

/* Returns 0 when node ni is fit to run. */
static int check_node(const struct kiln_program *p, uint32_t n_io, uint32_t ni,
                      struct kiln_diag *d)
{
    const struct kiln_node_desc *n = &p->nodes[ni];
    struct kiln_vctx vc = {.p = p, .n = n, .d = d}, *v = &vc;
    v->name = n->name < p->strings_size ? p->strings + n->name : "?";
    uint32_t nio = (uint32_t)n->n_in + n->n_out;
    const struct kiln_kernel *k = kiln_rt_kernel(n->op, n->variant);
    const struct kiln_op_check *c = kiln_rt_op_check(n->op);
    if (n->op >= KILN_OP_COUNT)
        return PBAD("node %u: unknown op %u", ni, n->op);
    if (!c)
        return BAD("this runtime does not hold this op (built with KILN_RT_OPS)");
    if (!c->fn)
        return BAD("runs only at compile time");
    if (!k)
        return BAD("no kernel variant %u (the runtime has %u)", n->variant,
                   kiln_rt_kernel_count(n->op));
    if (n->name >= p->strings_size || n->io_first > n_io || nio > n_io - n->io_first)
        return BAD("%u inputs and outputs at %u of %u, or bad name", nio, n->io_first, n_io);
    if (n->params_offset % 8 || n->params_offset > p->params_size ||
        n->params_size > p->params_size - n->params_offset ||
        (c->params & PVAR ? n->params_size < (c->params & ~PVAR) : n->params_size != c->params))
        return BAD("params of %u bytes at %u (the kernel reads %u; blob %llu)", n->params_size,
                   n->params_offset, c->params & ~PVAR, U(p->params_size));
    if (n->scratch_size && (n->scratch_offset % 8 || n->scratch_offset > p->arena_size ||
                            n->scratch_size > p->arena_size - n->scratch_offset))
        return BAD("scratch of %llu bytes at %llu leaves the arena", U(n->scratch_size),
                   U(n->scratch_offset));
    uint32_t mask = c->req_in, all = mask == ALL;
    if ((!all && n->n_in < 16 && mask >> n->n_in) || n->n_in > c->max_in ||
        n->n_out < c->req_out || n->n_out > c->max_out || (all && !n->n_in))
        return BAD("%u inputs and %u outputs", n->n_in, n->n_out);
    for (uint32_t j = 0; j < nio; j++) {
        uint32_t ti = p->io[n->io_first + j];
        if (ti >= p->n_tensors)
            return BAD("tensor index %u of %u", ti, p->n_tensors);
        int is_out = j >= n->n_in;
        int req = is_out ? j - n->n_in < c->req_out : all || (j < 16 && (mask >> j) & 1);
        int st = p->tensors[ti].storage;
        if ((req && st == KILN_STORAGE_NONE) ||
            (is_out && (st == KILN_STORAGE_WEIGHT || st == KILN_STORAGE_INPUT)))
            return BAD("%s %u (tensor %u) cannot be %s", is_out ? "output" : "input",
                       is_out ? j - n->n_in : j, ti,
                       st == KILN_STORAGE_NONE ? "omitted" : "written");
    }
    /* run-time extents: only into ops that read sizes from the views, and out of ops whose
     * rule sets them (with such an input, every output of a rule-derived op has them) */
    int rule = kiln_rt_dims_rule(n->op), dyn_in = 0;
    for (uint32_t j = 0; j < nio; j++) {
        int dyn = vin(v, j)->flags & KILN_TENSOR_RUNTIME_DIMS;
        if (j < n->n_in && dyn && !kiln_rt_dims_takes(n->op))
            return BAD("input %u has run-time extents, which this op cannot take", j);
        dyn_in |= j < n->n_in && dyn;
        if (j >= n->n_in && (dyn ? rule == KILN_DIMS_NONE
                                 : dyn_in && rule != KILN_DIMS_KERNEL && vin(v, j)->rank))
            return BAD("output %u: run-time extents %s", j - n->n_in,
                       dyn ? "from an op that cannot set them" : "missing");
    }
    if (nio <= KILN_CK_RESOLVED) {
        for (uint32_t j = 0; j < nio; j++)
            v->t[j] = vin(v, j);
        v->in = v->t;
        v->out = v->t + n->n_in;
    }
    v->params = p->params + n->params_offset;
    v->kd = k->dtype;
    return c->fn(v);
}

/* Blocks: node ranges inside the block part of the node table (after the main schedule) and
 * not overlapping, formal inputs and outputs inside NODE_IO and the tensor table. */
static enum kiln_status check_blocks(const struct kiln_program *p, uint32_t n_io,
                                     struct kiln_diag *d)
{
    uint64_t total = (uint64_t)p->n_nodes + p->n_block_nodes;
    if (total > UINT32_MAX || (p->n_blocks && !p->blocks))
        return PBAD("%u block nodes after %u nodes", p->n_block_nodes, p->n_nodes);
    for (uint32_t b = 0; b < p->n_blocks; b++) {
        const struct kiln_block_desc *bd = &p->blocks[b];
        uint32_t nio = (uint32_t)bd->n_in + bd->n_out;
        if (bd->first_node < p->n_nodes || bd->first_node > total ||
            bd->n_nodes > total - bd->first_node || bd->io_first > n_io ||
            nio > n_io - bd->io_first)
            return PBAD("block %u: nodes %u+%u or io %u+%u out of range", b, bd->first_node,
                        bd->n_nodes, bd->io_first, nio);
        for (uint32_t j = 0; j < nio; j++)
            if (p->io[bd->io_first + j] >= p->n_tensors)
                return PBAD("block %u: tensor index %u of %u", b, p->io[bd->io_first + j],
                            p->n_tensors);
        for (uint32_t c = 0; c < b; c++) {
            const struct kiln_block_desc *o = &p->blocks[c];
            if (bd->n_nodes && o->n_nodes && bd->first_node < o->first_node + o->n_nodes &&
                o->first_node < bd->first_node + bd->n_nodes)
                return PBAD("blocks %u and %u share nodes", c, b);
        }
    }
    return KILN_STATUS_OK;
}

/* The blocks node ni runs (If: two, Loop and Scan: one); params were validated. */
static int block_refs(const struct kiln_program *p, uint32_t ni, int32_t r[2])
{
    const struct kiln_node_desc *n = &p->nodes[ni];
    const int32_t *q = (const void *)(p->params + n->params_offset);
    switch (n->op) {
    case KILN_OP_IF: r[0] = q[0], r[1] = q[1]; return 2;
    case KILN_OP_LOOP: /* body is the first field of struct kiln_p_loop and kiln_p_scan */
    case KILN_OP_SCAN: r[0] = q[0]; return 1;
    default: return 0;
    }
}

/* Nesting: walks up from block b (through the one node that runs each block and the block
 * that node belongs to) to the main schedule. A block that is an ancestor of itself would
 * recurse without end, and deep nesting would exhaust the stack of the interpreter, which
 * recurses once per level. Iterative, bounded by KILN_MAX_BLOCK_DEPTH, no allocation. */
#define KILN_MAX_BLOCK_DEPTH 8
static enum kiln_status check_nesting(const struct kiln_program *p, uint32_t b,
                                      struct kiln_diag *d, uint32_t *levels)
{
    uint32_t cur = b, total = p->n_nodes + p->n_block_nodes;
    for (int depth = 0;; depth++) {
        *levels = (uint32_t)depth + 1; /* block b's nodes run at this level (main: 0) */
        uint32_t user = UINT32_MAX;
        for (uint32_t ni = 0; ni < total; ni++) {
            int32_t r[2];
            for (int k = block_refs(p, ni, r) - 1; k >= 0; k--)
                if ((uint32_t)r[k] == cur && user != ni) {
                    if (user != UINT32_MAX)
                        return PBAD("block %u is run by nodes %u and %u", cur, user, ni);
                    user = ni;
                }
        }
        if (user == UINT32_MAX || user < p->n_nodes)
            return KILN_STATUS_OK; /* never run, or run from the main schedule */
        uint32_t parent = UINT32_MAX;
        for (uint32_t c = 0; c < p->n_blocks; c++)
            if (user >= p->blocks[c].first_node &&
                user - p->blocks[c].first_node < p->blocks[c].n_nodes)
                parent = c;
        if (parent == UINT32_MAX)
            return KILN_STATUS_OK; /* the node is in no block: it never runs */
        if (parent == b)
            return PBAD("block %u runs itself (through node %u)", b, user);
        if (depth + 1 >= KILN_MAX_BLOCK_DEPTH)
            return PBAD("block %u is nested more than %d deep", b, KILN_MAX_BLOCK_DEPTH);
        cur = parent;
    }
}

enum kiln_status kiln_program_validate(const struct kiln_program *p, uint32_t n_io,
                                       struct kiln_diag *d)
{
    if (!p)
        return KILN_STATUS_INVALID_ARG;
    if (!p->strings_size || p->strings[p->strings_size - 1] != '\0')
        return PBAD("the string table is empty or not NUL-terminated");
    if ((uintptr_t)p->weights % KILN_ARENA_ALIGN && p->weights_size)
        return PBAD("the weights are not %d-byte aligned", KILN_ARENA_ALIGN);
    for (uint32_t i = 0; i < p->n_inputs; i++)
        if (p->inputs[i] >= p->n_tensors)
            return PBAD("graph input %u: tensor %u of %u", i, p->inputs[i], p->n_tensors);
    for (uint32_t i = 0; i < p->n_outputs; i++)
        if (p->outputs[i] >= p->n_tensors)
            return PBAD("graph output %u: tensor %u of %u", i, p->outputs[i], p->n_tensors);
    enum kiln_status st;
    for (uint32_t i = 0; i < p->n_tensors; i++)
        if ((st = check_tensor(p, i, d)))
            return st;
    for (uint32_t i = 0; i < p->n_inputs; i++)
        if (p->tensors[p->inputs[i]].storage != KILN_STORAGE_INPUT ||
            p->tensors[p->inputs[i]].index != i)
            return PBAD("graph input %u is tensor %u, which is not that input", i, p->inputs[i]);
    for (uint32_t i = 0; i < p->n_outputs; i++)
        if (p->tensors[p->outputs[i]].storage != KILN_STORAGE_OUTPUT ||
            p->tensors[p->outputs[i]].index != i)
            return PBAD("graph output %u is tensor %u, which is not that output", i,
                        p->outputs[i]);
    if ((st = check_blocks(p, n_io, d)))
        return st;
    uint32_t total = p->n_nodes + p->n_block_nodes;
    for (uint32_t i = 0; i < total; i++)
        if (check_node(p, n_io, i, d))
            return KILN_STATUS_INVALID_MODEL;
    uint32_t levels;
    for (uint32_t b = 0; b < p->n_blocks; b++)
        if ((st = check_nesting(p, b, d, &levels)))
            return st;
    return KILN_STATUS_OK;
}

enum kiln_status kiln_program_reserve_views(struct kiln_program *p)
{
    uint32_t most = 0, levels = 1, total = p->n_nodes + p->n_block_nodes;
    for (uint32_t ni = 0; ni < total; ni++)
        if ((uint32_t)p->nodes[ni].n_in + p->nodes[ni].n_out > most)
            most = (uint32_t)p->nodes[ni].n_in + p->nodes[ni].n_out;
    if (most <= KILN_RT_STACK_VIEWS || p->views_offset)
        return KILN_STATUS_OK;
    /* the main schedule is level 0; a block's nodes run one level below the node running it */
    for (uint32_t b = 0; b < p->n_blocks; b++) {
        uint32_t lv = 0;
        struct kiln_diag ignore;
        if (!check_nesting(p, b, &ignore, &lv) && lv + 1 > levels)
            levels = lv + 1;
    }
    uint64_t at = (p->arena_size + KILN_ARENA_ALIGN - 1) / KILN_ARENA_ALIGN * KILN_ARENA_ALIGN;
    uint64_t size = (uint64_t)levels * most * sizeof(struct kiln_tensor);
    if (p->arena_size > UINT64_MAX / 2 || at > UINT64_MAX / 2)
        return KILN_STATUS_INVALID_MODEL; /* no arena that large can be allocated */
    p->views_offset = at;
    p->views_per_level = most;
    p->view_levels = levels;
    p->arena_size = at + size;
    return KILN_STATUS_OK;
}
