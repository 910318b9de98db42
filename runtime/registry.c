/* registry.c - the runtime's kernel table, expanded from ops.def: op id -> kernel variants and
 * the op's load-time check. By default every op; built with -DKILN_RT_OPS a runtime holds only
 * the listed ops, and links only their kernels and checks:
 *     -DKILN_RT_OPS="KILN_RT_OP(conv) KILN_RT_OP(relu) KILN_RT_OP(gemm)"
 * (lnames of ops.def). A bundle with any other op is refused at load time. */
#include "checks/check.h"

#ifdef KILN_RT_OPS
enum {
#define KILN_OP(E, onnx, lname, ...) KILN_RT_ID_##lname,
#include "kiln/ops.def"
#undef KILN_OP
    KILN_RT_N_OPS
};
/* the ops not listed stay NULL; the entry past the end keeps an empty list valid C */
#define KILN_RT_OP(lname) [KILN_RT_ID_##lname] = &kiln_kl_##lname,
static const struct kiln_kernel_list *const kernel_lists[KILN_RT_N_OPS + 1] = {
    KILN_RT_OPS[KILN_RT_N_OPS] = NULL};
#undef KILN_RT_OP
#define N_OPS KILN_RT_N_OPS
#else
static const struct kiln_kernel_list *const kernel_lists[] = {
#define KILN_OP(E, onnx, lname, ...) &kiln_kl_##lname,
#include "kiln/ops.def"
#undef KILN_OP
};
#define N_OPS (sizeof kernel_lists / sizeof kernel_lists[0])
#endif

static const char *const op_names[] = {
#define KILN_OP(E, onnx, lname, ...) onnx,
#include "kiln/ops.def"
#undef KILN_OP
};

const struct kiln_kernel *kiln_rt_kernel(uint32_t op, uint32_t variant)
{
    if (op >= N_OPS || !kernel_lists[op] || variant >= kernel_lists[op]->n)
        return NULL;
    return &kernel_lists[op]->k[variant];
}

uint32_t kiln_rt_kernel_count(uint32_t op)
{
    return op < N_OPS && kernel_lists[op] ? kernel_lists[op]->n : 0;
}

const struct kiln_op_check *kiln_rt_op_check(uint32_t op)
{
    return op < N_OPS && kernel_lists[op] ? kernel_lists[op]->check : NULL;
}

const char *kiln_op_name(uint32_t op)
{
    return op < N_OPS ? op_names[op] : "?";
}
