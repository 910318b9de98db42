/* ir.c - graph construction, name lookup, topological order and the structural verifier. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir.h"

struct kiln_ir_graph *kiln_ir_graph_new(void)
{
    struct kiln_ir_graph *g = calloc(1, sizeof *g);
    if (g)
        g->root = g;
    return g;
}

struct kiln_ir_graph *kiln_ir_subgraph_new(struct kiln_ir_graph *parent)
{
    struct kiln_ir_graph **subs = realloc(parent->subs, (parent->n_subs + 1) * sizeof *subs);
    if (!subs)
        return NULL;
    parent->subs = subs;
    struct kiln_ir_graph *g = calloc(1, sizeof *g);
    if (!g)
        return NULL;
    g->parent = parent;
    g->root = parent->root;
    g->arena.budget = parent->arena.budget ? parent->arena.budget : &parent->arena;
    g->opset = parent->opset;
    g->ir_version = parent->ir_version;
    g->path = parent->path;
    subs[parent->n_subs++] = g;
    return g;
}

bool kiln_ir_in_scope_of(const struct kiln_ir_graph *g, const struct kiln_ir_graph *owner)
{
    for (; g; g = g->parent)
        if (g == owner)
            return true;
    return false;
}

void kiln_ir_graph_free(struct kiln_ir_graph *g)
{
    if (!g)
        return;
    for (uint32_t i = 0; i < g->n_subs; i++)
        kiln_ir_graph_free(g->subs[i]);
    free(g->subs);
    free(g->nodes);
    free(g->values);
    free(g->map);
    kiln_arena_free(&g->arena);
    free(g);
}

bool kiln_ir_value_shape_known(const struct kiln_ir_value *v)
{
    if (v->rank < 0)
        return false;
    for (int i = 0; i < v->rank; i++)
        if (v->dims[i] < 0)
            return false;
    return true;
}

int64_t kiln_ir_value_numel(const struct kiln_ir_value *v)
{
    if (!kiln_ir_value_shape_known(v))
        return -1;
    /* saturates instead of overflowing: inference refuses such a value (infer.c) */
    int64_t n = 1;
    for (int i = 0; i < v->rank; i++)
        if (__builtin_mul_overflow(n, v->dims[i], &n))
            return INT64_MAX;
    return n;
}

uint64_t kiln_ir_value_nbytes(const struct kiln_ir_value *v)
{
    int64_t n = kiln_ir_value_numel(v);
    uint64_t nb;
    if (n < 0)
        return 0;
    return __builtin_mul_overflow((uint64_t)n, kiln_dtype_size(v->dtype), &nb) ? UINT64_MAX : nb;
}

const char *kiln_ir_value_type_str(const struct kiln_ir_value *v, char *buf, size_t size)
{
    size_t o = (size_t)snprintf(buf, size, "%s", kiln_dtype_name(v->dtype));
    if (v->rank < 0) {
        if (o < size)
            snprintf(buf + o, size - o, "[?]");
        return buf;
    }
    if (o < size)
        o += (size_t)snprintf(buf + o, size - o, "[");
    for (int i = 0; i < v->rank && o < size; i++) {
        if (v->dims[i] >= 0) /* "<=": an upper bound; a run sets the extent */
            o += (size_t)snprintf(buf + o, size - o, "%s%s%lld", i ? "," : "",
                                  v->runtime_dims ? "<=" : "", (long long)v->dims[i]);
        else
            o += (size_t)snprintf(buf + o, size - o, "%s%s", i ? "," : "",
                                  v->dim_param[i] ? v->dim_param[i] : "?");
    }
    if (o < size)
        snprintf(buf + o, size - o, "]");
    return buf;
}

static uint32_t hash_str(const char *s)
{
    uint32_t h = 2166136261u;
    while (*s)
        h = (h ^ (uint8_t)*s++) * 16777619u;
    return h;
}

static bool map_grow(struct kiln_ir_graph *g)
{
    uint32_t cap = g->map_cap ? g->map_cap * 2 : 256;
    struct kiln_ir_value **m = calloc(cap, sizeof *m);
    if (!m)
        return false;
    for (uint32_t i = 0; i < g->map_cap; i++) {
        struct kiln_ir_value *v = g->map[i];
        if (!v)
            continue;
        uint32_t h = hash_str(v->name) & (cap - 1);
        while (m[h])
            h = (h + 1) & (cap - 1);
        m[h] = v;
    }
    free(g->map);
    g->map = m;
    g->map_cap = cap;
    return true;
}

static struct kiln_ir_value *find_local(const struct kiln_ir_graph *g, const char *name)
{
    if (!g->map_cap)
        return NULL;
    uint32_t h = hash_str(name) & (g->map_cap - 1);
    while (g->map[h]) {
        if (strcmp(g->map[h]->name, name) == 0)
            return g->map[h];
        h = (h + 1) & (g->map_cap - 1);
    }
    return NULL;
}

struct kiln_ir_value *kiln_ir_find(const struct kiln_ir_graph *g, const char *name)
{
    for (; g; g = g->parent) {
        struct kiln_ir_value *v = find_local(g, name);
        if (v)
            return v;
    }
    return NULL;
}

static bool push_value(struct kiln_ir_graph *g, struct kiln_ir_value *v)
{
    if (g->n_values == g->cap_values) {
        uint32_t cap = g->cap_values ? g->cap_values * 2 : 256;
        struct kiln_ir_value **nv = realloc(g->values, cap * sizeof *nv);
        if (!nv)
            return false;
        g->values = nv;
        g->cap_values = cap;
    }
    g->values[g->n_values++] = v;
    return true;
}

struct kiln_ir_value *kiln_ir_value_detached(struct kiln_ir_graph *g, const char *name)
{
    struct kiln_ir_value *v = kiln_arena_alloc(&g->arena, sizeof *v);
    if (!v)
        return NULL;
    v->name = kiln_arena_strdup(&g->arena, name ? name : "");
    if (!v->name)
        return NULL;
    v->rank = -1;
    v->id = UINT32_MAX;
    return v;
}

struct kiln_ir_value *kiln_ir_value_new(struct kiln_ir_graph *g, const char *name)
{
    if (kiln_ir_find(g, name))
        return NULL;
    if ((g->n_values + 1) * 2 > g->map_cap && !map_grow(g))
        return NULL;
    struct kiln_ir_value *v = kiln_ir_value_detached(g, name);
    if (!v)
        return NULL;
    v->owner = g;
    v->id = g->root->n_values;
    if (!push_value(g->root, v) || (g != g->root && !push_value(g, v)))
        return NULL;
    uint32_t h = hash_str(v->name) & (g->map_cap - 1);
    while (g->map[h])
        h = (h + 1) & (g->map_cap - 1);
    g->map[h] = v;
    return v;
}

struct kiln_ir_node *kiln_ir_node_new(struct kiln_ir_graph *g, const char *name,
                                      const char *op_type, const char *domain, uint32_t n_in,
                                      uint32_t n_out)
{
    if (g->n_nodes == g->cap_nodes) {
        uint32_t cap = g->cap_nodes ? g->cap_nodes * 2 : 256;
        struct kiln_ir_node **nn = realloc(g->nodes, cap * sizeof *nn);
        if (!nn)
            return NULL;
        g->nodes = nn;
        g->cap_nodes = cap;
    }
    struct kiln_ir_node *n = kiln_arena_alloc(&g->arena, sizeof *n);
    if (!n)
        return NULL;
    n->name = kiln_arena_strdup(&g->arena, name);
    n->op_type = kiln_arena_strdup(&g->arena, op_type);
    n->domain = kiln_arena_strdup(&g->arena, domain ? domain : "");
    n->in = kiln_arena_alloc(&g->arena, (n_in ? n_in : 1) * sizeof *n->in);
    n->out = kiln_arena_alloc(&g->arena, (n_out ? n_out : 1) * sizeof *n->out);
    if (!n->name || !n->op_type || !n->domain || !n->in || !n->out)
        return NULL;
    n->n_in = n_in;
    n->n_out = n_out;
    n->op = kiln_ir_op_lookup(n->domain, n->op_type);
    n->id = g->n_nodes;
    g->nodes[g->n_nodes++] = n;
    return n;
}

static const char *const op_onnx_names[] = {
#define KILN_OP(E, onnx, lname, ...) onnx,
#include "kiln/ops.def"
#undef KILN_OP
};

enum kiln_op kiln_ir_op_lookup(const char *domain, const char *op_type)
{
    /* "kiln": the domain of kiln's own ops (Gelu, FusedElementwise) and fused nodes in the
     * optimized models kiln writes, so that they load again */
    if (domain && domain[0] && strcmp(domain, "ai.onnx") != 0 && strcmp(domain, "kiln") != 0)
        return KILN_OP_UNKNOWN;
    for (int i = 0; i < KILN_OP_COUNT; i++)
        if (strcmp(op_onnx_names[i], op_type) == 0)
            return (enum kiln_op)i;
    return KILN_OP_UNKNOWN;
}

const struct kiln_ir_attr *kiln_ir_attr(const struct kiln_ir_node *n, const char *name)
{
    for (uint32_t i = 0; i < n->n_attrs; i++)
        if (strcmp(n->attrs[i].name, name) == 0)
            return &n->attrs[i];
    return NULL;
}

static void count_uses_in(struct kiln_ir_graph *g)
{
    for (uint32_t i = 0; i < g->n_nodes; i++) {
        struct kiln_ir_node *n = g->nodes[i];
        if (n->dead)
            continue;
        for (uint32_t j = 0; j < n->n_in; j++)
            if (n->in[j])
                n->in[j]->n_uses++;
    }
    for (uint32_t i = 0; i < g->n_outputs; i++)
        g->outputs[i]->n_uses++;
    for (uint32_t i = 0; i < g->n_subs; i++)
        count_uses_in(g->subs[i]);
}

void kiln_ir_count_uses(struct kiln_ir_graph *g)
{
    struct kiln_ir_graph *r = g->root;
    for (uint32_t i = 0; i < r->n_values; i++)
        r->values[i]->n_uses = 0;
    count_uses_in(r);
}

/* Kahn's algorithm, stable: among ready nodes the original order is kept. */
enum kiln_status kiln_ir_toposort(struct kiln_ir_graph *g, struct kiln_diag *d)
{
    uint32_t n = g->n_nodes;
    if (!n)
        return KILN_STATUS_OK;
    uint32_t *pending = calloc(n, sizeof *pending);
    struct kiln_ir_node **order = malloc(n * sizeof *order);
    /* consumers lists: for each value id, node indices reading it (CSR) */
    uint32_t nv = g->root->n_values;
    uint32_t *cstart = calloc(nv + 1, sizeof *cstart);
    uint32_t total = 0;
    for (uint32_t i = 0; i < n; i++)
        total += g->nodes[i]->n_in;
    uint32_t *clist = malloc((total ? total : 1) * sizeof *clist);
    uint32_t *fill = calloc(nv + 1, sizeof *fill);
    uint32_t *ready = malloc(n * sizeof *ready);
    if (!pending || !order || !cstart || !clist || !fill || !ready) {
        free(pending), free(order), free(cstart), free(clist), free(fill), free(ready);
        return kiln_diag_set(d, KILN_STATUS_NO_MEMORY, NULL, NULL, "out of memory");
    }
    for (uint32_t i = 0; i < n; i++)
        g->nodes[i]->id = i;
    for (uint32_t i = 0; i < n; i++) {
        struct kiln_ir_node *nd = g->nodes[i];
        for (uint32_t j = 0; j < nd->n_in; j++) {
            struct kiln_ir_value *v = nd->in[j];
            if (v && v->producer && v->id != UINT32_MAX && v->owner == g) {
                pending[i]++;
                cstart[v->id + 1]++;
            }
        }
    }
    for (uint32_t i = 0; i < nv; i++)
        cstart[i + 1] += cstart[i];
    for (uint32_t i = 0; i < n; i++) {
        struct kiln_ir_node *nd = g->nodes[i];
        for (uint32_t j = 0; j < nd->n_in; j++) {
            struct kiln_ir_value *v = nd->in[j];
            if (v && v->producer && v->id != UINT32_MAX && v->owner == g)
                clist[cstart[v->id] + fill[v->id]++] = i;
        }
    }
    /* a min-heap would keep the order strictly; a FIFO seeded in order is close enough and
     * keeps independent nodes in file order, which is what users read in reports */
    uint32_t head = 0, tail = 0, done = 0;
    for (uint32_t i = 0; i < n; i++)
        if (!pending[i])
            ready[tail++] = i;
    while (head < tail) {
        struct kiln_ir_node *nd = g->nodes[ready[head++]];
        order[done++] = nd;
        for (uint32_t o = 0; o < nd->n_out; o++) {
            struct kiln_ir_value *v = nd->out[o];
            if (!v || v->id == UINT32_MAX)
                continue;
            for (uint32_t k = cstart[v->id]; k < cstart[v->id + 1]; k++)
                if (--pending[clist[k]] == 0)
                    ready[tail++] = clist[k];
        }
    }
    enum kiln_status st = KILN_STATUS_OK;
    if (done != n) {
        struct kiln_ir_node *bad = NULL;
        for (uint32_t i = 0; i < n && !bad; i++)
            if (pending[i])
                bad = g->nodes[i];
        st = kiln_diag_set(d, KILN_STATUS_INVALID_MODEL, bad->name, bad->op_type,
                           "the graph has a cycle through this node (%u of %u nodes cannot be "
                           "ordered)",
                           n - done, n);
    } else {
        memcpy(g->nodes, order, n * sizeof *order);
        for (uint32_t i = 0; i < n; i++)
            g->nodes[i]->id = i;
    }
    free(pending), free(order), free(cstart), free(clist), free(fill), free(ready);
    return st;
}

enum kiln_status kiln_ir_verify(const struct kiln_ir_graph *g, struct kiln_diag *d)
{
    /* producer consistency and definition before use, in node order */
    uint8_t *defined = calloc(g->root->n_values + 1, 1);
    if (!defined)
        return kiln_diag_set(d, KILN_STATUS_NO_MEMORY, NULL, NULL, "out of memory");
    enum kiln_status st = KILN_STATUS_OK;
    for (uint32_t i = 0; i < g->n_values; i++) {
        struct kiln_ir_value *v = g->values[i];
        if (g == g->root && v->id != i) {
            st = kiln_diag_set(d, KILN_STATUS_INTERNAL, NULL, NULL,
                               "value '%s' has id %u at index %u", v->name, v->id, i);
            goto out;
        }
        if (!v->producer)
            defined[v->id] = v->is_input || v->data != NULL || v->is_initializer;
        if (v->producer && (v->is_input || v->is_initializer)) {
            st = kiln_diag_set(d, KILN_STATUS_INVALID_MODEL, v->producer->name,
                               v->producer->op_type,
                               "output '%s' is also a graph input or initializer", v->name);
            goto out;
        }
    }
    for (uint32_t i = 0; i < g->n_nodes; i++) {
        const struct kiln_ir_node *n = g->nodes[i];
        if (n->dead)
            continue;
        for (uint32_t j = 0; j < n->n_in; j++) {
            const struct kiln_ir_value *v = n->in[j];
            if (!v || v->id == UINT32_MAX || v->owner != g)
                continue; /* outer-scope values are checked in their own scope */
            if (!defined[v->id]) {
                st = kiln_diag_set(d, KILN_STATUS_INVALID_MODEL, n->name, n->op_type,
                                   "input '%s' is used before it is defined (not a graph "
                                   "input, initializer or earlier node's output)",
                                   v->name);
                goto out;
            }
        }
        for (uint32_t j = 0; j < n->n_out; j++) {
            const struct kiln_ir_value *v = n->out[j];
            if (!v)
                continue;
            if (v->producer != n) {
                st = kiln_diag_set(d, KILN_STATUS_INVALID_MODEL, n->name, n->op_type,
                                   "output '%s' is produced by more than one node", v->name);
                goto out;
            }
            if (v->id != UINT32_MAX)
                defined[v->id] = 1;
        }
    }
    for (uint32_t i = 0; i < g->n_outputs; i++) {
        const struct kiln_ir_value *v = g->outputs[i];
        if (v->id == UINT32_MAX || (v->owner == g && !defined[v->id])) {
            st = kiln_diag_set(d, KILN_STATUS_INVALID_MODEL, NULL, NULL,
                               "graph output '%s' is not produced by any node, input or "
                               "initializer",
                               v->name);
            goto out;
        }
    }
out:
    free(defined);
    return st;
}

enum kiln_status kiln_ir_freeze_input(struct kiln_ir_graph *g, uint32_t index, const void *data,
                                      struct kiln_diag *d)
{
    if (index >= g->n_inputs)
        return kiln_diag_set(d, KILN_STATUS_INVALID_ARG, NULL, NULL, "no input #%u", index);
    struct kiln_ir_value *v = g->inputs[index];
    if (!kiln_ir_value_shape_known(v))
        return kiln_diag_set(d, KILN_STATUS_INVALID_ARG, NULL, NULL,
                             "input '%s' needs a fixed shape before it is frozen", v->name);
    uint64_t nb = kiln_ir_value_nbytes(v);
    void *copy = kiln_arena_alloc_aligned(&g->arena, nb ? nb : 1, 64);
    if (!copy)
        return kiln_diag_set(d, KILN_STATUS_NO_MEMORY, NULL, NULL, "out of memory");
    if (nb)
        memcpy(copy, data, nb);
    v->data = copy;
    v->is_input = false;
    v->is_initializer = true;
    memmove(&g->inputs[index], &g->inputs[index + 1], (g->n_inputs - index - 1) * sizeof *g->inputs);
    g->n_inputs--;
    return KILN_STATUS_OK;
}
