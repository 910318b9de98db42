/* fuse_util.c - the helpers of fuse.h: constant matching, single-reader checks, attribute
 * editing and output hand-over for the fusion and pattern passes. */
#include <math.h>
#include <string.h>

#include "fuse.h"

struct kiln_ir_node *kiln_fuse_producer(const struct kiln_ir_value *v)
{
    return v && v->producer && !v->producer->dead && !v->data ? v->producer : NULL;
}

struct kiln_ir_node *kiln_fuse_producer_op(const struct kiln_ir_value *v, enum kiln_op op)
{
    struct kiln_ir_node *n = kiln_fuse_producer(v);
    return n && n->op == op ? n : NULL;
}

struct kiln_ir_node *kiln_fuse_sole_user_op(const struct kiln_ir_graph *g,
                                            const struct kiln_ir_value *v, enum kiln_op op)
{
    struct kiln_ir_node *n = v ? kiln_pass_sole_user(g, v) : NULL;
    return n && n->op == op ? n : NULL;
}

bool kiln_fuse_scalar(const struct kiln_ir_value *v, float *out)
{
    if (!v || !v->data || kiln_ir_value_numel(v) != 1)
        return false;
    if (v->dtype == KILN_DTYPE_F32)
        memcpy(out, v->data, sizeof *out);
    else if (v->dtype == KILN_DTYPE_F64) {
        double d;
        memcpy(&d, v->data, sizeof d);
        *out = (float)d;
    } else
        return false;
    return true;
}

bool kiln_fuse_scalar_is(const struct kiln_ir_value *v, float want)
{
    float f;
    return kiln_fuse_scalar(v, &f) && fabsf(f - want) <= 1e-4f * fabsf(want);
}

struct kiln_ir_value *kiln_fuse_other(const struct kiln_ir_node *n, const struct kiln_ir_value *v)
{
    if (n->n_in != 2)
        return NULL;
    return n->in[0] == v ? n->in[1] : n->in[1] == v ? n->in[0] : NULL;
}

bool kiln_fuse_same_type(const struct kiln_ir_value *a, const struct kiln_ir_value *b)
{
    if (a->dtype != b->dtype || a->rank != b->rank || a->rank < 0)
        return false;
    for (int i = 0; i < a->rank; i++)
        if (a->dims[i] != b->dims[i])
            return false;
    return true;
}

/* The attribute `name` of n, appended (zeroed) when absent. */
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

bool kiln_fuse_set_int(struct kiln_ir_graph *g, struct kiln_ir_node *n, const char *name, int64_t v)
{
    struct kiln_ir_attr *a = attr_slot(g, n, name, KILN_ATTR_INT);
    return a && (a->i = v, true);
}

bool kiln_fuse_set_float(struct kiln_ir_graph *g, struct kiln_ir_node *n, const char *name, float v)
{
    struct kiln_ir_attr *a = attr_slot(g, n, name, KILN_ATTR_FLOAT);
    return a && (a->f = v, true);
}

bool kiln_fuse_set_string(struct kiln_ir_graph *g, struct kiln_ir_node *n, const char *name,
                          const char *v)
{
    struct kiln_ir_attr *a = attr_slot(g, n, name, KILN_ATTR_STRING);
    if (!a || !(a->s = kiln_arena_strdup(&g->arena, v)))
        return false;
    a->s_len = strlen(v);
    return true;
}

/* An INTS or FLOATS attribute holding a copy of count elements of size es; NULL on OOM. */
static void *set_array(struct kiln_ir_graph *g, struct kiln_ir_node *n, const char *name,
                       enum kiln_attr_type type, const void *v, size_t es, size_t count)
{
    struct kiln_ir_attr *a = attr_slot(g, n, name, type);
    void *copy = a ? kiln_arena_alloc(&g->arena, (count ? count : 1) * es) : NULL;
    if (!copy)
        return NULL;
    if (count)
        memcpy(copy, v, count * es);
    a->n = count;
    return type == KILN_ATTR_INTS ? (void *)(a->ints = copy) : (void *)(a->floats = copy);
}

bool kiln_fuse_set_ints(struct kiln_ir_graph *g, struct kiln_ir_node *n, const char *name,
                        const int64_t *v, size_t count)
{
    return set_array(g, n, name, KILN_ATTR_INTS, v, sizeof *v, count) != NULL;
}

bool kiln_fuse_set_floats(struct kiln_ir_graph *g, struct kiln_ir_node *n, const char *name,
                          const float *v, size_t count)
{
    return set_array(g, n, name, KILN_ATTR_FLOATS, v, sizeof *v, count) != NULL;
}

struct kiln_ir_node *kiln_fuse_new_node(struct kiln_ir_graph *g, const char *base,
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

void kiln_fuse_take_output(struct kiln_ir_node *n, struct kiln_ir_value *y)
{
    struct kiln_ir_value *old = n->out[0];
    if (old && old != y && old->producer == n)
        old->producer = NULL;
    n->out[0] = y;
    y->producer = n;
}

bool kiln_fuse_set_inputs(struct kiln_ir_graph *g, struct kiln_ir_node *n,
                          struct kiln_ir_value *const *in, uint32_t count)
{
    struct kiln_ir_value **na = kiln_arena_alloc(&g->arena, (count ? count : 1) * sizeof *na);
    if (!na)
        return false;
    memcpy(na, in, count * sizeof *na);
    n->in = na;
    n->n_in = count;
    return true;
}
