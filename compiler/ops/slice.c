/* slice.c - Slice: starts/ends/axes as attributes (opset < 10) or constant inputs with
 * optional axes and steps (opset >= 10). Resolves them per the spec's clamping rules into a
 * first element, a step and a count per axis; INT64_MAX/INT64_MIN work as "to the end". */
#include "ops.h"

/* Reads input i (a constant int list) or returns count -1 when it is omitted. */
static enum kiln_status opt_ints(struct kiln_infer_ctx *c, struct kiln_ir_node *n, uint32_t i,
                                 const char *what, int64_t **out, int64_t *cnt)
{
    *out = NULL;
    *cnt = -1;
    if (!kiln_in(n, i))
        return KILN_STATUS_OK;
    return kiln_const_ints(c, n, i, what, out, cnt);
}

static enum kiln_status infer_slice(struct kiln_infer_ctx *c, struct kiln_ir_node *n)
{
    struct kiln_ir_value *x = n->in[0];
    enum kiln_status st;
    int64_t *starts, *ends, *axes = NULL, *steps = NULL, ns, ne, na = -1, nst = -1;
    if ((st = kiln_check_dtype(c, n, 0, kiln_dtypes_all)))
        return st;
    if (c->g->opset < 10) {
        const int64_t *s, *e, *a;
        size_t ls, le, la;
        if ((st = kiln_attr_ints(c, n, "starts", &s, &ls)) ||
            (st = kiln_attr_ints(c, n, "ends", &e, &le)) ||
            (st = kiln_attr_ints(c, n, "axes", &a, &la)))
            return st;
        if (!s || !e)
            return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                                 "attributes 'starts' and 'ends' are required");
        starts = (int64_t *)s;
        ends = (int64_t *)e;
        axes = (int64_t *)a;
        ns = (int64_t)ls;
        ne = (int64_t)le;
        na = a ? (int64_t)la : -1;
    } else {
        if (n->n_in < 3)
            return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                                 "inputs 'starts' and 'ends' are required");
        if ((st = kiln_const_ints(c, n, 1, "starts", &starts, &ns)) ||
            (st = kiln_const_ints(c, n, 2, "ends", &ends, &ne)) ||
            (st = opt_ints(c, n, 3, "axes", &axes, &na)) ||
            (st = opt_ints(c, n, 4, "steps", &steps, &nst)))
            return st;
    }
    if (ns != ne || (na >= 0 && na != ns) || (nst >= 0 && nst != ns))
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "starts, ends, axes and steps must have the same length (%lld, "
                             "%lld, %lld, %lld)",
                             (long long)ns, (long long)ne, (long long)na, (long long)nst);
    if (ns > x->rank)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "%lld slice entries for an input of rank %d", (long long)ns,
                             x->rank);
    struct kiln_p_slice *p = kiln_node_params(c, n, sizeof *p);
    if (!p)
        return kiln_op_error(c, n, KILN_STATUS_NO_MEMORY, "out of memory");
    int64_t dims[KILN_MAX_RANK];
    for (int i = 0; i < x->rank; i++) {
        dims[i] = x->dims[i];
        p->steps[i] = 1;
    }
    unsigned seen = 0;
    for (int64_t k = 0; k < ns; k++) {
        int64_t ax = axes ? axes[k] : k, step = steps ? steps[k] : 1;
        if ((st = kiln_norm_axis(c, n, ax, x->rank, &ax)))
            return st;
        if ((seen >> ax) & 1)
            return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL, "axis %lld is repeated",
                                 (long long)ax);
        seen |= 1u << ax;
        if (step == 0)
            return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL, "steps[%lld] is 0",
                                 (long long)k);
        int64_t d = x->dims[ax], s = starts[k], e = ends[k], cnt;
        if (s < 0)
            s += d;
        if (e < 0)
            e += d;
        if (step > 0) {
            s = s < 0 ? 0 : s > d ? d : s;
            e = e < 0 ? 0 : e > d ? d : e;
            cnt = e > s ? (e - s - 1) / step + 1 : 0;
        } else {
            s = s < 0 ? 0 : s > d - 1 ? d - 1 : s;
            e = e < -1 ? -1 : e > d - 1 ? d - 1 : e;
            cnt = s > e ? (step == INT64_MIN ? 1 : (s - e - 1) / -step + 1) : 0;
        }
        dims[ax] = cnt;
        p->starts[ax] = cnt ? s : 0;
        /* a step taken at most once is irrelevant; 1 keeps the kernel's stride product small */
        p->steps[ax] = cnt > 1 ? step : 1;
    }
    return kiln_set_output(c, n, 0, x->dtype, x->rank, dims);
}

const struct kiln_op_info kiln_opi_slice = {
    .infer = infer_slice, .dtypes = "any",
    .notes = "starts, ends, axes and steps must be constant (opset >= 10 inputs)",
    .opsets = {1, 10}};
