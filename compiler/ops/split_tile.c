/* split_tile.c - Split and Tile. Split sizes come from the `split` attribute (opsets 1-12) or
 * the optional constant `split` input (opset 1, and from 13); without them the axis is split
 * evenly, from opset 18 into `num_outputs` parts (which must be the node's output count) with
 * its rounding: every part ceil(len / n) long, the last one shorter.
 * Tile's repeats must be constant; opset 1's Tile (tiles and axis inputs) is refused. */
#include "ops.h"

static enum kiln_status infer_split(struct kiln_infer_ctx *c, struct kiln_ir_node *n)
{
    struct kiln_ir_value *x = n->in[0];
    enum kiln_status st;
    int64_t axis, *sizes = NULL, count = 0;
    if ((st = kiln_attr_int(c, n, "axis", 0, &axis)))
        return st;
    if (x->rank == 0)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL, "input must have rank >= 1");
    if ((st = kiln_norm_axis(c, n, axis, x->rank, &axis)))
        return st;
    /* Split-1 takes the sizes as an input or an attribute, Split-2 to 12 as an attribute */
    bool input_form = c->g->opset >= 13 || c->g->opset < 2;
    if (!input_form && n->n_in > 1)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "opset %lld takes split as an attribute, not an input",
                             (long long)c->g->opset);
    if (input_form && kiln_in(n, 1)) {
        if ((st = kiln_const_ints(c, n, 1, "split", &sizes, &count)))
            return st;
    } else if (c->g->opset < 13) {
        const int64_t *s;
        size_t len;
        if ((st = kiln_attr_ints(c, n, "split", &s, &len)))
            return st;
        sizes = (int64_t *)s;
        count = (int64_t)len;
    }
    int64_t len = x->dims[axis], parts = n->n_out, num_outputs = 0;
    if (c->g->opset >= 18 && (st = kiln_attr_int(c, n, "num_outputs", 0, &num_outputs)))
        return st;
    if (num_outputs && sizes)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "has both a split input and num_outputs; opset %lld takes one",
                             (long long)c->g->opset);
    if (c->g->opset >= 18 && !sizes && num_outputs != parts)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "num_outputs is %lld but the node has %lld outputs (opset %lld "
                             "needs num_outputs or a split input)",
                             (long long)num_outputs, (long long)parts, (long long)c->g->opset);
    if (sizes) {
        if (count != parts)
            return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                                 "split has %lld sizes for %lld outputs", (long long)count,
                                 (long long)parts);
        int64_t sum = 0;
        for (int64_t k = 0; k < count; k++) {
            if (sizes[k] < 0)
                return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                                     "split size %lld is negative", (long long)sizes[k]);
            sum += sizes[k];
        }
        if (sum != len)
            return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                                 "split sizes add up to %lld; axis %lld has %lld elements",
                                 (long long)sum, (long long)axis, (long long)len);
    } else if (len % parts && c->g->opset < 18) {
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "axis %lld (%lld elements) does not split evenly into %lld outputs",
                             (long long)axis, (long long)len, (long long)parts);
    }
    int64_t dims[KILN_MAX_RANK], chunk = (len + parts - 1) / parts, start = 0;
    for (int i = 0; i < x->rank; i++)
        dims[i] = x->dims[i];
    for (uint32_t o = 0; o < n->n_out; o++) {
        if (!n->out[o])
            return kiln_op_error(c, n, KILN_STATUS_UNSUPPORTED,
                                 "output %u is omitted; kiln needs every Split output", o);
        dims[axis] = sizes ? sizes[o] : (len - start < chunk ? len - start : chunk);
        start += dims[axis];
        if ((st = kiln_set_output(c, n, o, x->dtype, x->rank, dims)))
            return st;
    }
    struct kiln_p_axis *p = kiln_node_params(c, n, sizeof *p);
    if (!p)
        return kiln_op_error(c, n, KILN_STATUS_NO_MEMORY, "out of memory");
    p->axis = axis;
    return KILN_STATUS_OK;
}

static enum kiln_status infer_tile(struct kiln_infer_ctx *c, struct kiln_ir_node *n)
{
    struct kiln_ir_value *x = n->in[0];
    enum kiln_status st;
    int64_t *reps, count;
    if ((st = kiln_check_since(c, n, "form with 'tiles' and 'axis' inputs")))
        return st;
    if (n->n_in > 2)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "has %u inputs; from opset 6 Tile takes 2 (input, repeats)", n->n_in);
    if ((st = kiln_const_ints(c, n, 1, "repeats", &reps, &count)))
        return st;
    if (count != x->rank)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "repeats has %lld entries; the input has rank %d", (long long)count,
                             x->rank);
    int64_t dims[KILN_MAX_RANK];
    for (int i = 0; i < x->rank; i++) {
        if (reps[i] < 0)
            return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                                 "repeats[%d] = %lld is negative", i, (long long)reps[i]);
        if (reps[i] && x->dims[i] > INT64_MAX / 16 / reps[i])
            return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                                 "repeats[%d] = %lld overflows the output size", i,
                                 (long long)reps[i]);
        dims[i] = x->dims[i] * reps[i];
    }
    return kiln_set_output(c, n, 0, x->dtype, x->rank, dims);
}

const struct kiln_op_info kiln_opi_split = {
    .infer = infer_split, .dtypes = "any",
    .notes = "split sizes (attribute in opsets 1-12, input in 1 and from 13) must be constant; "
             "num_outputs from opset 18 (the last part shorter)",
    .opsets = {1, 2, 13, 18}};
const struct kiln_op_info kiln_opi_tile = {
    .infer = infer_tile, .dtypes = "any",
    .notes = "repeats must be constant; opset 1's form (tiles and axis inputs) is refused",
    .opsets = {6}};
