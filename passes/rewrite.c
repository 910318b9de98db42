/* rewrite.c - the graph-editing helpers of rewrite.h: constants, attributes and inputs that the
 * rewriting passes create or change. Everything new lives in the graph arena and so is freed
 * with the graph. */
#include <string.h>

#include "rewrite.h"

struct kiln_ir_value *kiln_rw_new_const(struct kiln_ir_graph *g, const char *base, int dtype,
                                        int rank, const int64_t *dims)
{
    struct kiln_ir_value *v = kiln_pass_new_value(g, base);
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

struct kiln_ir_value *kiln_rw_new_ints(struct kiln_ir_graph *g, const char *base,
                                       const int64_t *vals, int64_t n)
{
    struct kiln_ir_value *v = kiln_rw_new_const(g, base, KILN_DTYPE_I64, 1, &n);
    if (v)
        memcpy((void *)v->data, vals, (size_t)n * sizeof *vals);
    return v;
}

bool kiln_rw_is_float_const(const struct kiln_ir_value *v, int dtype)
{
    return v && v->data && v->dtype == dtype &&
           (dtype == KILN_DTYPE_F32 || dtype == KILN_DTYPE_F64);
}

double kiln_rw_get(const struct kiln_ir_value *v, int64_t i)
{
    return v->dtype == KILN_DTYPE_F64 ? ((const double *)v->data)[i]
                                      : ((const float *)v->data)[i];
}

void kiln_rw_set(struct kiln_ir_value *v, int64_t i, double x)
{
    if (v->dtype == KILN_DTYPE_F64)
        ((double *)v->data)[i] = x;
    else
        ((float *)v->data)[i] = (float)x;
}

/* The attribute `name` of n, appended (zeroed, typed) when absent; NULL on OOM. */
static struct kiln_ir_attr *attr_slot(struct kiln_ir_graph *g, struct kiln_ir_node *n,
                                      const char *name, enum kiln_attr_type type)
{
    for (uint32_t i = 0; i < n->n_attrs; i++)
        if (strcmp(n->attrs[i].name, name) == 0) {
            struct kiln_ir_attr *a = &n->attrs[i];
            const char *keep = a->name;
            memset(a, 0, sizeof *a);
            a->name = keep;
            a->type = type;
            return a;
        }
    struct kiln_ir_attr *attrs = kiln_arena_alloc(&g->arena, (n->n_attrs + 1) * sizeof *attrs);
    char *nm = kiln_arena_strdup(&g->arena, name);
    if (!attrs || !nm)
        return NULL;
    if (n->n_attrs)
        memcpy(attrs, n->attrs, n->n_attrs * sizeof *attrs);
    n->attrs = attrs;
    struct kiln_ir_attr *a = &attrs[n->n_attrs++];
    a->name = nm;
    a->type = type;
    return a;
}

bool kiln_rw_set_int(struct kiln_ir_graph *g, struct kiln_ir_node *n, const char *name, int64_t v)
{
    struct kiln_ir_attr *a = attr_slot(g, n, name, KILN_ATTR_INT);
    if (a)
        a->i = v;
    return a != NULL;
}

bool kiln_rw_set_float(struct kiln_ir_graph *g, struct kiln_ir_node *n, const char *name, float v)
{
    struct kiln_ir_attr *a = attr_slot(g, n, name, KILN_ATTR_FLOAT);
    if (a)
        a->f = v;
    return a != NULL;
}

bool kiln_rw_set_ints(struct kiln_ir_graph *g, struct kiln_ir_node *n, const char *name,
                      const int64_t *v, size_t count)
{
    int64_t *copy = kiln_arena_alloc(&g->arena, (count ? count : 1) * sizeof *copy);
    struct kiln_ir_attr *a = copy ? attr_slot(g, n, name, KILN_ATTR_INTS) : NULL;
    if (!a)
        return false;
    memcpy(copy, v, count * sizeof *copy);
    a->ints = copy;
    a->n = count;
    return true;
}

int64_t kiln_rw_attr_int(const struct kiln_ir_node *n, const char *name, int64_t def)
{
    const struct kiln_ir_attr *a = kiln_ir_attr(n, name);
    return a && a->type == KILN_ATTR_INT ? a->i : def;
}

bool kiln_rw_resize_inputs(struct kiln_ir_graph *g, struct kiln_ir_node *n, uint32_t n_in)
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

bool kiln_rw_become(struct kiln_ir_graph *g, struct kiln_ir_node *n, enum kiln_op op,
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

struct kiln_ir_node *kiln_rw_producer(const struct kiln_ir_value *v, enum kiln_op op)
{
    struct kiln_ir_node *p = v ? v->producer : NULL;
    return p && !p->dead && p->op == op ? p : NULL;
}

void kiln_rw_take_output(struct kiln_ir_node *by, struct kiln_ir_node *n)
{
    struct kiln_ir_value *old = by->out[0], *y = n->out[0];
    old->producer = NULL;
    old->n_uses = 0;
    by->out[0] = y;
    y->producer = by;
    n->dead = true;
}

bool kiln_rw_same_shape(const struct kiln_ir_value *a, const struct kiln_ir_value *b)
{
    if (a->rank != b->rank)
        return false;
    for (int k = 0; k < a->rank; k++)
        if (a->dims[k] != b->dims[k])
            return false;
    return true;
}

bool kiln_rw_reshape_to(struct kiln_ir_graph *g, struct kiln_ir_node *n, struct kiln_ir_value *x,
                        const struct kiln_ir_value *y)
{
    bool as_input = g->opset >= 5;
    char base[300];
    snprintf(base, sizeof base, "%s_shape", n->name);
    struct kiln_ir_value *shape = as_input ? kiln_rw_new_ints(g, base, y->dims, y->rank) : NULL;
    if ((as_input && !shape) ||
        (!as_input && !kiln_rw_set_ints(g, n, "shape", y->dims, (size_t)y->rank)) ||
        !kiln_rw_resize_inputs(g, n, as_input ? 2 : 1))
        return false;
    n->in[0] = x;
    if (shape)
        n->in[1] = shape;
    return true;
}

struct kiln_ir_node *kiln_rw_new_reshape(struct kiln_ir_graph *g, const char *name,
                                         struct kiln_ir_value *x, struct kiln_ir_value *y)
{
    struct kiln_ir_node *n = kiln_ir_node_new(g, name, "Reshape", "", 0, 1);
    if (!n || !kiln_rw_reshape_to(g, n, x, y))
        return NULL;
    n->out[0] = y;
    y->producer = n;
    return n;
}
