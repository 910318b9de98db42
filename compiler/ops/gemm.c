/* gemm.c - Gemm (transA/transB, alpha, beta, optional C broadcast to [M, N]) and MatMul (numpy
 * semantics: 1-D operands promoted then squeezed, batch dims broadcast): shape inference (MatMul's
 * shared with its integer forms, nn.h), GEMM scratch sizing and MAC counts. Kernels in
 * runtime/kernels/gemm.c. Also the compile-time packing of the constant weights of Gemm, MatMul
 * and Conv that lowering stores. */
#include "fused.h"
#include "nn.h"
#include "../../runtime/kernels/gemm_core.h"
#include "../../runtime/kernels/nn.h"

static enum kiln_status infer_gemm(struct kiln_infer_ctx *c, struct kiln_ir_node *n)
{
    struct kiln_ir_value *a, *b, *cv = kiln_in(n, 2);
    enum kiln_status st;
    if ((st = kiln_need_input(c, n, 0, &a)) || (st = kiln_need_input(c, n, 1, &b)) ||
        (st = kiln_check_dtype(c, n, 0, kiln_dtypes_f32_f64)) ||
        (st = kiln_check_same_dtype(c, n, 0, 1)) || (st = kiln_check_same_dtype(c, n, 0, 2)))
        return st;
    if (!cv && c->g->opset < 11)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "input C is required before opset 11");
    int64_t trans_a, trans_b;
    float alpha, beta;
    if ((st = kiln_attr_int(c, n, "transA", 0, &trans_a)) ||
        (st = kiln_attr_int(c, n, "transB", 0, &trans_b)) ||
        (st = kiln_attr_float(c, n, "alpha", 1.0f, &alpha)) ||
        (st = kiln_attr_float(c, n, "beta", 1.0f, &beta)))
        return st;
    if (a->rank != 2 || b->rank != 2)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "A and B must be matrices; they have rank %d and %d", a->rank,
                             b->rank);
    int64_t M = trans_a ? a->dims[1] : a->dims[0], K = trans_a ? a->dims[0] : a->dims[1];
    int64_t K2 = trans_b ? b->dims[1] : b->dims[0], N = trans_b ? b->dims[0] : b->dims[1];
    if (K != K2)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "inner dimensions differ: op(A) is %lldx%lld, op(B) is %lldx%lld",
                             (long long)M, (long long)K, (long long)K2, (long long)N);
    int64_t dims[2] = {M, N};
    if (cv) {
        bool ok = cv->rank <= 2;
        for (int i = 0; ok && i < cv->rank; i++) {
            int64_t want = dims[2 - cv->rank + i];
            ok = cv->dims[i] == 1 || cv->dims[i] == want;
        }
        if (!ok)
            return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                                 "C ('%s') cannot be broadcast to [%lld, %lld]", cv->name,
                                 (long long)M, (long long)N);
    }
    struct kiln_p_gemm *p = kiln_node_params(c, n, sizeof *p);
    if (!p)
        return kiln_op_error(c, n, KILN_STATUS_NO_MEMORY, "out of memory");
    p->trans_a = trans_a != 0;
    p->trans_b = trans_b != 0;
    p->alpha = alpha;
    p->beta = beta;
    if ((st = kiln_fused_attrs(c, n, 3, 2, dims, &p->act)))
        return st;
    n->scratch_size = kiln_gemm_scratch_bytes((uint64_t)M, (uint64_t)N, (uint64_t)K,
                                              kiln_dtype_size(a->dtype));
    return kiln_set_output(c, n, 0, a->dtype, 2, dims);
}

static uint64_t macs_gemm(const struct kiln_ir_node *n)
{
    const struct kiln_p_gemm *p = n->params;
    const struct kiln_ir_value *a = n->in[0], *y = n->out[0];
    if (!p || !y || a->rank != 2)
        return 0;
    return (uint64_t)kiln_ir_value_numel(y) * (uint64_t)a->dims[p->trans_a ? 0 : 1];
}

enum kiln_status kiln_matmul_shape(struct kiln_infer_ctx *c, const struct kiln_ir_node *n,
                                   const struct kiln_ir_value *a, const struct kiln_ir_value *b,
                                   struct kiln_matmul_shape *s)
{
    enum kiln_status st;
    if (a->rank < 1 || b->rank < 1)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "operands must have rank >= 1 (got %d and %d)", a->rank, b->rank);
    int64_t M = a->rank >= 2 ? a->dims[a->rank - 2] : 1, K = a->dims[a->rank - 1];
    int64_t K2 = b->rank >= 2 ? b->dims[b->rank - 2] : b->dims[0];
    int64_t N = b->rank >= 2 ? b->dims[b->rank - 1] : 1;
    if (K != K2)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "inner dimensions differ: A is ...x%lldx%lld, B is ...x%lldx%lld",
                             (long long)M, (long long)K, (long long)K2, (long long)N);
    int rb_a = a->rank > 2 ? a->rank - 2 : 0, rb_b = b->rank > 2 ? b->rank - 2 : 0, r;
    if ((st = kiln_broadcast(c, n, rb_a, a->dims, rb_b, b->dims, &r, s->dims)))
        return st;
    int64_t batch = 1;
    for (int i = 0; i < r; i++)
        batch *= s->dims[i];
    if (a->rank >= 2)
        s->dims[r++] = M;
    if (b->rank >= 2)
        s->dims[r++] = N;
    s->m = M, s->n = N, s->k = K, s->rank = r;
    s->rows = (uint64_t)M * (rb_b == 0 ? (uint64_t)batch : 1);
    return KILN_STATUS_OK;
}

static enum kiln_status infer_matmul(struct kiln_infer_ctx *c, struct kiln_ir_node *n)
{
    struct kiln_ir_value *a, *b;
    struct kiln_matmul_shape sh;
    enum kiln_status st;
    if ((st = kiln_need_input(c, n, 0, &a)) || (st = kiln_need_input(c, n, 1, &b)) ||
        (st = kiln_check_dtype(c, n, 0, kiln_dtypes_f32_f64)) ||
        (st = kiln_check_same_dtype(c, n, 0, 1)) || (st = kiln_matmul_shape(c, n, a, b, &sh)))
        return st;
    struct kiln_p_matmul *p = kiln_node_params(c, n, sizeof *p);
    if (!p)
        return kiln_op_error(c, n, KILN_STATUS_NO_MEMORY, "out of memory");
    if ((st = kiln_fused_attrs(c, n, 2, sh.rank, sh.dims, &p->act)))
        return st;
    n->scratch_size =
        kiln_gemm_scratch_bytes(sh.rows, (uint64_t)sh.n, (uint64_t)sh.k, kiln_dtype_size(a->dtype));
    return kiln_set_output(c, n, 0, a->dtype, sh.rank, sh.dims);
}

static uint64_t macs_matmul(const struct kiln_ir_node *n)
{
    const struct kiln_ir_value *a = n->in[0], *y = n->out[0];
    if (!y || a->rank < 1)
        return 0;
    return (uint64_t)kiln_ir_value_numel(y) * (uint64_t)a->dims[a->rank - 1];
}

const struct kiln_op_info kiln_opi_gemm = {
    .infer = infer_gemm, .macs = macs_gemm, .dtypes = "float32, float64",
    .notes = "C optional and broadcast; fused activation and residual (kiln_act, kiln_residual)",
    .opsets = {1, 7, 11}};
const struct kiln_op_info kiln_opi_matmul = {
    .infer = infer_matmul, .macs = macs_matmul, .dtypes = "float32, float64",
    .notes = "numpy semantics, batch broadcast; fused activation and residual (kiln_act, "
             "kiln_residual)",
    .opsets = {1}};

/* ---- weights packed at compile time ---- */

/* Packs only when a panel's zero padding costs at most as much as the weight itself, or
 * little: a 1-row or 1-column weight would grow 24 or 32 times. */
static bool packing_pays(uint64_t plain, uint64_t packed, uint64_t esize)
{
    return packed <= 2 * plain || (packed - plain) * esize <= 16384;
}

/* out, when not NULL: groups matrices of rows x k (A) or k x cols (B, strides b_rs, b_cs),
 * `step` elements apart in w, each packed after the previous one. */
static void pack_all(int dtype, bool as_a, int64_t groups, int64_t mn, int64_t k, const void *w,
                     int64_t step, int64_t b_rs, int64_t b_cs, void *out)
{
    uint64_t each = as_a ? kiln_gemm_packed_a_elems((uint64_t)mn, (uint64_t)k)
                         : kiln_gemm_packed_b_elems((uint64_t)k, (uint64_t)mn);
#define PACK_ONE(sfx, T)                                                                       \
    do {                                                                                       \
        const T *src = (const T *)w + gi * step;                                               \
        T *dst = (T *)out + gi * (int64_t)each;                                                \
        if (as_a)                                                                              \
            kiln_gemm_pack_a_##sfx(mn, k, src, k, 1, dst);                                     \
        else                                                                                   \
            kiln_gemm_pack_b_##sfx(k, mn, src, b_rs, b_cs, dst);                               \
    } while (0)
    for (int64_t gi = 0; gi < groups; gi++) {
        if (dtype == KILN_DTYPE_F32)
            PACK_ONE(f32, float);
        else
            PACK_ONE(f64, double);
    }
#undef PACK_ONE
}

/* Conv: the weight as A per group ([group, panels, C/group * kernel, PANEL_A]), except when a
 * group has one input channel (depthwise: not a GEMM worth the name). Gemm: op(B) as B
 * ([panels, K, PANEL_B]). MatMul: a 2-D B as B. */
bool kiln_gemm_packed_weight(const struct kiln_ir_node *n, int *rank, int64_t *dims, void *out)
{
    const struct kiln_ir_value *w = n->n_in > 1 ? n->in[1] : NULL;
    if (!w || !w->data || w->is_input || !n->params ||
        (w->dtype != KILN_DTYPE_F32 && w->dtype != KILN_DTYPE_F64) || w->rank < 1)
        return false;
    uint64_t es = kiln_dtype_size(w->dtype), plain = (uint64_t)kiln_ir_value_numel(w);
    if (n->op == KILN_OP_CONV) {
        const struct kiln_p_conv *p = n->params;
        int64_t g = p->group, mg = w->dims[0] / g, kdim = w->dims[1];
        for (int i = 2; i < w->rank; i++)
            kdim *= w->dims[i];
        uint64_t each = kiln_gemm_packed_a_elems((uint64_t)mg, (uint64_t)kdim);
        /* the direct kernel (conv_dw.c) reads the plain [M, 1, kh, kw] layout */
        if ((w->dims[1] == 1 && g > 1) ||
            kiln_conv_direct(p, (uint64_t)w->dims[1], (uint64_t)mg, es) ||
            !packing_pays(plain, each * (uint64_t)g, es))
            return false;
        *rank = 4;
        dims[0] = g;
        dims[1] = (int64_t)kiln_gemm_round_up((uint64_t)mg, KILN_GEMM_PANEL_A) / KILN_GEMM_PANEL_A;
        dims[2] = kdim;
        dims[3] = KILN_GEMM_PANEL_A;
        if (out)
            pack_all(w->dtype, true, g, mg, kdim, w->data, mg * kdim, 0, 0, out);
        return true;
    }
    int trans = 0;
    if (n->op == KILN_OP_GEMM)
        trans = ((const struct kiln_p_gemm *)n->params)->trans_b;
    else if (n->op != KILN_OP_MATMUL)
        return false;
    if (w->rank != 2)
        return false;
    int64_t K = w->dims[trans ? 1 : 0], N = w->dims[trans ? 0 : 1];
    if (!packing_pays(plain, kiln_gemm_packed_b_elems((uint64_t)K, (uint64_t)N), es))
        return false;
    *rank = 3;
    dims[0] = (int64_t)kiln_gemm_round_up((uint64_t)N, KILN_GEMM_PANEL_B) / KILN_GEMM_PANEL_B;
    dims[1] = K;
    dims[2] = KILN_GEMM_PANEL_B;
    if (out)
        pack_all(w->dtype, false, 1, N, K, w->data, 0, trans ? 1 : N, trans ? K : 1, out);
    return true;
}

/* Stores op(B) of a float32 Gemm compressed by output column (gemm_core.h) when at most
 * KILN_SPARSE_MAX_DENSITY of it is non-zero (_FEW_ROWS for a Gemm of fewer than
 * KILN_SPGEMM_MIN_ROWS rows, which the kernel's scalar path runs): below that density the sparse
 * kernel measured faster than the dense one (bench/sparse_gemm.sh, docs/pruning.md). */
bool kiln_gemm_sparse_weight(const struct kiln_ir_node *n, int *rank, int64_t *dims, void *out)
{
    const struct kiln_ir_value *w = n->n_in > 1 ? n->in[1] : NULL;
    if (n->op != KILN_OP_GEMM || !w || !w->data || w->is_input || !n->params ||
        w->dtype != KILN_DTYPE_F32 || n->kdtype != KILN_DTYPE_F32 || w->rank != 2)
        return false;
    int trans = ((const struct kiln_p_gemm *)n->params)->trans_b;
    int64_t K = w->dims[trans ? 1 : 0], N = w->dims[trans ? 0 : 1];
    const float *b = w->data;
    uint64_t nnz = 0;
    for (int64_t i = 0; i < K * N; i++)
        nnz += b[i] != 0.0f;
    double max_density = n->out[0]->dims[0] < KILN_SPGEMM_MIN_ROWS
                             ? KILN_SPARSE_MAX_DENSITY_FEW_ROWS
                             : KILN_SPARSE_MAX_DENSITY;
    if (K * N == 0 || K > UINT32_MAX / 2 || nnz > UINT32_MAX / 4 ||
        (double)nnz > max_density * (double)(K * N))
        return false;
    *rank = 1;
    dims[0] = (int64_t)kiln_spgemm_words((uint64_t)N, nnz);
    if (!out)
        return true;
    kiln_spgemm_encode(b, K, N, trans, nnz, out);
    return true;
}
