/* kernels.h - internal to the runtime: how kernel files publish their variants, and the
 * helpers kernels share (dtype templating lists, index arithmetic). Not a public header. */
#ifndef KILN_RT_KERNELS_H
#define KILN_RT_KERNELS_H

#include <stdint.h>
#include <string.h>

#include "kiln/kiln.h"
#include "kiln/params.h"

struct kiln_op_check; /* an op's load-time check (runtime/checks/check.h) */

struct kiln_kernel_list {
    const struct kiln_kernel *k;
    uint32_t n;
    const char *file; /* the defining source (__FILE__): the C emitter copies that file */
    /* kiln_oc_<lname> (runtime/checks/): what the bundle loader verifies before a node of the
     * op may run. Referenced from here so that linking an op's kernels links its check. */
    const struct kiln_op_check *check;
};

/* Publishes an op's kernel variants: KILN_KERNELS(add, KILN_K(kiln_k_add_f32, F32), ...).
 * Variant numbers are the positions in this list (stored in bundles: append only). The op's
 * load-time check kiln_oc_<lname> must exist (KILN_CHECK in runtime/checks/<family>.c, or
 * KILN_CHECK_NONE for an op that only runs at compile time), else the runtime does not link. */
#define KILN_K(fn, DT) {#fn, fn, KILN_DTYPE_##DT}
#define KILN_KERNELS(lname, ...)                                                               \
    static const struct kiln_kernel kiln_kl_items_##lname[] = {__VA_ARGS__};                   \
    const struct kiln_kernel_list kiln_kl_##lname = {                                          \
        kiln_kl_items_##lname, sizeof kiln_kl_items_##lname / sizeof kiln_kl_items_##lname[0], \
        __FILE__, &kiln_oc_##lname}
/* For ops the compiler always evaluates (Constant, Shape, ...): no kernel at run time. */
#define KILN_NO_KERNELS(lname)                                                                 \
    const struct kiln_kernel_list kiln_kl_##lname = {NULL, 0, __FILE__, &kiln_oc_##lname}

#define KILN_OP(E, onnx, lname, ...)                                                               \
    extern const struct kiln_kernel_list kiln_kl_##lname;                                          \
    extern const struct kiln_op_check kiln_oc_##lname;
#include "kiln/ops.def"
#undef KILN_OP

/* Element type lists for instantiating one kernel template per dtype:
 * X(short_name, DTYPE_ENUM_SUFFIX, c_type). */
#define KILN_FOR_SIGNED_INTS(X) X(i8, I8, int8_t) X(i16, I16, int16_t) X(i32, I32, int32_t) X(i64, I64, int64_t)
#define KILN_FOR_UNSIGNED_INTS(X) X(u8, U8, uint8_t) X(u16, U16, uint16_t) X(u32, U32, uint32_t) X(u64, U64, uint64_t)
#define KILN_FOR_INTS(X) KILN_FOR_SIGNED_INTS(X) KILN_FOR_UNSIGNED_INTS(X)
#define KILN_FOR_NATIVE_FLOATS(X) X(f32, F32, float) X(f64, F64, double)

static inline int64_t kiln_numel(const int64_t *dims, int rank)
{
    int64_t n = 1;
    for (int i = 0; i < rank; i++)
        n *= dims[i];
    return n;
}

/* Row-major strides (in elements) of a shape. */
static inline void kiln_strides(const int64_t *dims, int rank, int64_t *strides)
{
    int64_t s = 1;
    for (int i = rank - 1; i >= 0; i--) {
        strides[i] = s;
        s *= dims[i];
    }
}

/* Strides of `t` as seen from a broadcast output of rank `out_rank` (right-aligned, 0 along
 * broadcast axes). */
static inline void kiln_bcast_strides(const struct kiln_tensor *t, int out_rank, int64_t *strides)
{
    int64_t own[KILN_MAX_RANK];
    kiln_strides(t->dims, t->rank, own);
    int off = out_rank - t->rank;
    for (int i = 0; i < out_rank; i++) {
        int j = i - off;
        strides[i] = (j < 0 || t->dims[j] == 1) ? 0 : own[j];
    }
}

#endif
