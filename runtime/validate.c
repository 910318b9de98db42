/* validate.c - checks a struct kiln_program before the interpreter trusts it: every offset,
 * size, index, count and alignment, and per op the facts its kernel relies on (operand
 * shapes, dtypes and element sizes, parameter ranges, scratch sizes), so that a program from
 * an untrusted bundle cannot make a kernel read or write outside its buffers. One check per op
 * family, in a table indexed by op (from ops.def); an op without a check is refused. */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>

#include "kiln/bundle.h"
#include "kiln/params.h"
#include "kernels/nn.h"

#define MAX_NODE_IO 64        /* interp.c's KILN_MAX_NODE_IO */
#define MAX_ELEMS (1LL << 60) /* elements per tensor: products of dims stay far from overflow */
#define MAX_GEOM (1LL << 30)  /* window, stride, dilation and padding values */

enum {
#define KILN_OP(E, onnx, lname) OP_##E,
#include "kiln/ops.def"
#undef KILN_OP
    OP_COUNT
};

typedef const struct kiln_tensor_desc desc;

struct vctx {
    const struct kiln_program *p;
    const struct kiln_node_desc *n;
    desc *t[MAX_NODE_IO]; /* the node's inputs, then its outputs */
    desc **in, **out;
    const void *params;
    int kd; /* the element type of the kernel variant (0: moves bytes of any type) */
    const char *name;
    struct kiln_diag *d;
};

#define U(x) ((unsigned long long)(x))
#define L(x) ((long long)(x))
/* Records "node 'NAME' (Op): message" (unless an error is recorded) and returns 1 (failed).
 * A function rather than a kiln_diag_set macro: a hundred call sites stay small. */
static int bad(struct vctx *v, const char *fmt, ...)
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
#define BAD(...) bad(v, __VA_ARGS__)

static int64_t numel(desc *t)
{
    int64_t n = 1;
    for (int i = 0; i < t->rank; i++)
        n *= t->dims[i];
    return n;
}

static int present(desc *t)
{
    return t && t->storage != KILN_STORAGE_NONE;
}

static int same_shape(desc *a, desc *b)
{
    if (a->rank != b->rank)
        return 0;
    for (int i = 0; i < a->rank; i++)
        if (a->dims[i] != b->dims[i])
            return 0;
    return 1;
}

/* x, with `extra` size-1 axes appended, broadcasts (numpy rules) to exactly y's shape. */
static int bcast_to(desc *x, int extra, desc *y)
{
    int xr = x->rank + extra;
    if (xr > y->rank)
        return 0;
    for (int i = 0; i < xr; i++) {
        int64_t xd = i < x->rank ? x->dims[i] : 1, yd = y->dims[y->rank - xr + i];
        if (xd != yd && xd != 1)
            return 0;
    }
    return 1;
}

/* a * b, saturating at UINT64_MAX. */
static uint64_t mulc(uint64_t a, uint64_t b)
{
    return a && b > UINT64_MAX / a ? UINT64_MAX : a * b;
}

static int check_scratch(struct vctx *v, uint64_t need)
{
    if (v->n->scratch_size < need)
        return BAD("scratch of %llu bytes; the kernel uses %llu", U(v->n->scratch_size), U(need));
    return 0;
}

static int check_act(struct vctx *v, const struct kiln_act *a)
{
    if (a->kind < KILN_ACT_NONE || a->kind > KILN_ACT_GELU || a->reserved)
        return BAD("unknown fused activation %d", a->kind);
    return 0;
}

/* Requires dtype `want` of every listed tensor (NULL entries skipped). */
static int dtypes(struct vctx *v, int want, desc *a, desc *b, desc *c)
{
    desc *t[3] = {a, b, c};
    for (int i = 0; i < 3; i++)
        if (present(t[i]) && t[i]->dtype != want)
            return BAD("operand of type %s where the kernel handles %s",
                       kiln_dtype_name(t[i]->dtype), kiln_dtype_name(want));
    return 0;
}

/* ---- elementwise ---- */

/* Two inputs broadcast to the output; input 0 (and input 1 unless any_b) of the kernel's
 * type; the output of out_dt (0: the kernel's type). */
static int ew_binary(struct vctx *v, int out_dt, int any_b)
{
    const struct kiln_p_binary *p = v->params;
    desc *a = v->in[0], *b = v->in[1], *y = v->out[0];
    if (p->b_trailing < 0 || b->rank + p->b_trailing > KILN_MAX_RANK)
        return BAD("b_trailing %d for an operand of rank %d", p->b_trailing, b->rank);
    if (dtypes(v, v->kd, a, any_b ? NULL : b, NULL) || dtypes(v, out_dt ? out_dt : v->kd, y, 0, 0))
        return 1;
    if (any_b && (b->dtype == KILN_DTYPE_BOOL || !kiln_dtype_size(b->dtype)))
        return BAD("exponent of type %s", kiln_dtype_name(b->dtype));
    if (!bcast_to(a, 0, y) || !bcast_to(b, p->b_trailing, y))
        return BAD("the operands do not broadcast to the output's shape");
    return 0;
}

static int check_binary(struct vctx *v)
{
    return ew_binary(v, 0, 0);
}

static int check_compare(struct vctx *v)
{
    return ew_binary(v, KILN_DTYPE_BOOL, 0);
}

static int check_pow(struct vctx *v)
{
    return ew_binary(v, 0, 1);
}

static int check_variadic(struct vctx *v)
{
    desc *y = v->out[0];
    for (uint32_t i = 0; i < v->n->n_in; i++)
        if (dtypes(v, v->kd, v->in[i], 0, 0) ||
            (!bcast_to(v->in[i], 0, y) && BAD("input %u does not broadcast to the output", i)))
            return 1;
    if (v->n->n_in == 1 && numel(v->in[0]) != numel(y))
        return BAD("a single input must have the output's size");
    return dtypes(v, v->kd, y, 0, 0);
}

static int check_where(struct vctx *v)
{
    desc *y = v->out[0];
    if (dtypes(v, KILN_DTYPE_BOOL, v->in[0], 0, 0) || dtypes(v, v->kd, v->in[1], v->in[2], y))
        return 1;
    for (int i = 0; i < 3; i++)
        if (!bcast_to(v->in[i], 0, y))
            return BAD("input %d does not broadcast to the output's shape", i);
    return 0;
}

/* One input, an output of the same shape and of out_dt (0: the kernel's type). */
static int ew_unary(struct vctx *v, int out_dt)
{
    if (dtypes(v, v->kd, v->in[0], 0, 0) || dtypes(v, out_dt ? out_dt : v->kd, v->out[0], 0, 0))
        return 1;
    if (!same_shape(v->in[0], v->out[0]))
        return BAD("the output's shape differs from the input's");
    return 0;
}

static int check_unary(struct vctx *v)
{
    return ew_unary(v, 0);
}

static int check_unary_bool(struct vctx *v)
{
    return ew_unary(v, KILN_DTYPE_BOOL);
}

static int check_cast(struct vctx *v)
{
    const struct kiln_p_cast *p = v->params;
    if (p->to != v->out[0]->dtype || p->reserved)
        return BAD("casts to %s but the output is %s", kiln_dtype_name(p->to),
                   kiln_dtype_name(v->out[0]->dtype));
    return ew_unary(v, v->out[0]->dtype);
}

/* ---- data movement ---- */

/* Identity, Dropout and the view ops: the output takes the input's bytes. */
static int check_copy(struct vctx *v)
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

static int check_transpose(struct vctx *v)
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

static int check_slice(struct vctx *v)
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

static int check_pad(struct vctx *v)
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
    return check_scratch(v, mulc(table, sizeof(int64_t)));
}

static int check_expand(struct vctx *v)
{
    if (v->in[0]->dtype != v->out[0]->dtype || !bcast_to(v->in[0], 0, v->out[0]))
        return BAD("the input does not broadcast to the output's shape");
    return 0;
}

static int check_concat(struct vctx *v)
{
    const struct kiln_p_axis *p = v->params;
    desc *y = v->out[0];
    int64_t sum = 0;
    if (p->axis < 0 || p->axis >= y->rank)
        return BAD("axis %lld for rank %d", L(p->axis), y->rank);
    for (uint32_t i = 0; i < v->n->n_in; i++) {
        desc *x = v->in[i];
        if (x->dtype != y->dtype || x->rank != y->rank)
            return BAD("input %u has another type or rank than the output", i);
        for (int k = 0; k < y->rank; k++)
            if (k != p->axis && x->dims[k] != y->dims[k])
                return BAD("input %u: axis %d has %lld, the output %lld", i, k, L(x->dims[k]),
                           L(y->dims[k]));
        sum += x->dims[p->axis];
    }
    if (sum != y->dims[p->axis])
        return BAD("the inputs' axis lengths sum to %lld, the output has %lld", L(sum),
                   L(y->dims[p->axis]));
    return 0;
}

static int check_gather(struct vctx *v)
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
static int check_fill(struct vctx *v)
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

/* ---- neural network ---- */

/* x [N, C, in...] and y [N, *, out...], with out recomputed from the window (ceil: also the
 * ceil_mode length). */
static int check_window(struct vctx *v, int nsp, const struct kiln_p_window *w, desc *x, desc *y,
                        int ceil)
{
    if (nsp < 1 || nsp > KILN_MAX_SPATIAL || x->rank != nsp + 2 || y->rank != x->rank ||
        y->dims[0] != x->dims[0])
        return BAD("%d spatial axes for an input of rank %d, output of rank %d", nsp, x->rank,
                   y->rank);
    for (int i = 0; i < KILN_MAX_SPATIAL; i++) {
        int64_t k = w->kernel[i], s = w->stride[i], dl = w->dilation[i];
        int64_t pb = w->pad_begin[i], pe = w->pad_end[i];
        if (i >= nsp) {
            if (k || s || dl || pb || pe)
                return BAD("window values set past the spatial axes");
            continue;
        }
        if (k < 1 || s < 1 || dl < 1 || pb < 0 || pe < 0 || k > MAX_GEOM || s > MAX_GEOM ||
            dl > MAX_GEOM || pb > MAX_GEOM || pe > MAX_GEOM)
            return BAD("axis %d: kernel %lld, stride %lld, dilation %lld, pads %lld, %lld", i,
                       L(k), L(s), L(dl), L(pb), L(pe));
        int64_t in = x->dims[2 + i], span = in + pb + pe - ((k - 1) * dl + 1);
        int64_t lo = span / s + 1, hi = (span + s - 1) / s + 1;
        if (hi - 1 > 0 && (hi - 1) * s >= in + pb)
            hi--;
        int64_t out = y->dims[2 + i];
        if (span < 0 || (out != lo && !(ceil && out == hi)))
            return BAD("spatial axis %d: %lld outputs, the window gives %lld", i, L(out), L(lo));
    }
    return 0;
}

static int check_conv(struct vctx *v)
{
    const struct kiln_p_conv *p = v->params;
    desc *x = v->in[0], *w = v->in[1], *y = v->out[0];
    desc *b = v->n->n_in > 2 && present(v->in[2]) ? v->in[2] : NULL;
    if (dtypes(v, v->kd, x, w, y) || dtypes(v, v->kd, b, 0, 0) ||
        check_window(v, p->nsp, &p->win, x, y, 0) || check_act(v, &p->act))
        return 1;
    int64_t C = x->dims[1], M = w->dims[0], g = p->group;
    if (w->rank != x->rank || g < 1 || C % g || M % g || w->dims[1] != C / g || y->dims[1] != M)
        return BAD("weights [%lld, %lld, ...] and group %lld do not fit %lld input channels",
                   L(M), L(w->rank > 1 ? w->dims[1] : -1), L(g), L(C));
    uint64_t k_size = 1, out_size = 1, cg = (uint64_t)(C / g), es = kiln_dtype_size(v->kd);
    for (int i = 0; i < p->nsp; i++) {
        if (w->dims[2 + i] != p->win.kernel[i])
            return BAD("kernel %lld on axis %d, the weights have %lld", L(p->win.kernel[i]), i,
                       L(w->dims[2 + i]));
        k_size *= (uint64_t)p->win.kernel[i];
        out_size *= (uint64_t)y->dims[2 + i];
    }
    if (b && (b->rank != 1 || b->dims[0] != M))
        return BAD("bias must be a vector of %lld values", L(M));
    if (mulc(mulc(mulc(cg, k_size), out_size), es) > (uint64_t)MAX_ELEMS)
        return BAD("the im2col matrix is too large");
    return check_scratch(v, kiln_conv_col_bytes(p, cg, k_size, out_size, es) +
                                kiln_gemm_scratch_bytes((uint64_t)(M / g), out_size,
                                                        cg * k_size, es));
}

static int check_pool(struct vctx *v)
{
    const struct kiln_p_pool *p = v->params;
    desc *x = v->in[0], *y = v->out[0], *ind = v->n->n_out > 1 ? v->out[1] : NULL;
    if (dtypes(v, v->kd, x, y, NULL) || check_window(v, p->nsp, &p->win, x, y, 1))
        return 1;
    if (y->dims[1] != x->dims[1] || (p->count_include_pad & ~1) || (p->storage_order & ~1) ||
        p->reserved)
        return BAD("channels or flags do not fit");
    if (present(ind) && (ind->dtype != KILN_DTYPE_I64 || !same_shape(ind, y)))
        return BAD("indices must be int64 with the output's shape");
    return 0;
}

static int check_global_pool(struct vctx *v)
{
    desc *x = v->in[0], *y = v->out[0];
    if (dtypes(v, v->kd, x, y, NULL))
        return 1;
    if (x->rank < 2 || y->rank != x->rank || y->dims[0] != x->dims[0] || y->dims[1] != x->dims[1])
        return BAD("input rank %d or output shape do not fit", x->rank);
    for (int i = 2; i < x->rank; i++)
        if (y->dims[i] != 1 || (x->dims[i] < 1 && numel(y) > 0))
            return BAD("spatial axis %d: input %lld, output %lld", i, L(x->dims[i]),
                       L(y->dims[i]));
    return 0;
}

static int check_batch_norm(struct vctx *v)
{
    desc *x = v->in[0];
    if (x->rank < 2 || !same_shape(x, v->out[0]) || dtypes(v, v->kd, x, v->out[0], NULL))
        return BAD("input rank %d or output shape do not fit", x->rank);
    for (int i = 1; i < 5; i++)
        if (dtypes(v, v->kd, v->in[i], 0, 0) || numel(v->in[i]) < x->dims[1])
            return BAD("input %d needs %lld values (one per channel)", i, L(x->dims[1]));
    return 0;
}

static int check_gemm(struct vctx *v)
{
    const struct kiln_p_gemm *p = v->params;
    desc *a = v->in[0], *b = v->in[1], *y = v->out[0];
    desc *c = v->n->n_in > 2 && present(v->in[2]) ? v->in[2] : NULL;
    if (dtypes(v, v->kd, a, b, y) || dtypes(v, v->kd, c, 0, 0) || check_act(v, &p->act))
        return 1;
    if (a->rank != 2 || b->rank != 2 || y->rank != 2 || (p->trans_a & ~1) || (p->trans_b & ~1))
        return BAD("A, B and Y must be matrices");
    int64_t M = p->trans_a ? a->dims[1] : a->dims[0], K = p->trans_a ? a->dims[0] : a->dims[1];
    int64_t K2 = p->trans_b ? b->dims[1] : b->dims[0], N = p->trans_b ? b->dims[0] : b->dims[1];
    if (K != K2 || y->dims[0] != M || y->dims[1] != N)
        return BAD("op(A) %lldx%lld times op(B) %lldx%lld is not Y %lldx%lld", L(M), L(K),
                   L(K2), L(N), L(y->dims[0]), L(y->dims[1]));
    if (c && !bcast_to(c, 0, y))
        return BAD("C does not broadcast to Y");
    return check_scratch(v, kiln_gemm_scratch_bytes((uint64_t)M, (uint64_t)N, (uint64_t)K,
                                                    kiln_dtype_size(v->kd)));
}

static int check_matmul(struct vctx *v)
{
    const struct kiln_p_matmul *p = v->params;
    desc *a = v->in[0], *b = v->in[1], *y = v->out[0];
    if (dtypes(v, v->kd, a, b, y) || check_act(v, &p->act))
        return 1;
    int ra = a->rank, rb = b->rank;
    int nba = ra > 2 ? ra - 2 : 0, nbb = rb > 2 ? rb - 2 : 0;
    int nbo = y->rank - (ra >= 2) - (rb >= 2);
    if (ra < 1 || rb < 1 || nbo < 0 || nbo != (nba > nbb ? nba : nbb))
        return BAD("ranks %d, %d and output rank %d do not fit", ra, rb, y->rank);
    int64_t M = ra >= 2 ? a->dims[ra - 2] : 1, K = a->dims[ra - 1];
    int64_t K2 = rb >= 2 ? b->dims[rb - 2] : b->dims[0], N = rb >= 2 ? b->dims[rb - 1] : 1;
    if (K != K2 || (ra >= 2 && y->dims[nbo] != M) || (rb >= 2 && y->dims[y->rank - 1] != N))
        return BAD("inner dimensions %lld and %lld or the output's shape do not fit", L(K),
                   L(K2));
    int64_t batch = 1;
    for (int i = 0; i < nbo; i++) {
        int ia = i - (nbo - nba), ib = i - (nbo - nbb);
        int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
        int64_t want = da == 1 ? db : da;
        if ((da != 1 && db != 1 && da != db) || y->dims[i] != want || (nbb == 0 && da != want))
            return BAD("batch axis %d: %lld and %lld do not broadcast to %lld", i, L(da), L(db),
                       L(y->dims[i]));
        batch *= want;
    }
    uint64_t rows = (uint64_t)M * (nbb == 0 ? (uint64_t)batch : 1);
    return check_scratch(v, kiln_gemm_scratch_bytes(rows, (uint64_t)N, (uint64_t)K,
                                                    kiln_dtype_size(v->kd)));
}

static int check_softmax(struct vctx *v)
{
    const struct kiln_p_softmax *p = v->params;
    desc *x = v->in[0];
    int64_t n;
    if (dtypes(v, v->kd, x, v->out[0], NULL))
        return 1;
    if (!same_shape(x, v->out[0]))
        return BAD("the output's shape differs from the input's");
    if (p->outer < 0 || p->axis_len < 0 || p->inner < 0 ||
        __builtin_mul_overflow(p->outer, p->axis_len, &n) ||
        __builtin_mul_overflow(n, p->inner, &n) || n != numel(x) ||
        (p->axis_len == 0 && p->outer * p->inner > 0))
        return BAD("outer %lld x axis %lld x inner %lld is not the input's %lld elements",
                   L(p->outer), L(p->axis_len), L(p->inner), L(numel(x)));
    return 0;
}

/* Reductions: the output has the kept axes' elements (keepdims only changes its rank). */
static int check_reduce(struct vctx *v)
{
    const struct kiln_p_reduce *p = v->params;
    desc *x = v->in[0], *y = v->out[0];
    int64_t kept = 1;
    if (dtypes(v, v->kd, x, y, NULL))
        return 1;
    if (p->axes_mask >> x->rank || (p->keepdims & ~1) || (p->select_last_index & ~1) ||
        p->reserved)
        return BAD("axes mask %#x for rank %d", p->axes_mask, x->rank);
    for (int i = 0; i < x->rank; i++)
        kept *= (p->axes_mask >> i) & 1 ? 1 : x->dims[i];
    if (numel(y) != kept)
        return BAD("the output has %lld elements; the kept axes give %lld", L(numel(y)), L(kept));
    return 0;
}

static int check_arg(struct vctx *v)
{
    const struct kiln_p_reduce *p = v->params;
    desc *x = v->in[0];
    uint32_t m = p->axes_mask;
    if (dtypes(v, v->kd, x, 0, 0) || dtypes(v, KILN_DTYPE_I64, v->out[0], 0, 0))
        return 1;
    if (x->rank == 0 || !m || (m & (m - 1)) || m >> x->rank)
        return BAD("needs exactly one axis of %d (mask %#x)", x->rank, m);
    int ax = 0;
    while (!((m >> ax) & 1))
        ax++;
    if (x->dims[ax] < 1 && numel(v->out[0]) > 0)
        return BAD("reduces an empty axis");
    if (numel(v->out[0]) * x->dims[ax] != numel(x))
        return BAD("the output has %lld elements for an input of %lld", L(numel(v->out[0])),
                   L(numel(x)));
    return 0;
}

static int check_resize(struct vctx *v)
{
    const struct kiln_p_resize *p = v->params;
    desc *x = v->in[0], *y = v->out[0];
    uint64_t taps = 0;
    if (dtypes(v, v->kd, x, y, NULL))
        return 1;
    if (x->rank != y->rank || p->mode < 0 || p->mode > KILN_RESIZE_CUBIC || p->coord < 0 ||
        p->coord > KILN_RESIZE_TF_CROP_AND_RESIZE || p->nearest < 0 ||
        p->nearest > KILN_RESIZE_CEIL || !isfinite(p->cubic_a))
        return BAD("rank, mode %d, coordinates %d or nearest mode %d do not fit", p->mode,
                   p->coord, p->nearest);
    for (int i = 0; i < x->rank; i++) {
        if (!(p->scales[i] > 0) || !isfinite(p->scales[i]) || !isfinite(p->roi_start[i]) ||
            !isfinite(p->roi_end[i]))
            return BAD("axis %d: scale %g, roi %g..%g", i, p->scales[i], p->roi_start[i],
                       p->roi_end[i]);
        if (x->dims[i] < 1 && y->dims[i] > 0)
            return BAD("axis %d: cannot resize an empty axis", i);
        taps += (uint64_t)y->dims[i];
    }
    return check_scratch(v, mulc(taps, KILN_RESIZE_TAP_BYTES));
}

static int check_no_kernel(struct vctx *v)
{
    return BAD("has no kernel: the compiler evaluates it");
}

/* ---- the table ---- */

#define ALL 255 /* every given input is required (variadic ops) */
struct op_check {
    int (*fn)(struct vctx *v);
    uint8_t req_in, max_in, req_out, max_out; /* required inputs are the first req_in */
    uint16_t params;                         /* exact params size the kernel reads */
};
#define E(op, fn, req, max, rout, mout, P) [OP_##op] = {fn, req, max, rout, mout, P}
#define PB sizeof(struct kiln_p_binary)
#define PU sizeof(struct kiln_p_unary)
#define PR sizeof(struct kiln_p_reduce)
#define PS sizeof(struct kiln_p_softmax)
#define PRS sizeof(struct kiln_p_resize)
#define BIN(op) E(op, check_binary, 2, 2, 1, 1, PB)
#define CMP(op) E(op, check_compare, 2, 2, 1, 1, PB)
#define VAR(op) E(op, check_variadic, ALL, MAX_NODE_IO - 1, 1, 1, 0)
#define UN(op) E(op, check_unary, 1, 1, 1, 1, PU)
#define RED(op) E(op, check_reduce, 1, 2, 1, 1, PR)
#define COPY(op, max_in) E(op, check_copy, 1, max_in, 1, 1, 0)

static const struct op_check checks[OP_COUNT] = {
    BIN(ADD), BIN(SUB), BIN(MUL), BIN(DIV), E(POW, check_pow, 2, 2, 1, 1, PB), BIN(MOD),
    CMP(EQUAL), CMP(LESS), CMP(LESS_OR_EQUAL), CMP(GREATER), CMP(GREATER_OR_EQUAL),
    CMP(AND), CMP(OR), CMP(XOR), BIN(PRELU), BIN(BITSHIFT),
    VAR(MAX), VAR(MIN), VAR(SUM), VAR(MEAN), E(WHERE, check_where, 3, 3, 1, 1, 0),
    UN(RELU), UN(SIGMOID), UN(TANH), E(CLIP, check_unary, 1, 3, 1, 1, PU), UN(LEAKY_RELU),
    UN(ABS), UN(NEG), UN(EXP), UN(LOG), UN(SQRT), UN(RECIPROCAL), UN(FLOOR), UN(CEIL),
    UN(ROUND), UN(SIGN), E(NOT, check_unary_bool, 1, 1, 1, 1, PU), UN(ERF), UN(SIN), UN(COS),
    UN(TAN), UN(ASIN), UN(ACOS), UN(ATAN), UN(SINH), UN(COSH), UN(ASINH), UN(ACOSH),
    UN(ATANH), UN(ELU), UN(SELU), UN(CELU), UN(SOFTPLUS), UN(SOFTSIGN), UN(HARD_SIGMOID),
    UN(HARD_SWISH), UN(THRESHOLDED_RELU), UN(SHRINK),
    E(ISNAN, check_unary_bool, 1, 1, 1, 1, PU), E(ISINF, check_unary_bool, 1, 1, 1, 1, PU),
    E(CAST, check_cast, 1, 1, 1, 1, sizeof(struct kiln_p_cast)),
    E(CAST_LIKE, check_cast, 1, 2, 1, 1, sizeof(struct kiln_p_cast)),
    E(CONV, check_conv, 2, 3, 1, 1, sizeof(struct kiln_p_conv)),
    E(GEMM, check_gemm, 2, 3, 1, 1, sizeof(struct kiln_p_gemm)),
    E(MATMUL, check_matmul, 2, 2, 1, 1, sizeof(struct kiln_p_matmul)),
    E(MAX_POOL, check_pool, 1, 1, 1, 2, sizeof(struct kiln_p_pool)),
    E(AVERAGE_POOL, check_pool, 1, 1, 1, 1, sizeof(struct kiln_p_pool)),
    E(GLOBAL_AVERAGE_POOL, check_global_pool, 1, 1, 1, 1, 0),
    E(GLOBAL_MAX_POOL, check_global_pool, 1, 1, 1, 1, 0),
    E(BATCH_NORMALIZATION, check_batch_norm, 5, 5, 1, 5, sizeof(struct kiln_p_batch_norm)),
    E(SOFTMAX, check_softmax, 1, 1, 1, 1, PS), E(LOG_SOFTMAX, check_softmax, 1, 1, 1, 1, PS),
    E(HARDMAX, check_softmax, 1, 1, 1, 1, PS),
    RED(REDUCE_MEAN), RED(REDUCE_SUM), RED(REDUCE_MAX), RED(REDUCE_MIN), RED(REDUCE_PROD),
    RED(REDUCE_L1), RED(REDUCE_L2), RED(REDUCE_LOG_SUM), RED(REDUCE_LOG_SUM_EXP),
    RED(REDUCE_SUM_SQUARE), E(ARGMAX, check_arg, 1, 1, 1, 1, PR),
    E(ARGMIN, check_arg, 1, 1, 1, 1, PR),
    COPY(IDENTITY, 1), E(DROPOUT, check_copy, 1, 3, 1, 2, 0),
    E(CONSTANT, check_no_kernel, 0, 0, 0, 0, 0),
    COPY(FLATTEN, 1), COPY(RESHAPE, 2), COPY(SQUEEZE, 2), COPY(UNSQUEEZE, 2),
    E(TRANSPOSE, check_transpose, 1, 1, 1, 1, sizeof(struct kiln_p_transpose)),
    E(CONCAT, check_concat, ALL, MAX_NODE_IO - 1, 1, 1, sizeof(struct kiln_p_axis)),
    E(SHAPE, check_no_kernel, 0, 0, 0, 0, 0), E(SIZE, check_no_kernel, 0, 0, 0, 0, 0),
    E(GATHER, check_gather, 2, 2, 1, 1, sizeof(struct kiln_p_axis)),
    E(SLICE, check_slice, 1, 5, 1, 1, sizeof(struct kiln_p_slice)),
    E(PAD, check_pad, 1, 4, 1, 1, sizeof(struct kiln_p_pad)),
    E(EXPAND, check_expand, 1, 2, 1, 1, 0),
    E(CONSTANT_OF_SHAPE, check_fill, 0, 1, 1, 1, sizeof(struct kiln_p_fill)),
    E(RANGE, check_fill, 0, 3, 1, 1, sizeof(struct kiln_p_fill)),
    E(RESIZE, check_resize, 1, 4, 1, 1, PRS), E(UPSAMPLE, check_resize, 1, 2, 1, 1, PRS),
};

int kiln_validate_op_known(uint32_t op)
{
    return op < OP_COUNT && checks[op].fn != NULL;
}

/* ---- the program ---- */

#define PBAD(...) kiln_diag_set(d, KILN_STATUS_INVALID_MODEL, NULL, NULL, __VA_ARGS__)

static enum kiln_status check_tensor(const struct kiln_program *p, uint32_t i,
                                     struct kiln_diag *d)
{
    desc *t = &p->tensors[i];
    size_t es = kiln_dtype_size(t->dtype);
    int64_t n = 1;
    if (t->rank > KILN_MAX_RANK || t->reserved || t->reserved2 || t->name >= p->strings_size)
        return PBAD("tensor %u: rank %u, reserved fields or name offset out of range", i,
                    t->rank);
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
    case KILN_STORAGE_INPUT:
        return t->index < p->n_inputs && p->inputs[t->index] == i
                   ? KILN_STATUS_OK
                   : PBAD("tensor %u: not graph input %u", i, t->index);
    case KILN_STORAGE_OUTPUT:
        return t->index < p->n_outputs && p->outputs[t->index] == i
                   ? KILN_STATUS_OK
                   : PBAD("tensor %u: not graph output %u", i, t->index);
    default: return PBAD("tensor %u: storage kind %u", i, t->storage);
    }
    if (off % es || off > limit || t->nbytes > limit - off)
        return PBAD("tensor %u: %llu bytes at %llu leave the %s (%llu bytes) or are misaligned",
                    i, U(t->nbytes), U(off),
                    t->storage == KILN_STORAGE_ARENA ? "arena" : "weights", U(limit));
    return KILN_STATUS_OK;
}

/* Returns 0 when node ni is fit to run. */
static int check_node(const struct kiln_program *p, uint32_t n_io, uint32_t ni,
                      struct kiln_diag *d)
{
    const struct kiln_node_desc *n = &p->nodes[ni];
    struct vctx vc = {.p = p, .n = n, .d = d}, *v = &vc;
    v->name = n->name < p->strings_size ? p->strings + n->name : "?";
    uint32_t nio = (uint32_t)n->n_in + n->n_out;
    const struct kiln_kernel *k = kiln_rt_kernel(n->op, n->variant);
    if (n->op >= OP_COUNT || !checks[n->op].fn)
        return PBAD("node %u: unknown op %u", ni, n->op);
    if (!k && checks[n->op].fn != check_no_kernel)
        return BAD("no kernel variant %u (the runtime has %u)", n->variant,
                   kiln_rt_kernel_count(n->op));
    const struct op_check *c = &checks[n->op];
    if (n->name >= p->strings_size || nio > MAX_NODE_IO || n->io_first > n_io ||
        nio > n_io - n->io_first)
        return BAD("%u inputs and outputs at %u of %u, or bad name", nio, n->io_first, n_io);
    if (n->params_offset % 8 || n->params_offset > p->params_size ||
        n->params_size > p->params_size - n->params_offset || n->params_size != c->params)
        return BAD("params of %u bytes at %u (the kernel reads %u; blob %llu)", n->params_size,
                   n->params_offset, c->params, U(p->params_size));
    if (n->scratch_size && (n->scratch_offset % 8 || n->scratch_offset > p->arena_size ||
                            n->scratch_size > p->arena_size - n->scratch_offset))
        return BAD("scratch of %llu bytes at %llu leaves the arena", U(n->scratch_size),
                   U(n->scratch_offset));
    uint32_t req_in = c->req_in == ALL ? n->n_in : c->req_in;
    if (n->n_in < req_in || n->n_in > c->max_in || n->n_out < c->req_out ||
        n->n_out > c->max_out || (c->req_in == ALL && !n->n_in))
        return BAD("%u inputs and %u outputs", n->n_in, n->n_out);
    for (uint32_t j = 0; j < nio; j++) {
        uint32_t ti = p->io[n->io_first + j];
        if (ti >= p->n_tensors)
            return BAD("tensor index %u of %u", ti, p->n_tensors);
        v->t[j] = &p->tensors[ti];
        int is_out = j >= n->n_in, req = is_out ? j - n->n_in < c->req_out : j < req_in;
        int st = v->t[j]->storage;
        if ((req && st == KILN_STORAGE_NONE) ||
            (is_out && (st == KILN_STORAGE_WEIGHT || st == KILN_STORAGE_INPUT)))
            return BAD("%s %u (tensor %u) cannot be %s", is_out ? "output" : "input",
                       is_out ? j - n->n_in : j, ti,
                       st == KILN_STORAGE_NONE ? "omitted" : "written");
    }
    v->in = v->t;
    v->out = v->t + n->n_in;
    v->params = p->params + n->params_offset;
    v->kd = k ? k->dtype : 0;
    return c->fn(v);
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
    for (uint32_t i = 0; i < p->n_nodes; i++)
        if (check_node(p, n_io, i, d))
            return KILN_STATUS_INVALID_MODEL;
    return KILN_STATUS_OK;
}
