/* nn.c - load-time checks of the neural-network ops (conv.c, conv_transpose.c, pool.c, gemm.c,
 * norm.c, normalize.c, softmax.c, resize.c, max_unpool.c, sample.c): window geometry recomputed
 * from the params, weight and bias shapes, and scratch sized by the same helpers the compiler
 * sizes it with. Also the Conv and MatMul shape checks the quantized ops reuse. */
#define KILN_CK_FILE "checks/nn.c"
#include <math.h>
#include <string.h>

#include "check.h"
#include "kernels/gemm_core.h"
#include "kernels/nn.h"
#include "kernels/nms.h"

/* x [N, C, in...] and y [N, *, out...], with out recomputed from the window (ceil: also the
 * ceil_mode length). */
static int check_window(struct kiln_vctx *v, int nsp, const struct kiln_p_window *w, desc *x,
                        desc *y, int ceil)
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

int kiln_ck_conv_shape(struct kiln_vctx *v, const struct kiln_p_conv *p, desc *x, desc *w, desc *y,
                       uint64_t *cg, uint64_t *k_size, uint64_t *out_size)
{
    if (check_window(v, p->nsp, &p->win, x, y, 0) || kiln_ck_act(v, &p->act))
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
static int check_residual(struct kiln_vctx *v, uint32_t idx)
{
    desc *r = v->n->n_in > idx ? v->in[idx] : NULL;
    if (present(r) && (r->dtype != v->out[0]->dtype || !same_shape(r, v->out[0])))
        return BAD("the residual input must have the output's shape and type");
    return 0;
}

/* The packed variants of Conv, Gemm and MatMul (KILN_GEMM_VARIANT_PACKED): their weight is
 * checked as the logical tensor *logical (its descriptor with the dims the plain kernel would
 * get, which the caller fills), and its stored dims must be those of that matrix packed. */
static int is_packed(struct kiln_vctx *v)
{
    return v->n->variant >= KILN_GEMM_VARIANT_PACKED && v->n->variant < KILN_GEMM_VARIANT_SPARSE;
}

static int packed_dims(struct kiln_vctx *v, desc *w, int rank, const int64_t *want)
{
    if (w->rank != rank)
        return BAD("packed weights of rank %d; expected %d", w->rank, rank);
    for (int i = 0; i < rank; i++)
        if (w->dims[i] != want[i])
            return BAD("packed weights: dimension %d is %lld; expected %lld", i, L(w->dims[i]),
                       L(want[i]));
    return 0;
}

/* B packed: [panels, K, PANEL_B] for the K x N op(B); *bl gets the dims of B as stored
 * unpacked ([K, N], or [N, K] when trans). */
static int packed_b(struct kiln_vctx *v, desc *b, int64_t K, int64_t N, int trans,
                    struct kiln_tensor_desc *bl)
{
    int64_t want[3] = {(N + KILN_GEMM_PANEL_B - 1) / KILN_GEMM_PANEL_B, K, KILN_GEMM_PANEL_B};
    if (packed_dims(v, b, 3, want))
        return 1;
    *bl = *b;
    bl->rank = 2;
    bl->dims[0] = trans ? N : K;
    bl->dims[1] = trans ? K : N;
    bl->dims[2] = 0;
    return 0;
}

/* Gemm's sparse variant: op(B) compressed by output column (gemm_core.h), a rank-1 float32
 * array of 32-bit words among the weights, whose structure is checked here so that the kernel
 * can trust every index; *bl gets the dims of B as stored dense. */
static int sparse_b(struct kiln_vctx *v, desc *b, int64_t K, int64_t N, int trans,
                    struct kiln_tensor_desc *bl)
{
    if (b->storage != KILN_STORAGE_WEIGHT || b->dtype != KILN_DTYPE_F32 || b->rank != 1 ||
        b->nbytes != (uint64_t)b->dims[0] * 4 || b->offset % 4 || K < 0 || N < 0 ||
        kiln_spgemm_check((const uint32_t *)(const void *)(v->p->weights + b->offset),
                          (uint64_t)b->dims[0], (uint64_t)N, (uint64_t)K))
        return BAD("sparse weights are not a well-formed %lld x %lld compressed matrix", L(N),
                   L(K));
    *bl = *b;
    bl->rank = 2;
    bl->dims[0] = trans ? N : K;
    bl->dims[1] = trans ? K : N;
    return 0;
}

static int check_conv(struct kiln_vctx *v)
{
    const struct kiln_p_conv *p = v->params;
    desc *x = v->in[0], *w = v->in[1], *y = v->out[0], *b = opt_in(v, 2);
    uint64_t cg, k_size, out_size, es = kiln_dtype_size(v->kd);
    struct kiln_tensor_desc wl;
    if (is_packed(v)) {
        if (p->group < 1 || p->nsp < 1 || p->nsp > KILN_MAX_SPATIAL || x->rank != p->nsp + 2 ||
            y->rank != x->rank)
            return BAD("group %d, %d spatial axes or ranks do not fit", p->group, p->nsp);
        wl = *w;
        memset(wl.dims, 0, sizeof wl.dims);
        wl.rank = x->rank;
        wl.dims[0] = y->dims[1];
        wl.dims[1] = x->dims[1] / p->group;
        for (int i = 0; i < p->nsp; i++)
            wl.dims[2 + i] = p->win.kernel[i];
        w = &wl;
    }
    if (kiln_ck_dtypes(v, v->kd, x, w, y) || kiln_ck_dtypes(v, v->kd, b, 0, 0) ||
        kiln_ck_conv_shape(v, p, x, w, y, &cg, &k_size, &out_size) || check_residual(v, 3))
        return 1;
    uint64_t M = (uint64_t)w->dims[0], mg = M / (uint64_t)p->group;
    if (b && !is_vec(b, M))
        return BAD("bias must be a vector of %llu values", U(M));
    int64_t want[4] = {p->group,
                       (int64_t)((mg + KILN_GEMM_PANEL_A - 1) / KILN_GEMM_PANEL_A),
                       (int64_t)(cg * k_size), KILN_GEMM_PANEL_A};
    if (is_packed(v) && kiln_conv_direct(p, cg, mg, es))
        return BAD("a depthwise convolution's weights are read unpacked");
    if (is_packed(v) && packed_dims(v, v->in[1], 4, want))
        return 1;
    return kiln_ck_scratch(v, kiln_conv_scratch_bytes(p, cg, mg, k_size, out_size, es));
}

static int check_pool(struct kiln_vctx *v)
{
    const struct kiln_p_pool *p = v->params;
    desc *x = v->in[0], *y = v->out[0], *ind = v->n->n_out > 1 ? v->out[1] : NULL;
    if (kiln_ck_dtypes(v, v->kd, x, y, NULL) || check_window(v, p->nsp, &p->win, x, y, 1))
        return 1;
    if (y->dims[1] != x->dims[1] || (p->count_include_pad & ~1) || (p->storage_order & ~1) ||
        p->reserved)
        return BAD("channels or flags do not fit");
    if (present(ind) && (ind->dtype != KILN_DTYPE_I64 || !same_shape(ind, y)))
        return BAD("indices must be int64 with the output's shape");
    return 0;
}

static int check_global_pool(struct kiln_vctx *v)
{
    desc *x = v->in[0], *y = v->out[0];
    if (kiln_ck_dtypes(v, v->kd, x, y, NULL))
        return 1;
    if (x->rank < 2 || y->rank != x->rank || y->dims[0] != x->dims[0] || y->dims[1] != x->dims[1])
        return BAD("input rank %d or output shape do not fit", x->rank);
    for (int i = 2; i < x->rank; i++)
        if (y->dims[i] != 1 || (x->dims[i] < 1 && numel(y) > 0))
            return BAD("spatial axis %d: input %lld, output %lld", i, L(x->dims[i]),
                       L(y->dims[i]));
    return 0;
}

static int check_batch_norm(struct kiln_vctx *v)
{
    desc *x = v->in[0];
    if (x->rank < 2 || !same_shape(x, v->out[0]) || kiln_ck_dtypes(v, v->kd, x, v->out[0], NULL))
        return BAD("input rank %d or output shape do not fit", x->rank);
    for (int i = 1; i < 5; i++)
        if (kiln_ck_dtypes(v, v->kd, v->in[i], 0, 0) || numel(v->in[i]) < x->dims[1])
            return BAD("input %d needs %lld values (one per channel)", i, L(x->dims[1]));
    return 0;
}

static int check_gemm(struct kiln_vctx *v)
{
    const struct kiln_p_gemm *p = v->params;
    desc *a = v->in[0], *b = v->in[1], *y = v->out[0];
    desc *c = v->n->n_in > 2 && present(v->in[2]) ? v->in[2] : NULL;
    struct kiln_tensor_desc bl;
    int sparse = v->n->variant == KILN_GEMM_VARIANT_SPARSE;
    if (sparse) {
        if (a->rank != 2 || y->rank != 2 ||
            sparse_b(v, b, p->trans_a ? a->dims[0] : a->dims[1], y->dims[1], p->trans_b, &bl))
            return BAD("A and Y must be matrices, B sparse for them");
        b = &bl;
    } else if (is_packed(v)) {
        if (a->rank != 2 || y->rank != 2 ||
            packed_b(v, b, p->trans_a ? a->dims[0] : a->dims[1], y->dims[1], p->trans_b, &bl))
            return BAD("A and Y must be matrices, B packed for them");
        b = &bl;
    }
    if (kiln_ck_dtypes(v, v->kd, a, b, y) || kiln_ck_dtypes(v, v->kd, c, 0, 0) ||
        kiln_ck_act(v, &p->act) || check_residual(v, 3))
        return 1;
    if (a->rank != 2 || b->rank != 2 || y->rank != 2 || (p->trans_a & ~1) || (p->trans_b & ~1))
        return BAD("A, B and Y must be matrices");
    int64_t M = p->trans_a ? a->dims[1] : a->dims[0], K = p->trans_a ? a->dims[0] : a->dims[1];
    int64_t K2 = p->trans_b ? b->dims[1] : b->dims[0], N = p->trans_b ? b->dims[0] : b->dims[1];
    if (K != K2 || y->dims[0] != M || y->dims[1] != N)
        return BAD("op(A) %lldx%lld times op(B) %lldx%lld is not Y %lldx%lld", L(M), L(K),
                   L(K2), L(N), L(y->dims[0]), L(y->dims[1]));
    if (c && !kiln_ck_bcast_to(c, 0, y))
        return BAD("C does not broadcast to Y");
    if (sparse)
        return kiln_ck_scratch(v, kiln_spgemm_scratch_bytes((uint64_t)K));
    return kiln_ck_scratch(
        v, kiln_gemm_scratch_bytes((uint64_t)M, (uint64_t)N, (uint64_t)K, kiln_dtype_size(v->kd)));
}

int kiln_ck_matmul_shape(struct kiln_vctx *v, desc *a, desc *b, desc *y, uint64_t mnk[3],
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

static int check_matmul(struct kiln_vctx *v)
{
    const struct kiln_p_matmul *p = v->params;
    uint64_t mnk[3], rows;
    desc *a = v->in[0], *b = v->in[1], *y = v->out[0];
    struct kiln_tensor_desc bl;
    if (is_packed(v)) { /* a 2-D B only */
        if (a->rank < 1 || y->rank < 1 ||
            packed_b(v, b, a->dims[a->rank - 1], y->dims[y->rank - 1], 0, &bl))
            return BAD("A and Y must have rank 1 or more, B packed for them");
        b = &bl;
    }
    if (kiln_ck_dtypes(v, v->kd, a, b, y) || kiln_ck_act(v, &p->act) || check_residual(v, 2) ||
        kiln_ck_matmul_shape(v, a, b, y, mnk, &rows))
        return 1;
    return kiln_ck_scratch(v,
                           kiln_gemm_scratch_bytes(rows, mnk[1], mnk[2], kiln_dtype_size(v->kd)));
}

static int check_softmax(struct kiln_vctx *v)
{
    desc *x = v->in[0];
    if (kiln_ck_dtypes(v, v->kd, x, v->out[0], NULL))
        return 1;
    if (!same_shape(x, v->out[0]))
        return BAD("the output's shape differs from the input's");
    return kiln_ck_oai(v, v->params, x);
}

static int check_resize(struct kiln_vctx *v)
{
    const struct kiln_p_resize *p = v->params;
    desc *x = v->in[0], *y = v->out[0];
    uint64_t taps = 0;
    if (kiln_ck_dtypes(v, v->kd, x, y, NULL))
        return 1;
    if (x->rank != y->rank || p->mode < 0 || p->mode > KILN_RESIZE_CUBIC || p->coord < 0 ||
        p->coord > KILN_RESIZE_HALF_PIXEL_SYMMETRIC || p->nearest < 0 ||
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
    return kiln_ck_scratch(v, mulc(taps, KILN_RESIZE_TAP_BYTES));
}

static int check_conv_transpose(struct kiln_vctx *v)
{
    const struct kiln_p_conv *p = v->params;
    desc *x = v->in[0], *w = v->in[1], *y = v->out[0], *b = opt_in(v, 2);
    if (kiln_ck_dtypes(v, v->kd, x, w, y) || kiln_ck_dtypes(v, v->kd, b, 0, 0) ||
        kiln_ck_act(v, &p->act))
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
    return kiln_ck_scratch(
        v, kiln_conv_transpose_scratch((uint64_t)(x->dims[1] / g), mg, k_size, in_size, es));
}

/* InstanceNormalization, LayerNormalization, MeanVarianceNormalization. */
static int check_norm(struct kiln_vctx *v)
{
    const struct kiln_p_norm *p = v->params;
    desc *x = v->in[0], *sc = opt_in(v, 1), *bi = opt_in(v, 2);
    int grouped = v->n->op == KILN_OP_GROUP_NORMALIZATION;
    if (p->reduce_mask >> (grouped ? 3 : x->rank) || p->affine < KILN_NORM_PLAIN ||
        p->affine > (grouped ? KILN_NORM_GROUP_CHANNEL : KILN_NORM_PER_ELEMENT) ||
        (p->scale_step & ~1) || (p->bias_step & ~1) || (p->eps_after_sqrt & ~1) ||
        (!grouped && p->num_groups) || kiln_ck_dtypes(v, v->kd, sc, bi, NULL) ||
        kiln_ck_ew_unary(v, 0))
        return BAD("axes mask %#x, affine %d or steps do not fit", p->reduce_mask, p->affine);
    if (grouped && (x->rank < 3 || p->num_groups < 1 || x->dims[1] % p->num_groups ||
                    p->reduce_mask != 4 || !sc || !bi))
        return BAD("GroupNormalization needs [N, C, D...] with C a multiple of %d groups, scale "
                   "and bias", p->num_groups);
    int64_t count = 1, groups = 1, C = x->rank > 1 ? x->dims[1] : 1;
    for (int i = 0; i < x->rank; i++)
        *((p->reduce_mask >> i) & 1 ? &count : &groups) *= x->dims[i];
    if (grouped && p->affine == KILN_NORM_PER_CHANNEL) /* opset 18: a scale per group */
        C = p->num_groups;
    desc *ab[2] = {sc, bi};
    for (int i = 0; i < 2; i++) {
        int64_t step = i ? p->bias_step : p->scale_step;
        int64_t need = p->affine == KILN_NORM_PER_CHANNEL || p->affine == KILN_NORM_GROUP_CHANNEL
                           ? C
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
        return kiln_ck_scratch(v, mulc((uint64_t)count, sizeof(int64_t)));
    return 0;
}

static int check_lrn(struct kiln_vctx *v)
{
    const struct kiln_p_lrn *p = v->params;
    if (v->in[0]->rank < 2 || p->size < 1)
        return BAD("size %d for rank %d", p->size, v->in[0]->rank);
    return kiln_ck_ew_unary(v, 0);
}

static int check_lp_norm(struct kiln_vctx *v)
{
    const struct kiln_p_lp_norm *p = v->params;
    if ((p->p != 1 && p->p != 2) || p->reserved)
        return BAD("p = %d", p->p);
    return kiln_ck_ew_unary(v, 0) || kiln_ck_oai(v, v->params, v->in[0]);
}

static int check_max_unpool(struct kiln_vctx *v)
{
    const struct kiln_p_max_unpool *p = v->params;
    desc *x = v->in[0], *ind = v->in[1], *y = v->out[0];
    if (x->dtype != y->dtype || ind->dtype != KILN_DTYPE_I64 || numel(ind) < numel(x))
        return BAD("int64 indices for every input element and the input's type");
    for (int d = 0; d < KILN_MAX_RANK; d++)
        if (d < y->rank ? p->index_dims[d] < 1 : p->index_dims[d] != 0)
            return BAD("index shape axis %d is %lld", d, L(p->index_dims[d]));
    if (kiln_ck_prodc(p->index_dims, y->rank) > (uint64_t)MAX_ELEMS)
        return BAD("the index shape is too large");
    return 0;
}

/* GridSample and RoiAlign: 4-D images; indexing clamps into [0, H) x [0, W), so an image
 * that is read must not be empty. */
static int check_image(struct kiln_vctx *v, desc *x, desc *y, int64_t n0, int64_t h, int64_t w)
{
    if (kiln_ck_dtypes(v, v->kd, x, y, NULL))
        return 1;
    if (x->rank != 4 || y->rank != 4 || y->dims[0] != n0 || y->dims[1] != x->dims[1] ||
        y->dims[2] != h || y->dims[3] != w ||
        (numel(y) && (x->dims[0] < 1 || x->dims[2] < 1 || x->dims[3] < 1)))
        return BAD("the input [N, C, H, W] and output shapes do not fit");
    return 0;
}

static int check_grid_sample(struct kiln_vctx *v)
{
    const struct kiln_p_grid_sample *p = v->params;
    desc *x = v->in[0], *g = v->in[1];
    if (p->mode < 0 || p->mode > KILN_GRID_BICUBIC || p->padding < 0 ||
        p->padding > KILN_GRID_REFLECTION || (p->align_corners & ~1) || p->reserved)
        return BAD("mode %d, padding %d", p->mode, p->padding);
    if (kiln_ck_dtypes(v, v->kd, g, 0, 0) || g->rank != 4 || g->dims[3] != 2 || x->rank != 4 ||
        g->dims[0] != x->dims[0])
        return BAD("the grid must be [N, H_out, W_out, 2]");
    return check_image(v, x, v->out[0], x->dims[0], g->dims[1], g->dims[2]);
}

static int check_affine_grid(struct kiln_vctx *v)
{
    const struct kiln_p_affine_grid *p = v->params;
    desc *t = v->in[0], *y = v->out[0];
    int nsp = y->rank - 2;
    if ((p->align_corners & ~1) || p->reserved || kiln_ck_dtypes(v, v->kd, t, y, NULL) ||
        (nsp != 2 && nsp != 3) || y->dims[y->rank - 1] != nsp || t->rank != 3 ||
        t->dims[0] != y->dims[0] || t->dims[1] != nsp || t->dims[2] != nsp + 1)
        return BAD("theta [N, %d, %d] and the grid [N, ..., %d] do not fit", nsp, nsp + 1, nsp);
    return 0;
}

static int check_col2im(struct kiln_vctx *v)
{
    const struct kiln_p_col2im *p = v->params;
    desc *x = v->in[0], *y = v->out[0];
    if (p->nsp < 1 || p->nsp > KILN_MAX_RANK - 2 || p->reserved || y->rank != p->nsp + 2 ||
        x->rank != 3 || kiln_ck_dtypes(v, v->kd, x, y, NULL))
        return BAD("%d spatial axes, input rank %d, output rank %d", p->nsp, x->rank, y->rank);
    int64_t kprod = 1, lprod = 1;
    for (int i = 0; i < p->nsp; i++) {
        if (p->block[i] < 1 || p->dilation[i] < 1 || p->stride[i] < 1 || p->pad[i] < 0 ||
            p->blocks[i] < 1 || p->block[i] > MAX_ELEMS || p->blocks[i] > MAX_ELEMS)
            return BAD("axis %d: block %lld, blocks %lld", i, L(p->block[i]), L(p->blocks[i]));
        kprod = (int64_t)mulc((uint64_t)kprod, (uint64_t)p->block[i]);
        lprod = (int64_t)mulc((uint64_t)lprod, (uint64_t)p->blocks[i]);
    }
    if (x->dims[0] != y->dims[0] ||
        (uint64_t)x->dims[1] != mulc((uint64_t)y->dims[1], (uint64_t)kprod) ||
        x->dims[2] != lprod)
        return BAD("the columns [%lld, %lld, %lld] do not fit the blocks", L(x->dims[0]),
                   L(x->dims[1]), L(x->dims[2]));
    return 0;
}

static int check_roi_align(struct kiln_vctx *v)
{
    const struct kiln_p_roi_align *p = v->params;
    desc *r = v->in[1], *bt = v->in[2], *y = v->out[0];
    int64_t nr = y->rank ? y->dims[0] : 0;
    if ((p->mode & ~1) || (p->half_pixel & ~1) || kiln_ck_dtypes(v, v->kd, r, 0, 0) ||
        numel(r) < 4 * nr || (bt->dtype != KILN_DTYPE_I32 && bt->dtype != KILN_DTYPE_I64) ||
        numel(bt) < nr)
        return BAD("mode %d, rois or batch indices do not fit %lld regions", p->mode, L(nr));
    return check_image(v, v->in[0], y, nr, y->rank == 4 ? y->dims[2] : -1,
                       y->rank == 4 ? y->dims[3] : -1);
}

/* ---- the ops' checks (kiln_oc_<op>, reached through their kernel lists) ---- */

/* NonMaxSuppression: boxes [B, N, 4], scores [B, C, N] float32, scalar limits; the kernel
 * writes at most as many [batch, class, box] triples as the output's bound holds. */
static int check_nms(struct kiln_vctx *v)
{
    const struct kiln_p_nms *p = v->params;
    desc *b = v->in[0], *s = v->in[1], *y = v->out[0];
    if ((p->center_point_box & ~1) || p->reserved || b->dtype != KILN_DTYPE_F32 ||
        s->dtype != KILN_DTYPE_F32 || b->rank != 3 || b->dims[2] != 4 || s->rank != 3 ||
        s->dims[0] != b->dims[0] || s->dims[2] != b->dims[1] || y->dtype != KILN_DTYPE_I64 ||
        y->rank != 2 || y->dims[1] != 3)
        return BAD("boxes [B, N, 4], scores [B, C, N] and an int64 [n, 3] output");
    static const int want[3] = {KILN_DTYPE_I64, KILN_DTYPE_F32, KILN_DTYPE_F32};
    for (uint32_t i = 2; i < v->n->n_in; i++) {
        desc *t = opt_in(v, i);
        if (present(t) && (numel(t) != 1 || t->dtype != want[i - 2]))
            return BAD("input %u must be a %s scalar", i, kiln_dtype_name(want[i - 2]));
    }
    return kiln_ck_scratch(v, kiln_nms_scratch(b->dims[1]));
}

KILN_CHECK(conv, check_conv, sizeof(struct kiln_p_conv));
KILN_CHECK(max_pool, check_pool, sizeof(struct kiln_p_pool));
KILN_CHECK(average_pool, check_pool, sizeof(struct kiln_p_pool));
KILN_CHECK(lp_pool, check_pool, sizeof(struct kiln_p_lp_pool));
KILN_CHECK(global_average_pool, check_global_pool, 0);
KILN_CHECK(global_max_pool, check_global_pool, 0);
KILN_CHECK(global_lp_pool, check_global_pool, sizeof(struct kiln_p_lp_pool));
KILN_CHECK(batch_normalization, check_batch_norm, sizeof(struct kiln_p_batch_norm));
KILN_CHECK(gemm, check_gemm, sizeof(struct kiln_p_gemm));
KILN_CHECK(matmul, check_matmul, sizeof(struct kiln_p_matmul));
KILN_CHECK(softmax, check_softmax, sizeof(struct kiln_p_softmax));
KILN_CHECK(log_softmax, check_softmax, sizeof(struct kiln_p_softmax));
KILN_CHECK(hardmax, check_softmax, sizeof(struct kiln_p_softmax));
KILN_CHECK(resize, check_resize, sizeof(struct kiln_p_resize));
KILN_CHECK(upsample, check_resize, sizeof(struct kiln_p_resize));
KILN_CHECK(conv_transpose, check_conv_transpose, sizeof(struct kiln_p_conv));
KILN_CHECK(instance_normalization, check_norm, sizeof(struct kiln_p_norm));
KILN_CHECK(layer_normalization, check_norm, sizeof(struct kiln_p_norm));
KILN_CHECK(mean_variance_normalization, check_norm, sizeof(struct kiln_p_norm));
KILN_CHECK(group_normalization, check_norm, sizeof(struct kiln_p_norm));
KILN_CHECK(lrn, check_lrn, sizeof(struct kiln_p_lrn));
KILN_CHECK(lp_normalization, check_lp_norm, sizeof(struct kiln_p_lp_norm));
KILN_CHECK(max_unpool, check_max_unpool, sizeof(struct kiln_p_max_unpool));
KILN_CHECK(grid_sample, check_grid_sample, sizeof(struct kiln_p_grid_sample));
KILN_CHECK(affine_grid, check_affine_grid, sizeof(struct kiln_p_affine_grid));
KILN_CHECK(col2im, check_col2im, sizeof(struct kiln_p_col2im));
KILN_CHECK(roi_align, check_roi_align, sizeof(struct kiln_p_roi_align));
KILN_CHECK(non_max_suppression, check_nms, sizeof(struct kiln_p_nms));
