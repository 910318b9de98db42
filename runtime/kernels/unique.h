/* unique.h - the Unique algorithm, shared by the kernel and by the compiler, which runs it on
 * the constant input to size the outputs (kiln compiles static shapes). Slices along the axis
 * are compared lexicographically by value; a stable merge sort groups equal slices, so the
 * first slice of a group is its first occurrence. Static inline for the C emitter. */
#ifndef KILN_RT_UNIQUE_H
#define KILN_RT_UNIQUE_H

#include "kernels.h"

/* -1, 0, 1 as element i of x compares with element j (by value; NaN compares equal). */
static inline int kiln_unique_cmp_elem(const void *x, int dtype, int64_t i, int64_t j)
{
    double fa, fb;
    switch (dtype) {
#define KILN_UQ_INT(sn, E, T)                                                                  \
    case KILN_DTYPE_##E: {                                                                     \
        T a = ((const T *)x)[i], b = ((const T *)x)[j];                                        \
        return (a > b) - (a < b);                                                              \
    }
        KILN_FOR_INTS(KILN_UQ_INT)
        KILN_UQ_INT(b, BOOL, uint8_t)
#undef KILN_UQ_INT
    case KILN_DTYPE_F32: fa = ((const float *)x)[i], fb = ((const float *)x)[j]; break;
    case KILN_DTYPE_F64: fa = ((const double *)x)[i], fb = ((const double *)x)[j]; break;
    case KILN_DTYPE_F16:
        fa = kiln_f16_to_f32(((const uint16_t *)x)[i]);
        fb = kiln_f16_to_f32(((const uint16_t *)x)[j]);
        break;
    case KILN_DTYPE_BF16:
        fa = kiln_bf16_to_f32(((const uint16_t *)x)[i]);
        fb = kiln_bf16_to_f32(((const uint16_t *)x)[j]);
        break;
    default: return 0;
    }
    return (fa > fb) - (fa < fb);
}

/* Compares slices a and b of x viewed as [outer, len, inner] (p's view). */
static inline int kiln_unique_cmp(const struct kiln_p_unique *p, const void *x, int dtype,
                                  int64_t a, int64_t b)
{
    for (int64_t o = 0; o < p->outer; o++)
        for (int64_t i = 0; i < p->inner; i++) {
            int64_t base = o * p->len * p->inner + i;
            int r = kiln_unique_cmp_elem(x, dtype, base + a * p->inner, base + b * p->inner);
            if (r)
                return r;
        }
    return 0;
}

/* Runs Unique on x; work holds 5 * len int64 and receives, at these offsets (in units of len):
 *   0: the slices in sorted order   1: output position of each group (by sorted group id)
 *   2: sorted group id of slice e   3: first[u], the first slice of output u   4: count[u]
 * The output position of slice e (inverse_indices) is work[len + work[2 len + e]]. Returns
 * the number of unique slices. */
static inline int64_t kiln_unique_run(const struct kiln_p_unique *p, const void *x, int dtype,
                                      int64_t *work)
{
    int64_t len = p->len, *ord = work, *tmp = work + len, *grp = work + 2 * len;
    int64_t *first = work + 3 * len, *cnt = work + 4 * len;
    for (int64_t e = 0; e < len; e++)
        ord[e] = e;
    /* bottom-up stable merge sort of ord, with tmp as the buffer */
    for (int64_t w = 1; w < len; w *= 2) {
        for (int64_t lo = 0; lo < len; lo += 2 * w) {
            int64_t mid = lo + w < len ? lo + w : len, hi = lo + 2 * w < len ? lo + 2 * w : len;
            int64_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi)
                tmp[k++] = kiln_unique_cmp(p, x, dtype, ord[j], ord[i]) < 0 ? ord[j++] : ord[i++];
            while (i < mid)
                tmp[k++] = ord[i++];
            while (j < hi)
                tmp[k++] = ord[j++];
        }
        memcpy(ord, tmp, (size_t)len * sizeof *ord);
    }
    int64_t groups = 0;
    for (int64_t k = 0; k < len; k++) {
        if (k == 0 || kiln_unique_cmp(p, x, dtype, ord[k], ord[k - 1]))
            groups++;
        grp[ord[k]] = groups - 1;
    }
    /* tmp becomes group id -> output position: the sorted rank, or the order of first
     * occurrence */
    int64_t next = 0;
    for (int64_t g = 0; g < groups; g++)
        tmp[g] = p->sorted ? g : -1;
    for (int64_t e = 0; e < len; e++) {
        int64_t *pos = &tmp[grp[e]];
        if (*pos < 0)
            *pos = next++;
    }
    for (int64_t u = 0; u < groups; u++)
        cnt[u] = 0;
    for (int64_t e = 0; e < len; e++) {
        int64_t u = tmp[grp[e]];
        if (cnt[u]++ == 0)
            first[u] = e;
    }
    return groups;
}

#endif
