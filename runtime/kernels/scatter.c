/* scatter.c - GatherElements, GatherND, Scatter, ScatterElements and ScatterND. Negative
 * indices count from the end. An index out of range even then is undefined in ONNX; the
 * compiler rejects it when the indices are constant, and at run time the gathers clamp it to
 * the axis (no read leaves the input) while the scatters skip that update (no write leaves
 * the output). Gathers and reduction-free scatters move bytes; the add/mul reductions have
 * one template instantiated per element type. */
#include "indexing.h"

static void kiln_k_gather_elements(const struct kiln_kernel_args *a)
{
    const struct kiln_p_axis *p = a->params;
    const struct kiln_tensor *x = &a->in[0], *ind = &a->in[1];
    struct kiln_tensor *y = &a->out[0];
    size_t es = kiln_dtype_size(y->dtype);
    int ax = (int)p->axis;
    int64_t st[KILN_MAX_RANK], len = x->dims[ax], n = kiln_tensor_numel(ind);
    kiln_strides(x->dims, x->rank, st);
    struct kiln_ix_walk w;
    kiln_ix_walk_init(&w, ind->dims, ind->rank, st, ax);
    for (int64_t k = 0; k < n; k++, kiln_ix_walk_next(&w)) {
        int64_t j = kiln_ix_clamp(kiln_ix_load(ind->data, ind->dtype, k), len);
        memcpy((char *)y->data + (size_t)k * es,
               (const char *)x->data + (size_t)(w.base + j * st[ax]) * es, es);
    }
}

static void kiln_k_gather_nd(const struct kiln_kernel_args *a)
{
    const struct kiln_p_gather_nd *p = a->params;
    const struct kiln_tensor *x = &a->in[0], *ind = &a->in[1];
    struct kiln_tensor *y = &a->out[0];
    size_t es = kiln_dtype_size(y->dtype);
    int b = (int)p->batch_dims, L = (int)ind->dims[ind->rank - 1];
    int64_t st[KILN_MAX_RANK];
    kiln_strides(x->dims, x->rank, st);
    int64_t batches = kiln_numel(x->dims, b);
    int64_t per_batch = kiln_numel(ind->dims + b, ind->rank - b - 1);
    int64_t xbatch = kiln_numel(x->dims + b, x->rank - b);
    size_t slice = (size_t)kiln_numel(x->dims + b + L, x->rank - b - L) * es;
    char *d = y->data;
    for (int64_t bi = 0; bi < batches; bi++) {
        for (int64_t n = 0; n < per_batch; n++, d += slice) {
            int64_t off = 0, t = bi * per_batch + n;
            for (int j = 0; j < L; j++) {
                int64_t v = kiln_ix_load(ind->data, ind->dtype, t * L + j);
                off += kiln_ix_clamp(v, x->dims[b + j]) * st[b + j];
            }
            if (slice)
                memcpy(d, (const char *)x->data + (size_t)(bi * xbatch + off) * es, slice);
        }
    }
}

/* The scatter walks, parameterised by how one element of updates lands in the output:
 * FN(ARG, dst, src) with dst/src pointing at single elements. The output starts as a copy of
 * data. */
#define SCATTER_ELEMENTS_WALK(FN, ARG)                                                           \
    const struct kiln_p_scatter *p = a->params;                                                \
    const struct kiln_tensor *x = &a->in[0], *ind = &a->in[1], *u = &a->in[2];                 \
    struct kiln_tensor *y = &a->out[0];                                                        \
    size_t es = kiln_dtype_size(y->dtype);                                                     \
    int ax = (int)p->axis;                                                                     \
    int64_t st[KILN_MAX_RANK], len = x->dims[ax], n = kiln_tensor_numel(ind);                 \
    if (y->data != x->data)                                                                    \
        memcpy(y->data, x->data, (size_t)kiln_tensor_numel(y) * es);                           \
    kiln_strides(x->dims, x->rank, st);                                                        \
    struct kiln_ix_walk w;                                                                     \
    kiln_ix_walk_init(&w, ind->dims, ind->rank, st, ax);                                       \
    for (int64_t k = 0; k < n; k++, kiln_ix_walk_next(&w)) {                                   \
        int64_t j = kiln_ix_norm(kiln_ix_load(ind->data, ind->dtype, k), len);                 \
        if (j < 0)                                                                             \
            continue;                                                                          \
        FN(ARG, (char *)y->data + (size_t)(w.base + j * st[ax]) * es,                          \
           (const char *)u->data + (size_t)k * es);                                            \
    }

#define SCATTER_ND_WALK(FN, ARG)                                                                 \
    const struct kiln_tensor *x = &a->in[0], *ind = &a->in[1], *u = &a->in[2];                 \
    struct kiln_tensor *y = &a->out[0];                                                        \
    size_t es = kiln_dtype_size(y->dtype);                                                     \
    int L = (int)ind->dims[ind->rank - 1];                                                     \
    int64_t st[KILN_MAX_RANK];                                                                 \
    if (y->data != x->data)                                                                    \
        memcpy(y->data, x->data, (size_t)kiln_tensor_numel(y) * es);                           \
    kiln_strides(x->dims, x->rank, st);                                                        \
    int64_t tuples = kiln_numel(ind->dims, ind->rank - 1);                                     \
    int64_t slice = kiln_numel(x->dims + L, x->rank - L);                                      \
    for (int64_t t = 0; t < tuples; t++) {                                                     \
        int64_t off = kiln_ix_tuple(ind->data, ind->dtype, t, L, x->dims, st);                 \
        if (off < 0)                                                                           \
            continue;                                                                          \
        for (int64_t e = 0; e < slice; e++)                                                    \
            FN(ARG, (char *)y->data + (size_t)(off + e) * es,                                  \
               (const char *)u->data + (size_t)(t * slice + e) * es);                          \
    }

static inline void move_elem(size_t es, void *dst, const void *src)
{
    memcpy(dst, src, es);
}

static void kiln_k_scatter_elements(const struct kiln_kernel_args *a)
{
    SCATTER_ELEMENTS_WALK(move_elem, es)
}

static void kiln_k_scatter_nd(const struct kiln_kernel_args *a)
{
    SCATTER_ND_WALK(move_elem, es)
}

/* Typed variants serve every reduction (none included, so that selection by dtype needs no
 * fallback). */
#define SCATTER_TYPED(s, DT, T, C, LD, ST)                                                     \
    static inline void scatter_apply_##s(int red, void *dst, const void *src)                  \
    {                                                                                          \
        T *d = dst;                                                                            \
        T v = *(const T *)src;                                                                 \
        if (red == KILN_SCATTER_ADD)                                                           \
            *d = ST((C)LD(*d) + (C)LD(v));                                                     \
        else if (red == KILN_SCATTER_MUL)                                                      \
            *d = ST((C)LD(*d) * (C)LD(v));                                                     \
        else if (red == KILN_SCATTER_MAX)                                                      \
            *d = (C)LD(v) > (C)LD(*d) ? v : *d;                                                \
        else if (red == KILN_SCATTER_MIN)                                                      \
            *d = (C)LD(v) < (C)LD(*d) ? v : *d;                                                \
        else                                                                                   \
            *d = v;                                                                            \
    }                                                                                          \
    static void kiln_k_scatter_elements_##s(const struct kiln_kernel_args *a)                  \
    {                                                                                          \
        SCATTER_ELEMENTS_WALK(scatter_apply_##s, p->reduction)                                 \
    }                                                                                          \
    static void kiln_k_scatter_nd_##s(const struct kiln_kernel_args *a)                        \
    {                                                                                          \
        const struct kiln_p_scatter *p = a->params;                                            \
        SCATTER_ND_WALK(scatter_apply_##s, p->reduction)                                       \
    }
KILN_IX_ARITH(SCATTER_TYPED)

#define REG_SE(s, DT, T, C, LD, ST) KILN_K(kiln_k_scatter_elements_##s, DT),
#define REG_SND(s, DT, T, C, LD, ST) KILN_K(kiln_k_scatter_nd_##s, DT),
KILN_KERNELS(gather_elements, KILN_K(kiln_k_gather_elements, UNDEFINED));
KILN_KERNELS(gather_nd, KILN_K(kiln_k_gather_nd, UNDEFINED));
KILN_KERNELS(scatter, KILN_K(kiln_k_scatter_elements, UNDEFINED));
KILN_KERNELS(scatter_elements, KILN_IX_ARITH(REG_SE) KILN_K(kiln_k_scatter_elements, UNDEFINED));
KILN_KERNELS(scatter_nd, KILN_IX_ARITH(REG_SND) KILN_K(kiln_k_scatter_nd, UNDEFINED));
