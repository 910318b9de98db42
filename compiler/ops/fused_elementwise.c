/* fused_elementwise.c - FusedElementwise, kiln's op for a chain of elementwise ops that the
 * fuse_elementwise pass merged: float32 inputs of one shape, a bytecode program in the
 * attributes kiln_program (4 ints per instruction: op, dst, a, b) and kiln_constants (floats),
 * checked here so that the kernel can trust it. Format: docs/kiln-domain.md. */
#include <string.h>

#include "ops.h"

static enum kiln_status infer_fused_ew(struct kiln_infer_ctx *c, struct kiln_ir_node *n)
{
    const int64_t *code;
    const float *consts;
    size_t n_code, n_consts;
    enum kiln_status st;
    struct kiln_ir_value *x0;
    if ((st = kiln_need_input(c, n, 0, &x0)) ||
        (st = kiln_attr_ints(c, n, "kiln_program", &code, &n_code)) ||
        (st = kiln_attr_floats(c, n, "kiln_constants", &consts, &n_consts)))
        return st;
    for (uint32_t i = 0; i < n->n_in; i++) {
        struct kiln_ir_value *x;
        if ((st = kiln_need_input_of(c, n, i, kiln_dtypes_f32, &x)))
            return st;
        bool same = x->rank == x0->rank;
        for (int k = 0; same && k < x->rank; k++)
            same = x->dims[k] == x0->dims[k];
        if (!same)
            return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                                 "input '%s' must have the shape of input '%s'", x->name, x0->name);
    }
    if (!n_code || n_code % 4 || n_code / 4 > KILN_FEW_MAX_CODE || n_consts > KILN_FEW_MAX_CONSTS ||
        n->n_in > KILN_FEW_MAX_IN)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "kiln_program needs 1 to %d instructions of 4 ints, with at most %d "
                             "constants and %d inputs",
                             KILN_FEW_MAX_CODE, KILN_FEW_MAX_CONSTS, KILN_FEW_MAX_IN);
    struct kiln_p_fused_elementwise *p = kiln_node_params(c, n, sizeof *p);
    if (!p)
        return kiln_op_error(c, n, KILN_STATUS_NO_MEMORY, "out of memory");
    p->n_code = (int32_t)(n_code / 4);
    p->n_in = (int32_t)n->n_in;
    if (n_consts)
        memcpy(p->consts, consts, n_consts * sizeof *consts);
    /* every register read must hold an input or an earlier result */
    uint32_t written = (1u << n->n_in) - 1;
    for (int32_t i = 0; i < p->n_code; i++) {
        const int64_t *ins = code + 4 * i;
        bool unary = ins[0] >= KILN_FEW_FIRST_UNARY;
        bool ok =
            ins[0] >= 0 && ins[0] < KILN_FEW_OP_COUNT && ins[1] >= 0 && ins[1] < KILN_FEW_MAX_REGS;
        for (int k = 2; k < (unary ? 3 : 4) && ok; k++) {
            int64_t o = ins[k];
            ok = o >= KILN_FEW_CONST ? o - KILN_FEW_CONST < (int64_t)n_consts
                                     : o >= 0 && (written >> o & 1);
        }
        if (!ok)
            return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                                 "kiln_program instruction %d is invalid (unknown op, register "
                                 "out of range or read before written, constant out of range)",
                                 (int)i);
        written |= 1u << ins[1];
        for (int k = 0; k < 4; k++)
            p->code[i][k] = (uint8_t)(unary && k == 3 ? 0 : ins[k]);
    }
    return kiln_set_output(c, n, 0, x0->dtype, x0->rank, x0->dims);
}

const struct kiln_op_info kiln_opi_fused_elementwise = {
    .flags = KILN_OPF_INPLACE, .infer = infer_fused_ew, .dtypes = "float32",
    .notes = "kiln op made by fuse_elementwise: a bytecode program per element "
             "(docs/kiln-domain.md)",
    .opsets = {0}};
