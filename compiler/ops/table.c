/* table.c - the compiler's op table, expanded from ops.def. */
#include "ops.h"

#define KILN_OP(E, onnx, lname) extern const struct kiln_op_info kiln_opi_##lname;
#include "kiln/ops.def"
#undef KILN_OP

static const struct kiln_op_info *const table[] = {
#define KILN_OP(E, onnx, lname) &kiln_opi_##lname,
#include "kiln/ops.def"
#undef KILN_OP
};

const struct kiln_op_info *kiln_op_info(enum kiln_op op)
{
    return (unsigned)op < KILN_OP_COUNT ? table[op] : NULL;
}
