/* bundle.h - the compiled model file (.kiln) and the runtime's loader: the on-disk structures
 * (docs/bundle-format.md is the specification), kiln_model_load which maps a bundle in place
 * without allocating or copying weights, the I/O query API and kiln_model_run. Also the program
 * validator the loader runs, which any other producer of a struct kiln_program may call. */
#ifndef KILN_BUNDLE_H
#define KILN_BUNDLE_H

#include "kiln/kiln.h"

#ifdef __cplusplus
extern "C" {
#endif

#define KILN_BUNDLE_MAGIC "\x89KILN\r\n\x1a" /* 8 bytes, compared without the NUL */
#define KILN_BUNDLE_VERSION_MAJOR 1
/* 1.1: the BLOCKS section (control flow). 1.2: run-time extents (the RUNTIME_DIMS feature).
 * 1.3: weights pre-packed for the GEMM (the PACKED_WEIGHTS feature) */
#define KILN_BUNDLE_VERSION_MINOR 4
#define KILN_BUNDLE_ALIGN 64 /* buffer, weights section and arena alignment */

/* ---- on-disk structures (little-endian; a bundle is laid out exactly like these) ---- */

struct kiln_bundle_header { /* at offset 0, 64 bytes */
    uint8_t magic[8];
    uint16_t version_major, version_minor;
    uint32_t flags;                /* required-feature bits: enum kiln_bundle_features */
    uint64_t file_size;            /* total bytes, header included */
    uint32_t checksum;             /* CRC-32 of every byte of the file except these 4 */
    uint32_t header_size;          /* 64 */
    uint32_t n_sections;
    uint32_t section_entry_size;   /* 32 */
    uint64_t section_table_offset; /* n_sections entries of struct kiln_bundle_section */
    uint8_t reserved[16];          /* 0 */
};

/* Features a reader must have to run the bundle; a reader refuses bits it does not know. */
enum kiln_bundle_features {
    /* 1.2: tensors with KILN_TENSOR_RUNTIME_DIMS (their flags and dims_slot fields are set) */
    KILN_BUNDLE_FEATURE_RUNTIME_DIMS = 1u << 0,
    /* 1.3: Conv, Gemm or MatMul nodes of a packed kernel variant, whose weight tensor is stored
     * in the GEMM's panel layout (docs/bundle-format.md) */
    KILN_BUNDLE_FEATURE_PACKED_WEIGHTS = 1u << 1,
    /* 1.4: Gemm nodes of the sparse kernel variant, whose weight is stored compressed by output
     * column (docs/bundle-format.md) */
    KILN_BUNDLE_FEATURE_SPARSE_WEIGHTS = 1u << 2,
};

enum kiln_section_flags {
    KILN_SECTION_REQUIRED = 1u << 0, /* a reader that does not know the type must refuse */
};

struct kiln_bundle_section { /* 32 bytes */
    uint32_t type;           /* enum kiln_section_type */
    uint32_t flags;          /* enum kiln_section_flags */
    uint64_t offset, size;   /* bytes from the start of the file */
    uint32_t count;          /* records, for sections of fixed-size records; else 0 */
    uint32_t record_size;    /* bytes per record, or 0 */
};

/* Types 1..15 belong to major version 1. Later minor versions: 17 subgraph blocks for control
 * flow (1.1; written with the REQUIRED flag, as a reader without it would run block nodes as
 * part of the main schedule). Reserved (optional sections, so older readers skip them): 16
 * pre-packed weights per kernel, 18 per-axis quantization tables. */
enum kiln_section_type {
    KILN_SECTION_STRINGS = 1,  /* NUL-terminated names; offsets from struct fields */
    KILN_SECTION_TENSORS = 2,  /* struct kiln_tensor_desc records */
    KILN_SECTION_NODES = 3,    /* struct kiln_node_desc records, in execution order */
    KILN_SECTION_NODE_IO = 4,  /* uint32 tensor indices: each node's inputs, then outputs */
    KILN_SECTION_INPUTS = 5,   /* uint32 tensor index of each graph input */
    KILN_SECTION_OUTPUTS = 6,  /* uint32 tensor index of each graph output */
    KILN_SECTION_PARAMS = 7,   /* the kernels' parameter structs (include/kiln/params.h) */
    KILN_SECTION_WEIGHTS = 8,  /* constant tensors; the section starts 64-byte aligned */
    KILN_SECTION_PLAN = 9,     /* one struct kiln_bundle_plan */
    KILN_SECTION_METADATA = 10, /* optional: "key=value" NUL-terminated strings */
    /* struct kiln_block_desc records (1.1, present when the program has blocks): record 0 is
     * the main schedule {0, n_main_nodes, 0, 0, 0}; record 1 + b is block b. NODES then holds
     * the main schedule followed by the blocks' nodes. */
    KILN_SECTION_BLOCKS = 17
};

struct kiln_bundle_plan { /* 32 bytes */
    uint64_t arena_size;  /* bytes of the caller's arena */
    uint64_t lower_bound; /* planner report: largest sum of simultaneously live bytes */
    uint64_t naive;       /* planner report: sum of all arena buffers */
    uint64_t reserved;    /* 0 */
};

/* ---- loading and running ---- */

/* A loaded bundle: caller-provided storage; every pointer in prog points into the buffer that
 * was loaded, which must stay valid and unchanged while the model is used. */
struct kiln_model {
    struct kiln_program prog;
    const uint8_t *base;
    uint64_t size;
    uint32_t n_io; /* entries of prog.io */
    uint16_t version_major, version_minor;
    uint64_t plan_lower_bound, plan_naive;
};

/* Checks and maps a bundle. buf must be 64-byte aligned (mmap gives page alignment). Verifies
 * the header, version, checksum, section table and every offset, size, index and kernel
 * parameter (kiln_program_validate), so that kiln_model_run cannot read or write outside the
 * bundle, the arena or the I/O buffers. No allocation; weights are used in place. */
enum kiln_status kiln_model_load(const void *buf, size_t len, struct kiln_model *m,
                                 struct kiln_diag *d);

/* Maps the bundle file at path read-only (POSIX mmap, shared: processes that map the same
 * file share its pages; nothing is copied) and loads it as kiln_model_load does. Release it
 * with kiln_model_unmap. On error nothing stays mapped and d names the file (d->offset is the
 * byte the error is about, when known). The file must not change while it is mapped. */
enum kiln_status kiln_model_map(const char *path, struct kiln_model *m, struct kiln_diag *d);
/* Unmaps a model from kiln_model_map (not one from kiln_model_load) and zeroes *m; a zeroed
 * model is left alone. */
void kiln_model_unmap(struct kiln_model *m);

/* The checks kiln_model_load runs on the program it mapped; n_io is the length of p->io. */
enum kiln_status kiln_program_validate(const struct kiln_program *p, uint32_t n_io,
                                       struct kiln_diag *d);
/* Sizes the interpreter's arena space for the views of nodes with more than
 * KILN_RT_STACK_VIEWS tensors (struct kiln_program's views_* fields), growing arena_size;
 * nothing when no node has that many. Every producer of a program that kiln_run runs calls it
 * once, after the program is complete and valid (the loader and the compiler do). The
 * bundle's plan stores the arena without this space: it depends on the target's view size.
 * INVALID_MODEL when the arena would not be addressable. */
enum kiln_status kiln_program_reserve_views(struct kiln_program *p);
/* The arena the memory plan needs, without the interpreter's views (what a bundle stores and
 * emitted C, which keeps its views on the stack, asks for). */
static inline uint64_t kiln_program_plan_arena(const struct kiln_program *p)
{
    return p->views_offset ? p->views_offset : p->arena_size;
}

/* 1 when the validator has a check for op (in the full runtime every op of ops.def has; a
 * runtime built with KILN_RT_OPS has checks only for the ops it holds), else 0. */
int kiln_validate_op_known(uint32_t op);

/* One graph input or output as the caller must provide or receive it (dense, row-major). */
struct kiln_io_info {
    const char *name;
    int32_t dtype, rank;
    const int64_t *dims; /* rank values */
    uint64_t nbytes;
    float scale; /* quantization (0: none) */
    int32_t zero_point;
    /* KILN_TENSOR_RUNTIME_DIMS: dims are upper bounds (nbytes holds them); after a run,
     * kiln_output_dims(&m->prog, arena, i, dims) gives that run's extents */
    uint32_t flags;
};

uint32_t kiln_model_n_inputs(const struct kiln_model *m);
uint32_t kiln_model_n_outputs(const struct kiln_model *m);
/* INVALID_ARG when i is out of range. */
enum kiln_status kiln_model_input(const struct kiln_model *m, uint32_t i, struct kiln_io_info *io);
enum kiln_status kiln_model_output(const struct kiln_model *m, uint32_t i,
                                   struct kiln_io_info *io);
/* Bytes of the arena kiln_model_run needs (aligned to KILN_BUNDLE_ALIGN by the caller). */
uint64_t kiln_model_arena_size(const struct kiln_model *m);

/* Runs once: in[i] holds input i, out[k] receives output k (sizes from the query API).
 * arena: kiln_model_arena_size bytes, 64-byte aligned, one per concurrent run. The model
 * itself is read-only, so threads may share it. No allocation. */
enum kiln_status kiln_model_run(const struct kiln_model *m, void *arena, const void *const in[],
                                void *const out[]);
/* kiln_model_run with options (kiln.h: a thread pool, a node hook); opts NULL: none. */
enum kiln_status kiln_model_run_opts(const struct kiln_model *m, void *arena,
                                     const void *const in[], void *const out[],
                                     const struct kiln_run_opts *opts);

/* CRC-32 (IEEE 802.3, as zlib's crc32) of n bytes, continuing from crc (0 to start). */
uint32_t kiln_crc32(uint32_t crc, const void *p, size_t n);

#ifdef __cplusplus
}
#endif
#endif
