/* pool.c - MaxPool (with optional int64 Indices), AveragePool, LpPool and the global pools
 * (average, max, Lp) over 1-3 spatial dims. One template per op instantiated per dtype
 * (float16 computed in float); the window walks the padded input and skips taps that fall in
 * the padding. */
#include <math.h>

#include "kernels.h"
#include "nn.h"

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
#define POOL_TAPS(g, body)                                                                     \
    for (int64_t k0 = 0; k0 < (g).k[0]; k0++) {                                                \
        int64_t i0 = b0 + k0 * (g).d[0];                                                       \
        if (i0 < 0 || i0 >= (g).in[0])                                                         \
            continue;                                                                          \
        for (int64_t k1 = 0; k1 < (g).k[1]; k1++) {                                            \
            int64_t i1 = b1 + k1 * (g).d[1];                                                   \
            if (i1 < 0 || i1 >= (g).in[1])                                                     \
                continue;                                                                      \
            for (int64_t k2 = 0; k2 < (g).k[2]; k2++) {                                        \
                int64_t i2 = b2 + k2 * (g).d[2];                                               \
                if (i2 < 0 || i2 >= (g).in[2])                                                 \
                    continue;                                                                  \
                int64_t idx = (i0 * (g).in[1] + i1) * (g).in[2] + i2;                          \
                body                                                                           \
            }                                                                                  \
        }                                                                                      \
    }

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

#define MAXPOOL_DEFINE(sfx, DT, T, ACC, LOAD, STORE)                                           \
    static void kiln_k_max_pool_##sfx(const struct kiln_kernel_args *a)                        \
    {                                                                                          \
        int64_t *ind = a->n_out > 1 ? a->out[1].data : NULL;                                   \
        POOL_PLANES(T, {                                                                       \
            ACC best = 0;                                                                      \
            int64_t at = -1;                                                                   \
            POOL_TAPS(g, {                                                                     \
                ACC v = LOAD(x[idx]);                                                          \
                if (at < 0 || v > best) {                                                      \
                    best = v;                                                                  \
                    at = idx;                                                                  \
                }                                                                              \
            });                                                                                \
            y[oidx] = STORE(best);                                                             \
            if (ind)                                                                           \
                ind[nc * g.out_size + oidx] =                                                  \
                    max_index(&g, p->storage_order, nc, at < 0 ? 0 : at);                      \
        });                                                                                    \
    }

#define AVGPOOL_DEFINE(sfx, DT, T, ACC, LOAD, STORE)                                           \
    static void kiln_k_average_pool_##sfx(const struct kiln_kernel_args *a)                    \
    {                                                                                          \
        POOL_PLANES(T, {                                                                       \
            ACC sum = 0;                                                                       \
            int64_t cnt = 0;                                                                   \
            POOL_TAPS(g, {                                                                     \
                sum += LOAD(x[idx]);                                                           \
                cnt++;                                                                         \
            });                                                                                \
            if (p->count_include_pad)                                                          \
                cnt = padded_taps(&g, b0, b1, b2);                                             \
            y[oidx] = STORE(cnt ? sum / (ACC)cnt : (ACC)0);                                    \
        });                                                                                    \
    }

/* LpPool: (sum of |x|^p over the window's in-range taps)^(1/p); padding adds nothing. */
#define LPPOOL_DEFINE(sfx, DT, T, ACC, LOAD, STORE)                                            \
    static void kiln_k_lp_pool_##sfx(const struct kiln_kernel_args *a)                         \
    {                                                                                          \
        double pw = ((const struct kiln_p_lp_pool *)a->params)->p;                             \
        POOL_PLANES(T, {                                                                       \
            double sum = 0;                                                                    \
            POOL_TAPS(g, { sum += pow(fabs((double)LOAD(x[idx])), pw); });                     \
            y[oidx] = STORE((ACC)pow(sum, 1.0 / pw));                                          \
        });                                                                                    \
    }

/* Global pools: one value per [n, c] plane, r starting at INIT (of v = the first element)
 * and folding the others in with STEP. */
#define GLOBAL_POOL(name, T, ACC, LOAD, STORE, INIT, STEP, FINISH)                             \
    static void kiln_k_##name(const struct kiln_kernel_args *a)                                \
    {                                                                                          \
        int64_t planes = a->in[0].dims[0] * a->in[0].dims[1];                                  \
        int64_t size = kiln_tensor_numel(&a->in[0]) / (planes ? planes : 1);                   \
        const T *x = a->in[0].data;                                                            \
        T *y = a->out[0].data;                                                                 \
        for (int64_t nc = 0; nc < planes; nc++, x += size) {                                   \
            ACC r;                                                                             \
            {                                                                                  \
                ACC v = LOAD(x[0]);                                                            \
                r = INIT;                                                                      \
            }                                                                                  \
            for (int64_t i = 1; i < size; i++) {                                               \
                ACC v = LOAD(x[i]);                                                            \
                STEP;                                                                          \
            }                                                                                  \
            y[nc] = STORE(FINISH);                                                             \
        }                                                                                      \
    }
#define GLOBAL_DEFINE(sfx, DT, T, ACC, LOAD, STORE)                                            \
    GLOBAL_POOL(global_average_pool_##sfx, T, ACC, LOAD, STORE, v, r += v, r / (ACC)size)      \
    GLOBAL_POOL(global_max_pool_##sfx, T, ACC, LOAD, STORE, v, r = v > r ? v : r, r)           \
    GLOBAL_POOL(global_lp_pool_##sfx, T, ACC, LOAD, STORE, LP_TERM(ACC, v),                     \
                r += LP_TERM(ACC, v), (ACC)pow((double)r, 1.0 / LP_P))
/* GlobalLpPool's |v|^p, with p from the params */
#define LP_P ((const struct kiln_p_lp_pool *)a->params)->p
#define LP_TERM(ACC, v) ((ACC)pow(fabs((double)(v)), LP_P))

KILN_NN_FLOATS(MAXPOOL_DEFINE)
KILN_NN_INTS(MAXPOOL_DEFINE)
KILN_NN_FLOATS(AVGPOOL_DEFINE)
KILN_NN_FLOATS(LPPOOL_DEFINE)
KILN_NN_FLOATS(GLOBAL_DEFINE)

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
