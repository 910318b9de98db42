/* opset.c - the one refusal for an op whose oldest ONNX versions kiln does not implement: the
 * op's kiln_op_info.opsets[0] ("since") is the first version it handles, and this names it, so
 * the message, docs/operators.md and tests/opsets/check_opsets.py read the same number. */
#include "ops.h"

enum kiln_status kiln_check_since(struct kiln_infer_ctx *c, const struct kiln_ir_node *n,
                                  const char *form)
{
    int since = kiln_op_since(kiln_op_info(n->op));
    if (c->g->opset >= since)
        return KILN_STATUS_OK;
    return kiln_op_error(c, n, KILN_STATUS_UNSUPPORTED,
                         "the model's opset %lld has %s's %s, which kiln does not implement; "
                         "kiln supports %s from opset %d",
                         (long long)c->g->opset, n->op_type, form, n->op_type, since);
}
