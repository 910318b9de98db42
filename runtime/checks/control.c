/* control.c - load-time checks of If, Loop and Scan (kernels control.c): the blocks they run
 * exist with the right number of formal inputs and outputs, and every value copied into or
 * out of a block keeps its type and shape and lands in writable storage. */
#define KILN_CK_FILE "checks/control.c"
#include "check.h"

/* Formal input (out = 0) or output (out = 1) i of block b; the block's io range was checked. */
static desc *block_io(struct kiln_vctx *v, int32_t b, int out, uint32_t i)
{
    const struct kiln_block_desc *bd = &v->p->blocks[b];
    return &v->p->tensors[v->p->io[bd->io_first + (out ? bd->n_in : 0) + i]];
}

/* Block b exists with n_in formal inputs (ANY_IN: not used by the kernel) and n_out outputs. */
#define ANY_IN UINT32_MAX
static int check_block_ref(struct kiln_vctx *v, int32_t b, uint32_t n_in, uint32_t n_out)
{
    const struct kiln_block_desc *bd = &v->p->blocks[b < 0 ? 0 : b];
    if (b < 0 || (uint32_t)b >= v->p->n_blocks || (n_in != ANY_IN && bd->n_in != n_in) ||
        bd->n_out != n_out)
        return BAD("block %d of %u, or it lacks %u outputs and %d inputs", b, v->p->n_blocks,
                   n_out, (int)n_in);
    return 0;
}

/* The kernel copies src over dst whole: both present with one type and shape; a block's formal
 * input (into_block) is always written, an omitted node output is skipped. */
static int flow(struct kiln_vctx *v, desc *dst, desc *src, int into_block)
{
    if (!into_block && !present(dst))
        return 0;
    if (!present(src) || !present(dst) || !same_td(dst, src) || (into_block && !writable(dst)))
        return BAD("a value passed into or out of a block is omitted, read-only or of another "
                   "type or shape");
    return 0;
}

/* t without its first `lead` axes (0 or 1) and without axis ax of the rest (-1: none) has
 * part's type and shape: a batch item, a loop iteration's slice, a scan plane. */
static int sub_of(desc *t, int lead, int ax, desc *part)
{
    int r = t->rank - lead - (ax >= 0);
    if (!present(t) || !present(part) || t->dtype != part->dtype || r != part->rank)
        return 0;
    for (int i = 0, k = lead; i < r; i++, k++)
        if (t->dims[k += k - lead == ax] != part->dims[i])
            return 0;
    return 1;
}

/* A scalar the kernel reads or writes (Loop's trip count, conditions, iteration number). */
static int scalar_of(desc *t, int dt)
{
    return t->dtype == dt && numel(t) >= 1;
}

static int check_if(struct kiln_vctx *v)
{
    const struct kiln_p_if *p = v->params;
    if (!scalar_of(vin(v, 0), KILN_DTYPE_BOOL))
        return BAD("the condition must be one bool");
    for (int k = 0; k < 2; k++) {
        int32_t b = k ? p->else_block : p->then_block;
        if (b < 0 && (uint64_t)(-1 - (int64_t)b) < v->p->strings_size)
            continue; /* a refused branch: the run fails with the message at -1 - b */
        if (check_block_ref(v, b, ANY_IN, v->n->n_out))
            return 1;
        for (uint32_t o = 0; o < v->n->n_out; o++)
            if (flow(v, vout(v, o), block_io(v, b, 1, o), 0))
                return 1;
    }
    return 0;
}

/* Loop: node inputs (M, cond, carried..., [implicit...]), outputs (carried..., scan...); body
 * inputs (iteration, cond, carried...), outputs (cond, carried..., scan...). */
static int check_loop(struct kiln_vctx *v)
{
    const struct kiln_p_loop *p = v->params;
    desc *m = opt_in(v, 0), *c = opt_in(v, 1);
    uint32_t nc = (uint32_t)p->n_carried, ns = (uint32_t)p->n_scan;
    if (p->n_carried < 0 || p->n_scan < 0 || p->reserved || p->max_trip < -1 ||
        (p->max_trip < 0 && ns) || v->n->n_in < 2 + nc || v->n->n_out != nc + ns ||
        (m && !scalar_of(m, KILN_DTYPE_I64)) || (c && !scalar_of(c, KILN_DTYPE_BOOL)))
        return BAD("%d carried and %d scan values, trip bound %lld, or the trip count and "
                   "condition do not fit the node's inputs and outputs",
                   p->n_carried, p->n_scan, L(p->max_trip));
    int32_t b = p->body;
    if (check_block_ref(v, b, 2 + nc, 1 + nc + ns))
        return 1;
    desc *it = block_io(v, b, 0, 0), *bc = block_io(v, b, 0, 1), *co = block_io(v, b, 1, 0);
    if ((present(it) && !(scalar_of(it, KILN_DTYPE_I64) && writable(it))) ||
        (present(bc) && !(scalar_of(bc, KILN_DTYPE_BOOL) && writable(bc))) ||
        !present(co) || !scalar_of(co, KILN_DTYPE_BOOL))
        return BAD("the body's iteration number, condition input or condition output");
    for (uint32_t k = 0; k < nc; k++) {
        desc *bin = block_io(v, b, 0, 2 + k);
        if (flow(v, bin, vin(v, 2 + k), 1) || flow(v, bin, block_io(v, b, 1, 1 + k), 1) ||
            flow(v, vout(v, k), bin, 0))
            return 1;
    }
    for (uint32_t k = 0; k < ns; k++) {
        desc *o = vout(v, nc + k), *w = block_io(v, b, 1, 1 + nc + k);
        if (!present(w) || (present(o) && (!sub_of(o, 1, -1, w) || o->dims[0] != p->max_trip)))
            return BAD("scan output %u is not %lld iterations of the body's output", k,
                       L(p->max_trip));
    }
    return 0;
}

/* Scan: node inputs ([sequence_lens,] state..., scan...), outputs (state..., scan...); body
 * inputs (state..., slice...), outputs (state..., slice...). With a batch (opset 8) every
 * node tensor has it as axis 0 and the body sees one item. */
static int check_scan(struct kiln_vctx *v)
{
    const struct kiln_p_scan *p = v->params;
    int lead = p->batch ? 1 : 0;
    uint32_t first = (uint32_t)lead, st = (uint32_t)p->n_state;
    uint32_t si = (uint32_t)p->n_scan_in, so = (uint32_t)p->n_scan_out;
    if (p->n_state < 0 || p->n_scan_in < 0 || p->n_scan_in > KILN_MAX_SCAN_IO ||
        p->n_scan_out < 0 || p->n_scan_out > KILN_MAX_SCAN_IO || p->seq_len < 0 || p->batch < 0 ||
        v->n->n_in < first + st + si || v->n->n_out != st + so)
        return BAD("%d states, %d scan inputs, %d scan outputs, length %lld, batch %lld",
                   p->n_state, p->n_scan_in, p->n_scan_out, L(p->seq_len), L(p->batch));
    int32_t b = p->body;
    if (check_block_ref(v, b, st + si, st + so))
        return 1;
    for (uint32_t j = 0; j < st + si + so; j++) {
        /* node tensor, body tensor, axis of the sequence (-1 for states) */
        int scan_in = j >= st && j < st + si, scan_out = j >= st + si;
        desc *t = scan_out ? vout(v, j - si) : vin(v, first + j);
        desc *body = block_io(v, b, scan_out, scan_out ? j - si : j);
        int ax = scan_in ? p->in_axis[j - st] : scan_out ? p->out_axis[j - st - si] : -1;
        if (scan_out && !present(t))
            continue;
        if ((scan_in && !writable(body)) ||
            (lead && (t->rank < 1 || t->dims[0] != p->batch)) ||
            (ax >= 0 && (ax >= t->rank - lead || t->dims[lead + ax] != p->seq_len)) ||
            !sub_of(t, lead, ax, body))
            return BAD("%s %u does not fit the body's tensor (axis %d)",
                       scan_out ? "scan output" : scan_in ? "scan input" : "state",
                       scan_out ? j - st - si : scan_in ? j - st : j, ax);
    }
    for (uint32_t s = 0; s < st; s++) {
        desc *bin = block_io(v, b, 0, s), *init = vin(v, first + s), *fin = vout(v, s);
        if (flow(v, bin, block_io(v, b, 1, s), 1) || !writable(bin) ||
            (present(fin) && !same_td(fin, init)))
            return BAD("state %u changes type or shape", s);
    }
    return 0;
}

/* ---- the ops' checks (kiln_oc_<op>, reached through their kernel lists) ---- */

/* Lowered control flow also takes the outer values its bodies read as inputs, and its outputs
 * (and Loop's and Scan's optional inputs) may be omitted: the checks above count them. */
KILN_CHECK_LOWERED(if, check_if, 1, KILN_CK_ANY, 0, KILN_CK_ANY, sizeof(struct kiln_p_if));
KILN_CHECK_LOWERED(loop, check_loop, 0, KILN_CK_ANY, 0, KILN_CK_ANY, sizeof(struct kiln_p_loop));
KILN_CHECK_LOWERED(scan, check_scan, 0, KILN_CK_ANY, 0, KILN_CK_ANY, sizeof(struct kiln_p_scan));
