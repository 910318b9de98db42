/* inspect.c - the model summary behind `kiln inspect`: what goes in and out, which ops and how
 * many, how big the weights are, how much work one run is, and what kiln cannot compile yet.
 * Works on a partially understood graph too, so users learn what blocks them. */
#include <stdlib.h>
#include <string.h>

#include "inspect.h"
#include "ops/ops.h"

/* Elements and bytes of a Constant node's value, from its attribute (before inference). */
static void constant_attr_size(const struct kiln_ir_node *n, uint64_t *numel, uint64_t *bytes)
{
    *numel = *bytes = 0;
    for (uint32_t i = 0; i < n->n_attrs; i++) {
        const struct kiln_ir_attr *a = &n->attrs[i];
        if (a->type == KILN_ATTR_TENSOR && a->t) {
            int64_t ne = kiln_ir_value_numel(a->t);
            *numel = ne < 0 ? 0 : (uint64_t)ne;
            *bytes = kiln_ir_value_nbytes(a->t);
        } else if (a->type == KILN_ATTR_FLOAT || a->type == KILN_ATTR_INT) {
            *numel = 1;
            *bytes = a->type == KILN_ATTR_FLOAT ? 4 : 8;
        } else if (a->type == KILN_ATTR_FLOATS || a->type == KILN_ATTR_INTS) {
            *numel = a->n;
            *bytes = a->n * (a->type == KILN_ATTR_FLOATS ? 4 : 8);
        }
    }
}

static int op_cmp(const void *pa, const void *pb)
{
    const struct kiln_summary_op *a = pa, *b = pb;
    if (a->count != b->count)
        return a->count < b->count ? 1 : -1;
    int c = strcmp(a->domain, b->domain);
    return c ? c : strcmp(a->op_type, b->op_type);
}

/* Counts the zeros of a layer's constant float weight (models pruned in training arrive with
 * them; kiln runs a sparse enough Gemm on its sparse kernel without being asked). */
static void add_sparsity(struct kiln_summary *s, const struct kiln_ir_node *n)
{
    const struct kiln_ir_value *w = n->n_in > 1 ? n->in[1] : NULL;
    if ((n->op != KILN_OP_CONV && n->op != KILN_OP_CONV_TRANSPOSE && n->op != KILN_OP_GEMM &&
         n->op != KILN_OP_MATMUL) ||
        !w || !w->data || (w->dtype != KILN_DTYPE_F32 && w->dtype != KILN_DTYPE_F64))
        return;
    int64_t ne = kiln_ir_value_numel(w);
    uint64_t z = 0;
    for (int64_t i = 0; i < ne; i++)
        z += w->dtype == KILN_DTYPE_F32 ? ((const float *)w->data)[i] == 0.0f
                                        : ((const double *)w->data)[i] == 0.0;
    s->layer_weights += ne > 0 ? (uint64_t)ne : 0;
    s->layer_zeros += z;
    if (!z)
        return;
    int rank;
    int64_t dims[KILN_MAX_RANK];
    bool sparse = s->inferred && kiln_gemm_sparse_weight(n, &rank, dims, NULL);
    s->sparse[s->n_sparse++] =
        (struct kiln_summary_sparse){n->name, n->op_type, (uint64_t)ne, z, sparse};
}

enum kiln_status kiln_summary_compute(const struct kiln_ir_graph *g, bool inferred,
                                      const char *note, struct kiln_summary *s,
                                      struct kiln_diag *d)
{
    memset(s, 0, sizeof *s);
    s->g = g;
    s->inferred = inferred;
    s->note = note;
    s->ops = calloc(g->n_nodes + 1, sizeof *s->ops);
    s->sparse = calloc(g->n_nodes + 1, sizeof *s->sparse);
    if (!s->ops || !s->sparse)
        return kiln_diag_set(d, KILN_STATUS_NO_MEMORY, NULL, NULL, "out of memory");
    for (uint32_t i = 0; i < g->n_nodes; i++) {
        const struct kiln_ir_node *n = g->nodes[i];
        if (n->dead)
            continue;
        s->n_nodes++;
        uint32_t k = 0;
        while (k < s->n_ops && (strcmp(s->ops[k].op_type, n->op_type) != 0 ||
                                strcmp(s->ops[k].domain, n->domain) != 0))
            k++;
        if (k == s->n_ops) {
            s->ops[k].op_type = n->op_type;
            s->ops[k].domain = n->domain;
            s->ops[k].unsupported = n->op == KILN_OP_UNKNOWN;
            s->n_ops++;
            s->n_unsupported += s->ops[k].unsupported;
        }
        s->ops[k].count++;
        if (n->op == KILN_OP_CONSTANT && !inferred) {
            uint64_t ne, nb;
            constant_attr_size(n, &ne, &nb);
            s->params += ne;
            s->param_bytes += nb;
        }
        if (inferred && n->op != KILN_OP_UNKNOWN && kiln_op_info(n->op)->macs)
            s->macs += kiln_op_info(n->op)->macs(n);
        add_sparsity(s, n);
    }
    /* node names of each unsupported op, in graph order */
    for (uint32_t k = 0; k < s->n_ops; k++) {
        struct kiln_summary_op *o = &s->ops[k];
        if (!o->unsupported)
            continue;
        o->nodes = calloc(o->count, sizeof *o->nodes);
        if (!o->nodes) {
            kiln_summary_free(s);
            return kiln_diag_set(d, KILN_STATUS_NO_MEMORY, NULL, NULL, "out of memory");
        }
        uint32_t m = 0;
        for (uint32_t i = 0; i < g->n_nodes && m < o->count; i++) {
            const struct kiln_ir_node *n = g->nodes[i];
            if (!n->dead && strcmp(n->op_type, o->op_type) == 0 &&
                strcmp(n->domain, o->domain) == 0)
                o->nodes[m++] = n->name;
        }
    }
    qsort(s->ops, s->n_ops, sizeof *s->ops, op_cmp);
    for (uint32_t i = 0; i < g->n_values; i++) {
        const struct kiln_ir_value *v = g->values[i];
        bool constant_node = v->producer && v->producer->op == KILN_OP_CONSTANT;
        if (v->is_initializer || (constant_node && inferred)) {
            int64_t ne = kiln_ir_value_numel(v);
            s->params += ne < 0 ? 0 : (uint64_t)ne;
            s->param_bytes += kiln_ir_value_nbytes(v);
        } else if (inferred && v->producer && !v->producer->dead && !v->data && !v->is_output) {
            s->activation_bytes += kiln_ir_value_nbytes(v);
        }
    }
    return KILN_STATUS_OK;
}

void kiln_summary_free(struct kiln_summary *s)
{
    if (!s)
        return;
    for (uint32_t k = 0; s->ops && k < s->n_ops; k++)
        free(s->ops[k].nodes);
    free(s->ops);
    free(s->sparse);
    memset(s, 0, sizeof *s);
}

/* ---- text ---- */

/* 1234567 -> "1,234,567" */
static const char *grouped(uint64_t v, char *buf, size_t size)
{
    char raw[32];
    int n = snprintf(raw, sizeof raw, "%llu", (unsigned long long)v);
    size_t o = 0;
    for (int i = 0; i < n && o + 2 < size; i++) {
        if (i && (n - i) % 3 == 0)
            buf[o++] = ',';
        buf[o++] = raw[i];
    }
    buf[o] = '\0';
    return buf;
}

static const char *human_bytes(uint64_t v, char *buf, size_t size)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double x = (double)v;
    int u = 0;
    while (x >= 1024 && u < 4) {
        x /= 1024;
        u++;
    }
    if (u == 0)
        snprintf(buf, size, "%llu B", (unsigned long long)v);
    else
        snprintf(buf, size, "%.1f %s", x, units[u]);
    return buf;
}

static void print_values(FILE *f, const char *title, struct kiln_ir_value *const *vs, uint32_t n)
{
    size_t w = 0;
    for (uint32_t i = 0; i < n; i++)
        if (strlen(vs[i]->name) > w)
            w = strlen(vs[i]->name);
    fprintf(f, "%s (%u):\n", title, n);
    for (uint32_t i = 0; i < n; i++) {
        char t[512];
        fprintf(f, "  %-*s  %s\n", (int)w, vs[i]->name,
                vs[i]->dtype ? kiln_ir_value_type_str(vs[i], t, sizeof t) : "? (not inferred)");
    }
}

void kiln_summary_print_text(const struct kiln_summary *s, FILE *f)
{
    const struct kiln_ir_graph *g = s->g;
    char a[64], b[64];
    fprintf(f, "model: %s\n", g->path ? g->path : "");
    fprintf(f, "  ir_version %lld, opset %lld", (long long)g->ir_version, (long long)g->opset);
    if (g->producer && g->producer[0])
        fprintf(f, ", producer '%s'", g->producer);
    if (g->graph_name && g->graph_name[0])
        fprintf(f, ", graph '%s'", g->graph_name);
    fprintf(f, "\n");
    print_values(f, "inputs", g->inputs, g->n_inputs);
    print_values(f, "outputs", g->outputs, g->n_outputs);
    fprintf(f, "ops (%u nodes, %u types):\n", s->n_nodes, s->n_ops);
    size_t w = 0;
    for (uint32_t k = 0; k < s->n_ops; k++) {
        size_t l = strlen(s->ops[k].op_type) + (s->ops[k].domain[0] ? strlen(s->ops[k].domain) + 2 : 0);
        if (l > w)
            w = l;
    }
    for (uint32_t k = 0; k < s->n_ops; k++) {
        const struct kiln_summary_op *o = &s->ops[k];
        char name[300];
        snprintf(name, sizeof name, "%s%s%s", o->domain, o->domain[0] ? "::" : "", o->op_type);
        fprintf(f, "  %-*s  %u%s\n", (int)w, name, o->count, o->unsupported ? "  (unsupported)" : "");
    }
    fprintf(f, "parameters: %s (%s)\n", grouped(s->params, a, sizeof a),
            human_bytes(s->param_bytes, b, sizeof b));
    if (s->inferred) {
        fprintf(f, "MACs: %s\n", grouped(s->macs, a, sizeof a));
        fprintf(f, "activations: %s (intermediate values, before memory planning)\n",
                human_bytes(s->activation_bytes, b, sizeof b));
    } else {
        fprintf(f, "MACs: unknown (shapes not inferred)\n");
        fprintf(f, "activations: unknown (shapes not inferred)\n");
    }
    if (s->layer_weights) {
        fprintf(f, "weight sparsity: %.1f%% of %s layer weights are zero\n",
                100.0 * (double)s->layer_zeros / (double)s->layer_weights,
                grouped(s->layer_weights, a, sizeof a));
        for (uint32_t i = 0; i < s->n_sparse; i++) {
            const struct kiln_summary_sparse *l = &s->sparse[i];
            fprintf(f, "  %-30s %-14s %5.1f%% zero of %s%s\n", l->name, l->op_type,
                    100.0 * (double)l->zeros / (double)l->weights,
                    grouped(l->weights, a, sizeof a), l->sparse_kernel ? "  (sparse kernel)" : "");
        }
    }
    if (s->n_unsupported) {
        fprintf(f, "unsupported ops (%u):\n", s->n_unsupported);
        for (uint32_t k = 0; k < s->n_ops; k++) {
            const struct kiln_summary_op *o = &s->ops[k];
            if (!o->unsupported)
                continue;
            fprintf(f, "  %s%s%s:", o->domain, o->domain[0] ? "::" : "", o->op_type);
            for (uint32_t i = 0; i < o->count; i++)
                fprintf(f, "%s '%s'", i ? "," : "", o->nodes[i]);
            fprintf(f, "\n");
        }
    }
    if (s->note)
        fprintf(f, "note: %s\n", s->note);
}

/* ---- JSON ---- */

/* Length of the valid UTF-8 sequence at p, 0 if invalid. */
static int utf8_len(const unsigned char *p)
{
    int len = p[0] >= 0xf0 && p[0] <= 0xf4 ? 4 : p[0] >= 0xe0 ? 3 : p[0] >= 0xc2 ? 2 : 0;
    if (p[0] >= 0xf5)
        return 0;
    for (int i = 1; i < len; i++)
        if ((p[i] & 0xc0) != 0x80)
            return 0;
    return len;
}

void kiln_json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        switch (*p) {
        case '"': fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        case '\t': fputs("\\t", f); break;
        case '\b': fputs("\\b", f); break;
        case '\f': fputs("\\f", f); break;
        default:
            if (*p < 0x20 || *p == 0x7f) {
                fprintf(f, "\\u%04x", *p);
            } else if (*p < 0x80) {
                fputc(*p, f);
            } else {
                /* names come from protobuf, which does not promise UTF-8: pass valid
                 * sequences through, replace stray bytes so the output stays JSON */
                int len = utf8_len(p);
                if (len)
                    fwrite(p, 1, (size_t)len, f), p += len - 1;
                else
                    fputs("\\ufffd", f);
            }
        }
    }
    fputc('"', f);
}

static void json_values(FILE *f, const char *key, struct kiln_ir_value *const *vs, uint32_t n)
{
    fprintf(f, "  \"%s\": [", key);
    for (uint32_t i = 0; i < n; i++) {
        const struct kiln_ir_value *v = vs[i];
        fprintf(f, "%s\n    {\"name\": ", i ? "," : "");
        kiln_json_string(f, v->name);
        fprintf(f, ", \"dtype\": ");
        if (v->dtype)
            kiln_json_string(f, kiln_dtype_name(v->dtype));
        else
            fprintf(f, "null");
        fprintf(f, ", \"shape\": ");
        if (v->rank < 0) {
            fprintf(f, "null}");
            continue;
        }
        fprintf(f, "[");
        for (int k = 0; k < v->rank; k++) {
            if (k)
                fprintf(f, ", ");
            if (v->dims[k] >= 0)
                fprintf(f, "%lld", (long long)v->dims[k]);
            else if (v->dim_param[k])
                kiln_json_string(f, v->dim_param[k]);
            else
                fprintf(f, "null");
        }
        fprintf(f, "]}");
    }
    fprintf(f, "%s],\n", n ? "\n  " : "");
}

void kiln_summary_print_json(const struct kiln_summary *s, FILE *f)
{
    const struct kiln_ir_graph *g = s->g;
    fprintf(f, "{\n  \"model\": ");
    kiln_json_string(f, g->path);
    fprintf(f, ",\n  \"producer\": ");
    kiln_json_string(f, g->producer);
    fprintf(f, ",\n  \"graph_name\": ");
    kiln_json_string(f, g->graph_name);
    fprintf(f, ",\n  \"ir_version\": %lld,\n  \"opset\": %lld,\n  \"inferred\": %s,\n",
            (long long)g->ir_version, (long long)g->opset, s->inferred ? "true" : "false");
    json_values(f, "inputs", g->inputs, g->n_inputs);
    json_values(f, "outputs", g->outputs, g->n_outputs);
    fprintf(f, "  \"nodes\": %u,\n  \"ops\": {", s->n_nodes);
    for (uint32_t k = 0; k < s->n_ops; k++) {
        const struct kiln_summary_op *o = &s->ops[k];
        char name[300];
        snprintf(name, sizeof name, "%s%s%s", o->domain, o->domain[0] ? "::" : "", o->op_type);
        fprintf(f, "%s\n    ", k ? "," : "");
        kiln_json_string(f, name);
        fprintf(f, ": %u", o->count);
    }
    fprintf(f, "%s},\n", s->n_ops ? "\n  " : "");
    fprintf(f, "  \"parameters\": %llu,\n  \"parameter_bytes\": %llu,\n",
            (unsigned long long)s->params, (unsigned long long)s->param_bytes);
    if (s->inferred)
        fprintf(f, "  \"macs\": %llu,\n  \"activation_bytes\": %llu,\n",
                (unsigned long long)s->macs, (unsigned long long)s->activation_bytes);
    else
        fprintf(f, "  \"macs\": null,\n  \"activation_bytes\": null,\n");
    fprintf(f, "  \"unsupported\": [");
    uint32_t listed = 0;
    for (uint32_t k = 0; k < s->n_ops; k++) {
        const struct kiln_summary_op *o = &s->ops[k];
        if (!o->unsupported)
            continue;
        fprintf(f, "%s\n    {\"op\": ", listed++ ? "," : "");
        kiln_json_string(f, o->op_type);
        fprintf(f, ", \"domain\": ");
        kiln_json_string(f, o->domain);
        fprintf(f, ", \"nodes\": [");
        for (uint32_t i = 0; i < o->count; i++) {
            if (i)
                fprintf(f, ", ");
            kiln_json_string(f, o->nodes[i]);
        }
        fprintf(f, "]}");
    }
    fprintf(f, "%s],\n  \"note\": ", listed ? "\n  " : "");
    if (s->note)
        kiln_json_string(f, s->note);
    else
        fprintf(f, "null");
    fprintf(f, "\n}\n");
}

/* ---- the memory plan (`kiln inspect --plan`) ---- */

/* Whether tensor t (used at steps first..last) lies in buffer e: the planner never lets two
 * buffers share bytes while both are live, so bytes and steps inside e decide. */
static bool plan_member(const struct kiln_program *p, const struct kiln_plan_entry *e,
                        uint32_t t, uint32_t first, uint32_t last)
{
    const struct kiln_tensor_desc *td = &p->tensors[t];
    return td->storage == KILN_STORAGE_ARENA && first <= last && e->first <= first &&
           last <= e->last && e->offset <= td->offset &&
           td->offset + (td->nbytes ? td->nbytes : 1) <= e->offset + e->size;
}

static void plan_print_row(FILE *f, bool json, bool comma, const char *name, uint64_t offset,
                           uint64_t size, uint32_t first, uint32_t last)
{
    if (json) {
        fprintf(f, "%s{\"name\": ", comma ? ", " : "");
        kiln_json_string(f, name);
        fprintf(f, ", \"offset\": %llu, \"size\": %llu, \"first\": %u, \"last\": %u}",
                (unsigned long long)offset, (unsigned long long)size, first, last);
    } else {
        fprintf(f, "  %12llu %12llu %6u %6u    %s\n", (unsigned long long)offset,
                (unsigned long long)size, first, last, name);
    }
}

enum kiln_status kiln_plan_print(const struct kiln_program *p, const struct kiln_plan *plan,
                                 bool json, FILE *f, struct kiln_diag *d)
{
    uint32_t *first = malloc((p->n_tensors + 1) * sizeof *first);
    uint32_t *last = malloc((p->n_tensors + 1) * sizeof *last);
    struct kiln_plan_entry *rows = malloc((p->n_tensors + 1) * sizeof *rows); /* a tensor each */
    enum kiln_status st = first && last && rows
                              ? kiln_plan_tensor_steps(p, first, last, d)
                              : kiln_diag_set(d, KILN_STATUS_NO_MEMORY, NULL, NULL,
                                              "out of memory");
    if (st) {
        free(first), free(last), free(rows);
        return st;
    }
    uint32_t n_tensors = 0;
    for (uint32_t i = 0; i < plan->n; i++)
        for (uint32_t t = 0; t < p->n_tensors; t++)
            n_tensors += plan_member(p, &plan->entries[i], t, first[t], last[t]);
    if (json)
        fprintf(f, "{\"arena_size\": %llu, \"lower_bound\": %llu, \"naive\": %llu, \"buffers\": [",
                (unsigned long long)p->arena_size, (unsigned long long)plan->lower_bound,
                (unsigned long long)plan->naive);
    else
        fprintf(f, "memory plan: arena %llu bytes, %u buffers holding %u tensors",
                (unsigned long long)p->arena_size, plan->n, n_tensors);
    if (!json && plan->lower_bound)
        fprintf(f, " (lower bound %llu, no reuse %llu)", (unsigned long long)plan->lower_bound,
                (unsigned long long)plan->naive);
    if (!json)
        fprintf(f, "\n  %12s %12s %6s %6s  %s\n", "offset", "size", "first", "last",
                "buffer (the tensors it holds indented)");
    for (uint32_t i = 0; i < plan->n; i++) {
        const struct kiln_plan_entry *e = &plan->entries[i];
        char name[320];
        if (e->tensor != UINT32_MAX)
            snprintf(name, sizeof name, "%s", kiln_prog_str(p, p->tensors[e->tensor].name));
        else if (json)
            snprintf(name, sizeof name, "scratch of %s",
                     kiln_prog_str(p, p->nodes[e->first].name));
        else
            snprintf(name, sizeof name, "(scratch of node %u '%s')", e->first,
                     kiln_prog_str(p, p->nodes[e->first].name));
        uint32_t members = 0;
        for (uint32_t t = 0; t < p->n_tensors; t++)
            if (plan_member(p, e, t, first[t], last[t]))
                rows[members++] = (struct kiln_plan_entry){t, p->tensors[t].offset,
                                                           p->tensors[t].nbytes, first[t], last[t]};
        kiln_plan_sort(rows, members);
        if (json) {
            fprintf(f, "%s\n  {\"tensor\": ", i ? "," : "");
            kiln_json_string(f, name);
            fprintf(f, ", \"scratch\": %s, \"offset\": %llu, \"size\": %llu, \"first\": %u, "
                       "\"last\": %u, \"tensors\": [",
                    e->tensor == UINT32_MAX ? "true" : "false", (unsigned long long)e->offset,
                    (unsigned long long)e->size, e->first, e->last);
        } else {
            fprintf(f, "  %12llu %12llu %6u %6u  %s\n", (unsigned long long)e->offset,
                    (unsigned long long)e->size, e->first, e->last, name);
        }
        if (!json && members < 2 && e->tensor != UINT32_MAX)
            continue;
        for (uint32_t k = 0; k < members; k++)
            plan_print_row(f, json, k > 0, kiln_prog_str(p, p->tensors[rows[k].tensor].name),
                           rows[k].offset, rows[k].size, rows[k].first, rows[k].last);
        if (json)
            fprintf(f, "]}");
    }
    if (json)
        fprintf(f, "\n]}\n");
    free(first), free(last), free(rows);
    return KILN_STATUS_OK;
}
