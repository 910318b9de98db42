/* ops.h - the compiler's per-op table and the helpers op files use for attribute parsing,
 * shape and type inference. Each compiler/ops/<op>.c defines `const struct kiln_op_info
 * kiln_opi_<lname>` for its ops.def row(s); compiler/ops/table.c gathers them. */
#ifndef KILN_COMPILER_OPS_H
#define KILN_COMPILER_OPS_H

#include "../ir.h"
#include "kiln/params.h"

struct kiln_infer_ctx {
    struct kiln_ir_graph *g;
    struct kiln_diag *diag;
};

/* Newest default-domain opset whose forms the importer and the op files know (ONNX 1.16); the
 * importer refuses newer models. The oldest is 1. */
#define KILN_MAX_OPSET 21

/* Room in struct kiln_op_info's opsets list (the versions of one op kiln tells apart). */
#define KILN_OPSET_FORMS 8

enum kiln_op_flags {
    KILN_OPF_NO_FOLD = 1u << 0,  /* never evaluate at compile time (random, side effects) */
    KILN_OPF_VIEW = 1u << 1,     /* output is the input's bytes under another shape */
    KILN_OPF_ELEMENTWISE = 1u << 2,
    /* Output 0 may take the buffer of input 0 or 1 when that input has output 0's shape and
     * element size and dies at this node: the kernel never reads an element of that input
     * after writing the output element at the same position (lowering checks the rest). */
    KILN_OPF_INPLACE = 1u << 3,
};

/* An op's arity and compile-time inputs: its row of include/kiln/ops.def (the runtime's load-time
 * check derives the lowered node's arity from the same row). */
struct kiln_op_arity {
    int min_in, max_in; /* max_in -1: variadic */
    int min_out, max_out;
    /* Inputs (bit i = input i) read only at compile time; lowering does not pass them to the
     * kernel (it sees an omitted input instead). Example: Reshape's shape. */
    uint32_t compile_time_inputs;
};

/* What the compiler knows of an op besides its ops.def row, one per op in compiler/ops/<op>.c,
 * written with designated initializers (fields left out are 0 / NULL). */
struct kiln_op_info {
    uint32_t flags;
    /* Checks inputs and attributes for g->opset, sets every output's dtype and shape, fills
     * n->params/params_size, n->scratch_size and n->kdtype. Constant inputs are in v->data.
     * May instead set output data directly (Shape, Constant) when the value is known. */
    enum kiln_status (*infer)(struct kiln_infer_ctx *c, struct kiln_ir_node *n);
    /* Multiply-accumulates of one run, for `inspect`; NULL counts 0. */
    uint64_t (*macs)(const struct kiln_ir_node *n);
    const char *dtypes; /* for docs: "float32, float64, int32, ..." */
    const char *notes;  /* for docs */
    /* The ONNX versions of the op (each schema's since_version) that infer handles, ascending,
     * 0-terminated. opsets[0] is the oldest version kiln accepts ("since": a model whose opset
     * lies between the op's first ONNX version and it is refused by infer, naming the form);
     * the op is accepted up to KILN_MAX_OPSET. The later entries are the versions at which the
     * op's inputs, outputs or attributes changed and infer switches form (on c->g->opset or on
     * what the node carries). tests/opsets/check_opsets.py holds this list to ONNX's schema
     * history and docs/operators.md prints it. {0}: one of kiln's own ops (docs/kiln-domain.md),
     * accepted at every opset. */
    uint8_t opsets[KILN_OPSET_FORMS];
};

/* The oldest opset kiln accepts op `i` at; 0 for kiln's own ops. */
static inline int kiln_op_since(const struct kiln_op_info *i)
{
    return i->opsets[0];
}

const struct kiln_op_info *kiln_op_info(enum kiln_op op);
/* NULL for KILN_OP_UNKNOWN, as kiln_op_info. */
const struct kiln_op_arity *kiln_op_arity(enum kiln_op op);
/* Whether node n's input j is read only at compile time, so that lowering and constant
 * folding pass an omitted tensor in its place: always for the op (ops.def), or for this node
 * because inference folded a constant operand (n->folded_in). A variadic op's inputs past the
 * masks' 32 bits never are. */
static inline bool kiln_compile_time_input(const struct kiln_ir_node *n, uint32_t j)
{
    return j < 32 && ((kiln_op_arity(n->op)->compile_time_inputs | n->folded_in) >> j) & 1;
}

/* Whether one of n's inputs from `first` on reaches its kernel as a tensor (present, not read
 * at compile time): a Clip with bounds computed at run time, which a pass cannot turn into
 * constants of a fused epilogue or program. */
static inline bool kiln_runtime_operands(const struct kiln_ir_node *n, uint32_t first)
{
    for (uint32_t j = first; j < n->n_in; j++)
        if (n->in[j] && !kiln_compile_time_input(n, j))
            return true;
    return false;
}

/* The weight (input 1) of a Conv, Gemm or MatMul node packed for its GEMM at compile time
 * (compiler/ops/gemm.c; the kernels' packed variants read it, runtime/kernels/gemm_core.h):
 * sets the packed array's rank and dims and, when out is not NULL, writes its elements there.
 * False when the node keeps its weight as it is. */
bool kiln_gemm_packed_weight(const struct kiln_ir_node *n, int *rank, int64_t *dims, void *out);
/* The same for the sparse variant (KILN_GEMM_VARIANT_SPARSE): a float32 Gemm whose op(B) has at
 * most this fraction of non-zeros gets it stored compressed, as a rank-1 array of 32-bit words
 * (kiln_spgemm_words). The break-evens measured by bench/sparse_gemm.sh (docs/pruning.md): the
 * kernel's vector path (KILN_SPGEMM_MIN_ROWS rows or more) beats the dense AVX-512 GEMM from
 * about 60-80% zeros, its one-row path from about 85-90%; these keep a margin. */
#define KILN_SPARSE_MAX_DENSITY 0.20
#define KILN_SPARSE_MAX_DENSITY_FEW_ROWS 0.10
bool kiln_gemm_sparse_weight(const struct kiln_ir_node *n, int *rank, int64_t *dims, void *out);

/* Infers every node of g (the main graph or a subgraph whose formal inputs already have their
 * types), evaluating constant nodes; used by the control-flow ops for their bodies. */
enum kiln_status kiln_infer_graph(struct kiln_infer_ctx *c, struct kiln_ir_graph *g);

/* ---- errors ---- */
/* Records "node 'name' (Op): message" as an INVALID_MODEL (or given status) error. */
enum kiln_status kiln_op_error(struct kiln_infer_ctx *c, const struct kiln_ir_node *n,
                               enum kiln_status st, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/* Records that input value v of n must be known at compile time ("input 'v' (what) must be
 * known at compile time[: why]") as UNSUPPORTED, naming v in the diagnostic (value,
 * value_is_input) so callers can offer to fix it. */
enum kiln_status kiln_not_constant(struct kiln_infer_ctx *c, const struct kiln_ir_node *n,
                                   const struct kiln_ir_value *v, const char *what,
                                   const char *why);

/* Refuses n when the model's opset is older than kiln_op_since() of its op, naming the opset,
 * the older form kiln does not implement (`form`) and the version kiln supports; OK otherwise.
 * For ops whose oldest ONNX versions kiln does not handle. */
enum kiln_status kiln_check_since(struct kiln_infer_ctx *c, const struct kiln_ir_node *n,
                                  const char *form);

/* ---- attributes: each returns an error naming the node when the attribute has the wrong type */
enum kiln_status kiln_attr_int(struct kiln_infer_ctx *c, const struct kiln_ir_node *n,
                               const char *name, int64_t def, int64_t *out);
enum kiln_status kiln_attr_float(struct kiln_infer_ctx *c, const struct kiln_ir_node *n,
                                 const char *name, float def, float *out);
/* *out = NULL when absent (out_len 0); *out_len receives the count. */
enum kiln_status kiln_attr_ints(struct kiln_infer_ctx *c, const struct kiln_ir_node *n,
                                const char *name, const int64_t **out, size_t *out_len);
enum kiln_status kiln_attr_floats(struct kiln_infer_ctx *c, const struct kiln_ir_node *n,
                                  const char *name, const float **out, size_t *out_len);
enum kiln_status kiln_attr_string(struct kiln_infer_ctx *c, const struct kiln_ir_node *n,
                                  const char *name, const char *def, const char **out);

/* ---- inputs ---- */
/* Input i, or NULL if omitted / out of range. */
static inline struct kiln_ir_value *kiln_in(const struct kiln_ir_node *n, uint32_t i)
{
    return i < n->n_in ? n->in[i] : NULL;
}
/* Requires input i to exist with a known shape; error otherwise. */
enum kiln_status kiln_need_input(struct kiln_infer_ctx *c, const struct kiln_ir_node *n,
                                 uint32_t i, struct kiln_ir_value **out);
/* Requires input i's dtype to be one of `allowed` (0-terminated list). */
enum kiln_status kiln_check_dtype(struct kiln_infer_ctx *c, const struct kiln_ir_node *n,
                                  uint32_t i, const int *allowed);
/* Both of the above: input i exists with a known shape and one of the `allowed` dtypes. */
enum kiln_status kiln_need_input_of(struct kiln_infer_ctx *c, const struct kiln_ir_node *n,
                                    uint32_t i, const int *allowed, struct kiln_ir_value **out);
/* Requires inputs i and j to share a dtype. */
enum kiln_status kiln_check_same_dtype(struct kiln_infer_ctx *c, const struct kiln_ir_node *n,
                                       uint32_t i, uint32_t j);
/* Reads a constant integer tensor input (int32 or int64) as int64. Error if not constant,
 * naming `what`. Memory from the graph arena. */
enum kiln_status kiln_const_ints(struct kiln_infer_ctx *c, const struct kiln_ir_node *n,
                                 uint32_t i, const char *what, int64_t **out, int64_t *count);
/* Reads a constant scalar (any numeric dtype) as double. */
enum kiln_status kiln_const_scalar(struct kiln_infer_ctx *c, const struct kiln_ir_node *n,
                                   uint32_t i, const char *what, double *out);
/* Normalises an axis against rank (negative counts from the end); error if out of range. */
enum kiln_status kiln_norm_axis(struct kiln_infer_ctx *c, const struct kiln_ir_node *n,
                                int64_t axis, int rank, int64_t *out);

/* ---- outputs ---- */
enum kiln_status kiln_set_output(struct kiln_infer_ctx *c, struct kiln_ir_node *n, uint32_t i,
                                 int dtype, int rank, const int64_t *dims);
/* The same for an output whose extents depend on the data: dims are the upper bounds the
 * buffer is sized for; the kernel sets the extents of each run (runtime/dims.c). */
enum kiln_status kiln_set_output_bound(struct kiln_infer_ctx *c, struct kiln_ir_node *n,
                                       uint32_t i, int dtype, int rank, const int64_t *bound);
/* Allocates zeroed params of `size` bytes for n. */
void *kiln_node_params(struct kiln_infer_ctx *c, struct kiln_ir_node *n, size_t size);
/* Numpy-style broadcast of two shapes; error naming the node on mismatch. */
enum kiln_status kiln_broadcast(struct kiln_infer_ctx *c, const struct kiln_ir_node *n,
                                int ra, const int64_t *da, int rb, const int64_t *db,
                                int *rout, int64_t *dout);

/* dtype sets for kiln_check_dtype */
extern const int kiln_dtypes_float[];   /* f16 bf16 f32 f64 */
extern const int kiln_dtypes_ieee[];    /* f16 f32 f64: the float kernels without bf16 */
extern const int kiln_dtypes_f32_f64[]; /* f32 f64 */
extern const int kiln_dtypes_f32[];     /* f32 only */
extern const int kiln_dtypes_numeric[]; /* every int and float type */
extern const int kiln_dtypes_signed[];  /* signed ints and floats */
extern const int kiln_dtypes_int[];     /* every int type */
extern const int kiln_dtypes_all[];     /* numeric + bool */
extern const int kiln_dtypes_index[];   /* int32 int64 */

#endif
