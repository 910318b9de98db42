/* opt_report.c - kiln-opt-report: what -O2 does to ONNX models against -O0: node counts, the
 * BatchNormalization / Identity / shape-subgraph nodes and standalone activations after a
 * Conv or Gemm left at -O2, latency of both programs measured interleaved in one process
 * (median of N single-threaded runs after warm-up) and the largest relative difference of
 * the outputs on one seeded random input.
 * Usage: kiln-opt-report [-v] [-n RUNS] MODEL.onnx...   (-v: the -O2 pass log on stderr;
 * bench/opt_report.sh runs the usual set) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "compiler.h"
#include "ops/fused.h"
#include "pass.h"

struct side {
    struct kiln_ir_graph *g;
    struct kiln_compiled *c;
    void *arena;
    void *outs[64];
    double *times;
};

/* The ops of kiln/acts.def's rows, and PRelu (its slope is a tensor, not an epilogue's scalar) */
static bool is_activation(enum kiln_op op)
{
    return kiln_act_of_op(op) != KILN_ACT_NONE || op == KILN_OP_PRELU;
}

struct counts {
    uint32_t nodes, bn, identity, shape, act;
};

/* Shape-subgraph nodes: Shape and Size, and every node reading a value computed from them. */
static struct counts count(const struct kiln_ir_graph *g)
{
    struct counts k = {0};
    uint8_t *from_shape = calloc(g->n_values + 1, 1);
    for (uint32_t i = 0; i < g->n_nodes; i++) {
        const struct kiln_ir_node *n = g->nodes[i];
        if (n->dead)
            continue;
        k.nodes++;
        k.bn += n->op == KILN_OP_BATCH_NORMALIZATION;
        k.identity += n->op == KILN_OP_IDENTITY;
        bool sh = n->op == KILN_OP_SHAPE || n->op == KILN_OP_SIZE;
        for (uint32_t j = 0; j < n->n_in && !sh; j++)
            sh = n->in[j] && n->in[j]->id < g->n_values && from_shape[n->in[j]->id];
        if (sh) {
            k.shape++;
            for (uint32_t o = 0; o < n->n_out; o++)
                if (n->out[o] && n->out[o]->id < g->n_values)
                    from_shape[n->out[o]->id] = 1;
        }
        const struct kiln_ir_node *p = n->n_in && n->in[0] ? n->in[0]->producer : NULL;
        k.act += is_activation(n->op) && p &&
                 (p->op == KILN_OP_CONV || p->op == KILN_OP_GEMM ||
                  p->op == KILN_OP_CONV_TRANSPOSE || p->op == KILN_OP_MATMUL);
    }
    free(from_shape);
    return k;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Seeded inputs: floats uniform in [-1, 1); integer and bool inputs 0 or 1 (valid token ids,
 * masks and indices for the models in models/). */
static void *make_input(const struct kiln_tensor_desc *t, uint64_t *state)
{
    void *x = calloc(1, t->nbytes + 8);
    uint64_t es = kiln_dtype_size(t->dtype), n = es ? t->nbytes / es : 0;
    for (uint64_t i = 0; x && i < n; i++) {
        *state ^= *state << 13, *state ^= *state >> 7, *state ^= *state << 17;
        double u = (double)(*state >> 11) / 9007199254740992.0;
        switch (t->dtype) {
        case KILN_DTYPE_F32: ((float *)x)[i] = (float)(2 * u - 1); break;
        case KILN_DTYPE_F64: ((double *)x)[i] = 2 * u - 1; break;
        case KILN_DTYPE_I64: ((int64_t *)x)[i] = u < 0.5; break;
        case KILN_DTYPE_I32: ((int32_t *)x)[i] = u < 0.5; break;
        case KILN_DTYPE_BOOL: case KILN_DTYPE_U8: ((uint8_t *)x)[i] = u < 0.5; break;
        default: break;
        }
    }
    return x;
}

/* Largest |a - b| over the output, relative to the largest |a| (per output, then the max). */
static double rel_error(const struct kiln_tensor_desc *t, const void *a, const void *b)
{
    uint64_t es = kiln_dtype_size(t->dtype), n = es ? t->nbytes / es : 0;
    if (t->dtype != KILN_DTYPE_F32 && t->dtype != KILN_DTYPE_F64)
        return memcmp(a, b, t->nbytes) ? INFINITY : 0;
    double diff = 0, mag = 0;
    for (uint64_t i = 0; i < n; i++) {
        double x = t->dtype == KILN_DTYPE_F32 ? ((const float *)a)[i] : ((const double *)a)[i];
        double y = t->dtype == KILN_DTYPE_F32 ? ((const float *)b)[i] : ((const double *)b)[i];
        if (isnan(x) != isnan(y))
            return INFINITY;
        diff = fmax(diff, fabs(x - y));
        mag = fmax(mag, fabs(x));
    }
    return mag > 0 ? diff / mag : diff;
}

static int verbose;

static int prepare(const char *path, int level, struct side *s, int runs, struct kiln_diag *d)
{
    memset(s, 0, sizeof *s);
    struct kiln_pass_report r = {0};
    struct kiln_compile_options co = {.model = path, .level = level, .report = &r};
    enum kiln_status st = kiln_compile_model(&co, &s->g, &s->c, d);
    if (r.passes && verbose && level) /* also when lowering failed after the passes */
        kiln_pass_report_print(stderr, &r);
    kiln_pass_report_free(&r);
    if (st)
        return 1;
    const struct kiln_program *p = &s->c->prog;
    if (p->n_outputs > 64)
        return 1;
    s->arena = aligned_alloc(64, (p->arena_size + 63) / 64 * 64 + 64);
    for (uint32_t i = 0; i < p->n_outputs; i++)
        s->outs[i] = calloc(1, p->tensors[p->outputs[i]].nbytes + 8);
    s->times = calloc((size_t)runs, sizeof *s->times);
    return !s->arena || !s->times;
}

static void release(struct side *s)
{
    if (s->c)
        for (uint32_t i = 0; i < s->c->prog.n_outputs && i < 64; i++)
            free(s->outs[i]);
    free(s->arena);
    free(s->times);
    kiln_compiled_free(s->c);
    kiln_ir_graph_free(s->g);
}

static int report(const char *path, int runs, int warmup)
{
    struct kiln_diag d;
    kiln_diag_clear(&d);
    struct side s0, s2;
    int rc = prepare(path, 0, &s0, runs, &d) || prepare(path, 2, &s2, runs, &d);
    const char *name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    const struct kiln_program *p0 = s0.c ? &s0.c->prog : NULL, *p2 = s2.c ? &s2.c->prog : NULL;
    const void *ins[64] = {0};
    uint64_t seed = 0x9e3779b97f4a7c15ull;
    if (!rc && (p0->n_inputs > 64 || p0->n_inputs != p2->n_inputs))
        rc = 1;
    for (uint32_t i = 0; !rc && i < p0->n_inputs; i++)
        ins[i] = make_input(&p0->tensors[p0->inputs[i]], &seed);
    for (int r = 0; !rc && r < warmup + runs; r++) {
        /* interleaved, so both programs see the same machine state on average */
        for (int k = 0; k < 2 && !rc; k++) {
            struct side *s = k ? &s2 : &s0;
            double t = now();
            rc = kiln_run(&s->c->prog, s->arena, ins, s->outs) != KILN_STATUS_OK;
            if (r >= warmup)
                s->times[r - warmup] = now() - t;
        }
    }
    if (rc) {
        fprintf(stderr, "kiln-opt-report: error: %s: %s%s%s\n", path, d.node[0] ? d.node : "",
                d.node[0] ? ": " : "", d.message[0] ? d.message : "cannot run");
    } else {
        double err = 0;
        for (uint32_t i = 0; i < p0->n_outputs; i++)
            err = fmax(err, rel_error(&p0->tensors[p0->outputs[i]], s0.outs[i], s2.outs[i]));
        struct counts k0 = count(s0.g), k2 = count(s2.g);
        double t0 = median(s0.times, runs) * 1e3, t2 = median(s2.times, runs) * 1e3;
        printf("| %-26s | %5u | %5u | %3u | %3u | %5u | %4u | %9.3f | %9.3f | %5.2f | %8.1e |\n",
               name, k0.nodes, k2.nodes, k2.bn, k2.identity, k2.shape, k2.act, t0, t2,
               t2 > 0 ? t0 / t2 : 0, err);
    }
    for (uint32_t i = 0; i < 64; i++)
        free((void *)ins[i]);
    release(&s0);
    release(&s2);
    return rc;
}

int main(int argc, char **argv)
{
    int runs = 20, first = 1;
    for (; first < argc && argv[first][0] == '-'; first++) {
        if (strcmp(argv[first], "-v") == 0)
            verbose = 1;
        else if (strcmp(argv[first], "-n") == 0 && first + 1 < argc)
            runs = atoi(argv[++first]);
        else
            break;
    }
    if (argc <= first || runs < 1) {
        fprintf(stderr, "usage: kiln-opt-report [-v] [-n RUNS] MODEL.onnx...\n");
        return 2;
    }
    printf("| %-26s | %5s | %5s | %3s | %3s | %5s | %4s | %9s | %9s | %5s | %8s |\n", "model",
           "-O0", "-O2", "BN", "Id", "shape", "act", "O0 ms", "O2 ms", "O0/O2", "rel err");
    printf("|----------------------------|-------|-------|-----|-----|-------|------|-----------"
           "|-----------|-------|----------|\n");
    int rc = 0;
    for (int i = first; i < argc; i++)
        rc |= report(argv[i], runs, runs < 5 ? 1 : 3);
    return rc;
}
