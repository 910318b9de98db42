/* check.h - internal to the runtime: the load-time check of one op (struct kiln_op_check), what
 * a check sees of the node it checks (struct kiln_vctx), and the helpers the checks share.
 * validate.c runs the generic checks of a program and then, per node, the check its op's
 * kernel list points to (KILN_KERNELS in kernels.h); the checks live in checks/<family>.c,
 * so a runtime links the checks of exactly the ops whose kernels it links. */
#ifndef KILN_RT_CHECK_H
#define KILN_RT_CHECK_H

#include <stdint.h>

#include "kiln/bundle.h"
#include "kiln/ops.h"
#include "kiln/params.h"
#include "kernels/kernels.h"

/* Tensors of a node resolved into kiln_vctx.t for the checks that index v->in / v->out; the
 * variadic ops (whose nodes may hold any number, up to the bundle's 16-bit counts) read
 * theirs through vin / vout instead. */
#define KILN_CK_RESOLVED 64
#define MAX_ELEMS (1LL << 60) /* elements per tensor: products of dims stay far from overflow */
#define MAX_GEOM (1LL << 30)  /* window, stride, dilation and padding values */

typedef const struct kiln_tensor_desc desc;

/* The node being checked, with its tensors resolved (indices checked) and its params located
 * (inside the blob, of the size the op's check asks for). */
struct kiln_vctx {
    const struct kiln_program *p;
    const struct kiln_node_desc *n;
    desc *t[KILN_CK_RESOLVED]; /* the node's inputs, then its outputs */
    desc **in, **out;          /* into t; NULL when the node has more tensors than t holds */
    const void *params;
    int kd; /* the element type of the kernel variant (0: moves bytes of any type) */
    const char *name;
    struct kiln_diag *d;
};

/* An op's load-time check: the arity and params size validate.c verifies before calling fn,
 * which verifies the rest (returns nonzero, with the error recorded, to refuse). fn NULL: the
 * op runs only at compile time and a program holding it is refused. */
struct kiln_op_check {
    int (*fn)(struct kiln_vctx *v);
    uint16_t req_in; /* bit j: input j must be present (ALL: every given input) */
    uint16_t max_in, req_out, max_out;
    uint16_t params; /* exact params size the kernel reads (PVAR: at least) */
};
#define ALL 0xffff  /* every given input is required (variadic ops) */
#define PVAR 0x8000 /* variable-size params: at least the size, the op's check does the rest */

/* Each op's arity at run time, derived from its ops.def row as constants named by lname: the
 * inputs below in_min are required except those read only at compile time (lowering omits
 * them); a variadic op (in_max -1) requires every input it is given; variadic counts are
 * bounded only by the node's 16-bit fields (KILN_CK_ANY). */
#define KILN_CK_ANY 0xffff
enum {
#define KILN_OP(E, onnx, lname, in_min, in_max, out_min, out_max, const_in)                        \
    KILN_CK_REQ_IN_##lname = (in_max) < 0 ? ALL : ((1 << (in_min)) - 1) & ~(const_in),             \
    KILN_CK_MAX_IN_##lname = (in_max) < 0 ? KILN_CK_ANY : (in_max),                                \
    KILN_CK_REQ_OUT_##lname = (out_min),                                                           \
    KILN_CK_MAX_OUT_##lname = (out_max) < 0 ? KILN_CK_ANY : (out_max),
#include "kiln/ops.def"
#undef KILN_OP
};

/* Defines kiln_oc_<lname>, the check KILN_KERNELS(lname, ...) points to. KILN_CHECK: the arity
 * of the op's ops.def row; KILN_CHECK_LOWERED: an arity of its own, for an op whose lowered
 * node differs from the ONNX one (say why where it is used); KILN_CHECK_NONE: refused (the op
 * runs only at compile time). req_in: bit j, input j must be present (ALL: every given input). */
#define KILN_CHECK_LOWERED(lname, fn, req_in, max_in, req_out, max_out, params)                    \
    const struct kiln_op_check kiln_oc_##lname = {fn, req_in, max_in, req_out, max_out, params}
#define KILN_CHECK(lname, fn, params)                                                              \
    KILN_CHECK_LOWERED(lname, fn, KILN_CK_REQ_IN_##lname, KILN_CK_MAX_IN_##lname,                  \
                       KILN_CK_REQ_OUT_##lname, KILN_CK_MAX_OUT_##lname, params)
#define KILN_CHECK_NONE(lname) const struct kiln_op_check kiln_oc_##lname = {NULL, 0, 0, 0, 0, 0}

/* The check op's kernel list points to; NULL when this runtime does not hold the op
 * (registry.c, KILN_RT_OPS). */
const struct kiln_op_check *kiln_rt_op_check(uint32_t op);

#define U(x) ((unsigned long long)(x))
#define L(x) ((long long)(x))
/* Refusals: BAD records "node 'NAME' (Op): message" unless an error is recorded already and
 * returns 1. With -DKILN_RT_TERSE (small runtimes) the same checks record only the file and
 * line of the check that refused (each check file defines KILN_CK_FILE). */
#ifndef KILN_RT_TERSE
int kiln_ck_bad(struct kiln_vctx *v, const char *fmt, ...);
#define BAD(...) kiln_ck_bad(v, __VA_ARGS__)
#else
int kiln_ck_bad_at(struct kiln_vctx *v, const char *file, int line);
#define BAD(...) kiln_ck_bad_at(v, KILN_CK_FILE, __LINE__)
#endif

/* ---- small helpers, inline in every check file ---- */

static inline int64_t numel(desc *t)
{
    int64_t n = 1;
    for (int i = 0; i < t->rank; i++)
        n *= t->dims[i];
    return n;
}

static inline int present(desc *t)
{
    return t && t->storage != KILN_STORAGE_NONE;
}

static inline int same_shape(desc *a, desc *b)
{
    if (a->rank != b->rank)
        return 0;
    for (int i = 0; i < a->rank; i++)
        if (a->dims[i] != b->dims[i])
            return 0;
    return 1;
}

/* a * b, saturating at UINT64_MAX. */
static inline uint64_t mulc(uint64_t a, uint64_t b)
{
    return a && b > UINT64_MAX / a ? UINT64_MAX : a * b;
}

/* Input / output i of the node (i below its count; the indices were checked), for the checks
 * of ops whose nodes may hold more tensors than v->in / v->out resolve. */
static inline desc *vin(struct kiln_vctx *v, uint32_t i)
{
    return &v->p->tensors[v->p->io[v->n->io_first + i]];
}

static inline desc *vout(struct kiln_vctx *v, uint32_t i)
{
    return vin(v, v->n->n_in + i);
}

/* Input / output i when the node has it and it is not omitted, else NULL. */
static inline desc *opt_in(struct kiln_vctx *v, uint32_t i)
{
    return i < v->n->n_in && present(vin(v, i)) ? vin(v, i) : NULL;
}

static inline desc *opt_out(struct kiln_vctx *v, uint32_t i)
{
    return i < v->n->n_out && present(vout(v, i)) ? vout(v, i) : NULL;
}

static inline int is_vec(desc *t, uint64_t n)
{
    return t->rank == 1 && (uint64_t)t->dims[0] == n;
}

static inline int same_td(desc *a, desc *b)
{
    return a->dtype == b->dtype && same_shape(a, b);
}

/* Storage a kernel may write: the arena or a caller's output buffer. */
static inline int writable(desc *t)
{
    return t->storage == KILN_STORAGE_ARENA || t->storage == KILN_STORAGE_OUTPUT;
}

/* ---- shared helpers (checks/common.c) ---- */

/* x, with `extra` size-1 axes appended, broadcasts (numpy rules) to exactly y's shape. */
int kiln_ck_bcast_to(desc *x, int extra, desc *y);
/* Product of n non-negative values, saturating. */
uint64_t kiln_ck_prodc(const int64_t *d, int n);
/* A strided walk (offset = sum of i_k * st_k, 0 <= i_k < dims_k) stays inside [0, limit)
 * elements; nothing is read when an extent is 0. */
int kiln_ck_strided_fits(const int64_t *dims, const int64_t *st, int rank, int64_t limit);
/* The [outer, axis_len, inner] view of Softmax, LpNormalization and the quantize ops covers
 * exactly x's elements. */
int kiln_ck_oai(struct kiln_vctx *v, const int64_t *oai, desc *x);
int kiln_ck_axis(struct kiln_vctx *v, int64_t axis, int rank);
int kiln_ck_scratch(struct kiln_vctx *v, uint64_t need);
int kiln_ck_act(struct kiln_vctx *v, const struct kiln_act *a);
/* Requires dtype `want` of every listed tensor (NULL entries skipped). */
int kiln_ck_dtypes(struct kiln_vctx *v, int want, desc *a, desc *b, desc *c);
/* One input, an output of the same shape and of out_dt (0: the kernel's type). */
int kiln_ck_ew_unary(struct kiln_vctx *v, int out_dt);

/* ---- shared by the quantized ops (checks/nn.c) ---- */

/* The Conv geometry shared by Conv, ConvInteger and QLinearConv: window, groups, weights
 * [M, C/group, kernel...]; returns C/group, the kernel and output sizes for the scratch. */
int kiln_ck_conv_shape(struct kiln_vctx *v, const struct kiln_p_conv *p, desc *x, desc *w,
                       desc *y, uint64_t *cg, uint64_t *k_size, uint64_t *out_size);
/* Shapes of MatMul and its integer forms: operands broadcast over the batch axes to y.
 * Returns the M, N, K of one product and the rows the float kernel packs at once. */
int kiln_ck_matmul_shape(struct kiln_vctx *v, desc *a, desc *b, desc *y, uint64_t mnk[3],
                         uint64_t *rows);

#endif
