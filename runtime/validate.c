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
#include "kernels/nn2.h"
#include "kernels/quant.h"
#include "kernels/rnn.h"

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
#ifndef KILN_RT_TERSE
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
#define PBAD(...) kiln_diag_set(d, KILN_STATUS_INVALID_MODEL, NULL, NULL, __VA_ARGS__)
#else
/* -DKILN_RT_TERSE (small runtimes): the same checks, but a failure records only the node and
 * the line of this file whose check refused it, without the message texts. */
static int bad_at(struct vctx *v, int line)
{
    kiln_diag_set(v->d, KILN_STATUS_INVALID_MODEL, v->name, kiln_op_name(v->n->op),
                  "check at validate.c:%d", line);
    return 1;
}
#define BAD(...) bad_at(v, __LINE__)
#define PBAD(...)                                                                              \
    kiln_diag_set(d, KILN_STATUS_INVALID_MODEL, NULL, NULL, "check at validate.c:%d", __LINE__)
#endif

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

/* Input / output i when the node has it and it is not omitted, else NULL. */
static desc *opt_in(struct vctx *v, uint32_t i)
{
    return i < v->n->n_in && present(v->in[i]) ? v->in[i] : NULL;
}

static desc *opt_out(struct vctx *v, uint32_t i)
{
    return i < v->n->n_out && present(v->out[i]) ? v->out[i] : NULL;
}

static int is_vec(desc *t, uint64_t n)
{
    return t->rank == 1 && (uint64_t)t->dims[0] == n;
}

static int same_td(desc *a, desc *b)
{
    return a->dtype == b->dtype && same_shape(a, b);
}

/* Storage a kernel may write: the arena or a caller's output buffer. */
static int writable(desc *t)
{
    return t->storage == KILN_STORAGE_ARENA || t->storage == KILN_STORAGE_OUTPUT;
}

/* Product of n non-negative values, saturating. */
static uint64_t prodc(const int64_t *d, int n)
{
    uint64_t r = 1;
    for (int i = 0; i < n; i++)
        r = mulc(r, (uint64_t)d[i]);
    return r;
}

/* A strided walk (offset = sum of i_k * st_k, 0 <= i_k < dims_k) stays inside [0, limit)
 * elements; nothing is read when an extent is 0. */
static int strided_fits(const int64_t *dims, const int64_t *st, int rank, int64_t limit)
{
    uint64_t last = 0;
    int empty = 0;
    for (int i = 0; i < rank; i++) {
        if (dims[i] < 0 || dims[i] > MAX_ELEMS || st[i] < 0 || st[i] > MAX_ELEMS)
            return 0;
        uint64_t t = mulc((uint64_t)(dims[i] ? dims[i] - 1 : 0), (uint64_t)st[i]);
        if (t > (uint64_t)MAX_ELEMS)
            return 0;
        last += t;
        empty |= dims[i] == 0;
    }
    return empty || (last < (uint64_t)limit && last <= (uint64_t)MAX_ELEMS);
}

/* The [outer, axis_len, inner] view of Softmax, LpNormalization and the quantize ops covers
 * exactly x's elements. */
static int check_oai(struct vctx *v, const int64_t *oai, desc *x)
{
    int64_t n;
    if (oai[0] < 0 || oai[1] < 0 || oai[2] < 0 || __builtin_mul_overflow(oai[0], oai[1], &n) ||
        __builtin_mul_overflow(n, oai[2], &n) || n != numel(x) ||
        (oai[1] == 0 && oai[0] * oai[2] > 0))
        return BAD("outer %lld x axis %lld x inner %lld is not the input's %lld elements",
                   L(oai[0]), L(oai[1]), L(oai[2]), L(numel(x)));
    return 0;
}

static int check_axis(struct vctx *v, int64_t axis, int rank)
{
    if (axis < 0 || axis >= rank)
        return BAD("axis %lld for rank %d", L(axis), rank);
    return 0;
}

static int check_scratch(struct vctx *v, uint64_t need)
{
    if (v->n->scratch_size < need)
        return BAD("scratch of %llu bytes; the kernel uses %llu", U(v->n->scratch_size), U(need));
    return 0;
}

static int check_act(struct vctx *v, const struct kiln_act *a)
{
    if (a->kind < KILN_ACT_NONE || a->kind > KILN_ACT_FAST_GELU || a->reserved)
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

/* Concat and Split: the n parts (all present) laid end to end along axis make the whole. */
static int check_parts(struct vctx *v, desc *whole, desc **parts, uint32_t n)
{
    const struct kiln_p_axis *p = v->params;
    int64_t sum = 0;
    if (check_axis(v, p->axis, whole->rank))
        return 1;
    for (uint32_t i = 0; i < n; i++) {
        desc *x = parts[i];
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

static int check_concat(struct vctx *v)
{
    return check_parts(v, v->out[0], v->in, v->n->n_in);
}

static int check_split(struct vctx *v)
{
    return check_parts(v, v->in[0], v->out, v->n->n_out);
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

/* The Conv geometry shared by Conv, ConvInteger and QLinearConv: window, groups, weights
 * [M, C/group, kernel...]; returns C/group, the kernel and output sizes for the scratch. */
static int conv_shape(struct vctx *v, const struct kiln_p_conv *p, desc *x, desc *w, desc *y,
                      uint64_t *cg, uint64_t *k_size, uint64_t *out_size)
{
    if (check_window(v, p->nsp, &p->win, x, y, 0) || check_act(v, &p->act))
        return 1;
    int64_t C = x->dims[1], M = w->dims[0], g = p->group;
    if (w->rank != x->rank || g < 1 || C % g || M % g || w->dims[1] != C / g || y->dims[1] != M)
        return BAD("weights [%lld, %lld, ...] and group %lld do not fit %lld input channels",
                   L(M), L(w->rank > 1 ? w->dims[1] : -1), L(g), L(C));
    *k_size = *out_size = 1;
    *cg = (uint64_t)(C / g);
    for (int i = 0; i < p->nsp; i++) {
        if (w->dims[2 + i] != p->win.kernel[i])
            return BAD("kernel %lld on axis %d, the weights have %lld", L(p->win.kernel[i]), i,
                       L(w->dims[2 + i]));
        *k_size *= (uint64_t)p->win.kernel[i];
        *out_size *= (uint64_t)y->dims[2 + i];
    }
    if (mulc(mulc(mulc(*cg, *k_size), *out_size), 8) > (uint64_t)MAX_ELEMS)
        return BAD("the im2col matrix is too large");
    return 0;
}

/* A fused residual (kiln_residual): input idx, when given, has the output's shape and dtype. */
static int check_residual(struct vctx *v, uint32_t idx)
{
    desc *r = v->n->n_in > idx ? v->in[idx] : NULL;
    if (present(r) && (r->dtype != v->out[0]->dtype || !same_shape(r, v->out[0])))
        return BAD("the residual input must have the output's shape and type");
    return 0;
}

static int check_conv(struct vctx *v)
{
    const struct kiln_p_conv *p = v->params;
    desc *x = v->in[0], *w = v->in[1], *y = v->out[0], *b = opt_in(v, 2);
    uint64_t cg, k_size, out_size, es = kiln_dtype_size(v->kd);
    if (dtypes(v, v->kd, x, w, y) || dtypes(v, v->kd, b, 0, 0) ||
        conv_shape(v, p, x, w, y, &cg, &k_size, &out_size) || check_residual(v, 3))
        return 1;
    uint64_t M = (uint64_t)w->dims[0], mg = M / (uint64_t)p->group;
    if (b && !is_vec(b, M))
        return BAD("bias must be a vector of %llu values", U(M));
    return check_scratch(v, kiln_conv_col_bytes(p, cg, k_size, out_size, es) +
                                kiln_gemm_scratch_bytes(mg, out_size, cg * k_size, es));
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
    if (dtypes(v, v->kd, a, b, y) || dtypes(v, v->kd, c, 0, 0) || check_act(v, &p->act) ||
        check_residual(v, 3))
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

static int check_softmax(struct vctx *v)
{
    desc *x = v->in[0];
    if (dtypes(v, v->kd, x, v->out[0], NULL))
        return 1;
    if (!same_shape(x, v->out[0]))
        return BAD("the output's shape differs from the input's");
    return check_oai(v, v->params, x);
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

/* ---- data movement and indexing (ops3-move) ---- */

static int check_tile(struct vctx *v)
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
static int check_elements(struct vctx *v, int64_t axis, desc *ind)
{
    desc *x = v->in[0];
    if (check_axis(v, axis, x->rank))
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

static int check_gather_elements(struct vctx *v)
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
static int check_scatter(struct vctx *v)
{
    const struct kiln_p_scatter *p = v->params;
    desc *x = v->in[0], *ind = v->in[1], *u = v->in[2], *y = v->out[0];
    if (p->reduction < 0 || p->reduction > KILN_SCATTER_MUL || p->reserved ||
        (p->reduction && !v->kd))
        return BAD("reduction %d", p->reduction);
    if (!same_td(x, y) || u->dtype != x->dtype || (v->kd && x->dtype != v->kd))
        return BAD("the output and updates must have the data's type and shape");
    if (v->n->op == OP_SCATTER_ND) {
        int L = ind->rank ? (int)ind->dims[ind->rank - 1] : -1;
        if (L < 0 || L > x->rank ||
            mulc(prodc(ind->dims, ind->rank - 1), prodc(x->dims + L, x->rank - L)) !=
                (uint64_t)numel(u))
            return BAD("index depth %d or updates' size do not fit data of rank %d", L,
                       x->rank);
        return 0;
    }
    if (check_elements(v, p->axis, ind))
        return 1;
    if (!same_shape(u, ind))
        return BAD("the updates must have the indices' shape");
    return 0;
}

static int check_gather_nd(struct vctx *v)
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
    uint64_t tuples = prodc(ind->dims, ind->rank - 1);
    for (int j = 0; j < L; j++)
        if (x->dims[b + j] < 1 && tuples)
            return BAD("indexed axis %lld is empty", L(b + j));
    if (mulc(tuples, prodc(x->dims + b + L, x->rank - (int)(b + L))) != (uint64_t)numel(y))
        return BAD("the output has %lld elements; the indices select more", L(numel(y)));
    return 0;
}

static int check_one_hot(struct vctx *v)
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

static int check_diag(struct vctx *v)
{
    const struct kiln_p_diag *p = v->params;
    desc *x = v->in[0], *y = v->out[0];
    int eye = v->n->op == OP_EYE_LIKE;
    if ((p->upper & ~1) || p->reserved || p->k < -MAX_ELEMS || p->k > MAX_ELEMS)
        return BAD("k %lld or flags out of range", L(p->k));
    if (eye ? y->rank != 2 : (x->rank < 2 || !same_td(x, y)))
        return BAD("needs matrices (rank %d)", y->rank);
    return 0;
}

/* DepthToSpace, SpaceToDepth: the output read as one strided walk over the input. */
static int check_strided(struct vctx *v)
{
    const struct kiln_p_strided *p = v->params;
    desc *x = v->in[0], *y = v->out[0];
    if (x->dtype != y->dtype || p->rank < 0 || p->rank > KILN_MAX_RANK || p->reserved ||
        prodc(p->dims, p->rank) != (uint64_t)numel(y) ||
        !strided_fits(p->dims, p->strides, p->rank, numel(x)))
        return BAD("the strided view does not fit the input and output");
    return 0;
}

static int check_reverse_sequence(struct vctx *v)
{
    const struct kiln_p_reverse_sequence *p = v->params;
    desc *x = v->in[0];
    if (x->rank < 2 || (p->batch_axis | p->time_axis) != 1 || (p->batch_axis & p->time_axis) ||
        !same_td(x, v->out[0]) || numel(v->in[1]) < x->dims[p->batch_axis])
        return BAD("axes %d, %d, rank %d or the lengths do not fit", p->batch_axis, p->time_axis,
                   x->rank);
    return 0;
}

static int check_compress(struct vctx *v)
{
    const struct kiln_p_compress *p = v->params;
    desc *x = v->in[0];
    if ((p->axis != -1 && check_axis(v, p->axis, x->rank)) || x->dtype != v->out[0]->dtype ||
        v->in[1]->dtype != KILN_DTYPE_BOOL)
        return BAD("axis %lld, a bool condition and the input's type", L(p->axis));
    return 0;
}

static int check_cumsum(struct vctx *v)
{
    const struct kiln_p_cumsum *p = v->params;
    if ((p->exclusive & ~1) || (p->reverse & ~1) || check_axis(v, p->axis, v->in[0]->rank))
        return BAD("flags %d, %d", p->exclusive, p->reverse);
    return ew_unary(v, 0);
}

static int check_topk(struct vctx *v)
{
    const struct kiln_p_topk *p = v->params;
    desc *x = v->in[0], *y = v->out[0], *ind = opt_out(v, 1);
    if (check_axis(v, p->axis, x->rank) || dtypes(v, v->kd, x, y, NULL) ||
        dtypes(v, KILN_DTYPE_I64, ind, 0, 0))
        return 1;
    int64_t len = x->dims[p->axis];
    if (p->k < 0 || p->k > len || (p->largest & ~1) || (p->sorted & ~1))
        return BAD("k %lld for an axis of %lld", L(p->k), L(len));
    if (y->rank != x->rank || (ind && !same_shape(ind, y)))
        return BAD("outputs of another shape");
    for (int i = 0; i < x->rank; i++)
        if (y->dims[i] != (i == p->axis ? p->k : x->dims[i]))
            return BAD("output axis %d has %lld", i, L(y->dims[i]));
    return numel(x) ? check_scratch(v, mulc((uint64_t)len, 2 * sizeof(int64_t))) : 0;
}

static int check_einsum(struct vctx *v)
{
    const struct kiln_p_einsum *p = v->params;
    if (p->n_in != (int)v->n->n_in || p->n_out < 0 || p->n_out > p->n_labels ||
        p->n_labels > KILN_EINSUM_MAX_LABELS || p->reserved)
        return BAD("%d inputs, %d of %d labels", p->n_in, p->n_out, p->n_labels);
    if (dtypes(v, v->kd, v->out[0], 0, 0) ||
        prodc(p->size, p->n_out) != (uint64_t)numel(v->out[0]) ||
        prodc(p->size + p->n_out, p->n_labels - p->n_out) > (uint64_t)MAX_ELEMS)
        return BAD("the output labels do not give the output's %lld elements",
                   L(numel(v->out[0])));
    for (int i = 0; i < p->n_in; i++)
        if (dtypes(v, v->kd, v->in[i], 0, 0) ||
            (!strided_fits(p->size, p->stride[i], p->n_labels, numel(v->in[i])) &&
             BAD("input %d: the label strides leave it", i)))
            return 1;
    return 0;
}

/* ---- neural network, part 2 (ops3-nn) ---- */

static int check_conv_transpose(struct vctx *v)
{
    const struct kiln_p_conv *p = v->params;
    desc *x = v->in[0], *w = v->in[1], *y = v->out[0], *b = opt_in(v, 2);
    if (dtypes(v, v->kd, x, w, y) || dtypes(v, v->kd, b, 0, 0) || check_act(v, &p->act))
        return 1;
    int nsp = p->nsp;
    int64_t g = p->group;
    if (nsp < 1 || nsp > KILN_MAX_SPATIAL || x->rank != nsp + 2 || y->rank != x->rank ||
        w->rank != x->rank || g < 1 || x->dims[1] % g || w->dims[0] != x->dims[1] ||
        y->dims[0] != x->dims[0] || (uint64_t)y->dims[1] != mulc((uint64_t)w->dims[1], g))
        return BAD("ranks, group %lld or weights [%lld, %lld, ...] do not fit", L(g),
                   L(w->dims[0]), L(w->rank > 1 ? w->dims[1] : -1));
    uint64_t k_size = 1, in_size = 1, mg = (uint64_t)w->dims[1], es = kiln_dtype_size(v->kd);
    for (int i = 0; i < KILN_MAX_SPATIAL; i++) {
        int64_t k = p->win.kernel[i], s = p->win.stride[i], dl = p->win.dilation[i];
        int64_t pb = p->win.pad_begin[i], pe = p->win.pad_end[i];
        if (i >= nsp ? (k || s || dl || pb || pe)
                     : (k < 1 || s < 1 || dl < 1 || k > MAX_GEOM || s > MAX_GEOM ||
                        dl > MAX_GEOM || pb < -MAX_GEOM || pb > MAX_GEOM || pe < -MAX_GEOM ||
                        pe > MAX_GEOM || w->dims[2 + i] != k ||
                        mulc((uint64_t)x->dims[2 + i], (uint64_t)s) > (uint64_t)MAX_ELEMS))
            return BAD("axis %d: kernel %lld, stride %lld, dilation %lld, pads %lld, %lld", i,
                       L(k), L(s), L(dl), L(pb), L(pe));
        if (i < nsp) {
            k_size *= (uint64_t)k;
            in_size *= (uint64_t)x->dims[2 + i];
        }
    }
    if (b && !is_vec(b, (uint64_t)y->dims[1]))
        return BAD("bias must be a vector of %lld values", L(y->dims[1]));
    if (mulc(mulc(mulc(mg, k_size), in_size), 8) > (uint64_t)MAX_ELEMS)
        return BAD("the column matrix is too large");
    return check_scratch(v, kiln_conv_transpose_scratch((uint64_t)(x->dims[1] / g), mg, k_size,
                                                        in_size, es));
}

/* InstanceNormalization, LayerNormalization, MeanVarianceNormalization. */
static int check_norm(struct vctx *v)
{
    const struct kiln_p_norm *p = v->params;
    desc *x = v->in[0], *sc = opt_in(v, 1), *bi = opt_in(v, 2);
    if (p->reduce_mask >> x->rank || p->affine < KILN_NORM_PLAIN ||
        p->affine > KILN_NORM_PER_ELEMENT || (p->scale_step & ~1) || (p->bias_step & ~1) ||
        (p->eps_after_sqrt & ~1) || p->reserved || dtypes(v, v->kd, sc, bi, NULL) ||
        ew_unary(v, 0))
        return BAD("axes mask %#x, affine %d or steps do not fit", p->reduce_mask, p->affine);
    int64_t count = 1, groups = 1, C = x->rank > 1 ? x->dims[1] : 1;
    for (int i = 0; i < x->rank; i++)
        *((p->reduce_mask >> i) & 1 ? &count : &groups) *= x->dims[i];
    desc *ab[2] = {sc, bi};
    for (int i = 0; i < 2; i++) {
        int64_t step = i ? p->bias_step : p->scale_step;
        int64_t need = p->affine == KILN_NORM_PER_CHANNEL   ? C
                       : p->affine == KILN_NORM_PER_ELEMENT ? (step ? count : 1)
                                                            : 0;
        if (ab[i] && numel(ab[i]) < need)
            return BAD("%s needs %lld values", i ? "bias" : "scale", L(need));
    }
    for (uint32_t o = 1; o < 3; o++) {
        desc *s = opt_out(v, o);
        if (s && ((s->dtype != KILN_DTYPE_F32 && s->dtype != KILN_DTYPE_F64) ||
                  numel(s) < groups))
            return BAD("statistics output %u must be float32/64 with %lld values", o, L(groups));
    }
    if (v->n->scratch_size)
        return check_scratch(v, mulc((uint64_t)count, sizeof(int64_t)));
    return 0;
}

static int check_lrn(struct vctx *v)
{
    const struct kiln_p_lrn *p = v->params;
    if (v->in[0]->rank < 2 || p->size < 1)
        return BAD("size %d for rank %d", p->size, v->in[0]->rank);
    return ew_unary(v, 0);
}

static int check_lp_norm(struct vctx *v)
{
    const struct kiln_p_lp_norm *p = v->params;
    if ((p->p != 1 && p->p != 2) || p->reserved)
        return BAD("p = %d", p->p);
    return ew_unary(v, 0) || check_oai(v, v->params, v->in[0]);
}

static int check_max_unpool(struct vctx *v)
{
    const struct kiln_p_max_unpool *p = v->params;
    desc *x = v->in[0], *ind = v->in[1], *y = v->out[0];
    if (x->dtype != y->dtype || ind->dtype != KILN_DTYPE_I64 || numel(ind) < numel(x))
        return BAD("int64 indices for every input element and the input's type");
    for (int d = 0; d < KILN_MAX_RANK; d++)
        if (d < y->rank ? p->index_dims[d] < 1 : p->index_dims[d] != 0)
            return BAD("index shape axis %d is %lld", d, L(p->index_dims[d]));
    if (prodc(p->index_dims, y->rank) > (uint64_t)MAX_ELEMS)
        return BAD("the index shape is too large");
    return 0;
}

/* GridSample and RoiAlign: 4-D images; indexing clamps into [0, H) x [0, W), so an image
 * that is read must not be empty. */
static int check_image(struct vctx *v, desc *x, desc *y, int64_t n0, int64_t h, int64_t w)
{
    if (dtypes(v, v->kd, x, y, NULL))
        return 1;
    if (x->rank != 4 || y->rank != 4 || y->dims[0] != n0 || y->dims[1] != x->dims[1] ||
        y->dims[2] != h || y->dims[3] != w ||
        (numel(y) && (x->dims[0] < 1 || x->dims[2] < 1 || x->dims[3] < 1)))
        return BAD("the input [N, C, H, W] and output shapes do not fit");
    return 0;
}

static int check_grid_sample(struct vctx *v)
{
    const struct kiln_p_grid_sample *p = v->params;
    desc *x = v->in[0], *g = v->in[1];
    if (p->mode < 0 || p->mode > KILN_GRID_BICUBIC || p->padding < 0 ||
        p->padding > KILN_GRID_REFLECTION || (p->align_corners & ~1) || p->reserved)
        return BAD("mode %d, padding %d", p->mode, p->padding);
    if (dtypes(v, v->kd, g, 0, 0) || g->rank != 4 || g->dims[3] != 2 || x->rank != 4 ||
        g->dims[0] != x->dims[0])
        return BAD("the grid must be [N, H_out, W_out, 2]");
    return check_image(v, x, v->out[0], x->dims[0], g->dims[1], g->dims[2]);
}

static int check_roi_align(struct vctx *v)
{
    const struct kiln_p_roi_align *p = v->params;
    desc *r = v->in[1], *bt = v->in[2], *y = v->out[0];
    int64_t nr = y->rank ? y->dims[0] : 0;
    if ((p->mode & ~1) || (p->half_pixel & ~1) || dtypes(v, v->kd, r, 0, 0) ||
        numel(r) < 4 * nr || (bt->dtype != KILN_DTYPE_I32 && bt->dtype != KILN_DTYPE_I64) ||
        numel(bt) < nr)
        return BAD("mode %d, rois or batch indices do not fit %lld regions", p->mode, L(nr));
    return check_image(v, v->in[0], y, nr, y->rank == 4 ? y->dims[2] : -1,
                       y->rank == 4 ? y->dims[3] : -1);
}

/* ---- recurrent (ops3-rnn) ---- */

static int check_rnn(struct vctx *v)
{
    const struct kiln_p_rnn *p = v->params;
    desc *x = v->in[0];
    int cell = v->n->op == OP_LSTM ? KILN_RNN_CELL_LSTM
               : v->n->op == OP_GRU ? KILN_RNN_CELL_GRU
                                    : KILN_RNN_CELL_RNN;
    if (p->cell != cell || p->direction < 0 || p->direction > KILN_RNN_BIDIRECTIONAL ||
        (p->layout & ~1) || p->hidden_size < 1 || (p->input_forget & ~1) ||
        (p->linear_before_reset & ~1) || p->reserved || !isfinite(p->clip) || x->rank != 3)
        return BAD("cell %d, direction %d, hidden size %d or input rank %d", p->cell,
                   p->direction, p->hidden_size, x->rank);
    for (int i = 0; i < 6; i++)
        if (check_act(v, &p->act[i]))
            return 1;
    uint64_t seq = (uint64_t)x->dims[p->layout], batch = (uint64_t)x->dims[1 - p->layout];
    uint64_t in = (uint64_t)x->dims[2], H = (uint64_t)p->hidden_size;
    uint64_t G = cell == KILN_RNN_CELL_LSTM ? 4 : cell == KILN_RNN_CELL_GRU ? 3 : 1;
    uint64_t nd = p->direction == KILN_RNN_BIDIRECTIONAL ? 2 : 1, gh = G * H;
    if (mulc(mulc(mulc(seq ? seq : 1, batch ? batch : 1), gh + in + H), 16) > (uint64_t)MAX_ELEMS)
        return BAD("too large");
    /* elements of W, R, B, sequence_lens, initial_h, initial_c, P; then Y, Y_h, Y_c */
    uint64_t need[11] = {0, mulc(nd * gh, in), mulc(nd * gh, H), nd * 2 * gh,
                         batch,     nd * batch * H, nd * batch * H, nd * 3 * H,
                         seq * nd * batch * H, nd * batch * H, nd * batch * H};
    for (uint32_t j = 0; j < (uint32_t)v->n->n_in + v->n->n_out; j++) {
        desc *t = v->t[j];
        int k = j < v->n->n_in ? (int)j : 8 + (int)(j - v->n->n_in);
        if (present(t) && (t->dtype != (k == 4 ? KILN_DTYPE_I32 : KILN_DTYPE_F32) ||
                           (k && (uint64_t)numel(t) != need[k])))
            return BAD("operand %d: %s with %lld elements; the kernel uses %llu", k,
                       kiln_dtype_name(t->dtype), L(numel(t)), U(need[k]));
    }
    return check_scratch(v, kiln_rnn_scratch_layout(seq, batch, in, H, G, sizeof(float)).total);
}

/* ---- quantized (ops3-quant) ---- */

/* A scale (float32) or zero point (of type dt) that holds 1 value or `n` (per row/column/axis
 * entry); omitted zero points are allowed. */
static int qparam(struct vctx *v, uint32_t i, int dt, int64_t n, int per_elem_ok)
{
    desc *t = opt_in(v, i);
    if (!t)
        return dt == KILN_DTYPE_F32 ? BAD("input %u (a scale) is missing", i) : 0;
    if (t->dtype != dt || (numel(t) != 1 && !(per_elem_ok && numel(t) == n)))
        return BAD("input %u must be %s with 1%s values", i, kiln_dtype_name(dt),
                   per_elem_ok ? " or one per row/channel" : "");
    return 0;
}

static int is_q8(desc *t)
{
    return t->dtype == KILN_DTYPE_U8 || t->dtype == KILN_DTYPE_I8;
}

static int check_quantize(struct vctx *v)
{
    const struct kiln_p_quant_axis *p = v->params;
    desc *x = v->in[0], *y = v->out[0];
    int q = v->n->op == OP_QUANTIZE_LINEAR;
    int xdt = q ? (x->dtype == KILN_DTYPE_I32 ? KILN_DTYPE_I32 : KILN_DTYPE_F32) : v->kd;
    if (dtypes(v, xdt, x, 0, 0) || dtypes(v, q ? v->kd : KILN_DTYPE_F32, y, 0, 0) ||
        check_oai(v, v->params, x) || qparam(v, 1, KILN_DTYPE_F32, p->axis_len, 1) ||
        qparam(v, 2, v->kd, p->axis_len, 1))
        return 1;
    if (!same_shape(x, y) || (p->axis_len != 1 && numel(v->in[1]) != p->axis_len))
        return BAD("output shape, or %lld scales", L(p->axis_len));
    desc *z = opt_in(v, 2);
    if (z && numel(z) != numel(v->in[1]))
        return BAD("zero points and scales differ in count");
    return 0;
}

static int check_dynamic_quantize(struct vctx *v)
{
    desc *x = v->in[0], *y = v->out[0], *s = opt_out(v, 1), *z = opt_out(v, 2);
    if (dtypes(v, KILN_DTYPE_F32, x, s, 0) || dtypes(v, KILN_DTYPE_U8, y, z, 0))
        return 1;
    if (!same_shape(x, y) || (s && numel(s) < 1) || (z && numel(z) < 1))
        return BAD("output shapes do not fit");
    return 0;
}

/* Shapes of MatMul and its integer forms: operands broadcast over the batch axes to y.
 * Returns the M, N, K of one product and the rows the float kernel packs at once. */
static int matmul_shape(struct vctx *v, desc *a, desc *b, desc *y, uint64_t mnk[3],
                        uint64_t *rows)
{
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
    mnk[0] = (uint64_t)M, mnk[1] = (uint64_t)N, mnk[2] = (uint64_t)K;
    *rows = (uint64_t)M * (nbb == 0 ? (uint64_t)batch : 1);
    return 0;
}

static int check_matmul(struct vctx *v)
{
    const struct kiln_p_matmul *p = v->params;
    uint64_t mnk[3], rows;
    if (dtypes(v, v->kd, v->in[0], v->in[1], v->out[0]) || check_act(v, &p->act) ||
        check_residual(v, 2) ||
        matmul_shape(v, v->in[0], v->in[1], v->out[0], mnk, &rows))
        return 1;
    return check_scratch(v, kiln_gemm_scratch_bytes(rows, mnk[1], mnk[2], kiln_dtype_size(v->kd)));
}

/* MatMulInteger (a, b, a_zp, b_zp) and QLinearMatMul (a, a_scale, a_zp, b, b_scale, b_zp,
 * y_scale, y_zp): zero points of the operand's type, per tensor or per row of A / column
 * of B; QLinear scales per tensor or per row/column likewise. */
static int check_qmatmul(struct vctx *v)
{
    int ql = v->n->op == OP_QLINEAR_MATMUL, bi = ql ? 3 : 1;
    desc *a = v->in[0], *b = v->in[bi], *y = v->out[0];
    uint64_t mnk[3], rows;
    if (!present(b) || !is_q8(a) || !is_q8(b) || y->dtype != (ql ? v->kd : KILN_DTYPE_I32))
        return BAD("8-bit operands and a %s output", kiln_dtype_name(ql ? v->kd : KILN_DTYPE_I32));
    if (matmul_shape(v, a, b, y, mnk, &rows))
        return 1;
    int64_t M = (int64_t)mnk[0], N = (int64_t)mnk[1];
    if (qparam(v, 2, a->dtype, M, 1) || qparam(v, ql ? 5 : 3, b->dtype, N, 1))
        return 1;
    if (ql && (qparam(v, 1, KILN_DTYPE_F32, M, 1) || qparam(v, 4, KILN_DTYPE_F32, N, 1) ||
               qparam(v, 6, KILN_DTYPE_F32, M, 1) || qparam(v, 7, y->dtype, M, 1)))
        return 1;
    return check_scratch(v, kiln_qmatmul_scratch_bytes(ql, mnk[0], mnk[1], mnk[2]));
}

/* ConvInteger (x, w, x_zp, w_zp) and QLinearConv (x, x_scale, x_zp, w, w_scale, w_zp,
 * y_scale, y_zp, bias). */
static int check_qconv(struct vctx *v)
{
    const struct kiln_p_conv *p = v->params;
    int ql = v->n->op == OP_QLINEAR_CONV, wi = ql ? 3 : 1;
    desc *x = v->in[0], *w = v->in[wi], *y = v->out[0], *bias = opt_in(v, 8);
    uint64_t cg, k_size, out_size;
    if (!present(w) || !is_q8(x) || !is_q8(w) || y->dtype != (ql ? v->kd : KILN_DTYPE_I32))
        return BAD("8-bit operands and a %s output", kiln_dtype_name(ql ? v->kd : KILN_DTYPE_I32));
    if (conv_shape(v, p, x, w, y, &cg, &k_size, &out_size))
        return 1;
    int64_t M = w->dims[0];
    if (qparam(v, 2, x->dtype, 1, 0) || qparam(v, ql ? 5 : 3, w->dtype, M, 1))
        return 1;
    if (ql && (qparam(v, 1, KILN_DTYPE_F32, 1, 0) || qparam(v, 4, KILN_DTYPE_F32, M, 1) ||
               qparam(v, 6, KILN_DTYPE_F32, 1, 0) || qparam(v, 7, y->dtype, 1, 0) ||
               dtypes(v, KILN_DTYPE_I32, bias, 0, 0)))
        return 1;
    if (bias && !is_vec(bias, (uint64_t)M))
        return BAD("bias must be a vector of %lld values", L(M));
    return check_scratch(v, kiln_qconv_scratch_bytes(p, ql, (uint64_t)M / (uint64_t)p->group, cg,
                                                     k_size, out_size));
}

/* ---- control flow: If, Loop, Scan run blocks (struct kiln_block_desc) ---- */

/* Formal input (out = 0) or output (out = 1) i of block b; the block's io range was checked. */
static desc *block_io(struct vctx *v, int32_t b, int out, uint32_t i)
{
    const struct kiln_block_desc *bd = &v->p->blocks[b];
    return &v->p->tensors[v->p->io[bd->io_first + (out ? bd->n_in : 0) + i]];
}

/* Block b exists with n_in formal inputs (ANY_IN: not used by the kernel) and n_out outputs. */
#define ANY_IN UINT32_MAX
static int check_block_ref(struct vctx *v, int32_t b, uint32_t n_in, uint32_t n_out)
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
static int flow(struct vctx *v, desc *dst, desc *src, int into_block)
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

static int check_if(struct vctx *v)
{
    const struct kiln_p_if *p = v->params;
    if (!scalar_of(v->in[0], KILN_DTYPE_BOOL))
        return BAD("the condition must be one bool");
    for (int k = 0; k < 2; k++) {
        int32_t b = k ? p->else_block : p->then_block;
        if (check_block_ref(v, b, ANY_IN, v->n->n_out))
            return 1;
        for (uint32_t o = 0; o < v->n->n_out; o++)
            if (flow(v, v->out[o], block_io(v, b, 1, o), 0))
                return 1;
    }
    return 0;
}

/* Loop: node inputs (M, cond, carried..., [implicit...]), outputs (carried..., scan...); body
 * inputs (iteration, cond, carried...), outputs (cond, carried..., scan...). */
static int check_loop(struct vctx *v)
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
        if (flow(v, bin, v->in[2 + k], 1) || flow(v, bin, block_io(v, b, 1, 1 + k), 1) ||
            flow(v, v->out[k], bin, 0))
            return 1;
    }
    for (uint32_t k = 0; k < ns; k++) {
        desc *o = v->out[nc + k], *w = block_io(v, b, 1, 1 + nc + k);
        if (!present(w) || (present(o) && (!sub_of(o, 1, -1, w) || o->dims[0] != p->max_trip)))
            return BAD("scan output %u is not %lld iterations of the body's output", k,
                       L(p->max_trip));
    }
    return 0;
}

/* Scan: node inputs ([sequence_lens,] state..., scan...), outputs (state..., scan...); body
 * inputs (state..., slice...), outputs (state..., slice...). With a batch (opset 8) every
 * node tensor has it as axis 0 and the body sees one item. */
static int check_scan(struct vctx *v)
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
        desc *t = scan_out ? v->out[j - si] : v->in[first + j];
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
        desc *bin = block_io(v, b, 0, s), *init = v->in[first + s], *fin = v->out[s];
        if (flow(v, bin, block_io(v, b, 1, s), 1) || !writable(bin) ||
            (present(fin) && !same_td(fin, init)))
            return BAD("state %u changes type or shape", s);
    }
    return 0;
}

/* Constant, Shape, Size (no kernel) and NonZero, NonMaxSuppression (output sizes that
 * depend on data, so the compiler only ever evaluates them) never run from a program. */
static int check_no_kernel(struct vctx *v)
{
    return BAD("runs only at compile time");
}

/* FusedElementwise: every operand has the output's shape (float32) and the program only names
 * registers and constants that exist and were written before they are read. */
static int check_fused_elementwise(struct vctx *v)
{
    const struct kiln_p_fused_elementwise *p = v->params;
    uint32_t n_in = v->n->n_in;
    if (p->n_in != (int32_t)n_in || n_in < 1 || n_in > KILN_FEW_MAX_IN || p->n_code < 1 ||
        p->n_code > KILN_FEW_MAX_CODE)
        return BAD("program sizes do not fit");
    for (uint32_t i = 0; i < n_in; i++)
        if (dtypes(v, KILN_DTYPE_F32, v->in[i], 0, 0) || !same_shape(v->in[i], v->out[0]))
            return BAD("input %u must be float32 with the output's shape", i);
    if (dtypes(v, KILN_DTYPE_F32, v->out[0], 0, 0))
        return 1;
    uint32_t written = (1u << n_in) - 1;
    for (int32_t i = 0; i < p->n_code; i++) {
        const uint8_t *ins = p->code[i];
        if (ins[0] >= KILN_FEW_OP_COUNT || ins[1] >= KILN_FEW_MAX_REGS)
            return BAD("instruction %d is not valid", (int)i);
        for (int k = 2; k < 4; k++) {
            unsigned r = ins[k];
            if (r >= KILN_FEW_CONST ? r - KILN_FEW_CONST >= KILN_FEW_MAX_CONSTS
                                    : !((written >> r) & 1))
                return BAD("instruction %d reads operand %u, which does not exist", (int)i, r);
        }
        written |= 1u << ins[1];
    }
    return 0;
}

/* ---- losses, TfIdfVectorizer, signal processing, Det (ops3-extra) ---- */

/* NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss: the input is [n, c, d], the target
 * [n, d] int32/int64, the weight c values; the output [n, d] (none) or one value. Targets are
 * data, so the kernels bound them themselves; SoftmaxCrossEntropyLoss writes the
 * log-probabilities into its second output or, without it, into scratch. */
static int check_loss(struct vctx *v)
{
    const struct kiln_p_loss *p = v->params;
    desc *x = v->in[0], *t = v->in[1], *w = opt_in(v, 2), *y = v->out[0], *lp = opt_out(v, 1);
    int sce = v->n->op == OP_SOFTMAX_CROSS_ENTROPY_LOSS;
    if (p->n < 0 || p->c < 0 || p->d < 0 || p->reduction < KILN_LOSS_NONE ||
        p->reduction > KILN_LOSS_MEAN || (p->has_ignore & ~1))
        return BAD("[n %lld, c %lld, d %lld] or reduction %d", L(p->n), L(p->c), L(p->d),
                   p->reduction);
    if (dtypes(v, v->kd, x, w, y) || dtypes(v, v->kd, lp, 0, 0))
        return 1;
    uint64_t nd = mulc((uint64_t)p->n, (uint64_t)p->d);
    if (mulc(nd, (uint64_t)p->c) != (uint64_t)numel(x) ||
        (t->dtype != KILN_DTYPE_I32 && t->dtype != KILN_DTYPE_I64) || (uint64_t)numel(t) != nd)
        return BAD("the input (%lld elements) and the int32/int64 target (%lld) are not "
                   "[%lld, %lld, %lld] and [%lld, %lld]",
                   L(numel(x)), L(numel(t)), L(p->n), L(p->c), L(p->d), L(p->n), L(p->d));
    if (w && numel(w) != p->c)
        return BAD("the weight needs %lld values (one per class)", L(p->c));
    if ((uint64_t)numel(y) != (p->reduction == KILN_LOSS_NONE ? nd : 1))
        return BAD("the output has %lld elements for reduction %d", L(numel(y)), p->reduction);
    if (!sce)
        return 0;
    if (p->c < 1 && nd)
        return BAD("the softmax needs at least one class");
    if (lp)
        return same_shape(lp, x) ? 0 : BAD("the log_prob output must have the input's shape");
    return check_scratch(v, mulc((uint64_t)numel(x), kiln_dtype_size(v->kd)));
}

/* TfIdfVectorizer: variable-size params (struct kiln_p_tfidf, int64 pool[pool_len], int64
 * {start, len, col} per n-gram, double weight per n-gram) whose counts must give exactly
 * params_size; every n-gram inside the pool and its column inside the output row. */
static int check_tfidf(struct vctx *v)
{
    const struct kiln_p_tfidf *p = v->params;
    desc *x = v->in[0], *y = v->out[0];
    uint64_t slots = (v->n->params_size - sizeof *p) / 8; /* int64 slots after the struct */
    if (p->mode < KILN_TFIDF_TF || p->mode > KILN_TFIDF_TFIDF || p->min_len < 1 ||
        p->max_len < p->min_len || p->max_skip < 0 || p->rows < 0 || p->row_len < 0 ||
        p->cols < 0 || p->pool_len < 0 || p->n_grams < 0 || (uint64_t)p->pool_len > slots ||
        (uint64_t)p->n_grams > slots / 4 ||
        sizeof *p + 8 * ((uint64_t)p->pool_len + 4 * (uint64_t)p->n_grams) != v->n->params_size)
        return BAD("mode %d, n-gram lengths %d..%d, skip %d, or a pool of %lld with %lld "
                   "n-grams in %u bytes of params",
                   p->mode, p->min_len, p->max_len, p->max_skip, L(p->pool_len), L(p->n_grams),
                   v->n->params_size);
    if ((x->dtype != KILN_DTYPE_I32 && x->dtype != KILN_DTYPE_I64) ||
        mulc((uint64_t)p->rows, (uint64_t)p->row_len) != (uint64_t)numel(x) ||
        dtypes(v, KILN_DTYPE_F32, y, 0, 0) ||
        mulc((uint64_t)p->rows, (uint64_t)p->cols) != (uint64_t)numel(y))
        return BAD("needs %lld x %lld int32/int64 tokens and %lld x %lld float32 outputs",
                   L(p->rows), L(p->row_len), L(p->rows), L(p->cols));
    const int64_t *gram = (const int64_t *)(const void *)(p + 1) + p->pool_len;
    for (int64_t k = 0; k < p->n_grams; k++) {
        int64_t start = gram[3 * k], len = gram[3 * k + 1], col = gram[3 * k + 2];
        if (start < 0 || start > p->pool_len || len < 1 || len > p->pool_len - start ||
            col < 0 || col >= p->cols)
            return BAD("n-gram %lld: pool[%lld] + %lld or column %lld out of range", L(k),
                       L(start), L(len), L(col));
    }
    return 0;
}

/* DFT: the input is [outer, len, inner, 1 or 2], the output [outer, bins, inner, 2]; n points
 * per transform (the kernel steps twiddles modulo n), bins <= n; scratch for the twiddles,
 * the points and the bins (doubles). */
static int check_dft(struct vctx *v)
{
    const struct kiln_p_dft *p = v->params;
    desc *x = v->in[0], *y = v->out[0];
    if (p->outer < 0 || p->len < 0 || p->inner < 0 || p->n < 1 || p->n > MAX_ELEMS ||
        p->bins < 1 || p->bins > p->n || (p->complex_in & ~1) || (p->inverse & ~1))
        return BAD("[%lld, %lld, %lld], %lld points, %lld bins or flags do not fit",
                   L(p->outer), L(p->len), L(p->inner), L(p->n), L(p->bins));
    if (dtypes(v, v->kd, x, y, NULL))
        return 1;
    uint64_t oi = mulc((uint64_t)p->outer, (uint64_t)p->inner);
    if (mulc(mulc(oi, (uint64_t)p->len), p->complex_in ? 2 : 1) != (uint64_t)numel(x) ||
        mulc(mulc(oi, (uint64_t)p->bins), 2) != (uint64_t)numel(y))
        return BAD("the input (%lld elements) or output (%lld) is not [%lld, %lld or %lld, "
                   "%lld, 1 or 2]",
                   L(numel(x)), L(numel(y)), L(p->outer), L(p->len), L(p->bins), L(p->inner));
    return check_scratch(v, mulc((uint64_t)(4 * p->n + 2 * p->bins), sizeof(double)));
}

/* STFT: signal [batch, length, 1 or 2]; frames of frame_length samples every step stay inside
 * it; the window (when used) has a value per sample; output [batch, frames, bins, 2]. */
static int check_stft(struct vctx *v)
{
    const struct kiln_p_stft *p = v->params;
    desc *x = v->in[0], *y = v->out[0], *w = opt_in(v, 2);
    int64_t fl = p->frame_length;
    if (p->batch < 0 || p->length < 0 || p->frames < 0 || p->step < 1 || fl < 1 ||
        fl > MAX_ELEMS || p->bins < 1 || p->bins > fl || (p->complex_in & ~1) ||
        (p->has_window & ~1) ||
        (p->frames && (fl > p->length ||
                       mulc((uint64_t)(p->frames - 1), (uint64_t)p->step) >
                           (uint64_t)(p->length - fl))))
        return BAD("%lld frames of %lld samples every %lld, %lld bins, for a signal of %lld",
                   L(p->frames), L(fl), L(p->step), L(p->bins), L(p->length));
    if (dtypes(v, v->kd, x, y, w))
        return 1;
    if (p->has_window && (!w || numel(w) < fl))
        return BAD("the window must have %lld values", L(fl));
    uint64_t bf = mulc((uint64_t)p->batch, (uint64_t)p->frames);
    if (mulc(mulc((uint64_t)p->batch, (uint64_t)p->length), p->complex_in ? 2 : 1) !=
            (uint64_t)numel(x) ||
        mulc(mulc(bf, (uint64_t)p->bins), 2) != (uint64_t)numel(y))
        return BAD("the signal (%lld elements) or output (%lld) does not fit [%lld, %lld]",
                   L(numel(x)), L(numel(y)), L(p->batch), L(p->length));
    return check_scratch(v, mulc((uint64_t)(4 * fl + 2 * p->bins), sizeof(double)));
}

/* Det: [..., M, M] in, the leading axes out; one M x M double matrix of scratch. */
static int check_det(struct vctx *v)
{
    desc *x = v->in[0], *y = v->out[0];
    int r = x->rank;
    if (dtypes(v, v->kd, x, y, NULL))
        return 1;
    if (r < 2 || x->dims[r - 1] != x->dims[r - 2] || y->rank != r - 2)
        return BAD("the input must be [..., M, M] and the output its leading axes");
    for (int i = 0; i < r - 2; i++)
        if (y->dims[i] != x->dims[i])
            return BAD("output axis %d has %lld, the input %lld", i, L(y->dims[i]),
                       L(x->dims[i]));
    uint64_t m = (uint64_t)x->dims[r - 1];
    return check_scratch(v, mulc(mulc(m, m), sizeof(double)));
}

/* ---- the table ---- */

#define ALL 0xffff /* every given input is required (variadic ops) */
struct op_check {
    int (*fn)(struct vctx *v);
    uint16_t req_in;          /* bit j: input j must be present */
    uint8_t max_in, req_out, max_out;
    uint16_t params;          /* exact params size the kernel reads (PVAR: at least) */
};
#define PVAR 0x8000 /* variable-size params: at least the size, the op's check does the rest */
/* req: the first `req` inputs are required; EM: a mask (inputs the compiler evaluates sit
 * between required ones as omitted tensors) */
#define EM(op, fn, mask, max, rout, mout, P) [OP_##op] = {fn, mask, max, rout, mout, P}
#define E(op, fn, req, max, rout, mout, P) EM(op, fn, (req) == ALL ? ALL : (1u << (req)) - 1, \
                                             max, rout, mout, P)
#define PB sizeof(struct kiln_p_binary)
#define PU sizeof(struct kiln_p_unary)
#define PR sizeof(struct kiln_p_reduce)
#define PS sizeof(struct kiln_p_softmax)
#define PRS sizeof(struct kiln_p_resize)
#define PSC sizeof(struct kiln_p_scatter)
#define PDG sizeof(struct kiln_p_diag)
#define PST sizeof(struct kiln_p_strided)
#define PN sizeof(struct kiln_p_norm)
#define PLP sizeof(struct kiln_p_lp_pool)
#define PRNN sizeof(struct kiln_p_rnn)
#define PQ sizeof(struct kiln_p_quant_axis)
#define PL sizeof(struct kiln_p_loss)
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
    E(CONV, check_conv, 2, 4, 1, 1, sizeof(struct kiln_p_conv)),
    E(GEMM, check_gemm, 2, 4, 1, 1, sizeof(struct kiln_p_gemm)),
    E(MATMUL, check_matmul, 2, 3, 1, 1, sizeof(struct kiln_p_matmul)),
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
    /* ops3-move */
    E(SPLIT, check_split, 1, 2, 1, MAX_NODE_IO - 1, sizeof(struct kiln_p_axis)),
    E(TILE, check_tile, 1, 2, 1, 1, 0),
    E(GATHER_ELEMENTS, check_gather_elements, 2, 2, 1, 1, sizeof(struct kiln_p_axis)),
    E(GATHER_ND, check_gather_nd, 2, 2, 1, 1, sizeof(struct kiln_p_gather_nd)),
    E(SCATTER, check_scatter, 3, 3, 1, 1, PSC), E(SCATTER_ELEMENTS, check_scatter, 3, 3, 1, 1, PSC),
    E(SCATTER_ND, check_scatter, 3, 3, 1, 1, PSC),
    EM(ONE_HOT, check_one_hot, 5, 3, 1, 1, sizeof(struct kiln_p_one_hot)),
    E(TRILU, check_diag, 1, 2, 1, 1, PDG), EM(EYE_LIKE, check_diag, 0, 1, 1, 1, PDG),
    E(DEPTH_TO_SPACE, check_strided, 1, 1, 1, 1, PST),
    E(SPACE_TO_DEPTH, check_strided, 1, 1, 1, 1, PST),
    E(REVERSE_SEQUENCE, check_reverse_sequence, 2, 2, 1, 1,
      sizeof(struct kiln_p_reverse_sequence)),
    E(COMPRESS, check_compress, 2, 2, 1, 1, sizeof(struct kiln_p_compress)),
    E(NON_ZERO, check_no_kernel, 1, 1, 1, 1, 0),
    E(CUMSUM, check_cumsum, 1, 2, 1, 1, sizeof(struct kiln_p_cumsum)),
    E(TOPK, check_topk, 1, 2, 1, 2, sizeof(struct kiln_p_topk)),
    E(EINSUM, check_einsum, ALL, KILN_EINSUM_MAX_IN, 1, 1, sizeof(struct kiln_p_einsum)),
    /* ops3-nn */
    E(CONV_TRANSPOSE, check_conv_transpose, 2, 3, 1, 1, sizeof(struct kiln_p_conv)),
    E(INSTANCE_NORMALIZATION, check_norm, 3, 3, 1, 1, PN),
    E(LAYER_NORMALIZATION, check_norm, 2, 3, 1, 3, PN),
    E(MEAN_VARIANCE_NORMALIZATION, check_norm, 1, 1, 1, 1, PN),
    E(LRN, check_lrn, 1, 1, 1, 1, sizeof(struct kiln_p_lrn)),
    E(LP_POOL, check_pool, 1, 1, 1, 1, PLP), E(GLOBAL_LP_POOL, check_global_pool, 1, 1, 1, 1, PLP),
    E(LP_NORMALIZATION, check_lp_norm, 1, 1, 1, 1, sizeof(struct kiln_p_lp_norm)),
    E(MAX_UNPOOL, check_max_unpool, 2, 3, 1, 1, sizeof(struct kiln_p_max_unpool)),
    E(GRID_SAMPLE, check_grid_sample, 2, 2, 1, 1, sizeof(struct kiln_p_grid_sample)),
    E(ROI_ALIGN, check_roi_align, 3, 3, 1, 1, sizeof(struct kiln_p_roi_align)),
    E(NON_MAX_SUPPRESSION, check_no_kernel, 2, 5, 1, 1, sizeof(struct kiln_p_nms)),
    /* always evaluated at compile time */
    E(UNIQUE, check_no_kernel, 0, 0, 0, 0, 0), E(HANN_WINDOW, check_no_kernel, 0, 0, 0, 0, 0),
    E(HAMMING_WINDOW, check_no_kernel, 0, 0, 0, 0, 0),
    E(BLACKMAN_WINDOW, check_no_kernel, 0, 0, 0, 0, 0),
    E(MEL_WEIGHT_MATRIX, check_no_kernel, 0, 0, 0, 0, 0),
    E(NEGATIVE_LOG_LIKELIHOOD_LOSS, check_loss, 2, 3, 1, 1, PL),
    E(SOFTMAX_CROSS_ENTROPY_LOSS, check_loss, 2, 3, 1, 2, PL),
    E(TFIDF_VECTORIZER, check_tfidf, 1, 1, 1, 1, PVAR | sizeof(struct kiln_p_tfidf)),
    E(DFT, check_dft, 1, 3, 1, 1, sizeof(struct kiln_p_dft)),
    E(STFT, check_stft, 1, 4, 1, 1, sizeof(struct kiln_p_stft)),
    E(DET, check_det, 1, 1, 1, 1, 0),
    UN(GELU),
    E(FUSED_ELEMENTWISE, check_fused_elementwise, 1, KILN_FEW_MAX_IN, 1, 1,
      sizeof(struct kiln_p_fused_elementwise)),
    /* ops3-rnn */
    E(LSTM, check_rnn, 3, 8, 0, 3, PRNN), E(GRU, check_rnn, 3, 6, 0, 2, PRNN),
    E(RNN, check_rnn, 3, 6, 0, 2, PRNN),
    /* ops3-quant: QLinear scales (inputs 1, 4, 6) and operands are required, zero points not */
    E(QUANTIZE_LINEAR, check_quantize, 2, 3, 1, 1, PQ),
    E(DEQUANTIZE_LINEAR, check_quantize, 2, 3, 1, 1, PQ),
    E(DYNAMIC_QUANTIZE_LINEAR, check_dynamic_quantize, 1, 1, 1, 3, 0),
    EM(QLINEAR_CONV, check_qconv, 0x5b, 9, 1, 1, sizeof(struct kiln_p_conv)),
    EM(QLINEAR_MATMUL, check_qmatmul, 0x5b, 8, 1, 1, 0),
    E(MATMUL_INTEGER, check_qmatmul, 2, 4, 1, 1, 0),
    E(CONV_INTEGER, check_qconv, 2, 4, 1, 1, sizeof(struct kiln_p_conv)),
    /* control flow */
    E(IF, check_if, 1, MAX_NODE_IO - 1, 0, MAX_NODE_IO - 1, sizeof(struct kiln_p_if)),
    E(LOOP, check_loop, 0, MAX_NODE_IO - 1, 0, MAX_NODE_IO - 1, sizeof(struct kiln_p_loop)),
    E(SCAN, check_scan, 0, MAX_NODE_IO - 1, 0, MAX_NODE_IO - 1, sizeof(struct kiln_p_scan)),
};

int kiln_validate_op_known(uint32_t op)
{
    return op < OP_COUNT && checks[op].fn != NULL;
}

/* ---- the program ---- */


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
        v->t[j] = &p->tensors[ti];
        int is_out = j >= n->n_in;
        int req = is_out ? j - n->n_in < c->req_out : all || (j < 16 && (mask >> j) & 1);
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
    case OP_IF: r[0] = q[0], r[1] = q[1]; return 2;
    case OP_LOOP: /* body is the first field of struct kiln_p_loop and kiln_p_scan */
    case OP_SCAN: r[0] = q[0]; return 1;
    default: return 0;
    }
}

/* Nesting: walks up from block b (through the one node that runs each block and the block
 * that node belongs to) to the main schedule. A block that is an ancestor of itself would
 * recurse without end, and deep nesting would exhaust the stack of the interpreter, which
 * recurses once per level. Iterative, bounded by KILN_MAX_BLOCK_DEPTH, no allocation. */
#define KILN_MAX_BLOCK_DEPTH 8
static enum kiln_status check_nesting(const struct kiln_program *p, uint32_t b,
                                      struct kiln_diag *d)
{
    uint32_t cur = b, total = p->n_nodes + p->n_block_nodes;
    for (int depth = 0;; depth++) {
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
    for (uint32_t b = 0; b < p->n_blocks; b++)
        if ((st = check_nesting(p, b, d)))
            return st;
    return KILN_STATUS_OK;
}
