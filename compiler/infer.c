/* infer.c - shape and type inference over the whole graph, in topological order, with
 * compile-time evaluation: a node whose inputs are all constant runs once here, through the
 * runtime's own kernels, and its outputs become constants (this is what resolves
 * Shape -> Gather -> Concat -> Reshape chains). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler.h"
#include "ops/ops.h"
#include "../runtime/dims.h"

int kiln_pick_variant(const struct kiln_ir_node *n)
{
    uint32_t cnt = kiln_rt_kernel_count((uint32_t)n->op);
    int any = -1;
    for (uint32_t v = 0; v < cnt; v++) {
        const struct kiln_kernel *k = kiln_rt_kernel((uint32_t)n->op, v);
        if (k->dtype == n->kdtype)
            return (int)v;
        if (k->dtype == KILN_DTYPE_UNDEFINED && any < 0)
            any = (int)v;
    }
    return any;
}

static void collect_nodes(const struct kiln_ir_graph *g, const struct kiln_ir_node **all,
                          uint32_t *n, uint32_t cap)
{
    for (uint32_t i = 0; i < g->n_nodes && *n < cap; i++) {
        const struct kiln_ir_node *nd = g->nodes[i];
        all[(*n)++] = nd;
        for (uint32_t a = 0; a < nd->n_attrs; a++)
            if (nd->attrs[a].g)
                collect_nodes(nd->attrs[a].g, all, n, cap);
    }
}

static uint32_t count_nodes(const struct kiln_ir_graph *g)
{
    uint32_t n = g->n_nodes;
    for (uint32_t i = 0; i < g->n_subs; i++)
        n += count_nodes(g->subs[i]);
    return n;
}

/* Why kiln does not run an ONNX op it knows of (the kinds of op its IR has no place for);
 * NULL for any other op. */
static const char *refusal_reason(const char *domain, const char *op)
{
    static const struct {
        const char *op, *why;
    } known[] = {
        {"StringNormalizer", "kiln has no string tensors"},
        {"RegexFullMatch", "kiln has no string tensors"},
        {"StringConcat", "kiln has no string tensors"},
        {"StringSplit", "kiln has no string tensors"},
        {"ImageDecoder", "kiln does not decode image files"},
        {"SplitToSequence", "kiln supports tensors only, not sequences"},
        {"ConcatFromSequence", "kiln supports tensors only, not sequences"},
        {"Optional", "kiln supports tensors only, not optionals"},
        {"OptionalHasElement", "kiln supports tensors only, not optionals"},
        {"OptionalGetElement", "kiln supports tensors only, not optionals"},
    };
    if (strstr(domain, "training"))
        return "a training op; kiln compiles inference graphs";
    if (domain[0] && strcmp(domain, "ai.onnx") != 0)
        return NULL;
    if (strncmp(op, "Sequence", 8) == 0)
        return "kiln supports tensors only, not sequences";
    for (size_t k = 0; k < sizeof known / sizeof known[0]; k++)
        if (strcmp(op, known[k].op) == 0)
            return known[k].why;
    return NULL;
}

size_t kiln_unsupported_report(const struct kiln_ir_graph *g, char *buf, size_t size)
{
    size_t off = 0, count = 0;
    if (size)
        buf[0] = '\0';
    uint32_t cap = count_nodes(g), total = 0;
    const struct kiln_ir_node **all = malloc((cap ? cap : 1) * sizeof *all);
    if (!all)
        return 0;
    collect_nodes(g, all, &total, cap);
    /* group by op type, in first-seen order; nodes inside subgraphs included */
    for (uint32_t i = 0; i < total; i++) {
        const struct kiln_ir_node *n = all[i];
        if (n->op != KILN_OP_UNKNOWN)
            continue;
        bool seen = false;
        for (uint32_t j = 0; j < i && !seen; j++)
            seen = all[j]->op == KILN_OP_UNKNOWN && strcmp(all[j]->op_type, n->op_type) == 0 &&
                   strcmp(all[j]->domain, n->domain) == 0;
        if (seen)
            continue;
        count++;
        if (off < size)
            off += (size_t)snprintf(buf + off, size - off, "%s%s%s%s (", count > 1 ? "; " : "",
                                    n->domain, n->domain[0] ? "::" : "", n->op_type);
        int listed = 0;
        for (uint32_t j = i; j < total; j++) {
            const struct kiln_ir_node *m = all[j];
            if (m->op != KILN_OP_UNKNOWN || strcmp(m->op_type, n->op_type) != 0 ||
                strcmp(m->domain, n->domain) != 0)
                continue;
            if (off < size)
                off += (size_t)snprintf(buf + off, size - off, "%s'%s'", listed ? ", " : "",
                                        m->name);
            listed++;
        }
        /* ONNX's own ops: name the opset the model asked for them at, and why kiln refuses
         * the kinds it has no place for */
        const char *why = refusal_reason(n->domain, n->op_type);
        if (off < size && (!n->domain[0] || strcmp(n->domain, "ai.onnx") == 0))
            off += (size_t)snprintf(buf + off, size - off, "; ONNX opset %lld%s%s",
                                    (long long)g->opset, why ? ": " : "", why ? why : "");
        else if (off < size && why)
            off += (size_t)snprintf(buf + off, size - off, "; %s", why);
        if (off < size)
            off += (size_t)snprintf(buf + off, size - off, ")");
    }
    free(all);
    return count;
}

/* Whether n may read values whose extents are only known at run time: its kernel reads every
 * size from the views, and the runtime derives its outputs' extents (runtime/dims.c). The
 * data-dependent ops' own infer functions set their outputs' bounds. */
static bool takes_runtime_dims(const struct kiln_ir_node *n, bool inferred)
{
    if (!kiln_rt_dims_takes((uint32_t)n->op))
        return false;
    if (!inferred)
        return true;
    switch (kiln_rt_dims_rule((uint32_t)n->op)) {
    case KILN_DIMS_BROADCAST: /* not the pre-opset-7 `broadcast=1, axis` form */
        return !n->params || n->params_size != sizeof(struct kiln_p_binary) ||
               !((const struct kiln_p_binary *)n->params)->b_trailing;
    case KILN_DIMS_UNIT_AXES: { /* the size-1 bounds must be exactly the axes it moves */
        const struct kiln_ir_value *x = n->in[0], *y = n->out[0];
        const struct kiln_ir_value *other = y->rank > x->rank ? x : y;
        for (int i = 0; i < other->rank; i++)
            if (other->dims[i] == 1)
                return false;
        return true;
    }
    default: return true;
    }
}

static enum kiln_status runtime_dims_refused(struct kiln_infer_ctx *c, struct kiln_ir_node *n,
                                             const struct kiln_ir_value *v)
{
    char ty[256];
    kiln_ir_value_type_str(v, ty, sizeof ty);
    const struct kiln_ir_node *src = v->producer;
    while (src && src->n_in && src->in[0] && src->in[0]->runtime_dims &&
           kiln_rt_dims_rule((uint32_t)src->op) != KILN_DIMS_KERNEL)
        src = src->in[0]->producer;
    return kiln_op_error(
        c, n, KILN_STATUS_UNSUPPORTED,
        "input '%s' has extents that depend on the data (%s, from node '%s' (%s)); "
        "kiln passes such tensors only through elementwise ops, Cast, Identity, Gather, "
        "GatherND, Transpose, Concat, Squeeze and Unsqueeze (of axes whose bounds are not 1), the "
        "reductions, NonZero, Compress, NonMaxSuppression and into graph outputs. Fix the "
        "extents at compile time (make that node's inputs constant) or restructure the graph",
        v->name, ty, src ? src->name : "?", src ? src->op_type : "?");
}

static enum kiln_status check_inputs_fixed(struct kiln_ir_graph *g, struct kiln_diag *d)
{
    for (uint32_t i = 0; i < g->n_inputs; i++) {
        struct kiln_ir_value *v = g->inputs[i];
        for (int k = 0; k < v->rank; k++) {
            if (v->dims[k] >= 0)
                continue;
            char shape[256];
            kiln_ir_value_type_str(v, shape, sizeof shape);
            if (v->dim_param[k])
                return kiln_diag_set(d, KILN_STATUS_UNSUPPORTED, NULL, NULL,
                                     "input '%s' (%s) has symbolic dimension %d ('%s'); fix it "
                                     "with --input-shape %s=...",
                                     v->name, shape, k, v->dim_param[k], v->name);
            return kiln_diag_set(d, KILN_STATUS_UNSUPPORTED, NULL, NULL,
                                 "input '%s' (%s) has unknown dimension %d; fix it with "
                                 "--input-shape %s=...",
                                 v->name, shape, k, v->name);
        }
    }
    return KILN_STATUS_OK;
}

static uint64_t add_sat(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* Whether compile-time evaluation may run n: its outputs and scratch fit KILN_FOLD_MAX_BYTES
 * and its work (elements read and written plus the op's multiply-adds) KILN_FOLD_MAX_WORK.
 * A node that does not stays in the program and runs at run time: one byte of a model must
 * not make the compiler fill gigabytes or spin for hours. */
static bool fold_fits(const struct kiln_ir_node *n)
{
    uint64_t bytes = n->scratch_size, work = 0;
    for (uint32_t i = 0; i < n->n_in + n->n_out; i++) {
        const struct kiln_ir_value *v = i < n->n_in ? n->in[i] : n->out[i - n->n_in];
        if (!v)
            continue;
        int64_t numel = kiln_ir_value_numel(v);
        work = add_sat(work, numel > 0 ? (uint64_t)numel : 0);
        if (i >= n->n_in)
            bytes = add_sat(bytes, kiln_ir_value_nbytes(v));
    }
    const struct kiln_op_info *info = kiln_op_info(n->op);
    if (bytes <= KILN_FOLD_MAX_BYTES && info->macs)
        work = add_sat(work, info->macs(n));
    return bytes <= KILN_FOLD_MAX_BYTES && work <= KILN_FOLD_MAX_WORK;
}

/* Runs n's kernel on its constant inputs; outputs become constants in the graph arena. */
static enum kiln_status evaluate(struct kiln_infer_ctx *c, struct kiln_ir_node *n)
{
    int variant = kiln_pick_variant(n);
    if (variant < 0)
        return KILN_STATUS_OK; /* lowering reports the missing kernel if the node stays */
    if (!fold_fits(n))
        return KILN_STATUS_OK;
    const struct kiln_kernel *k = kiln_rt_kernel((uint32_t)n->op, (uint32_t)variant);
    struct kiln_tensor *views = calloc((size_t)n->n_in + n->n_out + 1, sizeof *views);
    if (!views)
        return kiln_op_error(c, n, KILN_STATUS_NO_MEMORY, "out of memory");
    for (uint32_t i = 0; i < n->n_in + n->n_out; i++) {
        struct kiln_ir_value *v = i < n->n_in ? n->in[i] : n->out[i - n->n_in];
        struct kiln_tensor *t = &views[i];
        for (int r = 0; r < KILN_MAX_RANK; r++)
            t->dims[r] = 1;
        if (!v || (i < n->n_in && kiln_compile_time_input(n, i)))
            continue;
        t->rank = v->rank;
        t->dtype = v->dtype;
        t->scale = v->scale;
        t->zero_point = v->zero_point;
        for (int r = 0; r < v->rank; r++)
            t->dims[r] = v->dims[r];
        if (i < n->n_in) {
            t->data = (void *)v->data;
        } else {
            uint64_t nb = kiln_ir_value_nbytes(v);
            t->data = kiln_arena_alloc_aligned(&c->g->arena, nb ? nb : 1, 64);
            if (!t->data) {
                free(views);
                return kiln_op_error(c, n, KILN_STATUS_NO_MEMORY, "out of memory");
            }
        }
    }
    void *scratch = NULL;
    if (n->scratch_size && !(scratch = calloc(1, n->scratch_size))) {
        free(views);
        return kiln_op_error(c, n, KILN_STATUS_NO_MEMORY, "out of memory");
    }
    struct kiln_kernel_args a = {.params = n->params,
                                 .in = views,
                                 .out = views + n->n_in,
                                 .n_in = n->n_in,
                                 .n_out = n->n_out,
                                 .scratch = scratch,
                                 .scratch_size = n->scratch_size};
    k->fn(&a);
    free(scratch);
    for (uint32_t o = 0; o < n->n_out; o++)
        if (n->out[o])
            n->out[o]->data = views[n->n_in + o].data;
    free(views);
    return KILN_STATUS_OK;
}

enum kiln_status kiln_infer(struct kiln_ir_graph *g, struct kiln_diag *d)
{
    enum kiln_status st = check_inputs_fixed(g, d);
    if (st)
        return st;
    char list[1024];
    size_t nun = kiln_unsupported_report(g, list, sizeof list);
    if (nun)
        return kiln_diag_set(d, KILN_STATUS_UNSUPPORTED, NULL, NULL,
                             "%zu op type%s not supported by kiln: %s", nun, nun > 1 ? "s are" : " is",
                             list);
    struct kiln_infer_ctx c = {.g = g, .diag = d};
    if ((st = kiln_infer_graph(&c, g)))
        return st;
    for (uint32_t i = 0; i < g->n_outputs; i++) {
        const struct kiln_ir_value *v = g->outputs[i];
        if (v->declared_dtype && v->declared_dtype != v->dtype)
            return kiln_diag_set(d, KILN_STATUS_INVALID_MODEL,
                                 v->producer ? v->producer->name : NULL,
                                 v->producer ? v->producer->op_type : NULL,
                                 "graph output '%s' is declared %s but computes %s", v->name,
                                 kiln_dtype_name(v->declared_dtype), kiln_dtype_name(v->dtype));
    }
    return KILN_STATUS_OK;
}

enum kiln_status kiln_infer_graph(struct kiln_infer_ctx *outer, struct kiln_ir_graph *g)
{
    struct kiln_diag *d = outer->diag;
    struct kiln_infer_ctx c = {.g = g, .diag = d};
    enum kiln_status st;
    for (uint32_t i = 0; i < g->n_nodes; i++) {
        struct kiln_ir_node *n = g->nodes[i];
        if (n->dead)
            continue;
        const struct kiln_op_info *info = kiln_op_info(n->op);
        const struct kiln_op_arity *ar = kiln_op_arity(n->op);
        int n_decl = (int)(n->n_in - n->n_implicit);
        if (n_decl < ar->min_in || (ar->max_in >= 0 && n_decl > ar->max_in))
            return kiln_op_error(&c, n, KILN_STATUS_INVALID_MODEL,
                                 "has %d inputs; %s takes %d to %d", n_decl, n->op_type, ar->min_in,
                                 ar->max_in);
        if ((int)n->n_out < ar->min_out || (ar->max_out >= 0 && (int)n->n_out > ar->max_out))
            return kiln_op_error(&c, n, KILN_STATUS_INVALID_MODEL,
                                 "has %u outputs; %s produces %d to %d", n->n_out, n->op_type,
                                 ar->min_out, ar->max_out);
        for (int j = 0; j < ar->min_in; j++)
            if (!n->in[j])
                return kiln_op_error(&c, n, KILN_STATUS_INVALID_MODEL,
                                     "required input %d is missing", j);
        bool all_const = true;
        for (uint32_t j = 0; j < n->n_in; j++) {
            struct kiln_ir_value *v = n->in[j];
            if (v && (!v->dtype || v->rank < 0))
                return kiln_op_error(&c, n, KILN_STATUS_INTERNAL,
                                     "input '%s' has no inferred type", v->name);
            if (v && !v->data)
                all_const = false;
        }
        n->kdtype = n->n_in && n->in[0] ? n->in[0]->dtype : 0;
        const struct kiln_ir_value *dyn = NULL;
        for (uint32_t j = 0; j < n->n_in && !dyn; j++)
            if (n->in[j] && n->in[j]->runtime_dims)
                dyn = n->in[j];
        if (dyn && !takes_runtime_dims(n, false))
            return runtime_dims_refused(&c, n, dyn);
        n->folded_in = 0;
        if ((st = info->infer(&c, n)))
            return st;
        if (dyn && !takes_runtime_dims(n, true))
            return runtime_dims_refused(&c, n, dyn);
        if (dyn && kiln_rt_dims_rule((uint32_t)n->op) != KILN_DIMS_KERNEL)
            for (uint32_t o = 0; o < n->n_out; o++)
                if (n->out[o])
                    n->out[o]->runtime_dims = true;
        bool outs_const = true;
        for (uint32_t o = 0; o < n->n_out; o++) {
            struct kiln_ir_value *v = n->out[o];
            if (!v)
                continue;
            if (!v->dtype || !kiln_ir_value_shape_known(v))
                return kiln_op_error(&c, n, KILN_STATUS_INTERNAL,
                                     "inference left output '%s' without a type", v->name);
            if (kiln_ir_value_nbytes(v) > KILN_MAX_TENSOR_BYTES) {
                char ty[256];
                kiln_ir_value_type_str(v, ty, sizeof ty);
                return kiln_op_error(&c, n, KILN_STATUS_INVALID_MODEL,
                                     "output '%s' would be %s, more than 2^60 bytes: no machine "
                                     "can hold it (check the shape that led here)",
                                     v->name, ty);
            }
            if (!v->data)
                outs_const = false;
        }
        if (!outs_const && all_const && !dyn && !(info->flags & KILN_OPF_NO_FOLD) &&
            (st = evaluate(&c, n)))
            return st;
    }
    for (uint32_t i = 0; i < g->n_outputs; i++)
        if (!g->outputs[i]->dtype)
            return kiln_diag_set(d, KILN_STATUS_INTERNAL, NULL, NULL,
                                 "graph output '%s' has no inferred type", g->outputs[i]->name);
    return KILN_STATUS_OK;
}
