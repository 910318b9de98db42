/* emit_c.c - the C emitter (see emit_c.h, docs/emit-c.md). The schedule becomes one call per
 * node in NAME.c; each kernel file the model uses is copied from the runtime sources embedded
 * at build time into its own translation unit NAME_k_<file>.c (so the emitted code runs the
 * interpreter's kernels, with the same per-file scoping), with the few runtime functions of
 * external linkage renamed to the model's prefix. Weights and params are printed as bytes. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "emit_c.h"
#include "kiln/bundle.h"
#include "../runtime/kernels/kernels.h"

#define MAX_FILES 64
#define MAX_NAME 64

/* Functions with external linkage in the copied runtime files: renamed to NAME_<rest> so that
 * two emitted models link into one program (tests/emitc checks with nm that nothing else
 * leaks). */
static const char *const extern_fns[] = {
    "kiln_dtype_size", "kiln_tensor_numel", "kiln_f16_to_f32", "kiln_f32_to_f16",
    "kiln_bf16_to_f32", "kiln_f32_to_bf16", "kiln_f8_to_f32", "kiln_gemm_f32", "kiln_gemm_f64",
    "kiln_gemm_ex_f32", "kiln_gemm_ex_f64", "kiln_spgemm_f32", "kiln_conv_dw_f32",
    "kiln_gemm_mt_f32", "kiln_gemm_mt_f64", "kiln_par_count", "kiln_par_run",
    "kiln_threads_create", "kiln_threads_destroy",
    "kiln_threads_count", /* runtime/kernels/threads.c: only with -DNAME_THREADS */
    "kiln_rt_view", "kiln_rt_run_block", /* runtime/exec.h: defined in NAME.c */
};

/* op id -> its kernel list (kernels.h declares them all) */
static const struct kiln_kernel_list *const op_lists[] = {
#define KILN_OP(E, onnx, lname, ...) &kiln_kl_##lname,
#include "kiln/ops.def"
#undef KILN_OP
};
#define N_OPS (sizeof op_lists / sizeof op_lists[0])

/* ---- a growable text buffer ---- */

struct sb {
    char *p;
    size_t n, cap;
    int oom;
};

static void sb_put(struct sb *b, const char *s, size_t len)
{
    if (b->oom)
        return;
    if (b->n + len + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->n + len + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p, b->cap = cap;
    }
    memcpy(b->p + b->n, s, len);
    b->n += len;
    b->p[b->n] = '\0';
}

static void sb_puts(struct sb *b, const char *s)
{
    sb_put(b, s, strlen(s));
}

static void sb_printf(struct sb *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static void sb_printf(struct sb *b, const char *fmt, ...)
{
    char small[512];
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (len < 0) {
        b->oom = 1;
        return;
    }
    if ((size_t)len < sizeof small) {
        sb_put(b, small, (size_t)len);
        return;
    }
    char *big = malloc((size_t)len + 1);
    if (!big) {
        b->oom = 1;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)len + 1, fmt, ap);
    va_end(ap);
    sb_put(b, big, (size_t)len);
    free(big);
}

/* bytes as "0x3f,0x80,..." 16 to a line (fast: weights can be megabytes) */
static void sb_bytes(struct sb *b, const uint8_t *p, uint64_t n)
{
    static const char hex[] = "0123456789abcdef";
    char line[16 * 6 + 8];
    if (!n) {
        sb_puts(b, "    0\n");
        return;
    }
    for (uint64_t i = 0; i < n; i += 16) {
        size_t o = 0;
        line[o++] = ' ', line[o++] = ' ', line[o++] = ' ';
        for (uint64_t j = i; j < n && j < i + 16; j++) {
            line[o++] = ' ', line[o++] = '0', line[o++] = 'x';
            line[o++] = hex[p[j] >> 4], line[o++] = hex[p[j] & 15], line[o++] = ',';
        }
        line[o++] = '\n';
        sb_put(b, line, o);
    }
}

/* s as the body of a C string literal: printable ASCII as is except " \ ? (no trigraphs),
 * everything else as octal escapes. */
static void sb_cstr(struct sb *b, const char *s)
{
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\' || ch == '?')
            sb_printf(b, "\\%c", ch);
        else if (ch >= 32 && ch < 127)
            sb_put(b, (const char *)&ch, 1);
        else
            sb_printf(b, "\\%03o", ch);
    }
}

/* s inside a C comment: only characters that cannot end or nest it or form a trigraph. */
static void sb_comment(struct sb *b, const char *s)
{
    size_t n = 0;
    for (; *s && n < 120; s++, n++) {
        char ch = *s;
        if (ch < 32 || ch >= 127 || ch == '*' || ch == '?' || ch == '\\')
            ch = '_';
        sb_put(b, &ch, 1);
    }
}

/* ---- embedded sources ---- */

static const struct kiln_emit_source *find_source(const char *path)
{
    for (size_t i = 0; i < kiln_emit_n_sources; i++)
        if (strcmp(kiln_emit_sources[i].path, path) == 0)
            return &kiln_emit_sources[i];
    return NULL;
}

/* Headers inlined into the translation unit being written (each once). */
struct tu {
    const char *inlined[MAX_FILES];
    int n;
    const char *name; /* model prefix */
    int failed;       /* an include could not be resolved */
    char missing[128];
};

static int tu_has(const struct tu *t, const char *path)
{
    for (int i = 0; i < t->n; i++)
        if (strcmp(t->inlined[i], path) == 0)
            return 1;
    return 0;
}

/* Copies source `path` into b, resolving its #include "..." lines: the runtime's kernels.h,
 * exec.h and kiln/ headers become NAME_rt.h (which holds them, see write_rt_h), other local
 * headers are inlined once, .def X-macro lists every time. rt: writing NAME_rt.h itself, where
 * kiln/ headers are inlined. System includes stay. */
static void copy_source(struct sb *b, struct tu *t, const char *path, int rt)
{
    const struct kiln_emit_source *src = find_source(path);
    if (!src) {
        t->failed = 1;
        snprintf(t->missing, sizeof t->missing, "%s", path);
        return;
    }
    sb_printf(b, "/* ---- runtime/%s%s ---- */\n", strncmp(path, "kiln/", 5) ? "" : "../include/",
              path);
    const char *p = src->text, *end = src->text + src->size;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *next = eol ? eol + 1 : end;
        const char *q = p;
        while (q < next && (*q == ' ' || *q == '\t'))
            q++;
        char inc[128];
        int is_inc = 0;
        if (q < next && *q == '#') {
            q++;
            while (q < next && (*q == ' ' || *q == '\t'))
                q++;
            if ((size_t)(next - q) > 9 && strncmp(q, "include", 7) == 0) {
                q += 7;
                while (q < next && (*q == ' ' || *q == '\t'))
                    q++;
                const char *close = q < next && *q == '"' ? memchr(q + 1, '"', (size_t)(next - q - 1))
                                                           : NULL;
                if (close && (size_t)(close - q - 1) < sizeof inc - 16) {
                    memcpy(inc, q + 1, (size_t)(close - q - 1));
                    inc[close - q - 1] = '\0';
                    is_inc = 1;
                }
            }
        }
        if (!is_inc) {
            sb_put(b, p, (size_t)(next - p));
            if (!eol)
                sb_puts(b, "\n");
            p = next;
            continue;
        }
        p = next;
        char full[160];
        size_t len = strlen(inc);
        int is_def = len > 4 && strcmp(inc + len - 4, ".def") == 0;
        int is_kiln = strncmp(inc, "kiln/", 5) == 0;
        /* runtime headers outside kernels/ (exec.h, for the control-flow kernels) */
        int is_up = strncmp(inc, "../", 3) == 0;
        if (is_kiln)
            snprintf(full, sizeof full, "%s", inc);
        else if (is_up)
            snprintf(full, sizeof full, "%s", inc + 3);
        else
            snprintf(full, sizeof full, "kernels/%s", inc);
        if (is_def) {
            copy_source(b, t, full, rt);
        } else if (!rt && (is_kiln || is_up || strcmp(inc, "kernels.h") == 0)) {
            sb_printf(b, "#include \"%s_rt.h\"\n", t->name);
        } else if (!tu_has(t, full) && t->n < MAX_FILES) {
            t->inlined[t->n++] = find_source(full) ? find_source(full)->path : "";
            copy_source(b, t, full, rt);
        }
    }
    sb_printf(b, "/* ---- end of %s ---- */\n", path);
}

/* ---- what the program uses ---- */

struct kfile {
    char path[96]; /* "kernels/conv.c" */
    char base[64]; /* "conv" */
    const char *fns[64];
    int n_fns;
};

struct plan {
    const struct kiln_program *p;
    const char *name;
    struct kfile files[MAX_FILES];
    int n_files;
    uint32_t *tmap; /* program tensor -> emitted table row, UINT32_MAX unused */
    uint32_t n_used, max_io;
    uint32_t n_all; /* nodes: the main schedule, then the nodes of the blocks */
};

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static struct kfile *plan_file(struct plan *pl, const char *file)
{
    char path[96];
    snprintf(path, sizeof path, "kernels/%s", base_name(file));
    for (int i = 0; i < pl->n_files; i++)
        if (strcmp(pl->files[i].path, path) == 0)
            return &pl->files[i];
    if (pl->n_files == MAX_FILES)
        return NULL;
    struct kfile *f = &pl->files[pl->n_files++];
    memset(f, 0, sizeof *f);
    snprintf(f->path, sizeof f->path, "%s", path);
    snprintf(f->base, sizeof f->base, "%s", base_name(file));
    char *dot = strrchr(f->base, '.');
    if (dot)
        *dot = '\0';
    return f;
}

static void plan_tensor(struct plan *pl, uint32_t t)
{
    if (pl->tmap[t] == UINT32_MAX)
        pl->tmap[t] = pl->n_used++;
}

static enum kiln_status make_plan(struct plan *pl, struct kiln_diag *d)
{
    const struct kiln_program *p = pl->p;
    for (uint32_t t = 0; t < p->n_tensors; t++)
        if (p->tensors[t].flags & KILN_TENSOR_RUNTIME_DIMS)
            return kiln_diag_set(d, KILN_STATUS_UNSUPPORTED, NULL, NULL,
                                 "tensor '%s' has extents that depend on the data, which the C "
                                 "emitter does not support yet; use --emit kiln",
                                 kiln_prog_str(p, p->tensors[t].name));
    pl->n_all = p->n_nodes + (p->n_blocks ? p->n_block_nodes : 0);
    /* kiln_dtype_size & co.; the thread pool that -DNAME_THREADS compiles */
    if (!plan_file(pl, "dtype.c") || !plan_file(pl, "threads.c"))
        return kiln_diag_set(d, KILN_STATUS_INTERNAL, NULL, NULL, "emit c: too many files");
    for (uint32_t i = 0; i < pl->n_all; i++) {
        const struct kiln_node_desc *n = &p->nodes[i];
        const struct kiln_kernel *k = kiln_rt_kernel(n->op, n->variant);
        const char *nn = kiln_prog_str(p, n->name), *op = kiln_op_name(n->op);
        if (!k || n->op >= N_OPS || !op_lists[n->op]->file)
            return kiln_diag_set(d, KILN_STATUS_INTERNAL, nn, op, "node has no kernel");
        struct kfile *f = plan_file(pl, op_lists[n->op]->file);
        if (!f || !find_source(f->path))
            return kiln_diag_set(d, KILN_STATUS_UNSUPPORTED, nn, op,
                                 "the source of kernel %s (%s) is not embedded in this kiln",
                                 k->name, base_name(op_lists[n->op]->file));
        if (strncmp(k->name, "kiln_", 5) != 0)
            return kiln_diag_set(d, KILN_STATUS_UNSUPPORTED, nn, op,
                                 "kernel function '%s' is not named kiln_*", k->name);
        int have = 0;
        for (int j = 0; j < f->n_fns; j++)
            have |= strcmp(f->fns[j], k->name) == 0;
        if (!have && f->n_fns < 64)
            f->fns[f->n_fns++] = k->name;
        if ((uint32_t)n->n_in + n->n_out > pl->max_io)
            pl->max_io = (uint32_t)n->n_in + n->n_out;
        for (uint32_t j = 0; j < (uint32_t)n->n_in + n->n_out; j++)
            plan_tensor(pl, p->io[n->io_first + j]);
    }
    /* a block's formal inputs and outputs are viewed by the control kernels (control.c) even
     * when no node of the block touches them (an output that is an input or a weight) */
    for (uint32_t k = 0; k < p->n_blocks; k++) {
        const struct kiln_block_desc *bd = &p->blocks[k];
        for (uint32_t j = 0; j < (uint32_t)bd->n_in + bd->n_out; j++)
            plan_tensor(pl, p->io[bd->io_first + j]);
    }
    if (pl->max_io == 0)
        pl->max_io = 1;
    return KILN_STATUS_OK;
}

/* ---- the files ---- */

static const char *dtype_descr(int dt)
{
    switch (dt) {
    case KILN_DTYPE_F32: return "<f4";
    case KILN_DTYPE_F64: return "<f8";
    case KILN_DTYPE_F16: return "<f2";
    case KILN_DTYPE_BF16: return "<u2"; /* no .npy type: the bit patterns */
    case KILN_DTYPE_I8: return "|i1";
    case KILN_DTYPE_I16: return "<i2";
    case KILN_DTYPE_I32: return "<i4";
    case KILN_DTYPE_I64: return "<i8";
    case KILN_DTYPE_U8: return "|u1";
    case KILN_DTYPE_U16: return "<u2";
    case KILN_DTYPE_U32: return "<u4";
    case KILN_DTYPE_U64: return "<u8";
    case KILN_DTYPE_BOOL: return "|b1";
    default: return "|u1";
    }
}

static int64_t desc_numel(const struct kiln_tensor_desc *t)
{
    int64_t n = 1;
    for (int i = 0; i < t->rank; i++)
        n *= t->dims[i];
    return n;
}

static void io_macros(struct sb *b, const struct plan *pl, const char *kind, uint32_t n,
                      const uint32_t *list)
{
    const struct kiln_program *p = pl->p;
    const char *N = pl->name;
    for (uint32_t i = 0; i < n; i++) {
        const struct kiln_tensor_desc *t = &p->tensors[list[i]];
        sb_printf(b, "#define %s_%s%u_NAME  \"", N, kind, i);
        sb_cstr(b, kiln_prog_str(p, t->name));
        sb_printf(b, "\"\n#define %s_%s%u_DTYPE %u /* %s */\n", N, kind, i, t->dtype,
                  kiln_dtype_name(t->dtype));
        sb_printf(b, "#define %s_%s%u_RANK  %u\n", N, kind, i, t->rank);
        sb_printf(b, "#define %s_%s%u_SIZE  %lld /* elements */\n", N, kind, i,
                  (long long)desc_numel(t));
        sb_printf(b, "#define %s_%s%u_SHAPE {", N, kind, i);
        for (int k = 0; k < t->rank; k++)
            sb_printf(b, "%s%lld", k ? ", " : "", (long long)t->dims[k]);
        sb_printf(b, "%s}\n", t->rank ? "" : "1");
    }
}

static void write_h(struct sb *b, const struct plan *pl, const struct kiln_emit_c_options *o)
{
    const struct kiln_program *p = pl->p;
    const char *N = o->name;
    sb_printf(b, "/* %s.h - generated by kiln (kiln compile --emit c): the API of model '%s'.\n"
              " * Build: add %s.cmake to your CMake project (include() it, then link target %s),\n"
              " * or compile %s.c %s_k_*.c%s%s%s with any C99 compiler and link -lm. */\n",
              N, N, N, N, N, N, o->weights == KILN_EMIT_WEIGHTS_C ? " " : "",
              o->weights == KILN_EMIT_WEIGHTS_C ? o->name : "",
              o->weights == KILN_EMIT_WEIGHTS_C ? "_weights.c" : "");
    sb_printf(b, "#ifndef %s_H_\n#define %s_H_\n\n", N, N);
    sb_printf(b, "#define %s_ARENA_SIZE  %llu   /* scratch the caller provides */\n", N,
              (unsigned long long)kiln_program_plan_arena(p));
    sb_printf(b, "#define %s_ARENA_ALIGN 64\n", N);
    sb_printf(b, "#define %s_NUM_INPUTS  %u\n", N, p->n_inputs);
    sb_printf(b, "#define %s_NUM_OUTPUTS %u\n", N, p->n_outputs);
    if (o->weights == KILN_EMIT_WEIGHTS_BIN)
        sb_printf(b, "#define %s_WEIGHTS_SIZE %llu /* bytes of %s.weights.bin */\n", N,
                  (unsigned long long)p->weights_size, N);
    sb_puts(b, "\n/* Per input/output i: name, dtype (ONNX TensorProto code), rank, element count,\n"
               " * shape as an initializer (a scalar has rank 0 and shape {1}). */\n");
    io_macros(b, pl, "INPUT", p->n_inputs, p->inputs);
    io_macros(b, pl, "OUTPUT", p->n_outputs, p->outputs);
    sb_puts(b, "\n#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n");
    sb_printf(b, "/* Runs the model once: inputs[i] and outputs[i] are dense C-order buffers of\n"
              " * %s_INPUT<i>_SIZE / %s_OUTPUT<i>_SIZE elements; arena holds %s_ARENA_SIZE bytes\n"
              " * aligned to %s_ARENA_ALIGN (one arena per concurrent call). No allocation, no I/O.\n"
              " * Returns 0 on success; 1 a NULL arena, input or output; 2 a misaligned arena;\n"
              " * 3 no weights set (%s_set_weights); 4 a big-endian target (unsupported);\n"
              " * 5 a failed run (an If branch refused at compile time was taken). */\n",
              N, N, N, N, N);
    sb_printf(b, "int %s_run(void *arena, const void *const inputs[], void *const outputs[]);"
              " /* 0 = ok */\n", N);
    sb_printf(b, "\n#ifdef %s_THREADS\n"
              "/* Built with -D%s_THREADS (link with -pthread): runs that split GEMMs,\n"
              " * convolutions and the larger elementwise ops between the n threads of a\n"
              " * pool. n counts the caller: %s_threads_new starts n - 1 threads and\n"
              " * allocates the pool once; it returns 0 ok, 1 n outside 1..64, 2 out of\n"
              " * memory or threads. Outputs are bit-identical to %s_run's, which\n"
              " * %s_run_threads returns like. A pool serves one run at a time. */\n"
              "struct %s_threads;\n"
              "int %s_threads_new(int n, struct %s_threads **out);\n"
              "void %s_threads_free(struct %s_threads *threads);\n"
              "int %s_run_threads(struct %s_threads *threads, void *arena,\n"
              "                 const void *const inputs[], void *const outputs[]);\n"
              "#endif\n",
              N, N, N, N, N, N, N, N, N, N, N, N);
    if (o->weights == KILN_EMIT_WEIGHTS_BIN)
        sb_printf(b, "\n/* Points the model at the bytes of %s.weights.bin (%s_WEIGHTS_SIZE bytes,\n"
                  " * 64-byte aligned, kept alive and unchanged while %s_run may be called).\n"
                  " * This pointer is the model's only mutable state: set it before running,\n"
                  " * not concurrently with %s_run. Returns 0; 1 NULL; 2 not 64-byte aligned. */\n"
                  "int %s_set_weights(const void *blob);\n", N, N, N, N, N);
    sb_printf(b, "\n#ifdef __cplusplus\n}\n#endif\n#endif /* %s_H_ */\n", N);
}

static void write_rt_h(struct sb *b, struct tu *t, const struct plan *pl)
{
    const char *N = pl->name;
    sb_printf(b, "/* %s_rt.h - generated by kiln: the runtime's types and kernel interface for\n"
              " * model '%s' (copied from kiln's runtime), shared by %s.c and %s_k_*.c. Internal. */\n",
              N, N, N, N);
    sb_printf(b, "#ifndef %s_RT_H_\n#define %s_RT_H_\n\n", N, N);
    sb_puts(b, "/* The runtime functions with external linkage carry the model's prefix, so that\n"
               " * several emitted models link into one program. */\n");
    for (size_t i = 0; i < sizeof extern_fns / sizeof extern_fns[0]; i++)
        sb_printf(b, "#define %s %s_%s\n", extern_fns[i], N, extern_fns[i] + 5);
    sb_puts(b, "\n/* SIMD hook: kernels select vector paths with these compiler macros; the portable\n"
               " * C path is always present (gemm_core.c tests __AVX512F__, __AVX2__ && __FMA__). */\n"
               "#if defined(__AVX512F__)\n#define KILN_SIMD_AVX512 1\n#endif\n"
               "#if defined(__AVX2__)\n#define KILN_SIMD_AVX2 1\n#endif\n"
               "#if defined(__ARM_NEON) || defined(__ARM_NEON__)\n#define KILN_SIMD_NEON 1\n#endif\n"
               "#define KILN_EMITTED 1\n\n");
    sb_printf(b, "/* -D%s_THREADS: the kernels split their work between the threads of a pool\n"
              " * (runtime/kernels/threads.c, POSIX threads); without it everything runs on the\n"
              " * caller's thread and no thread code is compiled. */\n"
              "#ifdef %s_THREADS\n#define KILN_THREADS 1\n#endif\n"
              "#define kiln_threads %s_threads\n\n", N, N, N);
    copy_source(b, t, "kernels/kernels.h", 1);
    sb_printf(b, "\n/* The state of one run: %s_run builds it on the stack; the control-flow kernels\n"
              " * (If, Loop, Scan) hand it back to %s_rt_run_block (%s.c) to run a block. */\n",
              N, N, N);
    copy_source(b, t, "exec.h", 1);
    sb_puts(b, "\n/* In emitted code no kernel table is built: the schedule calls the kernels. */\n"
               "#undef KILN_KERNELS\n#undef KILN_NO_KERNELS\n"
               "#define KILN_KERNELS(lname, ...) extern const struct kiln_kernel_list kiln_kl_##lname\n"
               "#define KILN_NO_KERNELS(lname) extern const struct kiln_kernel_list kiln_kl_##lname\n\n"
               "/* the kernels the schedule calls (NAME_k_<file>.c) */\n");
    for (int i = 0; i < pl->n_files; i++)
        for (int j = 0; j < pl->files[i].n_fns; j++)
            sb_printf(b, "void %s_%s(const struct kiln_kernel_args *a);\n", N,
                      pl->files[i].fns[j] + 5);
    sb_printf(b, "\n#endif /* %s_RT_H_ */\n", N);
}

static void write_kfile(struct sb *b, struct tu *t, const struct plan *pl, const struct kfile *f)
{
    const char *N = pl->name;
    sb_printf(b, "/* %s_k_%s.c - generated by kiln: runtime/%s, kiln's own kernel source,\n"
              " * compiled as its own translation unit as in the runtime. Variants this model does\n"
              " * not call are static and unreferenced: the compiler drops them. */\n",
              N, f->base, f->path);
    sb_printf(b, "#include \"%s_rt.h\"\n", N);
    sb_puts(b, "#if defined(__GNUC__)\n#pragma GCC diagnostic ignored \"-Wunused-function\"\n"
               "#endif\n\n");
    copy_source(b, t, f->path, 0);
    if (f->n_fns)
        sb_puts(b, "\n/* entry points of the variants the schedule calls */\n");
    for (int j = 0; j < f->n_fns; j++)
        sb_printf(b, "void %s_%s(const struct kiln_kernel_args *a)\n{\n    %s(a);\n}\n", N,
                  f->fns[j] + 5, f->fns[j]);
}

/* Bytes per row of the weights array. The weights are string literals, one per row: GCC
 * compiles a literal about 25x faster than a list of 0x.. initializers (resnet18's 47 MB: 6 s
 * instead of 143 s and 6 GB). C99 promises literals of 4095 characters, so rows stay below. */
#define WEIGHTS_ROW 4032

static void weights_union(struct sb *b, const char *N, uint64_t size)
{
    uint64_t full = size / WEIGHTS_ROW, rest = size ? size % WEIGHTS_ROW : 1;
    sb_printf(b, "/* rows are filled by string literals without their terminating NUL (C99\n"
              " * 6.7.8p14); nonstring tells compilers that warn about that it is meant */\n"
              "#if !defined(%s_NONSTRING) && defined(__has_attribute)\n"
              "#if __has_attribute(nonstring)\n"
              "#define %s_NONSTRING __attribute__((nonstring))\n#endif\n#endif\n"
              "#ifndef %s_NONSTRING\n#define %s_NONSTRING\n#endif\n"
              "struct %s_weights_row {\n    unsigned char s[%d] %s_NONSTRING;\n};\n"
              "struct %s_weights_rows {\n",
              N, N, N, N, N, WEIGHTS_ROW, N, N);
    if (full)
        sb_printf(b, "    struct %s_weights_row full[%llu];\n", N, (unsigned long long)full);
    if (rest)
        sb_printf(b, "    unsigned char rest[%llu] %s_NONSTRING;\n", (unsigned long long)rest, N);
    sb_printf(b, "};\n\nunion %s_weights_u {\n    unsigned char b[%llu]; /* what the kernels read */\n"
              "    struct %s_weights_rows rows; /* how it is written */\n"
              "    long double ld; /* members that give the largest basic alignment */\n"
              "    double d;\n    long long ll;\n    void *p;\n};\n",
              N, (unsigned long long)(size ? size : 1), N);
}

/* Bytes as the body of a string literal: printable ASCII as is (but " \ and ?, which could
 * form a trigraph), everything else as three-digit octal escapes, which no following digit
 * can extend. 64 bytes per source line, the literals concatenated. */
static void sb_weight_literal(struct sb *b, const uint8_t *p, uint64_t n)
{
    char line[64 * 4 + 16];
    if (!n)
        sb_puts(b, "\"\"");
    for (uint64_t i = 0; i < n; i += 64) {
        size_t o = 0;
        if (i)
            memcpy(line, "\n     ", 6), o = 6;
        line[o++] = '"';
        for (uint64_t j = i; j < n && j < i + 64; j++) {
            unsigned c = p[j];
            if (c >= 32 && c < 127 && c != '"' && c != '\\' && c != '?') {
                line[o++] = (char)c;
            } else {
                line[o++] = '\\', line[o++] = (char)('0' + (c >> 6));
                line[o++] = (char)('0' + ((c >> 3) & 7)), line[o++] = (char)('0' + (c & 7));
            }
        }
        line[o++] = '"';
        sb_put(b, line, o);
    }
}

/* The initializer of struct NAME_weights_rows: full rows, then the rest (as weights_union). */
static void sb_weight_rows(struct sb *b, const uint8_t *p, uint64_t n)
{
    uint64_t full = n / WEIGHTS_ROW;
    if (full) {
        sb_puts(b, "    {\n");
        for (uint64_t r = 0; r < full; r++) {
            sb_puts(b, "    {");
            sb_weight_literal(b, p + r * WEIGHTS_ROW, WEIGHTS_ROW);
            sb_puts(b, r + 1 < full ? "},\n" : "}\n");
        }
        sb_puts(b, "    }");
    }
    if (!n || n % WEIGHTS_ROW) {
        sb_puts(b, full ? ",\n    " : "    ");
        sb_weight_literal(b, p + full * WEIGHTS_ROW, n % WEIGHTS_ROW);
    }
    sb_puts(b, "\n");
}

static void write_weights_c(struct sb *b, const struct plan *pl)
{
    const struct kiln_program *p = pl->p;
    const char *N = pl->name;
    sb_printf(b, "/* %s_weights.c - generated by kiln: the weights of model '%s', %llu bytes, as\n"
              " * the exact little-endian bytes the kernels read. Aligned to 64 bytes under GCC,\n"
              " * Clang, MSVC and C11; otherwise to the largest basic type, which is all the\n"
              " * kernels need (they make no aligned vector loads). */\n",
              N, N, (unsigned long long)p->weights_size);
    sb_printf(b, "#if defined(__GNUC__)\n#define %s_ALIGN64 __attribute__((aligned(64)))\n"
              "#elif defined(_MSC_VER)\n#define %s_ALIGN64 __declspec(align(64))\n"
              "#elif defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L\n"
              "#define %s_ALIGN64 _Alignas(64)\n#else\n#define %s_ALIGN64\n#endif\n\n",
              N, N, N, N);
    weights_union(b, N, p->weights_size);
    sb_printf(b, "\n%s_ALIGN64 const union %s_weights_u %s_weights = {.rows = {\n", N, N, N);
    sb_weight_rows(b, p->weights, p->weights_size);
    sb_puts(b, "}};\n");
}

/* Names the control node that runs block k: "then branch of 'NAME' (If)". */
static void block_owner(struct sb *b, const struct kiln_program *p, uint32_t k)
{
    for (uint32_t i = 0; i < p->n_nodes + p->n_block_nodes; i++) {
        const struct kiln_node_desc *n = &p->nodes[i];
        const uint8_t *q = p->params + n->params_offset;
        const char *role = NULL;
        if (n->op == KILN_OP_IF && n->params_size >= sizeof(struct kiln_p_if)) {
            struct kiln_p_if pi;
            memcpy(&pi, q, sizeof pi);
            role = (uint32_t)pi.then_block == k   ? "then branch"
                   : (uint32_t)pi.else_block == k ? "else branch"
                                                  : NULL;
        } else if (n->op == KILN_OP_LOOP && n->params_size >= sizeof(struct kiln_p_loop)) {
            struct kiln_p_loop pl;
            memcpy(&pl, q, sizeof pl);
            role = (uint32_t)pl.body == k ? "body" : NULL;
        } else if (n->op == KILN_OP_SCAN && n->params_size >= sizeof(struct kiln_p_scan)) {
            struct kiln_p_scan ps;
            memcpy(&ps, q, sizeof ps);
            role = (uint32_t)ps.body == k ? "body" : NULL;
        }
        if (role) {
            sb_printf(b, "%s of ", role);
            sb_comment(b, kiln_prog_str(p, n->name));
            sb_printf(b, " (%s)", kiln_op_name(n->op));
            return;
        }
    }
    sb_puts(b, "not run by any node");
}

/* One step() call per node of nodes[first .. first + count), commented with the ONNX node. */
static void emit_steps(struct sb *b, const struct plan *pl, uint32_t first, uint32_t count,
                       const uint32_t *io_at)
{
    const struct kiln_program *p = pl->p;
    sb_puts(b, "    /* step(e, kernel, params, io, n_in, n_out, scratch offset, scratch bytes) */\n");
    for (uint32_t i = first; i < first + count; i++) {
        const struct kiln_node_desc *n = &p->nodes[i];
        const struct kiln_kernel *k = kiln_rt_kernel(n->op, n->variant);
        sb_printf(b, "    step(e, %s_%s, %u, %u, %u, %u, %llu, %llu); /* %u ", pl->name,
                  k->name + 5, n->params_offset, io_at[i], n->n_in, n->n_out,
                  (unsigned long long)n->scratch_offset, (unsigned long long)n->scratch_size, i);
        sb_comment(b, kiln_prog_str(p, n->name));
        sb_printf(b, " (%s) */\n", kiln_op_name(n->op));
    }
}

static void write_model_c(struct sb *b, const struct plan *pl, const struct kiln_emit_c_options *o)
{
    const struct kiln_program *p = pl->p;
    const char *N = pl->name;
    int bin = o->weights == KILN_EMIT_WEIGHTS_BIN;
    sb_printf(b, "/* %s.c - generated by kiln: the schedule of model '%s' (%u steps), one kernel\n"
              " * call per step with tensor views built on the stack from the constant tables\n"
              " * below. C99, no allocation, no I/O. */\n",
              N, N, p->n_nodes);
    sb_printf(b, "#include \"%s.h\"\n#include \"%s_rt.h\"\n\n", N, N);
    /* tensors */
    sb_puts(b, "/* A tensor: storage 1 arena (offset), 2 weights (offset), 3 input / 4 output\n"
               " * (offset = number), 0 absent; dims[first..first+rank) in dims[]. */\n"
               "struct tdesc {\n    uint64_t offset;\n    uint32_t first;\n"
               "    uint8_t rank, dtype, storage, reserved;\n    float scale;\n"
               "    int32_t zero_point;\n};\n\n");
    int64_t *pool = malloc(sizeof *pool * ((size_t)pl->n_used * KILN_MAX_RANK + 1));
    uint32_t *first = malloc(sizeof *first * ((size_t)pl->n_used + 1));
    const uint32_t **rows = malloc(sizeof *rows * ((size_t)pl->n_used + 1));
    if (!pool || !first || !rows) {
        b->oom = 1;
        free(pool), free(first), free(rows);
        return;
    }
    for (uint32_t t = 0; t < p->n_tensors; t++)
        if (pl->tmap[t] != UINT32_MAX)
            rows[pl->tmap[t]] = &pl->tmap[t];
    size_t np = 0;
    for (uint32_t r = 0; r < pl->n_used; r++) {
        const struct kiln_tensor_desc *t = &p->tensors[rows[r] - pl->tmap];
        size_t at = np;
        for (size_t s = 0; s + t->rank <= np && t->rank; s++)
            if (!memcmp(pool + s, t->dims, sizeof *pool * t->rank)) {
                at = s;
                break;
            }
        if (at == np && t->rank) {
            memcpy(pool + np, t->dims, sizeof *pool * t->rank);
            np += t->rank;
        }
        first[r] = t->rank ? (uint32_t)at : 0;
    }
    sb_puts(b, "static const int64_t dims[] = {\n   ");
    for (size_t i = 0; i < np; i++)
        sb_printf(b, " %lld,%s", (long long)pool[i], i % 12 == 11 ? "\n   " : "");
    sb_puts(b, np ? "\n};\n\n" : " 0\n};\n\n");
    sb_puts(b, "static const struct tdesc tensors[] = {\n");
    for (uint32_t r = 0; r < pl->n_used; r++) {
        const struct kiln_tensor_desc *t = &p->tensors[rows[r] - pl->tmap];
        uint64_t off = t->storage == KILN_STORAGE_INPUT || t->storage == KILN_STORAGE_OUTPUT
                           ? t->index
                           : t->offset;
        sb_printf(b, "    {%lluu, %u, %u, %u, %u, 0, %af, %d}, /* ", (unsigned long long)off,
                  first[r], t->rank, t->dtype, t->storage,
                  t->scale == t->scale && t->scale - t->scale == 0 ? (double)t->scale : 0.0,
                  t->zero_point);
        sb_comment(b, kiln_prog_str(p, t->name));
        sb_puts(b, " */\n");
    }
    if (!pl->n_used)
        sb_puts(b, "    {0, 0, 0, 0, 0, 0, 0.0f, 0}\n");
    sb_puts(b, "};\n\n");
    free(pool), free(first), free(rows);
    /* node io lists (main schedule, then the block nodes), then each block's formal inputs and
     * outputs: the program's io[] as the control kernels read it (e->p->io) */
    uint32_t *io_at = malloc(sizeof *io_at * ((size_t)pl->n_all + p->n_blocks + 1));
    if (!io_at) {
        b->oom = 1;
        return;
    }
    sb_puts(b, "static const uint32_t io[] = {\n");
    uint32_t nio = 0;
    for (uint32_t i = 0; i < pl->n_all; i++) {
        const struct kiln_node_desc *n = &p->nodes[i];
        io_at[i] = nio;
        sb_puts(b, "   ");
        for (uint32_t j = 0; j < (uint32_t)n->n_in + n->n_out; j++, nio++)
            sb_printf(b, " %u,", pl->tmap[p->io[n->io_first + j]]);
        sb_printf(b, " /* %u */\n", i);
    }
    for (uint32_t k = 0; k < p->n_blocks; k++) {
        const struct kiln_block_desc *bd = &p->blocks[k];
        io_at[pl->n_all + k] = nio;
        sb_puts(b, "   ");
        for (uint32_t j = 0; j < (uint32_t)bd->n_in + bd->n_out; j++, nio++)
            sb_printf(b, " %u,", pl->tmap[p->io[bd->io_first + j]]);
        sb_printf(b, " /* block %u: %u inputs, %u outputs */\n", k, bd->n_in, bd->n_out);
    }
    sb_puts(b, nio ? "};\n\n" : "    0\n};\n\n");
    /* params: exact bytes, aligned for the structs the kernels cast them to */
    sb_printf(b, "/* kernel parameters (include/kiln/params.h structs), %llu bytes */\n"
              "static const union {\n    unsigned char b[%llu];\n    long double ld;\n"
              "    double d;\n    long long ll;\n    void *p;\n} params = {{\n",
              (unsigned long long)p->params_size,
              (unsigned long long)(p->params_size ? p->params_size : 1));
    sb_bytes(b, p->params, p->params_size);
    sb_puts(b, "}};\n\n");
    if (bin) {
        sb_printf(b, "/* the only mutable state: where %s.weights.bin lives (%s_set_weights) */\n"
                  "static const unsigned char *weights_blob;\n\n"
                  "int %s_set_weights(const void *blob)\n{\n    if (!blob)\n        return 1;\n"
                  "    if ((uintptr_t)blob %% 64)\n        return 2;\n"
                  "    weights_blob = (const unsigned char *)blob;\n    return 0;\n}\n\n",
                  N, N, N);
    } else {
        weights_union(b, N, p->weights_size);
        sb_printf(b, "extern const union %s_weights_u %s_weights; /* %s_weights.c */\n\n", N, N,
                  N);
    }
    if (p->n_blocks) {
        sb_puts(b, "/* control flow: the nodes and the formal inputs and outputs (in io[]) of the\n"
                   " * blocks that If, Loop and Scan run (If branches, Loop and Scan bodies) */\n"
                   "static const struct kiln_block_desc blocks[] = {\n");
        for (uint32_t k = 0; k < p->n_blocks; k++) {
            const struct kiln_block_desc *bd = &p->blocks[k];
            sb_printf(b, "    {.first_node = %u, .n_nodes = %u, .io_first = %u, .n_in = %u, "
                      ".n_out = %u},\n", bd->first_node, bd->n_nodes, io_at[pl->n_all + k],
                      bd->n_in, bd->n_out);
        }
        sb_puts(b, "};\n\n");
    }
    /* the program as the control kernels see it: the interpreter's struct, holding only what
     * runtime/exec.h users read (io, blocks) and the weights */
    sb_printf(b, "static const struct kiln_program program = {\n"
              "    .n_tensors = %u,\n    .n_nodes = %u,\n    .n_inputs = %u,\n"
              "    .n_outputs = %u,\n    .io = io,\n    .params = params.b,\n"
              "    .params_size = %llu,\n",
              pl->n_used, p->n_nodes, p->n_inputs, p->n_outputs,
              (unsigned long long)p->params_size);
    if (!bin)
        sb_printf(b, "    .weights = %s_weights.b,\n", N);
    sb_printf(b, "    .weights_size = %llu,\n    .arena_size = %llu,\n",
              (unsigned long long)p->weights_size,
              (unsigned long long)kiln_program_plan_arena(p));
    if (p->n_blocks)
        sb_printf(b, "    .n_blocks = %u,\n    .n_block_nodes = %u,\n    .blocks = blocks,\n",
                  p->n_blocks, p->n_block_nodes);
    sb_puts(b, "};\n\n");
    /* tensor views and one step: the interpreter's kiln_rt_view and loop body (runtime/interp.c) */
    sb_printf(b, "/* The view of tensor t in this run (runtime/exec.h). */\n"
              "void %s_rt_view(const struct kiln_exec *e, uint32_t t, struct kiln_tensor *v)\n{\n"
              "    const struct tdesc *d = &tensors[t];\n    int k;\n"
              "    switch (d->storage) {\n"
              "    case 1: v->data = e->arena + d->offset; break;\n"
              "    case 2: v->data = (void *)(e->p->weights + d->offset); break;\n"
              "    case 3: v->data = (void *)e->inputs[d->offset]; break;\n"
              "    case 4: v->data = e->outputs[d->offset]; break;\n"
              "    default: v->data = NULL; break;\n    }\n"
              "    v->rank = d->rank;\n    v->dtype = d->dtype;\n"
              "    v->scale = d->scale;\n    v->zero_point = d->zero_point;\n"
              "    for (k = 0; k < KILN_MAX_RANK; k++)\n"
              "        v->dims[k] = k < d->rank ? dims[d->first + k] : 1;\n}\n\n", N);
    sb_printf(b, "static void step(const struct kiln_exec *e, kiln_kernel_fn fn,\n"
              "                 uint32_t params_offset, uint32_t io_first, uint32_t n_in,\n"
              "                 uint32_t n_out, uint64_t scratch_offset, uint64_t scratch_size)\n{\n"
              "    struct kiln_tensor v[%u];\n    struct kiln_kernel_args a;\n    uint32_t j;\n"
              "    if (*e->status)\n        return; /* a kernel failed the run */\n"
              "    for (j = 0; j < n_in + n_out; j++)\n"
              "        %s_rt_view(e, io[io_first + j], &v[j]);\n"
              "    a.params = params.b + params_offset;\n    a.in = v;\n    a.out = v + n_in;\n"
              "    a.n_in = n_in;\n    a.n_out = n_out;\n"
              "    a.scratch = scratch_size ? e->arena + scratch_offset : NULL;\n"
              "    a.scratch_size = scratch_size;\n    a.exec = e;\n    fn(&a);\n}\n\n",
              pl->max_io, N);
    /* blocks: one function each, dispatched by NAME_rt_run_block */
    for (uint32_t k = 0; k < p->n_blocks; k++) {
        const struct kiln_block_desc *bd = &p->blocks[k];
        sb_printf(b, "/* block %u: ", k);
        block_owner(b, p, k);
        sb_printf(b, " */\nstatic void block_%u(const struct kiln_exec *e)\n{\n", k);
        if (!bd->n_nodes)
            sb_puts(b, "    (void)e;\n");
        emit_steps(b, pl, bd->first_node, bd->n_nodes, io_at);
        sb_puts(b, "}\n\n");
    }
    if (p->n_blocks) {
        sb_printf(b, "/* Runs block b's nodes in order (runtime/exec.h): called back by the If, Loop\n"
                  " * and Scan kernels. */\n"
                  "void %s_rt_run_block(const struct kiln_exec *e, uint32_t b)\n{\n"
                  "    switch (b) {\n", N);
        for (uint32_t k = 0; k < p->n_blocks; k++)
            sb_printf(b, "    case %u: block_%u(e); break;\n", k, k);
        sb_puts(b, "    default: break;\n    }\n}\n\n");
    }
    /* run */
    sb_puts(b, "static int run_on(struct kiln_threads *threads, void *arena,\n"
               "                  const void *const inputs[], void *const outputs[])\n{\n"
               "    static const union {\n        uint16_t u;\n        unsigned char b[2];\n"
               "    } order = {1};\n    enum kiln_status status = KILN_STATUS_OK;\n"
               "    struct kiln_exec ex;\n    const struct kiln_exec *e = &ex;\n");
    if (bin)
        sb_puts(b, "    struct kiln_program prog = program;\n");
    sb_puts(b, "    if (!order.b[0])\n        return 4; /* weights and params are little-endian */\n");
    if (p->arena_size)
        sb_puts(b, "    if (!arena)\n        return 1;\n");
    sb_printf(b, "    if ((uintptr_t)arena %% %s_ARENA_ALIGN)\n        return 2;\n", N);
    sb_puts(b, "    if (!inputs || !outputs");
    for (uint32_t i = 0; i < p->n_inputs; i++)
        sb_printf(b, " || !inputs[%u]", i);
    for (uint32_t i = 0; i < p->n_outputs; i++)
        sb_printf(b, " || !outputs[%u]", i);
    sb_puts(b, ")\n        return 1;\n");
    if (bin && p->weights_size)
        sb_puts(b, "    if (!weights_blob)\n        return 3;\n");
    sb_puts(b, "    memset(&ex, 0, sizeof ex);\n");
    if (bin)
        sb_puts(b, "    prog.weights = weights_blob;\n    ex.p = &prog;\n");
    else
        sb_puts(b, "    ex.p = &program;\n");
    sb_puts(b, "    ex.arena = (uint8_t *)arena;\n    ex.inputs = inputs;\n"
               "    ex.outputs = outputs;\n    ex.status = &status;\n    ex.threads = threads;\n");
    if (!p->n_nodes)
        sb_puts(b, "    (void)step;\n    (void)e;\n");
    emit_steps(b, pl, 0, p->n_nodes, io_at);
    /* the interpreter's run status (runtime/exec.h): set by the If kernel taking a refused
     * branch (run-time extents also set it, but the emitter refuses those programs) */
    sb_puts(b, "    return status == KILN_STATUS_OK ? 0 : 5;\n}\n\n");
    sb_printf(b, "int %s_run(void *arena, const void *const inputs[], void *const outputs[])\n"
              "{\n    return run_on(NULL, arena, inputs, outputs);\n}\n", N);
    sb_printf(b, "\n#ifdef %s_THREADS\n"
              "int %s_threads_new(int n, struct kiln_threads **out)\n{\n"
              "    enum kiln_status st = kiln_threads_create(n, out);\n"
              "    return st == KILN_STATUS_OK ? 0 : st == KILN_STATUS_INVALID_ARG ? 1 : 2;\n}\n\n"
              "void %s_threads_free(struct kiln_threads *threads)\n{\n"
              "    kiln_threads_destroy(threads);\n}\n\n"
              "int %s_run_threads(struct kiln_threads *threads, void *arena,\n"
              "                 const void *const inputs[], void *const outputs[])\n{\n"
              "    return run_on(threads, arena, inputs, outputs);\n}\n#endif\n", N, N, N, N);
    free(io_at);
}

/* Appends text with every "@N@" replaced by the model name. */
static void sb_template(struct sb *b, const char *text, const char *name)
{
    const char *at;
    while ((at = strstr(text, "@N@"))) {
        sb_put(b, text, (size_t)(at - text));
        sb_puts(b, name);
        text = at + 3;
    }
    sb_puts(b, text);
}

static const char main_text[] =
    "#ifndef @N@_MAIN\n"
    "#define @N@_MAIN main /* -D@N@_MAIN=name links several drivers into one program */\n"
    "#endif\n\n"
    "static int fail(const char *path, const char *what)\n{\n"
    "    fprintf(stderr, \"@N@: error: %s: %s\\n\", path, what);\n    return 1;\n}\n\n"
    "/* Reads a .npy file (versions 1-3, C order) of exactly t's dtype and shape into dst. */\n"
    "static int read_npy(const char *path, const struct io *t, void *dst)\n{\n"
    "    unsigned char pre[12];\n    char *h, *s;\n    unsigned long hlen, n;\n"
    "    int rank = 0, ok;\n    long dim[16];\n"
    "    FILE *f = fopen(path, \"rb\");\n"
    "    if (!f)\n        return fail(path, \"cannot open\");\n"
    "    if (fread(pre, 1, 10, f) != 10 || memcmp(pre, \"\\223NUMPY\", 6) != 0) {\n"
    "        fclose(f);\n        return fail(path, \"not a .npy file\");\n    }\n"
    "    hlen = pre[8] | (unsigned long)pre[9] << 8;\n"
    "    if (pre[6] >= 2) {\n"
    "        if (fread(pre + 10, 1, 2, f) != 2) {\n            fclose(f);\n"
    "            return fail(path, \"truncated header\");\n        }\n"
    "        hlen |= (unsigned long)pre[10] << 16 | (unsigned long)pre[11] << 24;\n"
    "    }\n"
    "    h = malloc(hlen + 1);\n"
    "    if (!h || fread(h, 1, hlen, f) != hlen) {\n        free(h);\n        fclose(f);\n"
    "        return fail(path, \"truncated header\");\n    }\n    h[hlen] = '\\0';\n"
    "    s = strstr(h, \"'descr'\");\n"
    "    ok = s && (s = strchr(s + 7, '\\'')) && strncmp(s + 1, t->descr, 3) == 0 && s[4] == '\\'';\n"
    "    if (!ok && s && t->descr[0] == '|' && s[1] == '<')\n"
    "        ok = strncmp(s + 2, t->descr + 1, 2) == 0; /* '<u1' is '|u1' */\n"
    "    if (ok) {\n        s = strstr(h, \"'fortran_order'\");\n"
    "        ok = s && (s = strchr(s + 15, ':')) && strncmp(s + 1 + strspn(s + 1, \" \"),\n"
    "                                              \"False\", 5) == 0;\n    }\n"
    "    if (ok) {\n        s = strstr(h, \"'shape'\");\n        ok = s && (s = strchr(s, '('));\n"
    "        while (ok && rank < 16) {\n            char *e;\n"
    "            s += 1 + strspn(s + 1, \" ,\");\n            if (*s == ')')\n"
    "                break;\n            dim[rank++] = strtol(s, &e, 10);\n"
    "            ok = e != s;\n            s = e - 1;\n        }\n    }\n"
    "    ok = ok && rank == t->rank;\n"
    "    for (n = 0; ok && (int)n < rank; n++)\n        ok = dim[n] == t->dims[n];\n"
    "    free(h);\n    if (!ok) {\n        fclose(f);\n"
    "        return fail(path, \"wrong dtype or shape (or Fortran order) for this input\");\n"
    "    }\n    n = (unsigned long)t->size;\n"
    "    if (fread(dst, t->esize, n, f) != n) {\n        fclose(f);\n"
    "        return fail(path, \"truncated data\");\n    }\n    fclose(f);\n    return 0;\n}\n\n"
    "static int write_npy(const char *path, const struct io *t, const void *src)\n{\n"
    "    char h[256];\n    size_t n = 0, total;\n    int k;\n"
    "    FILE *f = fopen(path, \"wb\");\n    if (!f)\n        return fail(path, \"cannot create\");\n"
    "    n += (size_t)sprintf(h + n, \"{'descr': '%s', 'fortran_order': False, 'shape': (\",\n"
    "                         t->descr);\n"
    "    for (k = 0; k < t->rank && n < 200; k++)\n"
    "        n += (size_t)sprintf(h + n, \"%s%ld\", k ? \", \" : \"\", t->dims[k]);\n"
    "    n += (size_t)sprintf(h + n, \"%s), }\", t->rank == 1 ? \",\" : \"\");\n"
    "    total = (10 + n + 1 + 63) / 64 * 64;\n"
    "    while (10 + n + 1 < total)\n        h[n++] = ' ';\n    h[n++] = '\\n';\n"
    "    fwrite(\"\\223NUMPY\\001\\000\", 1, 8, f);\n"
    "    fputc((int)(n & 255), f);\n    fputc((int)(n >> 8), f);\n    fwrite(h, 1, n, f);\n"
    "    if (fwrite(src, t->esize, (size_t)t->size, f) != (size_t)t->size || fclose(f) != 0)\n"
    "        return fail(path, \"cannot write\");\n    return 0;\n}\n\n"
    "static void *buffer(size_t bytes)\n{\n    return malloc(bytes ? bytes : 1);\n}\n\n"
    "#ifdef @N@_WEIGHTS_SIZE\n"
    "/* Reads @N@.weights.bin into a 64-byte-aligned buffer and hands it to the model. */\n"
    "static int load_weights(const char *path, unsigned char **mem)\n{\n"
    "    unsigned char *w;\n    int rc;\n    FILE *f = fopen(path, \"rb\");\n"
    "    if (!f)\n        return fail(path, \"cannot open (give --weights FILE)\");\n"
    "    *mem = malloc((size_t)@N@_WEIGHTS_SIZE + 64);\n"
    "    if (!*mem) {\n        fclose(f);\n        return fail(path, \"out of memory\");\n    }\n"
    "    w = *mem + (64 - (size_t)((uintptr_t)*mem % 64));\n"
    "    rc = fread(w, 1, (size_t)@N@_WEIGHTS_SIZE, f) != (size_t)@N@_WEIGHTS_SIZE ||\n"
    "         fgetc(f) != EOF;\n    fclose(f);\n"
    "    if (rc)\n        return fail(path, \"not @N@_WEIGHTS_SIZE bytes long\");\n"
    "    if (@N@_set_weights(w) != 0)\n        return fail(path, \"@N@_set_weights failed\");\n"
    "    return 0;\n}\n#endif\n\n"
    "/* Per-run times for --repeat: a monotonic wall clock where POSIX has one, else CPU time. */\n"
    "#ifdef CLOCK_MONOTONIC\n#define CLOCK_KIND \"wall clock\"\n"
    "static double now_ms(void)\n{\n    struct timespec t;\n"
    "    clock_gettime(CLOCK_MONOTONIC, &t);\n"
    "    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec * 1e-6;\n}\n"
    "#else\n#define CLOCK_KIND \"CPU time\"\n"
    "static double now_ms(void)\n{\n    return (double)clock() * 1e3 / CLOCKS_PER_SEC;\n}\n"
    "#endif\n\n"
    "static int cmp_ms(const void *a, const void *b)\n{\n"
    "    double x = *(const double *)a, y = *(const double *)b;\n"
    "    return (x > y) - (x < y);\n}\n\n"
    "int @N@_MAIN(int argc, char **argv)\n{\n"
    "    const char *in_path[@N@_NUM_INPUTS + 1] = {0}, *out_path[@N@_NUM_OUTPUTS + 1] = {0};\n"
    "    const void *in[@N@_NUM_INPUTS + 1] = {0};\n    void *out[@N@_NUM_OUTPUTS + 1] = {0};\n"
    "    int n_in = 0, n_out = 0, i, rc = 0;\n    long repeat = 1, r;\n"
    "#ifdef @N@_THREADS\n    long threads = 1;\n    struct @N@_threads *pool = NULL;\n#endif\n"
    "    unsigned char *arena_mem, *arena;\n    double *ms = NULL;\n"
    "#ifdef @N@_WEIGHTS_SIZE\n"
    "    const char *weights_path = \"@N@.weights.bin\";\n    unsigned char *weights_mem = NULL;\n"
    "#endif\n"
    "    for (i = 1; i < argc; i++) {\n"
    "        if (strcmp(argv[i], \"--input\") == 0 && i + 1 < argc && n_in < @N@_NUM_INPUTS)\n"
    "            in_path[n_in++] = argv[++i];\n"
    "        else if (strcmp(argv[i], \"--output\") == 0 && i + 1 < argc &&\n"
    "                 n_out < @N@_NUM_OUTPUTS)\n            out_path[n_out++] = argv[++i];\n"
    "#ifdef @N@_WEIGHTS_SIZE\n"
    "        else if (strcmp(argv[i], \"--weights\") == 0 && i + 1 < argc)\n"
    "            weights_path = argv[++i];\n"
    "#endif\n"
    "        else if (strcmp(argv[i], \"--repeat\") == 0 && i + 1 < argc)\n"
    "            repeat = strtol(argv[++i], NULL, 10);\n"
    "#ifdef @N@_THREADS\n"
    "        else if (strcmp(argv[i], \"--threads\") == 0 && i + 1 < argc)\n"
    "            threads = strtol(argv[++i], NULL, 10);\n"
    "#endif\n"
    "        else\n            break;\n    }\n"
    "    if (i < argc || n_in != @N@_NUM_INPUTS || (n_out && n_out != @N@_NUM_OUTPUTS) ||\n"
    "        repeat < 1) {\n"
    "        fprintf(stderr, \"usage: %s --input X.npy (%d, in order) [--output Y.npy (%d)] \"\n"
    "                        \"[--repeat N] [--weights FILE] [--threads N]\\n\", argv[0],\n"
    "                @N@_NUM_INPUTS,\n"
    "                @N@_NUM_OUTPUTS);\n"
    "        return 2;\n    }\n"
    "    arena_mem = malloc((size_t)@N@_ARENA_SIZE + @N@_ARENA_ALIGN);\n"
    "    if (!arena_mem)\n        return fail(\"arena\", \"out of memory\");\n"
    "    arena = arena_mem + (@N@_ARENA_ALIGN - (size_t)((uintptr_t)arena_mem % @N@_ARENA_ALIGN));\n"
    "#ifdef @N@_WEIGHTS_SIZE\n"
    "    rc = load_weights(weights_path, &weights_mem);\n"
    "#endif\n"
    "    for (i = 0; i < @N@_NUM_INPUTS && !rc; i++) {\n"
    "        void *p = buffer(ins[i].esize * (size_t)ins[i].size);\n"
    "        in[i] = p;\n"
    "        rc = !p ? fail(in_path[i], \"out of memory\") : read_npy(in_path[i], &ins[i], p);\n"
    "    }\n"
    "    for (i = 0; i < @N@_NUM_OUTPUTS && !rc; i++)\n"
    "        if (!(out[i] = buffer(outs[i].esize * (size_t)outs[i].size)))\n"
    "            rc = fail(\"output\", \"out of memory\");\n"
    "    if (!rc && !(ms = malloc(sizeof(double) * (size_t)repeat)))\n"
    "        rc = fail(\"--repeat\", \"out of memory\");\n"
    "#ifdef @N@_THREADS\n"
    "    if (!rc && (threads < 1 || threads > 64 || @N@_threads_new((int)threads, &pool)))\n"
    "        rc = fail(\"--threads\", \"needs 1 to 64 threads that can be started\");\n"
    "#define @N@_RUN(a, i, o) @N@_run_threads(pool, a, i, o)\n"
    "#else\n#define @N@_RUN(a, i, o) @N@_run(a, i, o)\n#endif\n"
    "    for (r = 0; r < repeat && !rc; r++) {\n"
    "        double t0 = now_ms();\n"
    "        if ((rc = @N@_RUN(arena, in, out)) != 0)\n"
    "            fprintf(stderr, \"@N@: error: @N@_run returned %d\\n\", rc);\n"
    "        ms[r] = now_ms() - t0;\n    }\n"
    "    if (!rc && repeat > 1) {\n"
    "        qsort(ms, (size_t)repeat, sizeof(double), cmp_ms);\n"
    "        fprintf(stderr, \"@N@: %ld runs: median %.4f ms, min %.4f ms, p90 %.4f ms (%s)\\n\",\n"
    "                repeat, ms[(repeat - 1) / 2], ms[0], ms[(repeat * 9 + 9) / 10 - 1], CLOCK_KIND);\n"
    "    }\n    free(ms);\n"
    "#ifdef @N@_THREADS\n    @N@_threads_free(pool);\n#endif\n"
    "    for (i = 0; i < n_out && !rc; i++)\n"
    "        rc = write_npy(out_path[i], &outs[i], out[i]);\n"
    "    for (i = 0; i < @N@_NUM_INPUTS; i++)\n        free((void *)in[i]);\n"
    "    for (i = 0; i < @N@_NUM_OUTPUTS; i++)\n        free(out[i]);\n"
    "    free(arena_mem);\n"
    "#ifdef @N@_WEIGHTS_SIZE\n    free(weights_mem);\n#endif\n"
    "    return rc ? 1 : 0;\n}\n";

static void io_table(struct sb *b, const struct plan *pl, const char *var, const char *kind,
                     uint32_t n, const uint32_t *list)
{
    const struct kiln_program *p = pl->p;
    sb_printf(b, "static const struct io %s[%u] = {\n", var, n + 1);
    for (uint32_t i = 0; i < n; i++) {
        const struct kiln_tensor_desc *t = &p->tensors[list[i]];
        sb_printf(b, "    {\"%s\", %u, %s_%s%u_SIZE, %s_%s%u_RANK, %s_%s%u_SHAPE},\n",
                  dtype_descr(t->dtype), (unsigned)kiln_dtype_size(t->dtype), pl->name, kind, i,
                  pl->name, kind, i, pl->name, kind, i);
    }
    sb_puts(b, "    {\"\", 1, 0, 0, {0}}\n};\n");
}

static void write_main(struct sb *b, const struct plan *pl)
{
    const char *N = pl->name;
    sb_printf(b, "/* %s_main.c - generated by kiln: a command-line driver for model '%s':\n"
              " *   %s --input X.npy ... [--output Y.npy ...] [--repeat N] [--weights FILE]\n"
              " * reads the inputs (.npy, in graph order), runs %s_run N times and writes the\n"
              " * outputs. With --weights bin, --weights names the blob (default NAME.weights.bin).\n"
              " * Only this file uses stdio and malloc. bfloat16 travels as '<u2'. */\n",
              N, N, N, N);
    /* clock_gettime is POSIX, not C99: ask for it before any header (ignored elsewhere) */
    sb_puts(b, "#if !defined(_POSIX_C_SOURCE) && !defined(_WIN32)\n"
               "#define _POSIX_C_SOURCE 200809L\n#endif\n");
    sb_printf(b, "#include <stdint.h>\n#include <stdio.h>\n#include <stdlib.h>\n"
              "#include <string.h>\n#include <time.h>\n\n#include \"%s.h\"\n\n", N);
    sb_puts(b, "struct io {\n    const char *descr;\n    size_t esize;\n    long size;\n"
               "    int rank;\n    long dims[8];\n};\n");
    io_table(b, pl, "ins", "INPUT", pl->p->n_inputs, pl->p->inputs);
    io_table(b, pl, "outs", "OUTPUT", pl->p->n_outputs, pl->p->outputs);
    sb_puts(b, "\n");
    sb_template(b, main_text, N);
}

static void write_cmake(struct sb *b, const struct plan *pl, const struct kiln_emit_c_options *o)
{
    const char *N = pl->name;
    sb_printf(b, "# %s.cmake - generated by kiln: include() this file, then\n"
              "#   target_link_libraries(your_app PRIVATE %s)\n"
              "add_library(%s STATIC\n  ${CMAKE_CURRENT_LIST_DIR}/%s.c\n", N, N, N, N);
    if (o->weights == KILN_EMIT_WEIGHTS_C)
        sb_printf(b, "  ${CMAKE_CURRENT_LIST_DIR}/%s_weights.c\n", N);
    for (int i = 0; i < pl->n_files; i++)
        sb_printf(b, "  ${CMAKE_CURRENT_LIST_DIR}/%s_k_%s.c\n", N, pl->files[i].base);
    sb_printf(b, ")\ntarget_include_directories(%s PUBLIC ${CMAKE_CURRENT_LIST_DIR})\n"
              "set_target_properties(%s PROPERTIES C_STANDARD 99)\n"
              "if(NOT MSVC)\n  target_link_libraries(%s PUBLIC m)\nendif()\n", N, N, N);
    sb_printf(b, "# set %s_THREADS ON before include() for the thread pool API (%s.h)\n"
              "if(%s_THREADS)\n  find_package(Threads REQUIRED)\n"
              "  target_compile_definitions(%s PUBLIC %s_THREADS)\n"
              "  target_link_libraries(%s PUBLIC Threads::Threads)\nendif()\n", N, N, N, N, N, N);
    if (o->with_main)
        sb_printf(b, "if(NOT TARGET %s_main)\n"
                  "  add_executable(%s_main EXCLUDE_FROM_ALL ${CMAKE_CURRENT_LIST_DIR}/%s_main.c)\n"
                  "  target_link_libraries(%s_main PRIVATE %s)\nendif()\n", N, N, N, N, N);
}

/* ---- writing ---- */

struct out_file {
    char path[4096];
    char tmp[4200];
    int written;
};

static enum kiln_status write_tmp(struct out_file *f, const char *dir, const char *fname,
                                  const void *data, size_t len, struct kiln_diag *d)
{
    snprintf(f->path, sizeof f->path, "%s/%s", dir, fname);
    int fd = -1;
    for (int k = 0; k < 1000 && fd < 0; k++) {
        snprintf(f->tmp, sizeof f->tmp, "%s.tmp%ld.%d", f->path, (long)getpid(), k);
        fd = open(f->tmp, O_WRONLY | O_CREAT | O_EXCL, 0666);
        if (fd < 0 && errno != EEXIST)
            break;
    }
    if (fd < 0)
        return kiln_diag_set(d, KILN_STATUS_IO, NULL, NULL, "%s: cannot create: %s", f->path,
                             strerror(errno));
    f->written = 1;
    const char *p = data;
    while (len) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            int e = errno;
            close(fd);
            return kiln_diag_set(d, KILN_STATUS_IO, NULL, NULL, "%s: cannot write: %s", f->path,
                                 strerror(e));
        }
        p += w, len -= (size_t)w;
    }
    if (close(fd) != 0)
        return kiln_diag_set(d, KILN_STATUS_IO, NULL, NULL, "%s: cannot write: %s", f->path,
                             strerror(errno));
    return KILN_STATUS_OK;
}

static int valid_name(const char *s)
{
    static const char *const keywords[] = {
        "auto", "break", "case", "char", "const", "continue", "default", "do", "double", "else",
        "enum", "extern", "float", "for", "goto", "if", "inline", "int", "long", "register",
        "restrict", "return", "short", "signed", "sizeof", "static", "struct", "switch",
        "typedef", "union", "unsigned", "void", "volatile", "while", "main",
    };
    size_t n = strlen(s);
    if (!n || n > MAX_NAME || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return 0;
    for (size_t i = 0; i < sizeof keywords / sizeof keywords[0]; i++)
        if (strcmp(s, keywords[i]) == 0)
            return 0;
    return strncmp(s, "kiln", 4) != 0 && strncmp(s, "KILN", 4) != 0;
}

enum kiln_status kiln_emit_c(const struct kiln_compiled *c, const struct kiln_emit_c_options *o,
                             struct kiln_diag *d)
{
    if (!c || !o || !o->name || !o->out_dir)
        return kiln_diag_set(d, KILN_STATUS_INVALID_ARG, NULL, NULL,
                             "emit c: missing program, name or output directory");
    if (!valid_name(o->name))
        return kiln_diag_set(d, KILN_STATUS_INVALID_ARG, NULL, NULL,
                             "emit c: name '%s' is not usable as a C prefix: it must be a C "
                             "identifier of at most %d characters starting with a letter, not "
                             "a keyword, not main and not starting with kiln", o->name, MAX_NAME);
    struct stat st;
    if (stat(o->out_dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return kiln_diag_set(d, KILN_STATUS_INVALID_ARG, NULL, NULL,
                             "emit c: %s is not an existing directory", o->out_dir);
    struct plan *pl = calloc(1, sizeof *pl);
    if (!pl)
        return kiln_diag_set(d, KILN_STATUS_NO_MEMORY, NULL, NULL, "out of memory");
    pl->p = &c->prog;
    pl->name = o->name;
    pl->tmap = malloc(sizeof *pl->tmap * ((size_t)c->prog.n_tensors + 1));
    enum kiln_status rc = KILN_STATUS_OK;
    struct out_file *files = calloc(MAX_FILES + 8, sizeof *files);
    int nf = 0;
    struct sb b = {0};
    if (!pl->tmap || !files) {
        rc = kiln_diag_set(d, KILN_STATUS_NO_MEMORY, NULL, NULL, "out of memory");
        goto done;
    }
    memset(pl->tmap, 0xff, sizeof *pl->tmap * ((size_t)c->prog.n_tensors + 1));
    if ((rc = make_plan(pl, d)))
        goto done;

    char fname[MAX_NAME + 64];
#define COMMIT(...)                                                                            \
    do {                                                                                       \
        if (b.oom) {                                                                           \
            rc = kiln_diag_set(d, KILN_STATUS_NO_MEMORY, NULL, NULL, "out of memory");         \
            goto done;                                                                         \
        }                                                                                      \
        snprintf(fname, sizeof fname, __VA_ARGS__);                                            \
        if ((rc = write_tmp(&files[nf++], o->out_dir, fname, b.p, b.n, d)))                    \
            goto done;                                                                         \
        b.n = 0;                                                                               \
    } while (0)

    write_h(&b, pl, o);
    COMMIT("%s.h", o->name);
    struct tu t = {.name = o->name};
    write_rt_h(&b, &t, pl);
    if (t.failed) {
        rc = kiln_diag_set(d, KILN_STATUS_INTERNAL, NULL, NULL,
                           "emit c: runtime source %s is not embedded", t.missing);
        goto done;
    }
    COMMIT("%s_rt.h", o->name);
    for (int i = 0; i < pl->n_files; i++) {
        struct tu tk = {.name = o->name};
        write_kfile(&b, &tk, pl, &pl->files[i]);
        if (tk.failed) {
            rc = kiln_diag_set(d, KILN_STATUS_INTERNAL, NULL, NULL,
                               "emit c: runtime source %s is not embedded", tk.missing);
            goto done;
        }
        COMMIT("%s_k_%s.c", o->name, pl->files[i].base);
        /* support files: an inlined header with a .c of the same name (gemm_core.h ->
         * gemm_core.c) defines what the header declares */
        for (int j = 0; j < tk.n; j++) {
            char cfile[128];
            size_t hl = strlen(tk.inlined[j]);
            if (hl < 2 || strcmp(tk.inlined[j] + hl - 2, ".h") != 0)
                continue;
            snprintf(cfile, sizeof cfile, "%.*s.c", (int)(hl - 2), tk.inlined[j]);
            if (find_source(cfile) && !plan_file(pl, base_name(cfile))) {
                rc = kiln_diag_set(d, KILN_STATUS_INTERNAL, NULL, NULL, "emit c: too many files");
                goto done;
            }
        }
    }
    write_model_c(&b, pl, o);
    COMMIT("%s.c", o->name);
    if (o->weights == KILN_EMIT_WEIGHTS_C) {
        write_weights_c(&b, pl);
        COMMIT("%s_weights.c", o->name);
    } else {
        b.n = 0;
        snprintf(fname, sizeof fname, "%s.weights.bin", o->name);
        if ((rc = write_tmp(&files[nf++], o->out_dir, fname, c->prog.weights,
                            (size_t)c->prog.weights_size, d)))
            goto done;
    }
    write_cmake(&b, pl, o);
    COMMIT("%s.cmake", o->name);
    if (o->with_main) {
        write_main(&b, pl);
        COMMIT("%s_main.c", o->name);
    }
#undef COMMIT
    for (int i = 0; i < nf; i++)
        if (rename(files[i].tmp, files[i].path) != 0) {
            rc = kiln_diag_set(d, KILN_STATUS_IO, NULL, NULL, "%s: cannot rename into place: %s",
                               files[i].path, strerror(errno));
            for (int j = 0; j < i; j++) /* do not leave a partial set */
                unlink(files[j].path);
            break;
        } else {
            files[i].written = 0;
        }
done:
    for (int i = 0; files && i < nf; i++)
        if (files[i].written)
            unlink(files[i].tmp);
    free(files);
    free(b.p);
    if (pl)
        free(pl->tmap);
    free(pl);
    return rc;
}
