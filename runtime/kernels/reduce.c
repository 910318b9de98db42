/* reduce.c - the Reduce* family and ArgMax/ArgMin. One loop template: the input's axes are
 * split into kept and reduced groups (neighbours of the same kind merged, size-1 axes
 * dropped); each output element, written in order, accumulates its reduced elements with an
 * innermost tight loop. Each op supplies only its accumulator (declare, step, final), and the
 * template is instantiated for every op and element type. Floats accumulate in double,
 * integers in 64 bits. */
#include <math.h>

#include "kernels.h"

/* X(op, K, short_name, DTYPE, storage type, accumulator type, load, store, abs, lowest,
 * highest, saturate). SAT converts a double result (Mean, L2, LogSum, LogSumExp) to an
 * integer type without undefined behaviour: NaN gives 0, out-of-range values the limit. */
#define RED_LD(x) (x)
#define RED_LD_F16(x) ((double)kiln_f16_to_f32(x))
#define RED_LD_BF16(x) ((double)kiln_bf16_to_f32(x))
#define RED_ST_F16(v) kiln_f32_to_f16((float)(v))
#define RED_ST_BF16(v) kiln_f32_to_bf16((float)(v))
#define RED_ABS_S(v) ((v) < 0 ? -(v) : (v))
#define RED_ABS_U(v) (v)
#define RED_KEEP(T, LO, HI, r) (r)
#define RED_SAT(T, LO, HI, r)                                                                  \
    ((r) != (r) ? (T)0 : (r) <= (double)(LO) ? (T)(LO) : (r) >= (double)(HI) ? (T)(HI) : (T)(r))
#define RED_DTYPES(X, op, K)                                                                   \
    X(op, K, f32, F32, float, double, RED_LD, (float), fabs, -INFINITY, INFINITY, RED_KEEP)    \
    X(op, K, f64, F64, double, double, RED_LD, (double), fabs, -INFINITY, INFINITY, RED_KEEP)  \
    X(op, K, f16, F16, uint16_t, double, RED_LD_F16, RED_ST_F16, fabs, -INFINITY, INFINITY,    \
      RED_KEEP)                                                                                \
    X(op, K, bf16, BF16, uint16_t, double, RED_LD_BF16, RED_ST_BF16, fabs, -INFINITY, INFINITY, \
      RED_KEEP)                                                                                \
    X(op, K, i32, I32, int32_t, int64_t, RED_LD, (int32_t), RED_ABS_S, INT32_MIN, INT32_MAX,   \
      RED_SAT)                                                                                 \
    X(op, K, i64, I64, int64_t, int64_t, RED_LD, (int64_t), RED_ABS_S, INT64_MIN, INT64_MAX,   \
      RED_SAT)                                                                                 \
    X(op, K, u32, U32, uint32_t, uint64_t, RED_LD, (uint32_t), RED_ABS_U, 0, UINT32_MAX,       \
      RED_SAT)                                                                                 \
    X(op, K, u64, U64, uint64_t, uint64_t, RED_LD, (uint64_t), RED_ABS_U, 0, UINT64_MAX,       \
      RED_SAT)                                                                                 \
    X(op, K, i8, I8, int8_t, int64_t, RED_LD, (int8_t), RED_ABS_S, INT8_MIN, INT8_MAX, RED_SAT) \
    X(op, K, u8, U8, uint8_t, uint64_t, RED_LD, (uint8_t), RED_ABS_U, 0, UINT8_MAX, RED_SAT)

/* Accumulators: DECL_op(A, LO, HI) declares, STEP_op(v, ABS) folds in one value of type A,
 * FINAL_op(A) is the result, of type double when REAL_op, else A; n counts the reduced
 * elements. */
#define DECL_SUM(A, LO, HI) A acc = 0
#define STEP_SUM(v, ABS) acc += (v)
#define FINAL_SUM(A) acc
#define REAL_SUM 0
#define DECL_SUM_SQUARE DECL_SUM
#define STEP_SUM_SQUARE(v, ABS) acc += (v) * (v)
#define FINAL_SUM_SQUARE FINAL_SUM
#define REAL_SUM_SQUARE 0
#define DECL_L1 DECL_SUM
#define STEP_L1(v, ABS) acc += ABS(v)
#define FINAL_L1 FINAL_SUM
#define REAL_L1 0
#define DECL_L2 DECL_SUM
#define STEP_L2 STEP_SUM_SQUARE
#define FINAL_L2(A) sqrt((double)acc)
#define REAL_L2 1
#define DECL_MEAN DECL_SUM
#define STEP_MEAN STEP_SUM
#define FINAL_MEAN(A) ((double)acc / (double)(n ? n : 1))
#define REAL_MEAN 1
#define DECL_LOG_SUM DECL_SUM
#define STEP_LOG_SUM STEP_SUM
#define FINAL_LOG_SUM(A) log((double)acc)
#define REAL_LOG_SUM 1
#define DECL_PROD(A, LO, HI) A acc = 1
#define STEP_PROD(v, ABS) acc *= (v)
#define FINAL_PROD FINAL_SUM
#define REAL_PROD 0
#define DECL_MAX(A, LO, HI) A acc = LO
#define STEP_MAX(v, ABS) acc = (v) > acc ? (v) : acc
#define FINAL_MAX FINAL_SUM
#define REAL_MAX 0
#define DECL_MIN(A, LO, HI) A acc = HI
#define STEP_MIN(v, ABS) acc = (v) < acc ? (v) : acc
#define FINAL_MIN FINAL_SUM
#define REAL_MIN 0
/* log(sum(exp(x))) in one pass: m is the running maximum, s the sum of exp(x - m). */
#define DECL_LOG_SUM_EXP(A, LO, HI) double m = -INFINITY, s = 0
#define STEP_LOG_SUM_EXP(v, ABS)                                                               \
    do {                                                                                       \
        double w = (double)(v);                                                                \
        if (w > m) {                                                                           \
            s = s * exp(m - w) + 1;                                                            \
            m = w;                                                                             \
        } else if (w > -INFINITY) {                                                            \
            s += exp(w - m);                                                                   \
        } else if (w != w) {                                                                   \
            s = w;                                                                             \
        }                                                                                      \
    } while (0)
#define FINAL_LOG_SUM_EXP(A) (m == -INFINITY ? m : m + log(s))
#define REAL_LOG_SUM_EXP 1

#define RED_OPS(X)                                                                             \
    X(reduce_sum, SUM) X(reduce_sum_square, SUM_SQUARE) X(reduce_l1, L1) X(reduce_l2, L2)      \
    X(reduce_mean, MEAN) X(reduce_log_sum, LOG_SUM) X(reduce_prod, PROD) X(reduce_max, MAX)    \
    X(reduce_min, MIN) X(reduce_log_sum_exp, LOG_SUM_EXP)

/* The walk: kept axes (output order) and reduced axes, each merged and size-1 free. */
struct red_walk {
    int nk, nr;
    int64_t kd[KILN_MAX_RANK], ks[KILN_MAX_RANK]; /* kept dims, input strides */
    int64_t rd[KILN_MAX_RANK], rs[KILN_MAX_RANK]; /* reduced dims, input strides */
    int64_t n_out, n_red, inner, inner_stride;    /* inner: innermost reduced axis */
};

static void red_begin(struct red_walk *w, const struct kiln_tensor *x, uint32_t mask)
{
    int64_t st[KILN_MAX_RANK];
    kiln_strides(x->dims, x->rank, st);
    w->nk = w->nr = 0;
    w->n_out = w->n_red = 1;
    int last = -1; /* kind of the previous non-trivial axis: 0 kept, 1 reduced */
    for (int i = 0; i < x->rank; i++) {
        int red = (mask >> i) & 1;
        int64_t d = x->dims[i];
        if (red)
            w->n_red *= d;
        else
            w->n_out *= d;
        if (d == 1)
            continue;
        int64_t *dims = red ? w->rd : w->kd, *str = red ? w->rs : w->ks;
        int *cnt = red ? &w->nr : &w->nk;
        if (last == red) { /* neighbours of one kind are contiguous: merge */
            dims[*cnt - 1] *= d;
            str[*cnt - 1] = st[i];
        } else {
            dims[*cnt] = d;
            str[*cnt] = st[i];
            ++*cnt;
        }
        last = red;
    }
    w->inner = w->nr ? w->rd[w->nr - 1] : 1;
    w->inner_stride = w->nr ? w->rs[w->nr - 1] : 0;
}

/* Advances an odometer over the first `n` axes of dims/strides, keeping *off in step. */
static inline void red_advance(int n, const int64_t *dims, const int64_t *str, int64_t *idx,
                               int64_t *off)
{
    for (int k = n - 1; k >= 0; k--) {
        *off += str[k];
        if (++idx[k] < dims[k])
            return;
        *off -= str[k] * dims[k];
        idx[k] = 0;
    }
}

#define RED_KERNEL(op, K, sn, DT, T, A, LOAD, STORE, ABS, LO, HI, SAT)                        \
    static void kiln_k_##op##_##sn(const struct kiln_kernel_args *a)                          \
    {                                                                                          \
        const struct kiln_p_reduce *p = a->params;                                             \
        struct red_walk w;                                                                     \
        red_begin(&w, &a->in[0], p->axes_mask);                                                \
        const T *x = a->in[0].data;                                                            \
        T *y = a->out[0].data;                                                                 \
        int64_t kidx[KILN_MAX_RANK] = {0}, base = 0, n = w.n_red;                              \
        int64_t rows = w.inner ? w.n_red / w.inner : 0;                                        \
        (void)n;                                                                               \
        for (int64_t o = 0; o < w.n_out; o++) {                                                \
            DECL_##K(A, LO, HI);                                                               \
            int64_t ridx[KILN_MAX_RANK] = {0}, row = base;                                     \
            for (int64_t r = 0; r < rows; r++) {                                               \
                const T *xr = x + row;                                                         \
                for (int64_t j = 0; j < w.inner; j++) {                                        \
                    A v = LOAD(xr[j * w.inner_stride]);                                        \
                    STEP_##K(v, ABS);                                                          \
                }                                                                              \
                red_advance(w.nr - 1, w.rd, w.rs, ridx, &row);                                 \
            }                                                                                  \
            if (REAL_##K) {                                                                    \
                double res = (double)(FINAL_##K(A));                                           \
                y[o] = STORE(SAT(T, LO, HI, res));                                             \
            } else {                                                                           \
                y[o] = STORE(FINAL_##K(A));                                                    \
            }                                                                                  \
            red_advance(w.nk, w.kd, w.ks, kidx, &base);                                        \
        }                                                                                      \
    }

/* ArgMax/ArgMin: the input viewed as [outer, len, inner] around the one reduced axis; ties go
 * to the first index, or the last with select_last_index. BETTER(v, best) is > or <. */
#define ARG_MAX_BETTER(v, b) ((v) > (b))
#define ARG_MIN_BETTER(v, b) ((v) < (b))
#define ARG_KERNEL(op, K, sn, DT, T, A, LOAD, STORE, ABS, LO, HI, SAT)                         \
    static void kiln_k_##op##_##sn(const struct kiln_kernel_args *a)                          \
    {                                                                                          \
        const struct kiln_p_reduce *p = a->params;                                             \
        const struct kiln_tensor *xt = &a->in[0];                                              \
        int ax = 0;                                                                            \
        while (ax < xt->rank - 1 && !((p->axes_mask >> ax) & 1))                               \
            ax++;                                                                              \
        int64_t outer = kiln_numel(xt->dims, ax), len = xt->rank ? xt->dims[ax] : 1;           \
        int64_t inner = kiln_numel(xt->dims + ax + 1, xt->rank - ax - 1);                      \
        const T *x = xt->data;                                                                 \
        int64_t *y = a->out[0].data;                                                           \
        for (int64_t o = 0; o < outer; o++) {                                                  \
            for (int64_t i = 0; i < inner; i++) {                                              \
                const T *xr = x + o * len * inner + i;                                         \
                A best = LOAD(xr[0]);                                                          \
                int64_t bi = 0;                                                                \
                for (int64_t k = 1; k < len; k++) {                                            \
                    A v = LOAD(xr[k * inner]);                                                 \
                    if (ARG_##K##_BETTER(v, best) || (p->select_last_index && v == best)) {    \
                        best = v;                                                              \
                        bi = k;                                                                \
                    }                                                                          \
                }                                                                              \
                y[o * inner + i] = bi;                                                         \
            }                                                                                  \
        }                                                                                      \
    }

#define RED_ENTRY(op, K, sn, DT, ...) KILN_K(kiln_k_##op##_##sn, DT),
#define RED_INSTANTIATE(op, K)                                                                 \
    RED_DTYPES(RED_KERNEL, op, K)                                                              \
    KILN_KERNELS(op, RED_DTYPES(RED_ENTRY, op, K));
#define ARG_INSTANTIATE(op, K)                                                                 \
    RED_DTYPES(ARG_KERNEL, op, K)                                                              \
    KILN_KERNELS(op, RED_DTYPES(RED_ENTRY, op, K));

RED_OPS(RED_INSTANTIATE)
ARG_INSTANTIATE(argmax, MAX)
ARG_INSTANTIATE(argmin, MIN)
