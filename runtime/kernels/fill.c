/* fill.c - ConstantOfShape and Range: outputs computed from the params alone (the compiler
 * needs their inputs constant, so both normally run only during compile-time evaluation).
 * Any dtype: the value is converted once per element with kiln_store_value. */
#include "move.h"

static void kiln_k_constant_of_shape(const struct kiln_kernel_args *a)
{
    const struct kiln_p_fill *p = a->params;
    struct kiln_tensor *y = &a->out[0];
    uint64_t v = 0;
    kiln_store_value(&v, y->dtype, p->f, p->i);
    kiln_fill_elems(y->data, &v, kiln_dtype_size(y->dtype), kiln_tensor_numel(y));
}

static void kiln_k_range(const struct kiln_kernel_args *a)
{
    const struct kiln_p_fill *p = a->params;
    struct kiln_tensor *y = &a->out[0];
    size_t es = kiln_dtype_size(y->dtype);
    int64_t n = kiln_tensor_numel(y);
    for (int64_t k = 0; k < n; k++)
        kiln_store_value((char *)y->data + k * (int64_t)es, y->dtype, p->f + (double)k * p->df,
                         p->i + k * p->di);
}

KILN_KERNELS(constant_of_shape, KILN_K(kiln_k_constant_of_shape, UNDEFINED));
KILN_KERNELS(range, KILN_K(kiln_k_range, UNDEFINED));
