/* pool.c - MaxPool (with optional int64 Indices), AveragePool, LpPool and the global pools
 * (average, max, Lp) over 1-3 spatial dims. One template per op instantiated per dtype
 * (float16 computed in float); the window walks the padded input and skips taps that fall in
 * the padding. MaxPool/AveragePool run the columns whose window lies wholly inside the input
 * as tap-outer loops along the output row (no bounds checks, vectorizable); the global pools
 * reduce in independent lanes. */
#include <math.h>
#include <string.h>

#include "kernels.h"
#include "nn.h"
#include "threads.h"

/* Calls body once per output position (o0, o1, o2) of image-channel plane nc; inside, the
 * window loop macro POOL_TAPS visits the in-range taps with their input index `idx`. */
#define POOL_OUTPUTS(g, body)                                                                  \
    for (int64_t o0 = 0; o0 < (g).out[0]; o0++)                                                \
        for (int64_t o1 = 0; o1 < (g).out[1]; o1++)                                            \
            for (int64_t o2 = 0; o2 < (g).out[2]; o2++) {                                      \
                int64_t b0 = o0 * (g).s[0] - (g).pb[0], b1 = o1 * (g).s[1] - (g).pb[1];        \
                int64_t b2 = o2 * (g).s[2] - (g).pb[2];                                        \
                int64_t oidx = (o0 * (g).out[1] + o1) * (g).out[2] + o2;                       \
                body                                                                           \
            }
/* The window's input rows (i0, i1) that lie inside the input. */
#define POOL_TAP_ROWS(g, body)                                                                 \
    for (int64_t k0 = 0; k0 < (g).k[0]; k0++) {                                                \
        int64_t i0 = b0 + k0 * (g).d[0];                                                       \
        if (i0 < 0 || i0 >= (g).in[0])                                                         \
            continue;                                                                          \
        for (int64_t k1 = 0; k1 < (g).k[1]; k1++) {                                            \
            int64_t i1 = b1 + k1 * (g).d[1];                                                   \
            if (i1 < 0 || i1 >= (g).in[1])                                                     \
                continue;                                                                      \
            body                                                                               \
        }                                                                                      \
    }
#define POOL_TAPS(g, body)                                                                     \
    POOL_TAP_ROWS(g, {                                                                         \
        for (int64_t k2 = 0; k2 < (g).k[2]; k2++) {                                            \
            int64_t i2 = b2 + k2 * (g).d[2];                                                   \
            if (i2 < 0 || i2 >= (g).in[2])                                                     \
                continue;                                                                      \
            int64_t idx = (i0 * (g).in[1] + i1) * (g).in[2] + i2;                              \
            body                                                                               \
        }                                                                                      \
    })

/* The frame of both window pools: declares p and g, then runs body (under POOL_OUTPUTS) for
 * every [n, c] plane nc with x and y pointing at that plane's input and output. */
#define POOL_PLANES(T, body)                                                                   \
    const struct kiln_p_pool *p = a->params;                                                   \
    struct kiln_nn_geom g;                                                                     \
    kiln_nn_geom(&g, p->nsp, &p->win, &a->in[0], &a->out[0]);                                  \
    for (int64_t nc = 0; nc < a->in[0].dims[0] * a->in[0].dims[1]; nc++) {                     \
        const T *x = (const T *)a->in[0].data + nc * g.in_size;                                \
        T *y = (T *)a->out[0].data + nc * g.out_size;                                          \
        POOL_OUTPUTS(g, body)                                                                  \
    }

/* POOL_PLANES with the rows split into border (EDGE) and interior (ROW, see POOL_ROWS). */
#define POOL_PLANES_ROWS(T, ACC, EDGE, ROW)                                                    \
    const struct kiln_p_pool *p = a->params;                                                   \
    struct kiln_nn_geom g;                                                                     \
    int64_t lo, hi;                                                                            \
    kiln_nn_geom(&g, p->nsp, &p->win, &a->in[0], &a->out[0]);                                  \
    interior_cols(&g, sizeof(T) == sizeof(ACC), &lo, &hi);                                     \
    for (int64_t nc = 0; nc < a->in[0].dims[0] * a->in[0].dims[1]; nc++) {                     \
        const T *x = (const T *)a->in[0].data + nc * g.in_size;                                \
        T *y = (T *)a->out[0].data + nc * g.out_size;                                          \
        POOL_ROWS(g, lo, hi, EDGE, ROW)                                                        \
    }

/* Taps of a window counted by AveragePool with count_include_pad: positions inside the padded
 * extent [-pad_begin, in + pad_end) along every axis. */
static int64_t padded_taps(const struct kiln_nn_geom *g, int64_t b0, int64_t b1, int64_t b2)
{
    int64_t b[3] = {b0, b1, b2}, count = 1;
    for (int ax = 0; ax < 3; ax++) {
        int64_t cnt = 0;
        for (int64_t k = 0; k < g->k[ax]; k++) {
            int64_t i = b[ax] + k * g->d[ax];
            cnt += i >= -g->pb[ax] && i < g->in[ax] + g->pe[ax];
        }
        count *= cnt;
    }
    return count;
}

/* Index of input position idx of plane nc as MaxPool's Indices report it: flattened over the
 * whole tensor, the spatial part in row-major or (storage_order 1) column-major order. */
static int64_t max_index(const struct kiln_nn_geom *g, int storage_order, int64_t nc,
                         int64_t idx)
{
    if (storage_order) {
        int64_t i2 = idx % g->in[2], i1 = idx / g->in[2] % g->in[1], i0 = idx / g->in[2] / g->in[1];
        idx = (i2 * g->in[1] + i1) * g->in[0] + i0;
    }
    return nc * g->in_size + idx;
}

/* Runs plane nc's output rows: per (o0, o1) row the border columns one by one through EDGE
 * (a bounds-checked body with the POOL_OUTPUTS names) and the interior [lo, hi) through ROW,
 * with b2 the input column of the first interior output's first tap and n = hi - lo. */
#define POOL_ROWS(g, lo, hi, EDGE, ROW)                                                        \
    for (int64_t o0 = 0; o0 < (g).out[0]; o0++)                                                \
        for (int64_t o1 = 0; o1 < (g).out[1]; o1++) {                                          \
            int64_t b0 = o0 * (g).s[0] - (g).pb[0], b1 = o1 * (g).s[1] - (g).pb[1];            \
            int64_t row0 = (o0 * (g).out[1] + o1) * (g).out[2];                                \
            for (int64_t o2 = (lo) ? 0 : (hi); o2 < (g).out[2];                                \
                 o2 = o2 + 1 == (lo) ? (hi) : o2 + 1) {                                        \
                int64_t b2 = o2 * (g).s[2] - (g).pb[2], oidx = row0 + o2;                      \
                EDGE                                                                           \
            }                                                                                  \
            if ((hi) > (lo)) {                                                                 \
                int64_t b2 = (lo) * (g).s[2] - (g).pb[2], n = (hi) - (lo);                     \
                ROW                                                                            \
            }                                                                                  \
        }

/* Row primitives of the interior, one set per dtype: y[o] = x[o*s] (init), y[o] = max(y[o],
 * x[o*s]) in the general path's tap order and NaN behaviour (a tap replaces the best only
 * when greater), y[o] += x[o*s]. Stride 1 gets its own contiguous loop to vectorize. */
#define POOL_ROW_OPS(sfx, T)                                                                   \
    static inline void row_copy_##sfx(T *restrict y, const T *restrict x, int64_t s,           \
                                    int64_t n)                                                 \
    {                                                                                          \
        for (int64_t o = 0; o < n; o++)                                                        \
            y[o] = x[o * s];                                                                   \
    }                                                                                          \
    static inline void row_max_##sfx(T *restrict y, const T *restrict x, int64_t s,            \
                                    int64_t n)                                                 \
    {                                                                                          \
        if (s == 1)                                                                            \
            for (int64_t o = 0; o < n; o++)                                                    \
                y[o] = x[o] > y[o] ? x[o] : y[o];                                              \
        else                                                                                   \
            for (int64_t o = 0; o < n; o++)                                                    \
                y[o] = x[o * s] > y[o] ? x[o * s] : y[o];                                      \
    }                                                                                          \
    static inline void row_add_##sfx(T *restrict y, const T *restrict x, int64_t s,            \
                                    int64_t n)                                                 \
    {                                                                                          \
        if (s == 1)                                                                            \
            for (int64_t o = 0; o < n; o++)                                                    \
                y[o] += x[o];                                                                  \
        else                                                                                   \
            for (int64_t o = 0; o < n; o++)                                                    \
                y[o] += x[o * s];                                                              \
    }
POOL_ROW_OPS(f32, float)
POOL_ROW_OPS(f64, double)
POOL_ROW_OPS(i8, int8_t)
POOL_ROW_OPS(u8, uint8_t)
/* float16 accumulates in float: it keeps the bounds-checked loop (never called) */
#define row_copy_f16(y, x, s, n) ((void)(y), (void)(x))
#define row_max_f16(y, x, s, n) ((void)(y), (void)(x))
#define row_add_f16(y, x, s, n) ((void)(y), (void)(x))

/* Output columns [lo, hi) of the innermost axis whose whole window lies inside the input;
 * none when the type accumulates in another (float16). */
static void interior_cols(const struct kiln_nn_geom *g, int same_acc, int64_t *lo, int64_t *hi)
{
    int64_t l0, h0, l1, h1;
    kiln_nn_valid_range(-g->pb[2], g->s[2], g->in[2], g->out[2], &l0, &h0);
    kiln_nn_valid_range(-g->pb[2] + (g->k[2] - 1) * g->d[2], g->s[2], g->in[2], g->out[2], &l1,
                        &h1);
    *lo = l0 > l1 ? l0 : l1;
    *hi = h0 < h1 ? h0 : h1;
    if (*hi < *lo || !same_acc)
        *hi = *lo = g->out[2];
}

/* One window: the best in-range tap (the first when several tie) and where it is. */
#define MAX_TAPS(g, ACC, LOAD)                                                                 \
    ACC best = 0;                                                                              \
    int64_t at = -1;                                                                           \
    POOL_TAPS(g, {                                                                             \
        ACC v = LOAD(x[idx]);                                                                  \
        if (at < 0 || v > best) {                                                              \
            best = v;                                                                          \
            at = idx;                                                                          \
        }                                                                                      \
    });

#define MAXPOOL_DEFINE(sfx, DT, T, ACC, LOAD, STORE)                                           \
    static void serial_max_pool_##sfx(const struct kiln_kernel_args *a)                        \
    {                                                                                          \
        int64_t *ind = a->n_out > 1 ? a->out[1].data : NULL;                                   \
        if (ind) {                                                                             \
            POOL_PLANES(T, {                                                                   \
                MAX_TAPS(g, ACC, LOAD)                                                         \
                y[oidx] = STORE(best);                                                         \
                ind[nc * g.out_size + oidx] =                                                  \
                    max_index(&g, p->storage_order, nc, at < 0 ? 0 : at);                      \
            });                                                                                \
            return;                                                                            \
        }                                                                                      \
        POOL_PLANES_ROWS(T, ACC, {                                                             \
            MAX_TAPS(g, ACC, LOAD)                                                             \
            y[oidx] = STORE(best);                                                             \
        }, {                                                                                   \
            T *yr = y + row0 + lo;                                                             \
            int64_t nrows = 0;                                                                 \
            POOL_TAP_ROWS(g, {                                                                 \
                nrows++;                                                                       \
                const T *xr = x + (i0 * g.in[1] + i1) * g.in[2] + b2;                          \
                for (int64_t k2 = 0; k2 < g.k[2]; k2++) {                                      \
                    if (nrows == 1 && k2 == 0)                                                 \
                        row_copy_##sfx(yr, xr, g.s[2], n);                                     \
                    else                                                                       \
                        row_max_##sfx(yr, xr + k2 * g.d[2], g.s[2], n);                        \
                }                                                                              \
            });                                                                                \
            if (!nrows)                                                                        \
                memset(yr, 0, (size_t)n * sizeof *yr);                                         \
        });                                                                                    \
    }

#define AVGPOOL_DEFINE(sfx, DT, T, ACC, LOAD, STORE)                                           \
    static void serial_average_pool_##sfx(const struct kiln_kernel_args *a)                    \
    {                                                                                          \
        POOL_PLANES_ROWS(T, ACC, {                                                             \
            ACC sum = 0;                                                                       \
            int64_t cnt = 0;                                                                   \
            POOL_TAPS(g, {                                                                     \
                sum += LOAD(x[idx]);                                                           \
                cnt++;                                                                         \
            });                                                                                \
            if (p->count_include_pad)                                                          \
                cnt = padded_taps(&g, b0, b1, b2);                                             \
            y[oidx] = STORE(cnt ? sum / (ACC)cnt : (ACC)0);                                    \
        }, {                                                                                   \
            T *yr = y + row0 + lo;                                                             \
            int64_t nrows = 0;                                                                 \
            memset(yr, 0, (size_t)n * sizeof *yr);                                             \
            POOL_TAP_ROWS(g, {                                                                 \
                nrows++;                                                                       \
                const T *xr = x + (i0 * g.in[1] + i1) * g.in[2] + b2;                          \
                for (int64_t k2 = 0; k2 < g.k[2]; k2++)                                        \
                    row_add_##sfx(yr, xr + k2 * g.d[2], g.s[2], n);                            \
            });                                                                                \
            int64_t cnt = p->count_include_pad ? padded_taps(&g, b0, b1, b2) : nrows * g.k[2]; \
            if (cnt)                                                                           \
                for (int64_t o = 0; o < n; o++)                                                \
                    yr[o] = yr[o] / (ACC)cnt;                                                  \
        });                                                                                    \
    }

/* LpPool: (sum of |x|^p over the window's in-range taps)^(1/p); padding adds nothing. */
#define LPPOOL_DEFINE(sfx, DT, T, ACC, LOAD, STORE)                                            \
    static void serial_lp_pool_##sfx(const struct kiln_kernel_args *a)                         \
    {                                                                                          \
        double pw = ((const struct kiln_p_lp_pool *)a->params)->p;                             \
        POOL_PLANES(T, {                                                                       \
            double sum = 0;                                                                    \
            POOL_TAPS(g, { sum += pow(fabs((double)LOAD(x[idx])), pw); });                     \
            y[oidx] = STORE((ACC)pow(sum, 1.0 / pw));                                          \
        });                                                                                    \
    }

/* Global pools: one value per [n, c] plane, folded in GLOBAL_LANES independent lanes (so the
 * loop vectorizes) that are then folded together in order: lane j starts at INIT (of v = the
 * first element) and takes FOLD(lane, TERM(v)) of elements j, j + GLOBAL_LANES, ... For max
 * the lanes start at the first element, which keeps the sequential loop's result exactly
 * (NaN only when the first element is NaN); sums are reassociated. */
#define GLOBAL_LANES 16
#define GLOBAL_POOL(name, T, ACC, LOAD, STORE, INIT, TERM, FOLD, FINISH)                       \
    static void serial_##name(const struct kiln_kernel_args *a)                                \
    {                                                                                          \
        int64_t planes = a->in[0].dims[0] * a->in[0].dims[1];                                  \
        int64_t size = kiln_tensor_numel(&a->in[0]) / (planes ? planes : 1);                   \
        const T *x = a->in[0].data;                                                            \
        T *y = a->out[0].data;                                                                 \
        for (int64_t nc = 0; nc < planes; nc++, x += size) {                                   \
            ACC lane[GLOBAL_LANES], r;                                                         \
            {                                                                                  \
                ACC v = LOAD(x[0]);                                                            \
                (void)v;                                                                       \
                for (int j = 0; j < GLOBAL_LANES; j++)                                         \
                    lane[j] = INIT;                                                            \
            }                                                                                  \
            int64_t i = 0;                                                                     \
            for (; i + GLOBAL_LANES <= size; i += GLOBAL_LANES)                                \
                for (int j = 0; j < GLOBAL_LANES; j++) {                                       \
                    ACC v = LOAD(x[i + j]);                                                    \
                    FOLD(lane[j], TERM(ACC, v));                                               \
                }                                                                              \
            for (; i < size; i++) {                                                            \
                ACC v = LOAD(x[i]);                                                            \
                FOLD(lane[i % GLOBAL_LANES], TERM(ACC, v));                                    \
            }                                                                                  \
            r = lane[0];                                                                       \
            for (int j = 1; j < GLOBAL_LANES; j++)                                             \
                FOLD(r, lane[j]);                                                              \
            y[nc] = STORE(FINISH);                                                             \
        }                                                                                      \
    }
#define FOLD_SUM(acc, v) ((acc) += (v))
#define FOLD_MAX(acc, v) ((acc) = (v) > (acc) ? (v) : (acc))
#define TERM_ID(ACC, v) (v)
#define GLOBAL_DEFINE(sfx, DT, T, ACC, LOAD, STORE)                                            \
    GLOBAL_POOL(global_average_pool_##sfx, T, ACC, LOAD, STORE, (ACC)0, TERM_ID, FOLD_SUM,     \
                r / (ACC)size)                                                                 \
    GLOBAL_POOL(global_max_pool_##sfx, T, ACC, LOAD, STORE, v, TERM_ID, FOLD_MAX, r)           \
    GLOBAL_POOL(global_lp_pool_##sfx, T, ACC, LOAD, STORE, (ACC)0, LP_TERM, FOLD_SUM,          \
                (ACC)pow((double)r, 1.0 / LP_P))
/* GlobalLpPool's |v|^p, with p from the params */
#define LP_P ((const struct kiln_p_lp_pool *)a->params)->p
#define LP_TERM(ACC, v) ((ACC)pow(fabs((double)(v)), LP_P))

KILN_NN_FLOATS(MAXPOOL_DEFINE)
KILN_NN_INTS(MAXPOOL_DEFINE)
KILN_NN_FLOATS(AVGPOOL_DEFINE)
KILN_NN_FLOATS(LPPOOL_DEFINE)
KILN_NN_FLOATS(GLOBAL_DEFINE)

/* On threads: the [n, c] planes split between the parts, each part the serial kernel on views
 * of its planes (every plane is computed the same way whatever the split). MaxPool's Indices
 * count planes from the first, so it runs serially when they are asked for. */
#define POOL_PAR_MIN 16384 /* input elements */
struct pool_job {
    const struct kiln_kernel_args *a;
    kiln_kernel_fn fn;
    int64_t planes;
};

static void pool_part(void *ctx, int i, int n)
{
    const struct pool_job *j = ctx;
    const struct kiln_kernel_args *a = j->a;
    int64_t lo, hi;
    kiln_par_range(j->planes, 1, i, n, &lo, &hi);
    if (lo >= hi)
        return;
    struct kiln_tensor in = a->in[0], out = a->out[0];
    int64_t isz = kiln_tensor_numel(&in) / j->planes, osz = kiln_tensor_numel(&out) / j->planes;
    in.data = (char *)in.data + (size_t)(lo * isz) * kiln_dtype_size(in.dtype);
    out.data = (char *)out.data + (size_t)(lo * osz) * kiln_dtype_size(out.dtype);
    in.dims[0] = out.dims[0] = 1;
    in.dims[1] = out.dims[1] = hi - lo;
    struct kiln_kernel_args s = *a;
    s.in = &in, s.out = &out, s.exec = NULL;
    j->fn(&s);
}

static void pool_par(const struct kiln_kernel_args *a, kiln_kernel_fn fn)
{
    struct kiln_threads *th = kiln_args_threads(a);
    int64_t planes = a->in[0].dims[0] * a->in[0].dims[1];
    int parts = kiln_par_count(th);
    parts = parts < planes ? parts : (int)planes;
    if (parts < 2 || a->n_in != 1 || a->n_out != 1 ||
        (uint64_t)kiln_tensor_numel(&a->in[0]) < kiln_par_min(POOL_PAR_MIN)) {
        fn(a);
        return;
    }
    struct pool_job j = {a, fn, planes};
    kiln_par_run(th, parts, pool_part, &j);
}

#define POOL_PAR_DEFINE(op, sfx)                                                               \
    static void kiln_k_##op##_##sfx(const struct kiln_kernel_args *a)                          \
    {                                                                                          \
        pool_par(a, serial_##op##_##sfx);                                                      \
    }
#define PAR_MAX(sfx, ...) POOL_PAR_DEFINE(max_pool, sfx)
#define PAR_OTHERS(sfx, ...)                                                                   \
    POOL_PAR_DEFINE(average_pool, sfx)                                                         \
    POOL_PAR_DEFINE(lp_pool, sfx)                                                              \
    POOL_PAR_DEFINE(global_average_pool, sfx)                                                  \
    POOL_PAR_DEFINE(global_max_pool, sfx)                                                      \
    POOL_PAR_DEFINE(global_lp_pool, sfx)
KILN_NN_FLOATS(PAR_MAX)
KILN_NN_INTS(PAR_MAX)
KILN_NN_FLOATS(PAR_OTHERS)

#define KV(op, sfx, DT) KILN_K(kiln_k_##op##_##sfx, DT),
#define KV_MAX(sfx, DT, ...) KV(max_pool, sfx, DT)
#define KV_AVG(sfx, DT, ...) KV(average_pool, sfx, DT)
#define KV_GAVG(sfx, DT, ...) KV(global_average_pool, sfx, DT)
#define KV_GMAX(sfx, DT, ...) KV(global_max_pool, sfx, DT)
KILN_KERNELS(max_pool, KILN_NN_FLOATS(KV_MAX) KILN_NN_INTS(KV_MAX));
KILN_KERNELS(average_pool, KILN_NN_FLOATS(KV_AVG));
KILN_KERNELS(global_average_pool, KILN_NN_FLOATS(KV_GAVG));
KILN_KERNELS(global_max_pool, KILN_NN_FLOATS(KV_GMAX));
#define KV_LP(sfx, DT, ...) KV(lp_pool, sfx, DT)
#define KV_GLP(sfx, DT, ...) KV(global_lp_pool, sfx, DT)
KILN_KERNELS(lp_pool, KILN_NN_FLOATS(KV_LP));
KILN_KERNELS(global_lp_pool, KILN_NN_FLOATS(KV_GLP));
