/* registry.c - the runtime's kernel table, expanded from ops.def: op id -> kernel variants. */
#include "kernels/kernels.h"

static const struct kiln_kernel_list *const kernel_lists[] = {
#define KILN_OP(E, onnx, lname) &kiln_kl_##lname,
#include "kiln/ops.def"
#undef KILN_OP
};

static const char *const op_names[] = {
#define KILN_OP(E, onnx, lname) onnx,
#include "kiln/ops.def"
#undef KILN_OP
};

#define N_OPS (sizeof kernel_lists / sizeof kernel_lists[0])

const struct kiln_kernel *kiln_rt_kernel(uint32_t op, uint32_t variant)
{
    if (op >= N_OPS || variant >= kernel_lists[op]->n)
        return NULL;
    return &kernel_lists[op]->k[variant];
}

uint32_t kiln_rt_kernel_count(uint32_t op)
{
    return op < N_OPS ? kernel_lists[op]->n : 0;
}

const char *kiln_op_name(uint32_t op)
{
    return op < N_OPS ? op_names[op] : "?";
}
