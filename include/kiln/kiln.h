/* kiln.h - the public runtime API: status codes, diagnostics, element types, tensor views,
 * the kernel calling convention and the lowered program that the interpreter runs.
 * The compiler produces a struct kiln_program; the bundle loader and the C emitter store the
 * same structure, so every deployment form executes the same list of kernel calls. */
#ifndef KILN_KILN_H
#define KILN_KILN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define KILN_MAX_RANK 8
#define KILN_ARENA_ALIGN 64

enum kiln_status {
    KILN_STATUS_OK = 0,
    KILN_STATUS_INVALID_ARG,   /* caller passed something unusable */
    KILN_STATUS_IO,            /* file could not be read or written */
    KILN_STATUS_PARSE,         /* bytes are not the format they claim to be */
    KILN_STATUS_INVALID_MODEL, /* well-formed file, but the graph breaks ONNX rules */
    KILN_STATUS_UNSUPPORTED,   /* valid, but kiln cannot do it (yet) */
    KILN_STATUS_NO_MEMORY,
    KILN_STATUS_INTERNAL,
};

/* The first error of an operation. Caller-owned; functions fill it only on failure. */
struct kiln_diag {
    enum kiln_status status;
    char message[768];
    char node[160]; /* node name, "" when not about a node */
    char op[64];    /* op type of that node */
    char file[512]; /* file the error is about, "" when none */
    int64_t offset; /* byte offset in that file, -1 when unknown */
    /* Compile errors: a value that must be known at compile time (a Reshape target, a
     * Loop's trip count, ...), "" when none; value_is_input when it is a graph input, which
     * fixing it (kiln compile --input-value) would resolve. */
    char value[160];
    int value_is_input;
};

void kiln_diag_clear(struct kiln_diag *d);
/* Records the error unless one is already recorded; returns st so callers can `return`. */
enum kiln_status kiln_diag_set(struct kiln_diag *d, enum kiln_status st, const char *node,
                               const char *op, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;
const char *kiln_status_name(enum kiln_status st);

enum kiln_dtype {
    KILN_DTYPE_UNDEFINED = 0,
#define KILN_DTYPE(E, code, s, ct, sz, nm) KILN_DTYPE_##E = code,
#include "kiln/dtypes.def"
#undef KILN_DTYPE
    KILN_DTYPE_MAX = 23
};

size_t kiln_dtype_size(int dtype);      /* 0 for unknown */
const char *kiln_dtype_name(int dtype); /* "float32", ..., "undefined" */
int kiln_dtype_is_float(int dtype);     /* f16, bf16, f32, f64 */
float kiln_f16_to_f32(uint16_t h);
uint16_t kiln_f32_to_f16(float f);
float kiln_bf16_to_f32(uint16_t h);
uint16_t kiln_f32_to_bf16(float f);
/* The value of a float8 element of type dtype (KILN_DTYPE_F8E4M3FN ... F8E5M2FNUZ), exact. */
float kiln_f8_to_f32(uint8_t v, int dtype);

/* A tensor as a kernel sees it: dense, row-major (C order). */
struct kiln_tensor {
    void *data; /* NULL for an omitted optional input */
    int64_t dims[KILN_MAX_RANK];
    int32_t rank;
    int32_t dtype;
    float scale; /* quantization parameters (per tensor); scale 0 = not quantized */
    int32_t zero_point;
};

int64_t kiln_tensor_numel(const struct kiln_tensor *t);

struct kiln_exec;

/* What every kernel receives. Params were validated by the compiler or the loader: kernels
 * trust them and return nothing. scratch is private to this call (size chosen at compile time).
 * exec is the running program, for the control-flow kernels (If, Loop, Scan) that run blocks;
 * NULL when a kernel runs outside a program (compile-time evaluation). */
struct kiln_kernel_args {
    const void *params;
    const struct kiln_tensor *in;
    struct kiln_tensor *out;
    uint32_t n_in, n_out;
    void *scratch;
    uint64_t scratch_size;
    const struct kiln_exec *exec;
};
typedef void (*kiln_kernel_fn)(const struct kiln_kernel_args *a);

/* A kernel variant. dtype is the element type it serves (UNDEFINED: any, moves bytes only). */
struct kiln_kernel {
    const char *name;
    kiln_kernel_fn fn;
    int32_t dtype;
};

/* ---- the lowered program ---- */

enum kiln_storage {
    KILN_STORAGE_NONE = 0,   /* omitted optional input */
    KILN_STORAGE_ARENA = 1,  /* offset into the caller's arena */
    KILN_STORAGE_WEIGHT = 2, /* offset into the weights blob */
    KILN_STORAGE_INPUT = 3,  /* caller's input buffer `index` */
    KILN_STORAGE_OUTPUT = 4, /* caller's output buffer `index` */
};

/* Tensor flags. RUNTIME_DIMS: the extents depend on the data (NonZero, Unique, Compress,
 * NonMaxSuppression, a Loop that may stop early, and the ops that consume such tensors):
 * dims[] are upper bounds, the buffer is sized for them, and each run stores the actual
 * extents as int64 dims[rank] at arena offset 8 * dims_slot. */
enum { KILN_TENSOR_RUNTIME_DIMS = 1 };

struct kiln_tensor_desc {
    uint8_t dtype, rank, storage;
    uint8_t flags; /* KILN_TENSOR_* */
    uint32_t index;  /* input/output number for INPUT/OUTPUT storage */
    uint64_t offset; /* ARENA or WEIGHT offset in bytes */
    uint64_t nbytes;
    int64_t dims[KILN_MAX_RANK];
    float scale;
    int32_t zero_point;
    uint32_t name;      /* offset into strings */
    uint32_t dims_slot; /* RUNTIME_DIMS: arena offset / 8 of the run's extents; else 0 */
};

struct kiln_node_desc {
    uint16_t op;       /* enum kiln_op */
    uint16_t variant;  /* index into the op's kernel list */
    uint16_t n_in, n_out;
    uint32_t io_first; /* first of n_in + n_out tensor indices in io[] */
    uint32_t name;     /* offset into strings: the ONNX node name */
    uint32_t params_offset, params_size;
    uint64_t scratch_offset, scratch_size; /* in the arena */
};

/* A block: the body of a control-flow op (If branch, Loop or Scan body). Its nodes are
 * nodes[first_node .. first_node + n_nodes), stored after the main schedule; io[io_first ..]
 * lists its n_in formal input tensors, then its n_out output tensors. */
struct kiln_block_desc {
    uint32_t first_node, n_nodes;
    uint32_t io_first;
    uint16_t n_in, n_out;
};

struct kiln_program {
    uint32_t n_tensors, n_nodes, n_inputs, n_outputs;
    const struct kiln_tensor_desc *tensors;
    const struct kiln_node_desc *nodes;
    const uint32_t *io;
    const uint32_t *inputs;  /* tensor index of each graph input */
    const uint32_t *outputs; /* tensor index of each graph output */
    const uint8_t *params;
    uint64_t params_size;
    const uint8_t *weights; /* 64-byte aligned */
    uint64_t weights_size;
    const char *strings;
    uint64_t strings_size;
    uint64_t arena_size;
    /* control flow: n_nodes above is the main schedule; block nodes follow it */
    uint32_t n_blocks, n_block_nodes;
    const struct kiln_block_desc *blocks;
    /* The interpreter's tensor views of nodes with more tensors than it keeps on its stack
     * (KILN_RT_STACK_VIEWS): view_levels levels (one per block nesting depth) of
     * views_per_level views at arena offset views_offset, inside arena_size. 0 when no node
     * needs them. Set by kiln_program_reserve_views (include/kiln/bundle.h). */
    uint64_t views_offset;
    uint32_t views_per_level, view_levels;
};

/* Tensors of a node the interpreter resolves on its stack; larger nodes use arena space
 * reserved by kiln_program_reserve_views. */
#define KILN_RT_STACK_VIEWS 64

/* Kernel lookup: NULL when op or variant is out of range. */
const struct kiln_kernel *kiln_rt_kernel(uint32_t op, uint32_t variant);
uint32_t kiln_rt_kernel_count(uint32_t op);
const char *kiln_op_name(uint32_t op);

/* Runs the program once. arena: arena_size bytes aligned to KILN_ARENA_ALIGN, owned by the
 * caller (one per concurrent run). Performs no allocation. The program must come from the
 * compiler or a validated bundle. Output buffers hold the outputs' full (upper-bound) dims;
 * kiln_output_dims tells the extents of a run. Returns KILN_STATUS_INVALID_ARG when the
 * run-time extents of tensors do not fit an op (e.g. they do not broadcast). */
enum kiln_status kiln_run(const struct kiln_program *p, void *arena, const void *const inputs[],
                          void *const outputs[]);

/* The extents graph output i has after a run with this arena: its static dims, or for an
 * output whose extents depend on the data (KILN_TENSOR_RUNTIME_DIMS), the run's. Writes
 * rank values to dims and returns the rank, or -1 when i is out of range. */
int kiln_output_dims(const struct kiln_program *p, const void *arena, uint32_t i,
                     int64_t dims[KILN_MAX_RANK]);

/* Why a run failed at node node_index when that node is an If whose taken branch the
 * compiler refused for the compiled input shapes (the run returned KILN_STATUS_UNSUPPORTED;
 * a hook's last node started and not finished is the failing one): the compiler's message,
 * naming the refused node. NULL for any other node. */
const char *kiln_node_refusal(const struct kiln_program *p, uint32_t node_index);

/* Called after every node when set (profiling, debugging); NULL for none. */
typedef void (*kiln_node_hook)(void *user, uint32_t node_index, int after);
enum kiln_status kiln_run_hooked(const struct kiln_program *p, void *arena,
                                 const void *const inputs[], void *const outputs[],
                                 kiln_node_hook hook, void *user);

/* A pool of threads that runs the work of one model run in parallel: GEMMs, convolutions,
 * pooling and large elementwise ops split their outputs between the threads. Results are
 * bit-identical for every thread count. n counts the calling thread: n - 1 workers are started
 * here (the only allocation; runs allocate nothing) and wait, idle, until destroyed. One pool
 * serves one run at a time; a run that finds it busy runs on its own thread. n in [1, 64]. */
struct kiln_threads;
enum kiln_status kiln_threads_create(int n, struct kiln_threads **out);
void kiln_threads_destroy(struct kiln_threads *t); /* NULL: nothing */
int kiln_threads_count(const struct kiln_threads *t); /* n; 1 for NULL */

/* Options of kiln_run_opts; zero-initialised means kiln_run. */
struct kiln_run_opts {
    struct kiln_threads *threads; /* NULL: one thread (the caller's) */
    kiln_node_hook hook;          /* as kiln_run_hooked; NULL for none */
    void *user;
};
enum kiln_status kiln_run_opts(const struct kiln_program *p, void *arena,
                               const void *const inputs[], void *const outputs[],
                               const struct kiln_run_opts *opts);

#ifdef __cplusplus
}
#endif
#endif
