/* control.c - the control-flow kernels: If, Loop and Scan run blocks of the program through
 * the interpreter (runtime/exec.h) and move values between the node's tensors and the block's
 * formal inputs and outputs. Shapes are static: the compiler proved every iteration sees the
 * same shapes, so the block's tensors are planned once. */
#include "../exec.h"
#include "kernels.h"

static size_t tensor_bytes(const struct kiln_tensor *t)
{
    return (size_t)kiln_tensor_numel(t) * kiln_dtype_size(t->dtype);
}

static void copy_whole(const struct kiln_tensor *dst, const struct kiln_tensor *src)
{
    size_t n = tensor_bytes(dst);
    if (n && dst->data != src->data)
        memmove(dst->data, src->data, n);
}

/* The view of block b's formal input (out = 0) or output (out = 1) number i. */
static void block_view(const struct kiln_exec *e, uint32_t b, int out, uint32_t i,
                       struct kiln_tensor *v)
{
    const struct kiln_block_desc *bd = &e->p->blocks[b];
    kiln_rt_view(e, e->p->io[bd->io_first + (out ? bd->n_in : 0) + i], v);
}

/* Moves the hyperplane `idx` of `full` along axis `ax` to or from the dense buffer `part`. */
static void plane_copy(const struct kiln_tensor *full, int ax, int64_t idx, void *part,
                       int to_part)
{
    size_t es = kiln_dtype_size(full->dtype);
    int64_t outer = 1, inner = 1;
    for (int i = 0; i < ax; i++)
        outer *= full->dims[i];
    for (int i = ax + 1; i < full->rank; i++)
        inner *= full->dims[i];
    size_t chunk = (size_t)inner * es;
    int64_t len = full->dims[ax];
    for (int64_t o = 0; o < outer; o++) {
        uint8_t *f = (uint8_t *)full->data + (size_t)(o * len + idx) * chunk;
        uint8_t *q = (uint8_t *)part + (size_t)o * chunk;
        if (chunk)
            memcpy(to_part ? q : f, to_part ? f : q, chunk);
    }
}

/* Item b of a tensor whose axis 0 is a batch (Scan-8): the same data, one axis less. */
static struct kiln_tensor batch_item(const struct kiln_tensor *t, int64_t b)
{
    struct kiln_tensor v = *t;
    v.rank = t->rank - 1;
    for (int i = 0; i < KILN_MAX_RANK - 1; i++)
        v.dims[i] = t->dims[i + 1];
    v.dims[KILN_MAX_RANK - 1] = 1;
    v.data = (uint8_t *)t->data + (size_t)b * tensor_bytes(&v);
    return v;
}

static void kiln_k_if(const struct kiln_kernel_args *a)
{
    const struct kiln_p_if *p = a->params;
    int32_t taken = *(const uint8_t *)a->in[0].data ? p->then_block : p->else_block;
    if (taken < 0) { /* refused at compile time: kiln_run_error says why */
        *a->exec->status = KILN_STATUS_UNSUPPORTED;
        return;
    }
    uint32_t b = (uint32_t)taken;
    kiln_rt_run_block(a->exec, b);
    for (uint32_t o = 0; o < a->n_out; o++) {
        struct kiln_tensor v;
        block_view(a->exec, b, 1, o, &v);
        if (a->out[o].data)
            copy_whole(&a->out[o], &v);
    }
}

static void kiln_k_loop(const struct kiln_kernel_args *a)
{
    const struct kiln_p_loop *p = a->params;
    const struct kiln_exec *e = a->exec;
    uint32_t b = (uint32_t)p->body, nc = (uint32_t)p->n_carried, ns = (uint32_t)p->n_scan;
    int64_t trip = p->max_trip;
    if (trip < 0)
        trip = a->in[0].data ? *(const int64_t *)a->in[0].data : INT64_MAX;
    int cond = a->in[1].data ? *(const uint8_t *)a->in[1].data != 0 : 1;
    struct kiln_tensor iter, bcond, cout, v, w;
    block_view(e, b, 0, 0, &iter);
    block_view(e, b, 0, 1, &bcond);
    block_view(e, b, 1, 0, &cout);
    for (uint32_t k = 0; k < nc; k++) {
        block_view(e, b, 0, 2 + k, &v);
        copy_whole(&v, &a->in[2 + k]);
    }
    int64_t i = 0;
    for (; i < trip && cond && !*e->status; i++) {
        if (iter.data)
            *(int64_t *)iter.data = i;
        if (bcond.data)
            *(uint8_t *)bcond.data = 1;
        kiln_rt_run_block(e, b);
        cond = *(const uint8_t *)cout.data != 0;
        for (uint32_t k = 0; k < nc; k++) {
            block_view(e, b, 0, 2 + k, &v);
            block_view(e, b, 1, 1 + k, &w);
            copy_whole(&v, &w);
        }
        for (uint32_t k = 0; k < ns; k++) {
            const struct kiln_tensor *o = &a->out[nc + k];
            block_view(e, b, 1, 1 + nc + k, &w);
            size_t sz = tensor_bytes(&w);
            if (o->data && i < o->dims[0] && sz)
                memcpy((uint8_t *)o->data + (size_t)i * sz, w.data, sz);
        }
    }
    for (uint32_t k = 0; k < nc; k++) {
        block_view(e, b, 0, 2 + k, &v);
        if (a->out[k].data)
            copy_whole(&a->out[k], &v);
    }
    /* scan outputs hold the iterations run (fewer than their bound when the condition
     * stopped the loop: then their extents are run-time ones) */
    for (uint32_t k = 0; k < ns; k++)
        if (a->out[nc + k].rank && i < a->out[nc + k].dims[0])
            a->out[nc + k].dims[0] = i;
}

/* One sequence of a Scan: states in the block's inputs already; ins/outs are the node's scan
 * tensors for this batch item. */
static void scan_sequence(const struct kiln_kernel_args *a, const struct kiln_tensor *ins,
                          const struct kiln_tensor *outs)
{
    const struct kiln_p_scan *p = a->params;
    const struct kiln_exec *e = a->exec;
    uint32_t b = (uint32_t)p->body, n_state = (uint32_t)p->n_state;
    struct kiln_tensor v, w;
    for (int64_t t = 0; t < p->seq_len; t++) {
        for (int32_t j = 0; j < p->n_scan_in; j++) {
            block_view(e, b, 0, n_state + (uint32_t)j, &v);
            int64_t idx = p->in_reverse[j] ? p->seq_len - 1 - t : t;
            plane_copy(&ins[j], p->in_axis[j], idx, v.data, 1);
        }
        kiln_rt_run_block(e, b);
        for (uint32_t s = 0; s < n_state; s++) {
            block_view(e, b, 0, s, &v);
            block_view(e, b, 1, s, &w);
            copy_whole(&v, &w);
        }
        for (int32_t k = 0; k < p->n_scan_out; k++) {
            if (!outs[k].data)
                continue;
            block_view(e, b, 1, n_state + (uint32_t)k, &w);
            int64_t idx = p->out_reverse[k] ? p->seq_len - 1 - t : t;
            plane_copy(&outs[k], p->out_axis[k], idx, w.data, 0);
        }
    }
}

static void kiln_k_scan(const struct kiln_kernel_args *a)
{
    const struct kiln_p_scan *p = a->params;
    const struct kiln_exec *e = a->exec;
    uint32_t b = (uint32_t)p->body, n_state = (uint32_t)p->n_state;
    uint32_t first = p->batch ? 1 : 0;
    struct kiln_tensor ins[KILN_MAX_SCAN_IO], outs[KILN_MAX_SCAN_IO], v;
    int64_t items = p->batch ? p->batch : 1;
    for (int64_t bi = 0; bi < items; bi++) {
        for (uint32_t s = 0; s < n_state; s++) {
            block_view(e, b, 0, s, &v);
            struct kiln_tensor init = p->batch ? batch_item(&a->in[first + s], bi) : a->in[first + s];
            copy_whole(&v, &init);
        }
        for (int32_t j = 0; j < p->n_scan_in; j++) {
            const struct kiln_tensor *t = &a->in[first + n_state + (uint32_t)j];
            ins[j] = p->batch ? batch_item(t, bi) : *t;
        }
        for (int32_t k = 0; k < p->n_scan_out; k++) {
            const struct kiln_tensor *t = &a->out[n_state + (uint32_t)k];
            outs[k] = p->batch && t->data ? batch_item(t, bi) : *t;
        }
        scan_sequence(a, ins, outs);
        for (uint32_t s = 0; s < n_state; s++) {
            if (!a->out[s].data)
                continue;
            block_view(e, b, 0, s, &v);
            struct kiln_tensor fin = p->batch ? batch_item(&a->out[s], bi) : a->out[s];
            copy_whole(&fin, &v);
        }
    }
}

KILN_KERNELS(if, KILN_K(kiln_k_if, UNDEFINED));
KILN_KERNELS(loop, KILN_K(kiln_k_loop, UNDEFINED));
KILN_KERNELS(scan, KILN_K(kiln_k_scan, UNDEFINED));
