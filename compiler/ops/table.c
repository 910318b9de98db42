/* table.c - the compiler's op tables, expanded from ops.def: each op's info (compiler/ops/<op>.c)
 * and its arity (the ops.def row itself). */
#include "ops.h"

#define KILN_OP(E, onnx, lname, ...) extern const struct kiln_op_info kiln_opi_##lname;
#include "kiln/ops.def"
#undef KILN_OP

static const struct kiln_op_info *const table[] = {
#define KILN_OP(E, onnx, lname, ...) &kiln_opi_##lname,
#include "kiln/ops.def"
#undef KILN_OP
};

static const struct kiln_op_arity arity[] = {
#define KILN_OP(E, onnx, lname, in_min, in_max, out_min, out_max, const_in)                        \
    {in_min, in_max, out_min, out_max, const_in},
#include "kiln/ops.def"
#undef KILN_OP
};

const struct kiln_op_info *kiln_op_info(enum kiln_op op)
{
    return (unsigned)op < KILN_OP_COUNT ? table[op] : NULL;
}

const struct kiln_op_arity *kiln_op_arity(enum kiln_op op)
{
    return (unsigned)op < KILN_OP_COUNT ? &arity[op] : NULL;
}
