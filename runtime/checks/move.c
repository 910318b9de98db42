/* move.c - load-time checks of the data-movement and indexing ops (copy.c, transpose.c,
 * slice.c, pad.c, expand.c, concat.c, split_tile.c, gather.c, scatter.c, fill.c, one_hot.c,
 * trilu.c, depth_to_space.c, reverse_sequence.c, compress.c, unique.c): every index range the kernels
 * walk stays inside their operands. */
#define KILN_CK_FILE "checks/move.c"
#include "check.h"

/* Identity, Dropout and the view ops: the output takes the input's bytes. */
static int check_copy(struct kiln_vctx *v)
{
    desc *x = v->in[0], *y = v->out[0], *mask = v->n->n_out > 1 ? v->out[1] : NULL;
    if (x->dtype != y->dtype || x->nbytes != y->nbytes)
        return BAD("the output (%s, %llu bytes) does not take the input's %s, %llu bytes",
                   kiln_dtype_name(y->dtype), U(y->nbytes), kiln_dtype_name(x->dtype),
                   U(x->nbytes));
    if (present(mask) && (mask->dtype != KILN_DTYPE_BOOL || numel(mask) != numel(y)))
        return BAD("the mask output must be bool with the output's size");
    return 0;
}

static int check_transpose(struct kiln_vctx *v)
{
    const struct kiln_p_transpose *p = v->params;
    desc *x = v->in[0], *y = v->out[0];
    unsigned seen = 0;
    if (x->dtype != y->dtype || x->rank != y->rank)
        return BAD("output type or rank differs from the input's");
    for (int i = 0; i < KILN_MAX_RANK; i++) {
        int32_t a = p->perm[i];
        if (i >= x->rank) {
            if (a)
                return BAD("perm[%d] is set past the rank", i);
            continue;
        }
        if (a < 0 || a >= x->rank || (seen >> a) & 1)
            return BAD("perm is not a permutation of the %d axes", x->rank);
        seen |= 1u << a;
        if (y->dims[i] != x->dims[a])
            return BAD("output axis %d has %lld, input axis %d has %lld", i, L(y->dims[i]), a,
                       L(x->dims[a]));
    }
    return 0;
}

static int check_slice(struct kiln_vctx *v)
{
    const struct kiln_p_slice *p = v->params;
    desc *x = v->in[0], *y = v->out[0];
    if (x->dtype != y->dtype || x->rank != y->rank)
        return BAD("output type or rank differs from the input's");
    if (numel(y) == 0)
        return 0; /* the kernel copies nothing */
    for (int i = 0; i < x->rank; i++) {
        int64_t n = x->dims[i], c = y->dims[i], s = p->starts[i], st = p->steps[i];
        int ok = st != 0 && s >= 0 && s < n;
        if (ok && c > 1) /* the last element start + (c-1)*st must stay inside [0, n) */
            ok = st > 0 ? (c - 1) <= (n - 1 - s) / st : (c - 1) <= s / -st;
        if (!ok || st == INT64_MIN)
            return BAD("axis %d: start %lld, step %lld and count %lld leave the input's %lld", i,
                       L(s), L(st), L(c), L(n));
    }
    return 0;
}

static int check_pad(struct kiln_vctx *v)
{
    const struct kiln_p_pad *p = v->params;
    desc *x = v->in[0], *y = v->out[0], *cv = v->n->n_in > 2 ? v->in[2] : NULL;
    uint64_t table = 0;
    if (x->dtype != y->dtype || x->rank != y->rank || p->mode < 0 || p->mode > KILN_PAD_WRAP ||
        p->reserved)
        return BAD("output type or rank differs from the input's, or bad mode %d", p->mode);
    if (present(cv) && (cv->dtype != x->dtype || numel(cv) < 1))
        return BAD("the constant value must be one element of the input's type");
    for (int i = 0; i < KILN_MAX_RANK; i++) {
        int64_t b = p->begin[i], e = p->end[i];
        if (i >= x->rank) {
            if (b || e)
                return BAD("pads set past the rank");
            continue;
        }
        if (b < -MAX_ELEMS || b > MAX_ELEMS || e < -MAX_ELEMS || e > MAX_ELEMS ||
            x->dims[i] + b + e != y->dims[i])
            return BAD("axis %d: %lld + pads %lld, %lld is not the output's %lld", i,
                       L(x->dims[i]), L(b), L(e), L(y->dims[i]));
        table += (uint64_t)y->dims[i];
    }
    if (numel(y) == 0)
        return 0;
    if (x->rank == 0 && numel(x) < 1)
        return BAD("empty input");
    return kiln_ck_scratch(v, mulc(table, sizeof(int64_t)));
}

static int check_expand(struct kiln_vctx *v)
{
    if (v->in[0]->dtype != v->out[0]->dtype || !kiln_ck_bcast_to(v->in[0], 0, v->out[0]))
        return BAD("the input does not broadcast to the output's shape");
    return 0;
}

/* Concat and Split: the n parts (all present; the node's tensors first..first + n - 1) laid
 * end to end along axis make the whole. */
static int check_parts(struct kiln_vctx *v, desc *whole, uint32_t first, uint32_t n)
{
    const struct kiln_p_axis *p = v->params;
    int64_t sum = 0;
    if (kiln_ck_axis(v, p->axis, whole->rank))
        return 1;
    for (uint32_t i = 0; i < n; i++) {
        desc *x = vin(v, first + i);
        if (!present(x) || x->dtype != whole->dtype || x->rank != whole->rank)
            return BAD("part %u is omitted or has another type or rank", i);
        for (int k = 0; k < whole->rank; k++)
            if (k != p->axis && x->dims[k] != whole->dims[k])
                return BAD("part %u: axis %d has %lld, not %lld", i, k, L(x->dims[k]),
                           L(whole->dims[k]));
        sum += x->dims[p->axis];
    }
    if (sum != whole->dims[p->axis])
        return BAD("the parts' axis lengths sum to %lld, not %lld", L(sum),
                   L(whole->dims[p->axis]));
    return 0;
}

static int check_concat(struct kiln_vctx *v)
{
    return check_parts(v, vout(v, 0), 0, v->n->n_in);
}

static int check_split(struct kiln_vctx *v)
{
    return check_parts(v, vin(v, 0), v->n->n_in, v->n->n_out);
}

static int check_gather(struct kiln_vctx *v)
{
    const struct kiln_p_axis *p = v->params;
    desc *x = v->in[0], *ind = v->in[1], *y = v->out[0];
    int ax = (int)p->axis, r = 0;
    if (p->axis < 0 || p->axis >= x->rank || x->dtype != y->dtype ||
        (ind->dtype != KILN_DTYPE_I64 && ind->dtype != KILN_DTYPE_I32) ||
        y->rank != x->rank - 1 + ind->rank)
        return BAD("axis %lld, index type %s or output rank %d do not fit", L(p->axis),
                   kiln_dtype_name(ind->dtype), y->rank);
    for (int i = 0; i < x->rank; i++) {
        for (int k = 0; i == ax && k < ind->rank; k++)
            if (y->dims[r++] != ind->dims[k])
                return BAD("output shape is not data[:axis] + indices + data[axis+1:]");
        if (i != ax && y->dims[r++] != x->dims[i])
            return BAD("output shape is not data[:axis] + indices + data[axis+1:]");
    }
    return 0;
}

/* ConstantOfShape and Range: the output from the params; the integer sequence must not
 * overflow (the kernel computes i + k * di for every element). */
static int check_fill(struct kiln_vctx *v)
{
    const struct kiln_p_fill *p = v->params;
    int64_t n = numel(v->out[0]), last;
    if (!kiln_dtype_size(v->out[0]->dtype))
        return BAD("output of unknown type");
    if (n > 1 && (__builtin_mul_overflow(n - 1, p->di, &last) ||
                  __builtin_add_overflow(p->i, last, &last)))
        return BAD("the sequence overflows int64");
    return 0;
}

static int check_tile(struct kiln_vctx *v)
{
    desc *x = v->in[0], *y = v->out[0];
    if (x->dtype != y->dtype || x->rank != y->rank)
        return BAD("output type or rank differs from the input's");
    for (int i = 0; i < x->rank; i++)
        if (x->dims[i] ? y->dims[i] % x->dims[i] : y->dims[i])
            return BAD("axis %d: %lld is not a multiple of the input's %lld", i, L(y->dims[i]),
                       L(x->dims[i]));
    return 0;
}

/* GatherElements and ScatterElements/Scatter: indices of the data's rank walking the data's
 * strides on every axis but `axis`, where an index (clamped or skipped) replaces the
 * coordinate. */
static int check_elements(struct kiln_vctx *v, int64_t axis, desc *ind)
{
    desc *x = v->in[0];
    if (kiln_ck_axis(v, axis, x->rank))
        return 1;
    if (ind->rank != x->rank || (x->dims[axis] < 1 && numel(ind) > 0))
        return BAD("indices of rank %d for data of rank %d, or an empty axis", ind->rank,
                   x->rank);
    for (int k = 0; k < x->rank; k++)
        if (k != axis && ind->dims[k] > x->dims[k])
            return BAD("indices axis %d has %lld, the data %lld", k, L(ind->dims[k]),
                       L(x->dims[k]));
    return 0;
}

static int check_gather_elements(struct kiln_vctx *v)
{
    const struct kiln_p_axis *p = v->params;
    desc *ind = v->in[1], *y = v->out[0];
    if (check_elements(v, p->axis, ind))
        return 1;
    if (y->dtype != v->in[0]->dtype || !same_shape(y, ind))
        return BAD("the output must have the data's type and the indices' shape");
    return 0;
}

/* The scatters: the output is the data updated in place; reductions need a typed kernel. */
static int check_scatter(struct kiln_vctx *v)
{
    const struct kiln_p_scatter *p = v->params;
    desc *x = v->in[0], *ind = v->in[1], *u = v->in[2], *y = v->out[0];
    if (p->reduction < 0 || p->reduction > KILN_SCATTER_MIN || p->reserved ||
        (p->reduction && !v->kd))
        return BAD("reduction %d", p->reduction);
    if (!same_td(x, y) || u->dtype != x->dtype || (v->kd && x->dtype != v->kd))
        return BAD("the output and updates must have the data's type and shape");
    if (v->n->op == KILN_OP_SCATTER_ND) {
        int L = ind->rank ? (int)ind->dims[ind->rank - 1] : -1;
        if (L < 0 || L > x->rank ||
            mulc(kiln_ck_prodc(ind->dims, ind->rank - 1),
                 kiln_ck_prodc(x->dims + L, x->rank - L)) != (uint64_t)numel(u))
            return BAD("index depth %d or updates' size do not fit data of rank %d", L, x->rank);
        return 0;
    }
    if (check_elements(v, p->axis, ind))
        return 1;
    if (!same_shape(u, ind))
        return BAD("the updates must have the indices' shape");
    return 0;
}

static int check_gather_nd(struct kiln_vctx *v)
{
    const struct kiln_p_gather_nd *p = v->params;
    desc *x = v->in[0], *ind = v->in[1], *y = v->out[0];
    int64_t b = p->batch_dims, L = ind->rank ? ind->dims[ind->rank - 1] : -1;
    if (b < 0 || b >= ind->rank || L < 0 || L > x->rank - b || y->dtype != x->dtype)
        return BAD("batch_dims %lld and index depth %lld do not fit data of rank %d", L(b), L(L),
                   x->rank);
    for (int i = 0; i < b; i++)
        if (ind->dims[i] != x->dims[i])
            return BAD("batch axis %d: indices %lld, data %lld", i, L(ind->dims[i]),
                       L(x->dims[i]));
    uint64_t tuples = kiln_ck_prodc(ind->dims, ind->rank - 1);
    for (int j = 0; j < L; j++)
        if (x->dims[b + j] < 1 && tuples)
            return BAD("indexed axis %lld is empty", L(b + j));
    if (mulc(tuples, kiln_ck_prodc(x->dims + b + L, x->rank - (int)(b + L))) != (uint64_t)numel(y))
        return BAD("the output has %lld elements; the indices select more", L(numel(y)));
    return 0;
}

static int check_one_hot(struct kiln_vctx *v)
{
    const struct kiln_p_one_hot *p = v->params;
    desc *ind = v->in[0], *vals = v->in[2], *y = v->out[0];
    if (p->axis < 0 || p->axis > ind->rank || y->rank != ind->rank + 1 || numel(vals) < 2 ||
        vals->dtype != y->dtype)
        return BAD("axis %lld, output rank %d or the two values do not fit", L(p->axis), y->rank);
    for (int i = 0, k = 0; i < y->rank; i++)
        if (y->dims[i] != (i == p->axis ? p->depth : ind->dims[k++]))
            return BAD("output axis %d is not the indices' shape with depth %lld inserted", i,
                       L(p->depth));
    return 0;
}

static int check_diag(struct kiln_vctx *v)
{
    const struct kiln_p_diag *p = v->params;
    desc *x = v->in[0], *y = v->out[0];
    int eye = v->n->op == KILN_OP_EYE_LIKE;
    if ((p->upper & ~1) || p->reserved || p->k < -MAX_ELEMS || p->k > MAX_ELEMS)
        return BAD("k %lld or flags out of range", L(p->k));
    if (eye ? y->rank != 2 : (x->rank < 2 || !same_td(x, y)))
        return BAD("needs matrices (rank %d)", y->rank);
    return 0;
}

/* DepthToSpace, SpaceToDepth: the output read as one strided walk over the input. */
static int check_strided(struct kiln_vctx *v)
{
    const struct kiln_p_strided *p = v->params;
    desc *x = v->in[0], *y = v->out[0];
    if (x->dtype != y->dtype || p->rank < 0 || p->rank > KILN_MAX_RANK || p->reserved ||
        kiln_ck_prodc(p->dims, p->rank) != (uint64_t)numel(y) ||
        !kiln_ck_strided_fits(p->dims, p->strides, p->rank, numel(x)))
        return BAD("the strided view does not fit the input and output");
    return 0;
}

static int check_reverse_sequence(struct kiln_vctx *v)
{
    const struct kiln_p_reverse_sequence *p = v->params;
    desc *x = v->in[0];
    if (x->rank < 2 || (p->batch_axis | p->time_axis) != 1 || (p->batch_axis & p->time_axis) ||
        !same_td(x, v->out[0]) || numel(v->in[1]) < x->dims[p->batch_axis])
        return BAD("axes %d, %d, rank %d or the lengths do not fit", p->batch_axis, p->time_axis,
                   x->rank);
    return 0;
}

static int check_compress(struct kiln_vctx *v)
{
    const struct kiln_p_compress *p = v->params;
    desc *x = v->in[0];
    if ((p->axis != -1 && kiln_ck_axis(v, p->axis, x->rank)) || x->dtype != v->out[0]->dtype ||
        v->in[1]->dtype != KILN_DTYPE_BOOL)
        return BAD("axis %lld, a bool condition and the input's type", L(p->axis));
    return 0;
}

/* ---- the ops' checks (kiln_oc_<op>, reached through their kernel lists) ---- */

/* NonZero: [rank, count] int64; the kernel keeps count within the output's bound. */
static int check_non_zero(struct kiln_vctx *v)
{
    desc *x = v->in[0], *y = v->out[0];
    if (y->dtype != KILN_DTYPE_I64 || y->rank != 2 || y->dims[0] != (x->rank ? x->rank : 1) ||
        !kiln_dtype_size(x->dtype))
        return BAD("output int64[%lld, n] for an input of rank %u", L(y->dims[0]), x->rank);
    return 0;
}

/* Unique: Y is X with the unique axis (or the flattened input) bounded by y->dims[axis];
 * indices and counts hold as many, inverse_indices one per slice of X. */
static int check_unique(struct kiln_vctx *v)
{
    const struct kiln_p_unique *p = v->params;
    desc *x = v->in[0], *y = v->out[0], *ind = opt_out(v, 1), *inv = opt_out(v, 2),
         *cnt = opt_out(v, 3);
    int flat = y->rank == 1 && x->rank != 1;
    if ((p->sorted & ~1) || p->axis < 0 || p->axis >= (int)y->rank || y->dtype != x->dtype ||
        (!flat && y->rank != x->rank) || p->len < 0 || p->outer < 0 || p->inner < 0 ||
        mulc(mulc((uint64_t)p->outer, (uint64_t)p->len), (uint64_t)p->inner) !=
            (uint64_t)numel(x) ||
        (!flat && x->dims[p->axis] != p->len))
        return BAD("axis %d, slices %lld x %lld x %lld for the input", p->axis, L(p->outer),
                   L(p->len), L(p->inner));
    for (int i = 0; !flat && i < x->rank; i++)
        if (i != p->axis && y->dims[i] != x->dims[i])
            return BAD("output axis %d has %lld", i, L(y->dims[i]));
    if (flat && (p->outer != 1 || p->inner != 1))
        return BAD("the flattened form with slices");
    int64_t u = y->dims[p->axis];
    desc *o[3] = {ind, inv, cnt};
    for (int k = 0; k < 3; k++)
        if (present(o[k]) && (o[k]->dtype != KILN_DTYPE_I64 || o[k]->rank != 1 ||
                              o[k]->dims[0] != (k == 1 ? p->len : u)))
            return BAD("output %d is not int64[%lld]", k + 1, L(k == 1 ? p->len : u));
    return u > p->len ? BAD("%lld unique slices of %lld", L(u), L(p->len))
                      : kiln_ck_scratch(v, mulc((uint64_t)(p->len ? p->len : 1), 40));
}

KILN_CHECK(identity, check_copy, 0);
KILN_CHECK(dropout, check_copy, 0);
KILN_CHECK(flatten, check_copy, 0);
KILN_CHECK(reshape, check_copy, 0);
KILN_CHECK(squeeze, check_copy, 0);
KILN_CHECK(unsqueeze, check_copy, 0);
KILN_CHECK(transpose, check_transpose, sizeof(struct kiln_p_transpose));
KILN_CHECK(slice, check_slice, sizeof(struct kiln_p_slice));
KILN_CHECK(pad, check_pad, sizeof(struct kiln_p_pad));
KILN_CHECK(center_crop_pad, check_pad, sizeof(struct kiln_p_pad));
KILN_CHECK(expand, check_expand, 0);
KILN_CHECK(concat, check_concat, sizeof(struct kiln_p_axis));
KILN_CHECK(split, check_split, sizeof(struct kiln_p_axis));
KILN_CHECK(gather, check_gather, sizeof(struct kiln_p_axis));
KILN_CHECK(constant_of_shape, check_fill, sizeof(struct kiln_p_fill));
KILN_CHECK(range, check_fill, sizeof(struct kiln_p_fill));
/* Tile-1's third input (axis) is refused by the compiler: two inputs at most */
KILN_CHECK_LOWERED(tile, check_tile, 1, 2, 1, 1, 0);
KILN_CHECK(gather_elements, check_gather_elements, sizeof(struct kiln_p_axis));
KILN_CHECK(scatter, check_scatter, sizeof(struct kiln_p_scatter));
KILN_CHECK(scatter_elements, check_scatter, sizeof(struct kiln_p_scatter));
KILN_CHECK(scatter_nd, check_scatter, sizeof(struct kiln_p_scatter));
KILN_CHECK(gather_nd, check_gather_nd, sizeof(struct kiln_p_gather_nd));
KILN_CHECK(one_hot, check_one_hot, sizeof(struct kiln_p_one_hot));
KILN_CHECK(trilu, check_diag, sizeof(struct kiln_p_diag));
KILN_CHECK(eye_like, check_diag, sizeof(struct kiln_p_diag));
KILN_CHECK(depth_to_space, check_strided, sizeof(struct kiln_p_strided));
KILN_CHECK(space_to_depth, check_strided, sizeof(struct kiln_p_strided));
KILN_CHECK(reverse_sequence, check_reverse_sequence, sizeof(struct kiln_p_reverse_sequence));
KILN_CHECK(compress, check_compress, sizeof(struct kiln_p_compress));
KILN_CHECK(non_zero, check_non_zero, 0);
KILN_CHECK(unique, check_unique, sizeof(struct kiln_p_unique));
