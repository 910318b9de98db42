/* ops.h - enum kiln_op, the op ids of include/kiln/ops.def: what a bundle's node stores, what
 * the runtime's kernel table and checks are indexed by, and the compiler's IR op. Public so the
 * runtime, the compiler and an application name ops the same way; values never change (append
 * only in ops.def). */
#ifndef KILN_OPS_H
#define KILN_OPS_H

enum kiln_op {
#define KILN_OP(E, onnx, lname, ...) KILN_OP_##E,
#include "kiln/ops.def"
#undef KILN_OP
    KILN_OP_COUNT,
    KILN_OP_UNKNOWN = KILN_OP_COUNT, /* op type kiln has no entry for (the compiler reports it) */
};

#endif
