/* approximate.c - the -O3 pass: swaps the exact activations of fused epilogues, Gelu nodes and
 * FusedElementwise programs for the approximations of runtime/kernels/fastmath.h (sigmoid,
 * tanh, SiLU, GELU, exp without libm). A fused gelu_tanh epilogue keeps libm's tanh (there is
 * no fast epilogue kind for it); a Gelu node of either form gets its fast twin. Each has a
 * measured maximum error, documented in docs/optimization.md ("Fusion passes") and checked by
 * test_passes.c. */
#include <string.h>

#include "edit.h"
#include "ops/fused.h"

static int fast_act(int kind)
{
    switch (kind) {
    case KILN_ACT_SIGMOID: return KILN_ACT_FAST_SIGMOID;
    case KILN_ACT_TANH: return KILN_ACT_FAST_TANH;
    case KILN_ACT_SILU: return KILN_ACT_FAST_SILU;
    case KILN_ACT_GELU: return KILN_ACT_FAST_GELU;
    default: return KILN_ACT_NONE;
    }
}

static int64_t fast_op(int64_t op)
{
    switch (op) {
    case KILN_FEW_EXP: return KILN_FEW_FAST_EXP;
    case KILN_FEW_SIGMOID: return KILN_FEW_FAST_SIGMOID;
    case KILN_FEW_TANH: return KILN_FEW_FAST_TANH;
    case KILN_FEW_GELU: return KILN_FEW_FAST_GELU;
    default: return op;
    }
}

enum kiln_status kiln_pass_approximate(struct kiln_pass_ctx *c)
{
    struct kiln_ir_graph *g = c->g;
    struct kiln_ir_node *n;
    for (uint32_t i = 0; (n = kiln_edit_next_live(g, &i));) {
        if (!n->out[0] || n->out[0]->dtype != KILN_DTYPE_F32)
            continue;
        const struct kiln_ir_attr *a = kiln_ir_attr(n, "kiln_act");
        bool changed = false, ok = true;
        if (n->op == KILN_OP_GELU) {
            const struct kiln_ir_attr *f = kiln_ir_attr(n, "kiln_fast");
            if (!f || !f->i)
                changed = true, ok = kiln_edit_set_int(g, n, "kiln_fast", 1);
        } else if (a && a->type == KILN_ATTR_STRING) {
            int fast = fast_act(kiln_fused_act_kind(a->s));
            if (fast)
                changed = true,
                ok = kiln_edit_set_string(g, n, "kiln_act", kiln_fused_act_name(fast));
        } else if (n->op == KILN_OP_FUSED_ELEMENTWISE) {
            const struct kiln_ir_attr *p = kiln_ir_attr(n, "kiln_program");
            int64_t code[KILN_FEW_MAX_CODE * 4];
            if (!p || p->n > KILN_FEW_MAX_CODE * 4)
                continue;
            memcpy(code, p->ints, p->n * sizeof *code);
            for (size_t k = 0; k < p->n; k += 4) {
                changed |= fast_op(code[k]) != code[k];
                code[k] = fast_op(code[k]);
            }
            if (changed)
                ok = kiln_edit_set_ints(g, n, "kiln_program", code, p->n);
        }
        if (!ok)
            return kiln_diag_set(c->d, KILN_STATUS_NO_MEMORY, NULL, NULL, "out of memory");
        if (!changed)
            continue;
        enum kiln_status st = kiln_edit_reinfer(c, n);
        if (st)
            return st;
        kiln_pass_log(c, "%s '%s': fast approximation", n->op_type, n->name);
    }
    return KILN_STATUS_OK;
}
