/* bench.c - the measuring half of `kiln bench`: parses configurations, resolves the inputs
 * (files or seeded random data), compiles each config at each batch size, times them
 * interleaved round by round, compares outputs with the baseline, evaluates top-1 accuracy,
 * profiles per op through the interpreter's node hook, measures peak resident memory in a
 * forked child and kernel code size from the executable's ELF symbol table. */
#define _DEFAULT_SOURCE /* wait4 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../runtime/kernels/gemm_core.h"
#include "bench.h"
#include "driver.h"
#include "npy.h"

/* ---- configurations ---- */

static const char known_features[] =
    "O0, O1, O2, O3, int8, fp16, prune:FRACTION, simd:portable|avx2|avx512";

/* The one place that says which features exist: they are parsed already so that a label
 * means the same once they land. */
static enum kiln_status check_available(const struct kiln_bench_config *c, struct kiln_diag *d)
{
    if (c->int8)
        return kiln_diag_set(d, KILN_STATUS_UNSUPPORTED, NULL, NULL,
                             "config '%s': int8 quantization is not implemented yet", c->label);
    if (c->fp16)
        return kiln_diag_set(d, KILN_STATUS_UNSUPPORTED, NULL, NULL,
                             "config '%s': fp16 conversion is not implemented yet", c->label);
    if (c->simd && !kiln_gemm_isa_supported((enum kiln_gemm_isa)(c->simd - 1)))
        return kiln_diag_set(d, KILN_STATUS_UNSUPPORTED, NULL, NULL,
                             "config '%s': this CPU (or this build of kiln) does not run the %s "
                             "GEMM kernels",
                             c->label, kiln_gemm_isa_name((enum kiln_gemm_isa)(c->simd - 1)));
    return KILN_STATUS_OK;
}

static enum kiln_status parse_feature(const char *f, size_t len, struct kiln_bench_config *c,
                                      bool *seen_level, struct kiln_diag *d)
{
    char tok[64];
    if (len == 0 || len >= sizeof tok)
        return kiln_diag_set(d, KILN_STATUS_INVALID_ARG, NULL, NULL,
                             "config '%s': empty or overlong feature (known: %s)", c->label,
                             known_features);
    memcpy(tok, f, len);
    tok[len] = '\0';
    bool dup = false;
    if (len == 2 && tok[0] == 'O' && tok[1] >= '0' && tok[1] <= '3') {
        dup = *seen_level;
        *seen_level = true;
        c->opt_level = tok[1] - '0';
    } else if (strcmp(tok, "int8") == 0) {
        dup = c->int8;
        c->int8 = true;
    } else if (strcmp(tok, "fp16") == 0) {
        dup = c->fp16;
        c->fp16 = true;
    } else if (strncmp(tok, "prune", 5) == 0 && (tok[5] == ':' || tok[5] == '\0')) {
        char *end;
        double v = tok[5] ? strtod(tok + 6, &end) : 0;
        if (!tok[5] || end == tok + 6 || *end || !(v > 0 && v < 1))
            return kiln_diag_set(d, KILN_STATUS_INVALID_ARG, NULL, NULL,
                                 "config '%s': prune needs a fraction between 0 and 1, e.g. "
                                 "prune:0.5",
                                 c->label);
        dup = c->prune > 0;
        c->prune = v;
    } else if (strncmp(tok, "simd:", 5) == 0) {
        int isa = kiln_gemm_isa_parse(tok + 5);
        if (isa < 0)
            return kiln_diag_set(d, KILN_STATUS_INVALID_ARG, NULL, NULL,
                                 "config '%s': simd: takes portable, avx2 or avx512", c->label);
        dup = c->simd != 0;
        c->simd = isa + 1;
    } else
        return kiln_diag_set(d, KILN_STATUS_INVALID_ARG, NULL, NULL,
                             "config '%s': unknown feature '%s' (known: %s)", c->label, tok,
                             known_features);
    if (dup)
        return kiln_diag_set(d, KILN_STATUS_INVALID_ARG, NULL, NULL,
                             "config '%s': '%s' given twice or with another -O level", c->label,
                             tok);
    return KILN_STATUS_OK;
}

enum kiln_status kiln_bench_parse_configs(const char *list, struct kiln_bench_config **out,
                                          size_t *n, struct kiln_diag *d)
{
    *out = NULL;
    *n = 0;
    if (!list || !list[0])
        return kiln_diag_set(d, KILN_STATUS_INVALID_ARG, NULL, NULL,
                             "empty config list (e.g. --configs O0,O2)");
    size_t cap = 1;
    for (const char *p = list; *p; p++)
        cap += *p == ',';
    struct kiln_bench_config *v = calloc(cap, sizeof *v);
    if (!v)
        return kiln_diag_set(d, KILN_STATUS_NO_MEMORY, NULL, NULL, "out of memory");
    enum kiln_status st = KILN_STATUS_OK;
    size_t k = 0;
    for (const char *p = list; !st; k++) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        struct kiln_bench_config *c = &v[k];
        if (len == 0 || len >= sizeof c->label) {
            st = kiln_diag_set(d, KILN_STATUS_INVALID_ARG, NULL, NULL,
                               "%s config label in '%s' (e.g. --configs O0,O2)",
                               len ? "overlong" : "empty", list);
            break;
        }
        memcpy(c->label, p, len);
        bool seen_level = false;
        for (const char *f = c->label; !st;) {
            const char *plus = strchr(f, '+');
            size_t fl = plus ? (size_t)(plus - f) : strlen(f);
            st = parse_feature(f, fl, c, &seen_level, d);
            if (!plus)
                break;
            f = plus + 1;
        }
        for (size_t j = 0; !st && j < k; j++)
            if (strcmp(v[j].label, c->label) == 0)
                st = kiln_diag_set(d, KILN_STATUS_INVALID_ARG, NULL, NULL,
                                   "config '%s' is given twice", c->label);
        if (!e)
            break;
        p = e + 1;
    }
    /* syntax first, so a typo is reported as such even next to a feature still to come */
    for (size_t j = 0; !st && j <= k && j < cap; j++)
        st = check_available(&v[j], d);
    if (st) {
        free(v);
        return st;
    }
    *out = v;
    *n = k + 1;
    return KILN_STATUS_OK;
}

/* ---- clock and statistics ---- */

uint64_t kiln_bench_clock_monotonic(void *user)
{
    (void)user;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double kiln_bench_percentile(const double *sorted, size_t n, double p)
{
    if (!n)
        return NAN;
    /* p * n / 100 is exact for the integer percentiles used here; the epsilon keeps a product
     * such as 90 * 10 / 100 at rank 9 */
    double x = ceil(p * (double)n / 100.0 - 1e-9);
    size_t rank = x < 1 ? 1 : x > (double)n ? n : (size_t)x;
    return sorted[rank - 1];
}

void kiln_bench_stats_compute(const double *samples, size_t n, struct kiln_bench_stats *s)
{
    memset(s, 0, sizeof *s);
    s->n = (uint32_t)n;
    double *v = n ? malloc(n * sizeof *v) : NULL;
    if (!v) {
        s->min = s->median = s->p90 = s->p99 = s->max = s->mean = NAN;
        return;
    }
    memcpy(v, samples, n * sizeof *v);
    qsort(v, n, sizeof *v, cmp_double);
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += v[i];
    s->min = v[0];
    s->max = v[n - 1];
    s->mean = sum / (double)n;
    s->median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    s->p90 = kiln_bench_percentile(v, n, 90);
    s->p99 = kiln_bench_percentile(v, n, 99);
    free(v);
}

enum kiln_status kiln_bench_time_interleaved(const struct kiln_bench_timer *t, size_t n_items,
                                             uint32_t warmup, uint32_t repeat,
                                             double *samples_ms)
{
    kiln_bench_clock_fn clock = t->clock ? t->clock : kiln_bench_clock_monotonic;
    uint32_t rounds = warmup + repeat;
    for (uint32_t r = 0; r < rounds; r++) {
        /* each round starts at another item so none always runs right after the same one */
        for (size_t j = 0; j < n_items; j++) {
            size_t item = (j + r) % n_items;
            uint64_t t0 = clock(t->clock_user);
            enum kiln_status st = t->run(t->user, item);
            uint64_t t1 = clock(t->clock_user);
            if (st)
                return st;
            if (r >= warmup)
                samples_ms[item * repeat + (r - warmup)] = (double)(t1 - t0) / 1e6;
        }
        if (t->progress)
            t->progress(t->progress_user, r + 1, rounds);
    }
    return KILN_STATUS_OK;
}

/* ---- output comparison ---- */

double kiln_bench_sqnr_db(const double *ref, const double *x, size_t n)
{
    double sig = 0, noise = 0;
    for (size_t i = 0; i < n; i++) {
        double e = ref[i] - x[i];
        sig += ref[i] * ref[i];
        noise += e * e;
    }
    if (isnan(noise))
        return NAN;
    if (noise == 0)
        return INFINITY;
    if (sig == 0)
        return -INFINITY;
    return 10.0 * log10(sig / noise);
}

double kiln_bench_max_abs_diff(const double *ref, const double *x, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs(ref[i] - x[i]);
        if (isnan(e) && !(isnan(ref[i]) && isnan(x[i])))
            return NAN;
        if (e > m)
            m = e;
    }
    return m;
}

size_t kiln_bench_argmax(const double *v, size_t n)
{
    size_t best = 0;
    bool have = false;
    for (size_t i = 0; i < n; i++)
        if (!isnan(v[i]) && (!have || v[i] > v[best])) {
            best = i;
            have = true;
        }
    return best;
}

bool kiln_bench_to_f64(const void *data, int dtype, size_t n, double *out)
{
    switch (dtype) {
#define WIDEN(E, T, expr)                                                                         \
    case KILN_DTYPE_##E: {                                                                        \
        const T *p = data;                                                                        \
        for (size_t i = 0; i < n; i++)                                                            \
            out[i] = (double)(expr);                                                              \
        return true;                                                                              \
    }
        WIDEN(F32, float, p[i])
        WIDEN(F64, double, p[i])
        WIDEN(F16, uint16_t, kiln_f16_to_f32(p[i]))
        WIDEN(BF16, uint16_t, kiln_bf16_to_f32(p[i]))
        WIDEN(I8, int8_t, p[i])
        WIDEN(U8, uint8_t, p[i])
        WIDEN(I16, int16_t, p[i])
        WIDEN(U16, uint16_t, p[i])
        WIDEN(I32, int32_t, p[i])
        WIDEN(U32, uint32_t, p[i])
        WIDEN(I64, int64_t, p[i])
        WIDEN(U64, uint64_t, p[i])
        WIDEN(BOOL, uint8_t, p[i] != 0)
#undef WIDEN
    default: return false;
    }
}

/* ---- code size from the ELF symbol table of /proc/self/exe ---- */

struct sym {
    uint64_t addr, size;
};

static int cmp_sym(const void *a, const void *b)
{
    const struct sym *x = a, *y = b;
    return (x->addr > y->addr) - (x->addr < y->addr);
}

static bool pread_all(int fd, void *buf, size_t len, uint64_t off)
{
    return pread(fd, buf, len, (off_t)off) == (ssize_t)len;
}

/* Function symbols sorted by address, relocated by the load bias; NULL when unavailable. */
static struct sym *read_function_symbols(size_t *n_out)
{
    *n_out = 0;
    int fd = open("/proc/self/exe", O_RDONLY);
    if (fd < 0)
        return NULL;
    struct sym *syms = NULL;
    Elf64_Shdr *sh = NULL;
    Elf64_Sym *st = NULL;
    char *str = NULL;
    Elf64_Ehdr eh;
    if (!pread_all(fd, &eh, sizeof eh, 0) || memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
        eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_shentsize != sizeof(Elf64_Shdr) ||
        eh.e_shnum == 0)
        goto out;
    if (!(sh = malloc((size_t)eh.e_shnum * sizeof *sh)) ||
        !pread_all(fd, sh, (size_t)eh.e_shnum * sizeof *sh, eh.e_shoff))
        goto out;
    const Elf64_Shdr *sym_sh = NULL;
    for (unsigned i = 0; i < eh.e_shnum; i++)
        if (sh[i].sh_type == SHT_SYMTAB && sh[i].sh_link < eh.e_shnum)
            sym_sh = &sh[i];
    if (!sym_sh || sym_sh->sh_entsize != sizeof(Elf64_Sym))
        goto out;
    const Elf64_Shdr *str_sh = &sh[sym_sh->sh_link];
    size_t nsym = sym_sh->sh_size / sizeof(Elf64_Sym);
    if (!(st = malloc(sym_sh->sh_size ? sym_sh->sh_size : 1)) ||
        !(str = malloc(str_sh->sh_size + 1)) ||
        !pread_all(fd, st, sym_sh->sh_size, sym_sh->sh_offset) ||
        !pread_all(fd, str, str_sh->sh_size, str_sh->sh_offset) ||
        !(syms = malloc((nsym ? nsym : 1) * sizeof *syms)))
        goto out;
    str[str_sh->sh_size] = '\0';
    /* the load bias of a position-independent executable, from a symbol we know */
    int64_t bias = 0;
    bool have_bias = false;
    size_t n = 0;
    for (size_t i = 0; i < nsym; i++) {
        if (ELF64_ST_TYPE(st[i].st_info) != STT_FUNC || !st[i].st_size)
            continue;
        if (st[i].st_name < str_sh->sh_size &&
            strcmp(str + st[i].st_name, "kiln_bench_function_sizes") == 0) {
            bias = (int64_t)((uintptr_t)kiln_bench_function_sizes - st[i].st_value);
            have_bias = true;
        }
        syms[n++] = (struct sym){st[i].st_value, st[i].st_size};
    }
    if (!have_bias) {
        free(syms);
        syms = NULL;
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        syms[i].addr += (uint64_t)bias;
    qsort(syms, n, sizeof *syms, cmp_sym);
    *n_out = n;
out:
    free(sh);
    free(st);
    free(str);
    close(fd);
    return syms;
}

void kiln_bench_function_sizes(const uintptr_t *addr, size_t n, int64_t *sizes)
{
    size_t ns;
    struct sym *syms = read_function_symbols(&ns);
    for (size_t i = 0; i < n; i++) {
        sizes[i] = -1;
        size_t lo = 0, hi = ns;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (syms[mid].addr < addr[i])
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo < ns && syms[lo].addr == addr[i])
            sizes[i] = (int64_t)syms[lo].size;
    }
    free(syms);
}

/* Sum of the sizes of the distinct kernel functions; -1 if any is unknown. */
static int64_t kernels_code_size(const uintptr_t *fns, size_t n)
{
    int64_t *sz = malloc((n ? n : 1) * sizeof *sz);
    if (!sz)
        return -1;
    kiln_bench_function_sizes(fns, n, sz);
    int64_t sum = 0;
    for (size_t i = 0; i < n && sum >= 0; i++)
        sum = sz[i] < 0 ? -1 : sum + sz[i];
    free(sz);
    return sum;
}

static size_t add_unique(uintptr_t *v, size_t n, uintptr_t f)
{
    for (size_t i = 0; i < n; i++)
        if (v[i] == f)
            return n;
    v[n] = f;
    return n + 1;
}

static int64_t program_code_size(const struct kiln_program *p)
{
    uint32_t nn = p->n_nodes + p->n_block_nodes;
    uintptr_t *fns = malloc((nn ? nn : 1) * sizeof *fns);
    if (!fns)
        return -1;
    size_t n = 0;
    for (uint32_t i = 0; i < nn; i++) {
        const struct kiln_kernel *k = kiln_rt_kernel(p->nodes[i].op, p->nodes[i].variant);
        if (k)
            n = add_unique(fns, n, (uintptr_t)k->fn);
    }
    int64_t s = kernels_code_size(fns, n);
    free(fns);
    return s;
}

static int64_t all_kernels_code_size(void)
{
    size_t cap = 0;
    for (uint32_t op = 0; op < KILN_OP_COUNT; op++)
        cap += kiln_rt_kernel_count(op);
    uintptr_t *fns = malloc((cap ? cap : 1) * sizeof *fns);
    if (!fns)
        return -1;
    size_t n = 0;
    for (uint32_t op = 0; op < KILN_OP_COUNT; op++)
        for (uint32_t v = 0; v < kiln_rt_kernel_count(op); v++)
            n = add_unique(fns, n, (uintptr_t)kiln_rt_kernel(op, v)->fn);
    int64_t s = kernels_code_size(fns, n);
    free(fns);
    return s;
}

/* ---- profiling through the node hook ---- */

#define PROF_DEPTH 32

struct prof {
    const struct kiln_program *p;
    kiln_bench_clock_fn clock;
    void *clock_user;
    uint64_t t0;
    uint64_t start[PROF_DEPTH];
    int depth;
    struct kiln_bench_event *ev;
    size_t n, cap;
    double *op_ms;
};

static void prof_hook(void *user, uint32_t ni, int after)
{
    struct prof *f = user;
    uint64_t now = f->clock(f->clock_user);
    if (!after) {
        if (f->depth < PROF_DEPTH)
            f->start[f->depth] = now;
        f->depth++;
        return;
    }
    if (--f->depth >= PROF_DEPTH)
        return;
    uint64_t t = f->start[f->depth];
    const struct kiln_node_desc *nd = &f->p->nodes[ni];
    if (f->op_ms && ni < f->p->n_nodes)
        f->op_ms[nd->op] += (double)(now - t) / 1e6;
    if (f->n < f->cap) {
        struct kiln_bench_event *e = &f->ev[f->n++];
        snprintf(e->name, sizeof e->name, "%s", kiln_prog_str(f->p, nd->name));
        e->op = kiln_op_name(nd->op);
        e->ts_us = (double)(t - f->t0) / 1e3;
        e->dur_us = (double)(now - t) / 1e3;
    }
}

enum kiln_status kiln_bench_profile_run(const struct kiln_program *p, void *arena,
                                        const void *const inputs[], void *const outputs[],
                                        kiln_bench_clock_fn clock, void *clock_user,
                                        size_t cap, struct kiln_bench_event **events, size_t *n,
                                        double *op_ms, double *total_ms)
{
    struct prof f = {.p = p, .clock = clock ? clock : kiln_bench_clock_monotonic,
                     .clock_user = clock_user, .cap = cap, .op_ms = op_ms};
    *events = NULL;
    *n = 0;
    if (cap && !(f.ev = malloc(cap * sizeof *f.ev)))
        return KILN_STATUS_NO_MEMORY;
    f.t0 = f.clock(f.clock_user);
    enum kiln_status st = kiln_run_hooked(p, arena, inputs, outputs, prof_hook, &f);
    uint64_t t1 = f.clock(f.clock_user);
    if (total_ms)
        *total_ms = (double)(t1 - f.t0) / 1e6;
    if (st) {
        free(f.ev);
        return st;
    }
    *events = f.ev;
    *n = f.n;
    return KILN_STATUS_OK;
}

/* ---- the benchmark ---- */

/* An input as the benchmark feeds it: its resolved shape at the model's own batch. */
struct in_info {
    const char *name; /* in the reference graph */
    int dtype, rank;
    int64_t dims[KILN_MAX_RANK];
    bool batch_symbolic; /* dim 0 is symbolic in the model */
    struct kiln_host_tensor file; /* data is NULL: random */
    double lo, hi;
};

/* A compiled config at one batch size, ready to run. */
struct inst {
    struct kiln_compiled *c;
    int simd; /* its config's GEMM variant + 1, 0: the process default */
    void *arena;
    void **outs;
    const void **ins;
    bool ok;
};

struct ctx {
    const struct kiln_bench_options *o;
    struct kiln_ir_graph *ref; /* the model as loaded with the user's shapes */
    struct in_info *in;
    uint32_t n_in;
    bool resizable;
    int64_t base_batch;
    kiln_bench_clock_fn clock;
    enum kiln_gemm_isa default_isa; /* what configs without simd: run */
    /* per batch size: the inputs, and per config x batch the instances */
    struct kiln_host_tensor *data; /* [n_batches][n_in] */
    struct inst *inst;             /* [n_configs][n_batches] */
    size_t n_batches;
    struct kiln_threads *threads; /* o->threads > 1: the pool every timed run uses */
};

static void progress(const struct ctx *x, const char *phase, uint32_t done, uint32_t total)
{
    if (x->o->progress)
        x->o->progress(x->o->progress_user, phase, done, total);
}

/* A diag error with a message built here. */
static enum kiln_status fail(struct kiln_diag *d, enum kiln_status st, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static enum kiln_status fail(struct kiln_diag *d, enum kiln_status st, const char *fmt, ...)
{
    if (d->status)
        return d->status;
    d->status = st;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->message, sizeof d->message, fmt, ap);
    va_end(ap);
    return st;
}

static int64_t numel(int rank, const int64_t *dims)
{
    int64_t n = 1;
    for (int i = 0; i < rank; i++)
        n *= dims[i];
    return n;
}

/* Binds the --input files to the model's inputs (kiln_inputs_bind); their shapes fix the
 * model's symbolic dims. Inputs without a file are drawn at random. */
static enum kiln_status read_input_files(struct ctx *x, struct kiln_diag *d)
{
    const struct kiln_bench_options *o = x->o;
    struct kiln_input_desc *desc = calloc(x->n_in + 1, sizeof *desc);
    if (!desc)
        return fail(d, KILN_STATUS_NO_MEMORY, "out of memory");
    for (uint32_t i = 0; i < x->n_in; i++)
        kiln_input_desc_from_value(x->ref->inputs[i], &desc[i]);
    struct kiln_bound_inputs b;
    enum kiln_status st = kiln_inputs_bind(desc, x->n_in, o->inputs, o->n_inputs, false, &b, d);
    free(desc);
    if (st)
        return st;
    for (uint32_t i = 0; i < x->n_in; i++) {
        struct in_info *in = &x->in[i];
        if (!b.tensors[i].data)
            continue;
        in->file = b.tensors[i]; /* taken over */
        memset(&b.tensors[i], 0, sizeof b.tensors[i]);
        memcpy(in->dims, in->file.dims, sizeof in->dims);
    }
    kiln_bound_inputs_free(&b);
    return KILN_STATUS_OK;
}

static enum kiln_status ctx_init(struct ctx *x, const struct kiln_bench_options *o,
                                 double *import_ms, struct kiln_diag *d)
{
    memset(x, 0, sizeof *x);
    x->o = o;
    x->clock = o->clock ? o->clock : kiln_bench_clock_monotonic;
    x->default_isa = kiln_gemm_isa_active();
    if (o->threads > 1 && kiln_threads_create((int)o->threads, &x->threads))
        return fail(d, KILN_STATUS_NO_MEMORY, "cannot start %u threads", o->threads);
    struct kiln_import_options io = {o->shapes, o->n_shapes, NULL, 0, 0};
    uint64_t t0 = x->clock(o->clock_user);
    if (kiln_onnx_load(o->model, &io, &x->ref, d))
        return d->status;
    if (import_ms)
        *import_ms = (double)(x->clock(o->clock_user) - t0) / 1e6;
    x->n_in = x->ref->n_inputs;
    if (!(x->in = calloc(x->n_in + 1, sizeof *x->in)))
        return fail(d, KILN_STATUS_NO_MEMORY, "out of memory");
    x->resizable = true;
    for (uint32_t i = 0; i < x->n_in; i++) {
        const struct kiln_ir_value *v = x->ref->inputs[i];
        struct in_info *in = &x->in[i];
        in->name = v->name;
        in->dtype = v->dtype;
        in->rank = v->rank;
        memcpy(in->dims, v->dims, sizeof in->dims);
        if (v->rank < 0)
            return fail(d, KILN_STATUS_UNSUPPORTED, "input '%s' has no shape; give it with "
                        "--input-shape %s=...", v->name, v->name);
        in->batch_symbolic = v->rank > 0 && (v->dim_param[0] || v->dims[0] < 0);
        if (v->rank > 0 && !in->batch_symbolic)
            x->resizable = false;
        bool is_int = !kiln_dtype_is_float(v->dtype) && v->dtype != KILN_DTYPE_BOOL;
        in->lo = is_int ? 0 : -1;
        in->hi = is_int ? 100 : 1;
        for (size_t k = 0; k < o->n_ranges; k++)
            if (!o->ranges[k].name || strcmp(o->ranges[k].name, v->name) == 0) {
                in->lo = o->ranges[k].lo;
                in->hi = o->ranges[k].hi;
            }
        if (kiln_dtype_size(v->dtype) == 0)
            return fail(d, KILN_STATUS_UNSUPPORTED, "input '%s' has element type %s, which "
                        "kiln bench cannot feed", v->name, kiln_dtype_name(v->dtype));
    }
    for (size_t k = 0; k < o->n_ranges; k++) {
        bool found = !o->ranges[k].name;
        for (uint32_t i = 0; !found && i < x->n_in; i++)
            found = strcmp(o->ranges[k].name, x->in[i].name) == 0;
        if (!found)
            return fail(d, KILN_STATUS_INVALID_ARG, "--input-range names '%s', which is not an "
                        "input of the model", o->ranges[k].name);
    }
    if (read_input_files(x, d))
        return d->status;
    bool any_rank = false;
    for (uint32_t i = 0; i < x->n_in; i++) {
        struct in_info *in = &x->in[i];
        if (in->rank > 0 && in->dims[0] < 0)
            in->dims[0] = 1; /* a symbolic batch without a file or shape: batch 1 */
        for (int k = 0; k < in->rank; k++)
            if (in->dims[k] < 0) {
                char t[256];
                kiln_ir_value_type_str(x->ref->inputs[i], t, sizeof t);
                return fail(d, KILN_STATUS_UNSUPPORTED, "input '%s' (%s) has symbolic dimension "
                            "%d; fix it with --input-shape %s=... or an --input file",
                            in->name, t, k, in->name);
            }
        if (in->rank > 0 && !any_rank) {
            x->base_batch = in->dims[0];
            any_rank = true;
        }
    }
    if (!any_rank) {
        x->base_batch = 1;
        x->resizable = false;
    }
    for (uint32_t i = 0; i < x->n_in; i++)
        if (x->in[i].rank > 0 && x->in[i].dims[0] != x->base_batch)
            x->resizable = false; /* inputs disagree on dim 0: it is not a batch axis */
    return KILN_STATUS_OK;
}

/* splitmix64: small, seedable, the same stream on every platform */
static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double rng_uniform(uint64_t *s)
{
    return (double)(rng_next(s) >> 11) * (1.0 / 9007199254740992.0);
}

static void store_number(void *data, int dtype, size_t i, double v)
{
    switch (dtype) {
#define STORE(E, T, lo, hi)                                                                       \
    case KILN_DTYPE_##E: {                                                                        \
        double c = v < (double)(lo) ? (double)(lo) : v > (double)(hi) ? (double)(hi) : v;         \
        ((T *)data)[i] = (T)c;                                                                    \
        break;                                                                                    \
    }
        STORE(I8, int8_t, INT8_MIN, INT8_MAX)
        STORE(U8, uint8_t, 0, UINT8_MAX)
        STORE(I16, int16_t, INT16_MIN, INT16_MAX)
        STORE(U16, uint16_t, 0, UINT16_MAX)
        STORE(I32, int32_t, INT32_MIN, INT32_MAX)
        STORE(U32, uint32_t, 0, UINT32_MAX)
        STORE(I64, int64_t, -9.2e18, 9.2e18)
        STORE(U64, uint64_t, 0, 1.8e19)
#undef STORE
    case KILN_DTYPE_F32: ((float *)data)[i] = (float)v; break;
    case KILN_DTYPE_F64: ((double *)data)[i] = v; break;
    case KILN_DTYPE_F16: ((uint16_t *)data)[i] = kiln_f32_to_f16((float)v); break;
    case KILN_DTYPE_BF16: ((uint16_t *)data)[i] = kiln_f32_to_bf16((float)v); break;
    case KILN_DTYPE_BOOL: ((uint8_t *)data)[i] = v != 0; break;
    default: break;
    }
}

/* Input i at batch b: the file's rows repeated along dim 0, or seeded random data (the same
 * stream for every batch size, so batch 8 starts with the batch-1 sample). */
static enum kiln_status make_input(const struct ctx *x, uint32_t i, int64_t b,
                                   struct kiln_host_tensor *t, struct kiln_diag *d)
{
    const struct in_info *in = &x->in[i];
    memset(t, 0, sizeof *t);
    t->dtype = in->dtype;
    t->rank = in->rank;
    memcpy(t->dims, in->dims, sizeof t->dims);
    if (in->rank > 0)
        t->dims[0] = b;
    size_t esz = kiln_dtype_size(in->dtype);
    int64_t n = numel(t->rank, t->dims);
    t->nbytes = (uint64_t)n * esz;
    if (!(t->data = malloc(t->nbytes ? t->nbytes : 1)))
        return fail(d, KILN_STATUS_NO_MEMORY, "out of memory for input '%s' (%llu bytes)",
                    in->name, (unsigned long long)t->nbytes);
    if (in->file.data) {
        uint64_t fsz = in->file.nbytes;
        for (uint64_t off = 0; fsz && off < t->nbytes; off += fsz)
            memcpy((uint8_t *)t->data + off, in->file.data,
                   t->nbytes - off < fsz ? t->nbytes - off : fsz);
        return KILN_STATUS_OK;
    }
    uint64_t s = x->o->seed * 0x100000001B3ull + i + 1;
    bool is_int = !kiln_dtype_is_float(in->dtype);
    for (int64_t k = 0; k < n; k++) {
        double u = rng_uniform(&s);
        double v = in->dtype == KILN_DTYPE_BOOL ? (u < 0.5)
                   : is_int ? floor(in->lo + (in->hi - in->lo) * u)
                            : in->lo + (in->hi - in->lo) * u;
        store_number(t->data, in->dtype, (size_t)k, v);
    }
    return KILN_STATUS_OK;
}

/* The float32 GEMM variant of a config (simd: feature) for what runs next, compile-time
 * folding included; configs without it run the process default (KILN_SIMD or the best). */
static void use_simd(const struct ctx *x, int simd)
{
    kiln_gemm_isa_select(simd ? (enum kiln_gemm_isa)(simd - 1) : x->default_isa);
}

/* Imports the model with every input fixed at batch b, then infer + optimize + lower (the
 * compile time) into s->c. */
static enum kiln_status compile_at(const struct ctx *x, const struct kiln_bench_config *cfg,
                                   int64_t b, struct inst *s, double *ms, struct kiln_diag *d)
{
    struct kiln_compiled **out = &s->c;
    s->simd = cfg->simd;
    use_simd(x, cfg->simd);
    struct kiln_input_shape *sh = calloc(x->n_in + 1, sizeof *sh);
    if (!sh)
        return fail(d, KILN_STATUS_NO_MEMORY, "out of memory");
    for (uint32_t i = 0; i < x->n_in; i++) {
        snprintf(sh[i].name, sizeof sh[i].name, "%s", x->in[i].name);
        sh[i].rank = x->in[i].rank;
        memcpy(sh[i].dims, x->in[i].dims, sizeof sh[i].dims);
        if (sh[i].rank > 0 && x->resizable)
            sh[i].dims[0] = b;
    }
    struct kiln_import_options io = {sh, x->n_in, NULL, 0, 0};
    struct kiln_compile_options co = {.model = x->o->model, .level = cfg->opt_level};
    struct kiln_prune_options po = {.mode = KILN_PRUNE_CHANNELS, .ratio = cfg->prune, .norm = 1};
    if (cfg->prune > 0) /* prune:R is `kiln compile --prune channels:R` */
        co.prune = &po;
    enum kiln_status st = kiln_onnx_load(x->o->model, &io, &co.graph, d);
    free(sh);
    if (st)
        return st;
    /* the import is not compile time: loaded first, then the driver takes the graph */
    uint64_t t0 = x->clock(x->o->clock_user);
    st = kiln_compile_model(&co, NULL, out, d);
    uint64_t t1 = x->clock(x->o->clock_user);
    if (ms)
        *ms = (double)(t1 - t0) / 1e6;
    return st;
}

static void inst_free(struct inst *s)
{
    if (s->c)
        for (uint32_t k = 0; s->outs && k < s->c->prog.n_outputs; k++)
            free(s->outs[k]);
    free(s->outs);
    free(s->ins);
    free(s->arena);
    kiln_compiled_free(s->c);
    memset(s, 0, sizeof *s);
}

/* Buffers for a compiled program fed with the host tensors in. */
static enum kiln_status inst_prepare(struct inst *s, const struct kiln_host_tensor *in,
                                     uint32_t n_in, struct kiln_diag *d)
{
    const struct kiln_program *p = &s->c->prog;
    if (p->n_inputs != n_in)
        return fail(d, KILN_STATUS_INTERNAL, "internal error: %u program inputs for %u model "
                    "inputs", p->n_inputs, n_in);
    uint64_t asz = (p->arena_size + KILN_ARENA_ALIGN - 1) / KILN_ARENA_ALIGN * KILN_ARENA_ALIGN;
    s->arena = aligned_alloc(KILN_ARENA_ALIGN, asz ? asz : KILN_ARENA_ALIGN);
    s->outs = calloc(p->n_outputs + 1, sizeof *s->outs);
    s->ins = calloc(n_in + 1, sizeof *s->ins);
    if (!s->arena || !s->outs || !s->ins)
        return fail(d, KILN_STATUS_NO_MEMORY, "out of memory for the arena (%llu bytes)",
                    (unsigned long long)p->arena_size);
    for (uint32_t i = 0; i < n_in; i++) {
        if (p->tensors[p->inputs[i]].nbytes != in[i].nbytes)
            return fail(d, KILN_STATUS_INTERNAL, "internal error: input %u size mismatch", i);
        s->ins[i] = in[i].data;
    }
    for (uint32_t k = 0; k < p->n_outputs; k++) {
        uint64_t nb = p->tensors[p->outputs[k]].nbytes;
        if (!(s->outs[k] = calloc(1, nb ? nb : 1)))
            return fail(d, KILN_STATUS_NO_MEMORY, "out of memory for output %u", k);
    }
    s->ok = true;
    return KILN_STATUS_OK;
}

static enum kiln_status inst_run(const struct ctx *x, const struct inst *s)
{
    use_simd(x, s->simd);
    struct kiln_run_opts opts = {x->threads, NULL, NULL};
    return kiln_run_opts(&s->c->prog, s->arena, s->ins, s->outs, &opts);
}

static void ctx_free(struct ctx *x)
{
    const struct kiln_bench_options *o = x->o;
    if (x->inst)
        for (size_t i = 0; i < o->n_configs * x->n_batches; i++)
            inst_free(&x->inst[i]);
    free(x->inst);
    if (x->data)
        for (size_t i = 0; i < x->n_batches * x->n_in; i++)
            kiln_host_tensor_free(&x->data[i]);
    free(x->data);
    for (uint32_t i = 0; x->in && i < x->n_in; i++)
        kiln_host_tensor_free(&x->in[i].file);
    free(x->in);
    kiln_ir_graph_free(x->ref);
    kiln_threads_destroy(x->threads);
    memset(x, 0, sizeof *x);
}

/* The child of the peak-memory measurement: everything a one-off run of the config does. */
static int rss_child(const struct kiln_bench_options *o, const struct kiln_bench_config *cfg)
{
    struct ctx x;
    struct kiln_diag d;
    kiln_diag_clear(&d);
    int64_t b0 = 0;
    struct kiln_host_tensor *in = NULL;
    struct inst s = {0};
    int rc = 1;
    if (ctx_init(&x, o, NULL, &d))
        goto out;
    b0 = o->n_batches && x.resizable ? o->batches[0] : x.base_batch;
    if (!(in = calloc(x.n_in + 1, sizeof *in)))
        goto out;
    for (uint32_t i = 0; i < x.n_in; i++)
        if (make_input(&x, i, b0, &in[i], &d))
            goto out;
    if (compile_at(&x, cfg, b0, &s, NULL, &d) || inst_prepare(&s, in, x.n_in, &d) ||
        inst_run(&x, &s))
        goto out;
    rc = 0;
out:
    inst_free(&s);
    for (uint32_t i = 0; in && i < x.n_in; i++)
        kiln_host_tensor_free(&in[i]);
    free(in);
    ctx_free(&x);
    return rc;
}

static int64_t peak_rss(const struct kiln_bench_options *o, const struct kiln_bench_config *cfg)
{
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0)
        _exit(rss_child(o, cfg));
    int ws = 0;
    struct rusage ru;
    memset(&ru, 0, sizeof ru);
    while (wait4(pid, &ws, 0, &ru) < 0)
        if (errno != EINTR)
            return -1;
    if (!WIFEXITED(ws) || WEXITSTATUS(ws) != 0)
        return -1;
    return (int64_t)ru.ru_maxrss * 1024; /* Linux reports kilobytes */
}

/* --repeat's default: as many timed rounds as fit the budget, within [MIN, MAX] */
#define AUTO_BUDGET_MS 3000.0
#define AUTO_MIN_RUNS 5u
#define AUTO_MAX_RUNS 50u

struct timed {
    struct ctx *x;
    size_t *idx; /* item -> instance index */
};

static enum kiln_status timed_run(void *user, size_t item)
{
    struct timed *t = user;
    return inst_run(t->x, &t->x->inst[t->idx[item]]);
}

static void timed_progress(void *user, uint32_t round, uint32_t rounds)
{
    progress(((struct timed *)user)->x, "timing", round, rounds);
}

/* Score rows of an output: [K] is one row, [N,K] N rows; others are not score vectors. */
static bool score_rows(const struct kiln_tensor_desc *t, int64_t *rows, int64_t *k)
{
    if (t->rank == 1 && t->dims[0] > 1) {
        *rows = 1;
        *k = t->dims[0];
        return true;
    }
    if (t->rank == 2 && t->dims[1] > 1) {
        *rows = t->dims[0];
        *k = t->dims[1];
        return true;
    }
    return false;
}

static enum kiln_status compare_outputs(struct ctx *x, struct kiln_bench_result *r,
                                        struct kiln_diag *d)
{
    const struct inst *base = &x->inst[0];
    const struct kiln_program *bp = &base->c->prog;
    r->n_outputs = bp->n_outputs;
    for (size_t c = 0; c < r->n_rows; c++) {
        struct kiln_bench_row *row = &r->rows[c];
        const struct inst *s = &x->inst[c * x->n_batches];
        const struct kiln_program *p = &s->c->prog;
        if (!(row->diffs = calloc(bp->n_outputs + 1, sizeof *row->diffs)))
            return fail(d, KILN_STATUS_NO_MEMORY, "out of memory");
        row->max_abs = 0;
        row->sqnr_db = INFINITY;
        for (uint32_t k = 0; k < bp->n_outputs; k++) {
            const struct kiln_tensor_desc *bt = &bp->tensors[bp->outputs[k]];
            const struct kiln_tensor_desc *t = &p->tensors[p->outputs[k]];
            struct kiln_bench_output_diff *df = &row->diffs[k];
            snprintf(df->name, sizeof df->name, "%s", kiln_prog_str(bp, bt->name));
            int64_t n = numel(bt->rank, bt->dims);
            if (t->rank != bt->rank || numel(t->rank, t->dims) != n)
                return fail(d, KILN_STATUS_INTERNAL, "config '%s': output '%s' has another "
                            "shape than in the baseline", row->cfg.label, df->name);
            double *a = malloc((size_t)(n ? n : 1) * sizeof *a);
            double *b = malloc((size_t)(n ? n : 1) * sizeof *b);
            if (!a || !b) {
                free(a), free(b);
                return fail(d, KILN_STATUS_NO_MEMORY, "out of memory");
            }
            bool ok = kiln_bench_to_f64(base->outs[k], bt->dtype, (size_t)n, a) &&
                      kiln_bench_to_f64(s->outs[k], t->dtype, (size_t)n, b);
            df->max_abs = ok ? kiln_bench_max_abs_diff(a, b, (size_t)n) : NAN;
            df->sqnr_db = ok ? kiln_bench_sqnr_db(a, b, (size_t)n) : NAN;
            int64_t rows, kk;
            if (ok && score_rows(bt, &rows, &kk))
                for (int64_t j = 0; j < rows; j++) {
                    df->top1_total++;
                    df->top1_same += kiln_bench_argmax(a + j * kk, (size_t)kk) ==
                                     kiln_bench_argmax(b + j * kk, (size_t)kk);
                }
            free(a), free(b);
            if (!(df->max_abs <= row->max_abs))
                row->max_abs = df->max_abs; /* NaN sticks */
            if (!(df->sqnr_db >= row->sqnr_db))
                row->sqnr_db = df->sqnr_db;
            row->top1_same += df->top1_same;
            row->top1_total += df->top1_total;
        }
    }
    return KILN_STATUS_OK;
}

/* --eval X.npy Y.npy: top-1 accuracy of output 0, one image at a time (or the model's fixed
 * batch at a time, the last chunk padded); agreement with the baseline over the same set. */
static enum kiln_status evaluate(struct ctx *x, struct kiln_bench_result *r, struct kiln_diag *d)
{
    const struct kiln_bench_options *o = x->o;
    struct kiln_host_tensor X = {0}, Y = {0}, in = {0};
    int64_t *pred = NULL, *base_pred = NULL;
    double *scores = NULL, *labels = NULL;
    struct inst s = {0};
    enum kiln_status st = KILN_STATUS_OK;
    if (x->n_in != 1) {
        st = fail(d, KILN_STATUS_INVALID_ARG, "--eval needs a model with one input; this one "
                  "has %u", x->n_in);
        goto out;
    }
    const struct in_info *mi = &x->in[0];
    if ((st = kiln_npy_read(o->eval_x, &X, d)) || (st = kiln_npy_read(o->eval_y, &Y, d)))
        goto out;
    bool shape_ok = X.dtype == mi->dtype && X.rank == mi->rank && mi->rank > 0;
    for (int k = 1; shape_ok && k < mi->rank; k++)
        shape_ok = X.dims[k] == mi->dims[k];
    if (!shape_ok) {
        char want[256], got[256];
        kiln_tensor_type_str(mi->dtype, mi->rank, mi->dims, want, sizeof want);
        kiln_tensor_type_str(X.dtype, X.rank, X.dims, got, sizeof got);
        st = fail(d, KILN_STATUS_INVALID_ARG, "%s: --eval images must be the model's input "
                  "stacked along dim 0 (input '%s' %s), the file holds %s", o->eval_x,
                  mi->name, want, got);
        goto out;
    }
    int64_t m = X.dims[0];
    if (Y.rank != 1 || Y.dims[0] != m || kiln_dtype_is_float(Y.dtype) ||
        Y.dtype == KILN_DTYPE_BOOL) {
        char got[256];
        kiln_tensor_type_str(Y.dtype, Y.rank, Y.dims, got, sizeof got);
        st = fail(d, KILN_STATUS_INVALID_ARG, "%s: --eval labels must be integers [%lld], "
                  "one per image; the file holds %s", o->eval_y, (long long)m, got);
        goto out;
    }
    int64_t eb = x->resizable ? 1 : mi->dims[0];
    size_t row_bytes = (size_t)(X.nbytes / (uint64_t)(m ? m : 1));
    if ((st = make_input(x, 0, eb, &in, d)))
        goto out;
    pred = calloc((size_t)m + 1, sizeof *pred);
    base_pred = calloc((size_t)m + 1, sizeof *base_pred);
    labels = calloc((size_t)m + 1, sizeof *labels);
    if (!pred || !base_pred || !labels ||
        !kiln_bench_to_f64(Y.data, Y.dtype, (size_t)m, labels)) {
        st = fail(d, KILN_STATUS_NO_MEMORY, "out of memory");
        goto out;
    }
    for (size_t c = 0; c < r->n_rows; c++) {
        struct kiln_bench_row *row = &r->rows[c];
        progress(x, "eval", (uint32_t)c, (uint32_t)r->n_rows);
        if ((st = compile_at(x, &row->cfg, eb, &s, NULL, d)) ||
            (st = inst_prepare(&s, &in, 1, d)))
            goto out;
        const struct kiln_program *p = &s.c->prog;
        const struct kiln_tensor_desc *ot = &p->tensors[p->outputs[0]];
        int64_t per = numel(ot->rank, ot->dims) / (eb ? eb : 1);
        free(scores);
        if (!(scores = malloc((size_t)(per * eb + 1) * sizeof *scores))) {
            st = fail(d, KILN_STATUS_NO_MEMORY, "out of memory");
            goto out;
        }
        for (int64_t j = 0; j < m; j += eb) {
            for (int64_t e = 0; e < eb; e++) {
                int64_t src = j + e < m ? j + e : m - 1; /* pad the last chunk */
                memcpy((uint8_t *)in.data + (size_t)e * row_bytes,
                       (uint8_t *)X.data + (size_t)src * row_bytes, row_bytes);
            }
            if ((st = inst_run(x, &s)) ||
                !kiln_bench_to_f64(s.outs[0], ot->dtype, (size_t)(per * eb), scores)) {
                st = fail(d, st ? st : KILN_STATUS_UNSUPPORTED, "config '%s': --eval: output "
                          "0 cannot be read as scores", row->cfg.label);
                goto out;
            }
            for (int64_t e = 0; e < eb && j + e < m; e++)
                pred[j + e] = (int64_t)kiln_bench_argmax(scores + e * per, (size_t)per);
        }
        row->eval_total = m;
        row->eval_correct = 0;
        for (int64_t j = 0; j < m; j++)
            row->eval_correct += (double)pred[j] == labels[j];
        if (c == 0)
            memcpy(base_pred, pred, (size_t)m * sizeof *pred);
        /* agreement over the whole set replaces the single-sample one */
        row->top1_total = m;
        row->top1_same = 0;
        for (int64_t j = 0; j < m; j++)
            row->top1_same += pred[j] == base_pred[j];
        inst_free(&s);
    }
out:
    inst_free(&s);
    kiln_host_tensor_free(&X);
    kiln_host_tensor_free(&Y);
    kiln_host_tensor_free(&in);
    free(pred), free(base_pred), free(scores), free(labels);
    return st;
}

static int cmp_op_acc(const void *a, const void *b)
{
    const struct kiln_bench_op_time *x = a, *y = b;
    return (x->ms < y->ms) - (x->ms > y->ms);
}

static double median_of(double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Per-op time: the median over the profiled runs of each op's sum, so one run hit by noise
 * does not move the breakdown; the events of the last run feed the trace. */
static enum kiln_status profile_row(struct ctx *x, struct kiln_bench_row *row,
                                    const struct inst *s, struct kiln_diag *d)
{
    const struct kiln_bench_options *o = x->o;
    const struct kiln_program *p = &s->c->prog;
    uint32_t runs = o->profile_runs;
    double *op_ms = calloc((size_t)KILN_OP_COUNT * runs, sizeof *op_ms);
    double *col = calloc(runs, sizeof *col);
    uint32_t *nodes = calloc(KILN_OP_COUNT, sizeof *nodes);
    if (!op_ms || !col || !nodes) {
        free(op_ms), free(col), free(nodes);
        return fail(d, KILN_STATUS_NO_MEMORY, "out of memory");
    }
    size_t cap = 4 * ((size_t)p->n_nodes + p->n_block_nodes) + 64;
    if (cap > (1u << 20))
        cap = 1u << 20;
    enum kiln_status st = KILN_STATUS_OK;
    use_simd(x, s->simd);
    for (uint32_t k = 0; k < runs && !st; k++) {
        free(row->events);
        row->events = NULL;
        st = kiln_bench_profile_run(p, s->arena, s->ins, s->outs, o->clock, o->clock_user, cap,
                                    &row->events, &row->n_events,
                                    op_ms + (size_t)k * KILN_OP_COUNT, NULL);
    }
    for (uint32_t i = 0; i < p->n_nodes; i++)
        nodes[p->nodes[i].op]++;
    size_t n = 0;
    for (uint32_t op = 0; op < KILN_OP_COUNT; op++)
        n += nodes[op] > 0;
    if (!st && !(row->ops = calloc(n + 1, sizeof *row->ops)))
        st = fail(d, KILN_STATUS_NO_MEMORY, "out of memory");
    for (uint32_t op = 0; !st && op < KILN_OP_COUNT; op++) {
        if (!nodes[op])
            continue;
        for (uint32_t k = 0; k < runs; k++)
            col[k] = op_ms[(size_t)k * KILN_OP_COUNT + op];
        row->ops[row->n_ops++] =
            (struct kiln_bench_op_time){kiln_op_name(op), median_of(col, runs), nodes[op]};
    }
    if (!st)
        qsort(row->ops, row->n_ops, sizeof *row->ops, cmp_op_acc);
    free(op_ms), free(col), free(nodes);
    if (st && !d->status)
        fail(d, st, "profiling config '%s' failed: %s", row->cfg.label, kiln_status_name(st));
    return st;
}

/* Prefixes the diag's message with the config it is about. */
static enum kiln_status config_error(struct kiln_diag *d, const char *label)
{
    char m[sizeof d->message];
    snprintf(m, sizeof m, "config '%s': %s", label, d->message);
    snprintf(d->message, sizeof d->message, "%s", m);
    return d->status;
}

static enum kiln_status compile_all(struct ctx *x, struct kiln_bench_result *r,
                                    struct kiln_diag *d)
{
    const struct kiln_bench_options *o = x->o;
    size_t nb = x->n_batches, nc = o->n_configs;
    for (size_t bi = 0; bi < nb; bi++) {
        int64_t b = r->batches[bi];
        struct kiln_host_tensor *data = &x->data[bi * x->n_in];
        for (size_t c = 0; c < nc; c++) {
            struct kiln_bench_row *row = &r->rows[c];
            struct kiln_bench_batch_result *br = &row->batches[bi];
            br->batch = b;
            if (!x->resizable && b != x->base_batch) {
                char t[256];
                kiln_tensor_type_str(x->in[0].dtype, x->in[0].rank, x->in[0].dims, t, sizeof t);
                snprintf(br->note, sizeof br->note, "the model fixes the batch at %lld (input "
                         "'%s' %s)", (long long)x->base_batch, x->in[0].name, t);
                continue;
            }
            progress(x, "compiling", (uint32_t)(bi * nc + c), (uint32_t)(nb * nc));
            struct inst *s = &x->inst[c * nb + bi];
            struct kiln_diag cd;
            kiln_diag_clear(&cd);
            double ms = 0;
            enum kiln_status st = compile_at(x, &row->cfg, b, s, &ms, &cd);
            if (!st)
                st = inst_prepare(s, data, x->n_in, &cd);
            if (st && bi == 0) {
                *d = cd;
                return config_error(d, row->cfg.label);
            }
            if (st) { /* another batch size may not fit the model: a note, not a failure */
                snprintf(br->note, sizeof br->note, "%s", cd.message);
                inst_free(s);
                continue;
            }
            br->ok = true;
            if (bi == 0) {
                row->compile_ms = ms;
                row->n_nodes = s->c->prog.n_nodes;
                row->arena_bytes = s->c->prog.arena_size;
                row->weights_bytes = s->c->prog.weights_size;
                row->code_bytes = program_code_size(&s->c->prog);
            }
        }
    }
    return KILN_STATUS_OK;
}

static enum kiln_status time_all(struct ctx *x, struct kiln_bench_result *r,
                                 struct kiln_diag *d)
{
    const struct kiln_bench_options *o = x->o;
    size_t total = o->n_configs * x->n_batches, n = 0;
    size_t *idx = calloc(total + 1, sizeof *idx);
    double *samples = NULL;
    enum kiln_status st = KILN_STATUS_OK;
    if (!idx)
        st = fail(d, KILN_STATUS_NO_MEMORY, "out of memory");
    for (size_t i = 0; !st && i < total; i++)
        if (x->inst[i].ok)
            idx[n++] = i;
    struct timed tu = {x, idx};
    struct kiln_bench_timer t = {o->clock, o->clock_user, timed_run, &tu, timed_progress, &tu};
    uint32_t repeat = o->repeat;
    if (!st && !repeat) {
        /* auto: one more warm-up round, timed, says how many rounds fit the budget */
        uint64_t t0 = x->clock(o->clock_user);
        for (size_t j = 0; !st && j < n; j++)
            st = timed_run(&tu, j);
        double round_ms = (double)(x->clock(o->clock_user) - t0) / 1e6;
        repeat = round_ms * AUTO_MAX_RUNS <= AUTO_BUDGET_MS ? AUTO_MAX_RUNS
                 : round_ms * AUTO_MIN_RUNS >= AUTO_BUDGET_MS
                     ? AUTO_MIN_RUNS
                     : (uint32_t)(AUTO_BUDGET_MS / round_ms);
    }
    r->repeat = repeat;
    free(samples);
    if (!st && !(samples = calloc(total * repeat + 1, sizeof *samples)))
        st = fail(d, KILN_STATUS_NO_MEMORY, "out of memory");
    if (!st)
        st = kiln_bench_time_interleaved(&t, n, o->warmup, repeat, samples);
    if (st)
        fail(d, st, "the interpreter failed: %s", kiln_status_name(st));
    for (size_t j = 0; !st && j < n; j++) {
        size_t c = idx[j] / x->n_batches, bi = idx[j] % x->n_batches;
        struct kiln_bench_batch_result *br = &r->rows[c].batches[bi];
        kiln_bench_stats_compute(samples + j * repeat, repeat, &br->lat);
        br->items_per_s = br->lat.median > 0 ? (double)br->batch / (br->lat.median / 1e3) : 0;
    }
    free(idx);
    free(samples);
    return st;
}

enum kiln_status kiln_bench_run(const struct kiln_bench_options *o, struct kiln_bench_result *r,
                                struct kiln_diag *d)
{
    memset(r, 0, sizeof *r);
    snprintf(r->model, sizeof r->model, "%s", o->model);
    r->repeat = o->repeat;
    r->warmup = o->warmup;
    r->threads = o->threads > 1 ? o->threads : 1;
    r->seed = o->seed;
    r->profile_runs = o->profile_runs;
    if (!o->n_configs)
        return fail(d, KILN_STATUS_INVALID_ARG, "kiln_bench_run needs a config");
    if (!(r->rows = calloc(o->n_configs, sizeof *r->rows)))
        return fail(d, KILN_STATUS_NO_MEMORY, "out of memory");
    r->n_rows = o->n_configs;
    for (size_t c = 0; c < o->n_configs; c++) {
        r->rows[c].cfg = o->configs[c];
        r->rows[c].peak_rss_bytes = -1;
        r->rows[c].code_bytes = -1;
    }
    /* children first, while this process is still small: fork copies the parent's pages */
    for (size_t c = 0; o->measure_rss && c < o->n_configs; c++) {
        if (o->progress)
            o->progress(o->progress_user, "peak memory", (uint32_t)c, (uint32_t)o->n_configs);
        r->rows[c].peak_rss_bytes = peak_rss(o, &o->configs[c]);
    }
    struct ctx x;
    enum kiln_status st = ctx_init(&x, o, &r->import_ms, d);
    if (st)
        goto out;
    /* a model whose batch is fixed runs at that batch first (the latency column) when the
     * list starts elsewhere; the sizes it cannot take get a note */
    bool lead = !x.resizable && o->n_batches && o->batches[0] != x.base_batch;
    if (!(r->batches = calloc(o->n_batches + 1, sizeof *r->batches))) {
        st = fail(d, KILN_STATUS_NO_MEMORY, "out of memory");
        goto out;
    }
    if (lead || !o->n_batches)
        r->batches[r->n_batches++] = x.base_batch;
    for (size_t k = 0; k < o->n_batches; k++) {
        size_t j = 0;
        while (j < r->n_batches && r->batches[j] != o->batches[k])
            j++;
        if (j == r->n_batches)
            r->batches[r->n_batches++] = o->batches[k];
    }
    x.n_batches = r->n_batches;
    if (!(x.data = calloc(x.n_batches * x.n_in + 1, sizeof *x.data)) ||
        !(x.inst = calloc(o->n_configs * x.n_batches, sizeof *x.inst))) {
        st = fail(d, KILN_STATUS_NO_MEMORY, "out of memory");
        goto out;
    }
    for (size_t bi = 0; bi < x.n_batches; bi++) {
        if (!x.resizable && r->batches[bi] != x.base_batch)
            continue;
        for (uint32_t i = 0; i < x.n_in; i++)
            if ((st = make_input(&x, i, r->batches[bi], &x.data[bi * x.n_in + i], d)))
                goto out;
    }
    /* "'x' float32[1,3,32,32] random in [-1,1)" */
    size_t off = 0;
    for (uint32_t i = 0; i < x.n_in && off < sizeof r->inputs_desc; i++) {
        const struct in_info *in = &x.in[i];
        char t[256], how[192];
        int64_t dims[KILN_MAX_RANK];
        memcpy(dims, in->dims, sizeof dims);
        if (in->rank > 0 && x.resizable)
            dims[0] = r->batches[0];
        kiln_tensor_type_str(in->dtype, in->rank, dims, t, sizeof t);
        if (in->file.data)
            snprintf(how, sizeof how, "from file");
        else if (in->dtype == KILN_DTYPE_BOOL)
            snprintf(how, sizeof how, "random bool");
        else
            snprintf(how, sizeof how, "random in [%g,%g)", in->lo, in->hi);
        off += (size_t)snprintf(r->inputs_desc + off, sizeof r->inputs_desc - off,
                                "%s'%s' %s %s", i ? ", " : "", in->name, t, how);
    }
    for (size_t c = 0; c < o->n_configs; c++)
        if (!(r->rows[c].batches = calloc(x.n_batches, sizeof *r->rows[c].batches))) {
            st = fail(d, KILN_STATUS_NO_MEMORY, "out of memory");
            goto out;
        }
    if ((st = compile_all(&x, r, d)) || (st = time_all(&x, r, d)) ||
        (st = compare_outputs(&x, r, d)))
        goto out;
    for (size_t c = 0; o->profile_runs && c < o->n_configs; c++) {
        progress(&x, "profiling", (uint32_t)c, (uint32_t)o->n_configs);
        if ((st = profile_row(&x, &r->rows[c], &x.inst[c * x.n_batches], d)))
            goto out;
    }
    if (o->eval_x && (st = evaluate(&x, r, d)))
        goto out;
    r->all_kernels_code_bytes = all_kernels_code_size();
out:
    if (x.o)
        use_simd(&x, 0);
    ctx_free(&x);
    return st;
}

void kiln_bench_result_free(struct kiln_bench_result *r)
{
    for (size_t c = 0; r->rows && c < r->n_rows; c++) {
        free(r->rows[c].batches);
        free(r->rows[c].diffs);
        free(r->rows[c].ops);
        free(r->rows[c].events);
    }
    free(r->rows);
    free(r->batches);
    memset(r, 0, sizeof *r);
}
