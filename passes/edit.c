/* edit.c - the graph-editing API of edit.h, shared by every pass: lookups over producers and
 * readers, constant matching, new values and nodes in the graph arena, attribute and input
 * edits, and the hand-over of a value from a replaced chain to the node replacing it. */
#include <math.h>
#include <string.h>

#include "edit.h"

/* ---- finding ---- */

struct kiln_ir_node *kiln_edit_producer(const struct kiln_ir_value *v)
{
    return v && v->producer && !v->producer->dead && !v->data ? v->producer : NULL;
}

struct kiln_ir_node *kiln_edit_producer_op(const struct kiln_ir_value *v, enum kiln_op op)
{
    struct kiln_ir_node *n = kiln_edit_producer(v);
    return n && n->op == op ? n : NULL;
}

struct kiln_ir_node *kiln_edit_reader(const struct kiln_ir_graph *g, const struct kiln_ir_value *v,
                                      const struct kiln_ir_node *except)
{
    struct kiln_ir_node *n;
    for (uint32_t i = 0; (n = kiln_edit_next_live(g, &i));) {
        if (n == except)
            continue;
        for (uint32_t j = 0; j < n->n_in; j++)
            if (n->in[j] == v)
                return n;
    }
    return NULL;
}

struct kiln_ir_node *kiln_edit_sole_user(const struct kiln_ir_graph *g,
                                         const struct kiln_ir_value *v)
{
    if (v->is_output || v->n_uses != 1)
        return NULL;
    /* The one reader, wherever it is; in a sorted graph it follows its producer, so the search
     * starts there (node ids are positions after sorting; a stale one is only a worse start).
     * Without this every pass asking about every node of a long chain was quadratic. */
    uint32_t start = 0;
    const struct kiln_ir_node *p = v->producer;
    if (p && p->id < g->n_nodes && g->nodes[p->id] == p)
        start = p->id + 1;
    for (uint32_t k = 0; k < g->n_nodes; k++) {
        struct kiln_ir_node *n = g->nodes[(start + k) % g->n_nodes];
        if (n->dead)
            continue;
        for (uint32_t j = 0; j < n->n_in; j++)
            if (n->in[j] == v)
                return n;
    }
    return NULL; /* read from a subgraph only */
}

struct kiln_ir_node *kiln_edit_sole_user_op(const struct kiln_ir_graph *g,
                                            const struct kiln_ir_value *v, enum kiln_op op)
{
    struct kiln_ir_node *n = v ? kiln_edit_sole_user(g, v) : NULL;
    return n && n->op == op ? n : NULL;
}

struct kiln_ir_value *kiln_edit_other(const struct kiln_ir_node *n, const struct kiln_ir_value *v)
{
    if (n->n_in != 2)
        return NULL;
    return n->in[0] == v ? n->in[1] : n->in[1] == v ? n->in[0] : NULL;
}

bool kiln_edit_same_shape(const struct kiln_ir_value *a, const struct kiln_ir_value *b)
{
    if (a->rank < 0 || a->rank != b->rank)
        return false;
    for (int k = 0; k < a->rank; k++)
        if (a->dims[k] != b->dims[k])
            return false;
    return true;
}

bool kiln_edit_same_type(const struct kiln_ir_value *a, const struct kiln_ir_value *b)
{
    return a->dtype == b->dtype && kiln_edit_same_shape(a, b);
}

/* ---- constants ---- */

bool kiln_edit_is_float_const(const struct kiln_ir_value *v, int dtype)
{
    return v && v->data && v->dtype == dtype &&
           (dtype == KILN_DTYPE_F32 || dtype == KILN_DTYPE_F64);
}

double kiln_edit_get(const struct kiln_ir_value *v, int64_t i)
{
    return v->dtype == KILN_DTYPE_F64 ? ((const double *)v->data)[i] : ((const float *)v->data)[i];
}

void kiln_edit_set(struct kiln_ir_value *v, int64_t i, double x)
{
    if (v->dtype == KILN_DTYPE_F64)
        ((double *)v->data)[i] = x;
    else
        ((float *)v->data)[i] = (float)x;
}

bool kiln_edit_scalar(const struct kiln_ir_value *v, float *out)
{
    if (!v || !kiln_edit_is_float_const(v, v->dtype) || kiln_ir_value_numel(v) != 1)
        return false;
    *out = (float)kiln_edit_get(v, 0); /* exact for float32: widened, then narrowed back */
    return true;
}

bool kiln_edit_scalar_is(const struct kiln_ir_value *v, float want)
{
    float f;
    return kiln_edit_scalar(v, &f) && fabsf(f - want) <= 1e-4f * fabsf(want);
}

/* ---- new values ---- */

struct kiln_ir_value *kiln_edit_new_value(struct kiln_ir_graph *g, const char *base)
{
    char name[300];
    snprintf(name, sizeof name, "%s", base);
    for (int k = 1; kiln_ir_find(g, name) && k < 1000000; k++)
        snprintf(name, sizeof name, "%s_%d", base, k);
    return kiln_ir_value_new(g, name);
}

struct kiln_ir_value *kiln_edit_new_const(struct kiln_ir_graph *g, const char *base, int dtype,
                                          int rank, const int64_t *dims)
{
    struct kiln_ir_value *v = kiln_edit_new_value(g, base);
    if (!v)
        return NULL;
    v->dtype = dtype;
    v->rank = rank;
    for (int k = 0; k < rank; k++)
        v->dims[k] = dims[k];
    uint64_t nb = kiln_ir_value_nbytes(v);
    void *data = kiln_arena_alloc_aligned(&g->arena, nb ? nb : 1, 64);
    if (!data)
        return NULL;
    v->data = data;
    v->is_initializer = true;
    return v;
}

struct kiln_ir_value *kiln_edit_new_ints(struct kiln_ir_graph *g, const char *base,
                                         const int64_t *vals, int64_t n)
{
    struct kiln_ir_value *v = kiln_edit_new_const(g, base, KILN_DTYPE_I64, 1, &n);
    if (v)
        memcpy((void *)v->data, vals, (size_t)n * sizeof *vals);
    return v;
}

/* ---- attributes ---- */

int64_t kiln_edit_attr_int(const struct kiln_ir_node *n, const char *name, int64_t def)
{
    const struct kiln_ir_attr *a = kiln_ir_attr(n, name);
    return a && a->type == KILN_ATTR_INT ? a->i : def;
}

/* The attribute `name` of n, cleared to an empty one of `type` (in its place when it exists,
 * appended when absent); NULL on OOM. */
static struct kiln_ir_attr *attr_slot(struct kiln_ir_graph *g, struct kiln_ir_node *n,
                                      const char *name, enum kiln_attr_type type)
{
    struct kiln_ir_attr *a = NULL;
    for (uint32_t i = 0; i < n->n_attrs && !a; i++)
        if (strcmp(n->attrs[i].name, name) == 0)
            a = &n->attrs[i];
    if (!a) {
        struct kiln_ir_attr *na = kiln_arena_alloc(&g->arena, (n->n_attrs + 1) * sizeof *na);
        const char *nm = kiln_arena_strdup(&g->arena, name);
        if (!na || !nm)
            return NULL;
        if (n->n_attrs)
            memcpy(na, n->attrs, n->n_attrs * sizeof *na);
        n->attrs = na;
        a = &na[n->n_attrs++];
        a->name = nm;
    }
    const char *keep = a->name;
    memset(a, 0, sizeof *a);
    a->name = keep;
    a->type = type;
    return a;
}

bool kiln_edit_set_int(struct kiln_ir_graph *g, struct kiln_ir_node *n, const char *name, int64_t v)
{
    struct kiln_ir_attr *a = attr_slot(g, n, name, KILN_ATTR_INT);
    if (a)
        a->i = v;
    return a != NULL;
}

bool kiln_edit_set_float(struct kiln_ir_graph *g, struct kiln_ir_node *n, const char *name, float v)
{
    struct kiln_ir_attr *a = attr_slot(g, n, name, KILN_ATTR_FLOAT);
    if (a)
        a->f = v;
    return a != NULL;
}

bool kiln_edit_set_string(struct kiln_ir_graph *g, struct kiln_ir_node *n, const char *name,
                          const char *v)
{
    char *copy = kiln_arena_strdup(&g->arena, v);
    struct kiln_ir_attr *a = copy ? attr_slot(g, n, name, KILN_ATTR_STRING) : NULL;
    if (!a)
        return false;
    a->s = copy;
    a->s_len = strlen(v);
    return true;
}

/* An INTS or FLOATS attribute holding a copy of count elements of size es; the copy is made
 * first so that an OOM leaves the attribute as it was. */
static bool set_array(struct kiln_ir_graph *g, struct kiln_ir_node *n, const char *name,
                      enum kiln_attr_type type, const void *v, size_t es, size_t count)
{
    void *copy = kiln_arena_alloc(&g->arena, (count ? count : 1) * es);
    struct kiln_ir_attr *a = copy ? attr_slot(g, n, name, type) : NULL;
    if (!a)
        return false;
    if (count)
        memcpy(copy, v, count * es);
    a->n = count;
    if (type == KILN_ATTR_INTS)
        a->ints = copy;
    else
        a->floats = copy;
    return true;
}

bool kiln_edit_set_ints(struct kiln_ir_graph *g, struct kiln_ir_node *n, const char *name,
                        const int64_t *v, size_t count)
{
    return set_array(g, n, name, KILN_ATTR_INTS, v, sizeof *v, count);
}

bool kiln_edit_set_floats(struct kiln_ir_graph *g, struct kiln_ir_node *n, const char *name,
                          const float *v, size_t count)
{
    return set_array(g, n, name, KILN_ATTR_FLOATS, v, sizeof *v, count);
}

/* ---- nodes ---- */

struct kiln_ir_node *kiln_edit_new_node(struct kiln_ir_graph *g, const char *base,
                                        const char *suffix, enum kiln_op op, const char *op_type,
                                        const char *domain, uint32_t n_in)
{
    char name[512];
    snprintf(name, sizeof name, "%s/%s", base, suffix);
    struct kiln_ir_node *n = kiln_ir_node_new(g, name, op_type, domain, n_in, 1);
    if (n)
        n->op = op;
    return n;
}

bool kiln_edit_become(struct kiln_ir_graph *g, struct kiln_ir_node *n, enum kiln_op op,
                      const char *op_type, uint32_t n_in)
{
    struct kiln_ir_value **in = kiln_arena_alloc(&g->arena, (n_in ? n_in : 1) * sizeof *in);
    if (!in)
        return false;
    n->in = in;
    n->n_in = n_in;
    n->n_implicit = 0;
    n->op = op;
    n->op_type = op_type;
    n->domain = "";
    n->attrs = NULL;
    n->n_attrs = 0;
    n->params = NULL;
    n->params_size = 0;
    n->scratch_size = 0;
    return true;
}

bool kiln_edit_resize_inputs(struct kiln_ir_graph *g, struct kiln_ir_node *n, uint32_t n_in)
{
    if (n_in > n->n_in) {
        struct kiln_ir_value **in = kiln_arena_alloc(&g->arena, n_in * sizeof *in);
        if (!in)
            return false;
        if (n->n_in)
            memcpy(in, n->in, n->n_in * sizeof *in);
        n->in = in;
    }
    n->n_in = n_in;
    return true;
}

void kiln_edit_take_output(struct kiln_ir_node *by, struct kiln_ir_value *y)
{
    struct kiln_ir_value *old = by->out[0];
    if (old && old != y && old->producer == by) {
        old->producer = NULL;
        old->n_uses = 0;
    }
    by->out[0] = y;
    y->producer = by;
}

static void replace_in(struct kiln_ir_graph *g, struct kiln_ir_value *from,
                       struct kiln_ir_value *to)
{
    for (uint32_t i = 0; i < g->n_nodes; i++) {
        struct kiln_ir_node *n = g->nodes[i];
        for (uint32_t j = 0; j < n->n_in; j++)
            if (n->in[j] == from)
                n->in[j] = to;
    }
    if (g->parent)
        for (uint32_t i = 0; i < g->n_outputs; i++)
            if (g->outputs[i] == from)
                g->outputs[i] = to;
    for (uint32_t i = 0; i < g->n_subs; i++)
        replace_in(g->subs[i], from, to);
}

bool kiln_edit_replace_uses(struct kiln_ir_graph *g, struct kiln_ir_value *from,
                            struct kiln_ir_value *to)
{
    if (from->is_output)
        return false;
    replace_in(g, from, to);
    return true;
}

bool kiln_edit_bypass(struct kiln_ir_graph *g, struct kiln_ir_node *n)
{
    if (!n->out[0] || !kiln_edit_replace_uses(g, n->out[0], n->in[0]))
        return false;
    n->dead = true;
    return true;
}

enum kiln_status kiln_edit_reinfer(struct kiln_pass_ctx *c, struct kiln_ir_node *n)
{
    struct kiln_infer_ctx ic = {.g = c->g, .diag = c->d};
    n->kdtype = n->n_in && n->in[0] ? n->in[0]->dtype : 0;
    return kiln_op_info(n->op)->infer(&ic, n);
}

/* ---- Reshape ---- */

bool kiln_edit_reshape_to(struct kiln_ir_graph *g, struct kiln_ir_node *n, struct kiln_ir_value *x,
                          const struct kiln_ir_value *y)
{
    bool as_input = g->opset >= 5;
    char base[300];
    snprintf(base, sizeof base, "%s_shape", n->name);
    struct kiln_ir_value *shape = as_input ? kiln_edit_new_ints(g, base, y->dims, y->rank) : NULL;
    if ((as_input && !shape) ||
        (!as_input && !kiln_edit_set_ints(g, n, "shape", y->dims, (size_t)y->rank)) ||
        !kiln_edit_resize_inputs(g, n, as_input ? 2 : 1))
        return false;
    n->in[0] = x;
    if (shape)
        n->in[1] = shape;
    return true;
}

struct kiln_ir_node *kiln_edit_new_reshape(struct kiln_ir_graph *g, const char *name,
                                           struct kiln_ir_value *x, struct kiln_ir_value *y)
{
    struct kiln_ir_node *n = kiln_ir_node_new(g, name, "Reshape", "", 0, 1);
    if (!n || !kiln_edit_reshape_to(g, n, x, y))
        return NULL;
    kiln_edit_take_output(n, y);
    return n;
}
