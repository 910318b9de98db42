/* fused.h - the attributes through which the fusion passes hand an epilogue to Conv,
 * ConvTranspose, Gemm and MatMul (kiln_act, kiln_act_alpha, kiln_act_beta, kiln_residual; see
 * docs/kiln-domain.md "Fused attributes"). The ops' infer reads them, so re-inference and the
 * ONNX writer keep a fusion; the passes use the same name table to write them. */
#ifndef KILN_OPS_FUSED_H
#define KILN_OPS_FUSED_H

#include "ops.h"

/* An activation's row of kiln/acts.def: lname, ONNX name (NULL: kiln's own form), the ONNX
 * attribute names of alpha and beta (NULL: unused) and their defaults, KILN_ACTF_* flags. */
enum { KILN_ACTF_FUSE = 1, KILN_ACTF_RNN = 2 };
struct kiln_act_info {
    const char *name, *onnx, *alpha_name, *beta_name;
    float alpha, beta;
    int flags;
};
/* The row of kind; NULL for NONE/unknown. */
const struct kiln_act_info *kiln_act_info_of(int kind);
/* The kind computing ONNX op `op` with its default form (Gelu: the Erf form); NONE if none. */
int kiln_act_of_op(enum kiln_op op);

/* Name of an activation kind for the kiln_act attribute ("relu", ...); NULL for NONE/unknown. */
const char *kiln_fused_act_name(int kind);
/* Kind for a kiln_act name; KILN_ACT_NONE when unknown. */
int kiln_fused_act_kind(const char *name);

/* Reads kiln_act / kiln_act_alpha / kiln_act_beta into *act and checks kiln_residual: when it is
 * 1, input `res_index` (the last one) must be present and have output shape (rank, dims) and
 * input 0's dtype; when 0, the node may not have more than res_index inputs. res_index 0: the
 * op's kernel has no residual input (kiln_residual=1 is an error). */
enum kiln_status kiln_fused_attrs(struct kiln_infer_ctx *c, const struct kiln_ir_node *n,
                                  uint32_t res_index, int rank, const int64_t *dims,
                                  struct kiln_act *act);

#endif
