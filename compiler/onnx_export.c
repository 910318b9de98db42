/* onnx_export.c - the IR back to an ONNX ModelProto (protobuf-c), packed and written to a
 * temporary file renamed into place. The messages are built in a private arena and point at
 * the graph's own strings and tensor bytes (packing only reads them), so nothing is copied
 * but the packed file. Kiln-only nodes go to the "kiln" domain (docs/kiln-domain.md). */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "onnx.pb-c.h"
#include "onnx_export.h"

/* ONNX IR version 8 (ONNX 1.10+): initializers need not be graph inputs; readers of opsets up
 * to 17 (what kiln imports) all accept it. */
#define KILN_ONNX_IR_VERSION 8

/* Ops kiln runs that the default ONNX domain lacks before `since` (0: never defined there). */
static const struct {
    const char *op_type;
    int64_t since;
} kiln_only_ops[] = {
    {"FusedElementwise", 0},
    {"Gelu", 20},
    {"LayerNormalization", 17}, /* made by layernorm_pattern in older-opset graphs */
};

struct wctx {
    struct kiln_arena a; /* every message of the model; freed after packing */
    struct kiln_diag *d;
    const struct kiln_ir_graph *root;
    const struct kiln_onnx_write_options *o;
    uint8_t *inited; /* per value id: already written as an initializer */
    bool uses_kiln;
    enum kiln_status st;
};

/* protobuf-c's message fields are not const; packing only reads them, so the messages may
 * point at the graph's own (const) strings and bytes. */
static char *cs(const char *s)
{
    return (char *)(uintptr_t)s;
}

static void *alloc(struct wctx *w, size_t size)
{
    void *p = kiln_arena_alloc(&w->a, size ? size : 1);
    if (!p && !w->st)
        w->st = kiln_diag_set(w->d, KILN_STATUS_NO_MEMORY, NULL, NULL, "out of memory");
    return p;
}

/* A message of type T, initialised from its protobuf-c INIT value. */
static void *new_msg(struct wctx *w, size_t size, const void *init)
{
    void *p = alloc(w, size);
    if (p)
        memcpy(p, init, size);
    return p;
}
#define NEW(w, T, INIT) ((T *)new_msg(w, sizeof(T), &(T)INIT))

bool kiln_onnx_node_is_kiln(const struct kiln_ir_node *n, int64_t opset)
{
    if (n->domain && strcmp(n->domain, KILN_ONNX_DOMAIN) == 0)
        return true;
    for (uint32_t k = 0; k < n->n_attrs; k++)
        if (strncmp(n->attrs[k].name, "kiln_", 5) == 0)
            return true;
    for (size_t k = 0; k < sizeof kiln_only_ops / sizeof kiln_only_ops[0]; k++)
        if (strcmp(n->op_type, kiln_only_ops[k].op_type) == 0 &&
            (!kiln_only_ops[k].since || opset < kiln_only_ops[k].since))
            return true;
    return false;
}

/* A node whose outputs were all evaluated at compile time: written as those constants. */
static bool folded(const struct kiln_ir_node *n)
{
    if (!n->n_out)
        return false;
    for (uint32_t o = 0; o < n->n_out; o++)
        if (n->out[o] && !n->out[o]->data)
            return false;
    return true;
}

static bool written(const struct kiln_ir_node *n)
{
    return !n->dead && !folded(n);
}

static Onnx__TensorProto *tensor_proto(struct wctx *w, const struct kiln_ir_value *v)
{
    Onnx__TensorProto *t = NEW(w, Onnx__TensorProto, ONNX__TENSOR_PROTO__INIT);
    int64_t *dims = alloc(w, (size_t)(v->rank > 0 ? v->rank : 1) * sizeof *dims);
    if (!t || !dims)
        return NULL;
    for (int k = 0; k < v->rank; k++)
        dims[k] = v->dims[k];
    t->name = cs(v->name);
    t->n_dims = (size_t)(v->rank > 0 ? v->rank : 0);
    t->dims = dims;
    t->has_data_type = 1;
    t->data_type = v->dtype;
    /* the IR keeps constants as the importer read them: dense little-endian bytes (kiln builds
     * for little-endian hosts only), exactly ONNX's raw_data layout */
    t->has_raw_data = 1;
    t->raw_data.len = (size_t)kiln_ir_value_nbytes(v);
    t->raw_data.data = (uint8_t *)(uintptr_t)v->data;
    if (v->dtype == KILN_DTYPE_I4 || v->dtype == KILN_DTYPE_U4) {
        /* kiln keeps a byte per 4-bit element; ONNX packs two, element 2k low */
        int64_t n = kiln_ir_value_numel(v);
        uint8_t *packed = alloc(w, (size_t)(n + 1) / 2);
        if (!packed)
            return NULL;
        memset(packed, 0, (size_t)(n + 1) / 2);
        for (int64_t i = 0; i < n; i++)
            packed[i / 2] |= (uint8_t)((((const uint8_t *)v->data)[i] & 0xf) << (i % 2 * 4));
        t->raw_data.len = (size_t)(n + 1) / 2;
        t->raw_data.data = packed;
    }
    return t;
}

static Onnx__ValueInfoProto *value_info(struct wctx *w, const struct kiln_ir_value *v)
{
    Onnx__ValueInfoProto *vi = NEW(w, Onnx__ValueInfoProto, ONNX__VALUE_INFO_PROTO__INIT);
    if (!vi)
        return NULL;
    vi->name = cs(v->name);
    if (!v->dtype)
        return vi; /* a subgraph input whose type the model leaves open */
    Onnx__TypeProto *tp = NEW(w, Onnx__TypeProto, ONNX__TYPE_PROTO__INIT);
    Onnx__TypeProto__Tensor *tt = NEW(w, Onnx__TypeProto__Tensor, ONNX__TYPE_PROTO__TENSOR__INIT);
    if (!tp || !tt)
        return NULL;
    tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    tp->tensor_type = tt;
    tt->has_elem_type = 1;
    tt->elem_type = v->dtype;
    vi->type = tp;
    if (v->rank < 0)
        return vi;
    Onnx__TensorShapeProto *sh = NEW(w, Onnx__TensorShapeProto, ONNX__TENSOR_SHAPE_PROTO__INIT);
    Onnx__TensorShapeProto__Dimension **dims = alloc(w, (size_t)(v->rank + 1) * sizeof *dims);
    if (!sh || !dims)
        return NULL;
    for (int k = 0; k < v->rank; k++) {
        Onnx__TensorShapeProto__Dimension *dm =
            NEW(w, Onnx__TensorShapeProto__Dimension, ONNX__TENSOR_SHAPE_PROTO__DIMENSION__INIT);
        if (!dm)
            return NULL;
        if (v->dims[k] >= 0) {
            dm->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
            dm->dim_value = v->dims[k];
        } else if (v->dim_param[k]) {
            dm->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
            dm->dim_param = cs(v->dim_param[k]);
        } /* else: a dimension nobody knows, left unset */
        dims[k] = dm;
    }
    sh->n_dim = (size_t)v->rank;
    sh->dim = dims;
    tt->shape = sh;
    return vi;
}

static Onnx__GraphProto *graph_proto(struct wctx *w, const struct kiln_ir_graph *g);

static const char *attr_type_name(enum kiln_attr_type t)
{
    switch (t) {
    case KILN_ATTR_TENSORS: return "tensor list";
    case KILN_ATTR_GRAPHS: return "graph list";
    case KILN_ATTR_SPARSE_TENSOR:
    case KILN_ATTR_SPARSE_TENSORS: return "sparse tensor";
    case KILN_ATTR_TYPE_PROTO:
    case KILN_ATTR_TYPE_PROTOS: return "type";
    default: return "unknown";
    }
}

static Onnx__AttributeProto *attr_proto(struct wctx *w, const struct kiln_ir_node *n,
                                        const struct kiln_ir_attr *a)
{
    Onnx__AttributeProto *p = NEW(w, Onnx__AttributeProto, ONNX__ATTRIBUTE_PROTO__INIT);
    if (!p)
        return NULL;
    p->name = cs(a->name);
    p->has_type = 1;
    p->type = (Onnx__AttributeProto__AttributeType)a->type;
    switch (a->type) {
    case KILN_ATTR_FLOAT:
        p->has_f = 1;
        p->f = a->f;
        break;
    case KILN_ATTR_INT:
        p->has_i = 1;
        p->i = a->i;
        break;
    case KILN_ATTR_STRING:
        p->has_s = 1;
        p->s.len = a->s_len;
        p->s.data = (uint8_t *)(uintptr_t)a->s;
        break;
    case KILN_ATTR_FLOATS:
        p->n_floats = a->n;
        p->floats = a->floats;
        break;
    case KILN_ATTR_INTS:
        p->n_ints = a->n;
        p->ints = a->ints;
        break;
    case KILN_ATTR_STRINGS: { /* the IR packs them NUL-separated into s */
        ProtobufCBinaryData *ss = alloc(w, a->n * sizeof *ss);
        if (!ss)
            return NULL;
        const char *s = a->s;
        for (size_t k = 0; k < a->n; k++) {
            ss[k].len = strlen(s);
            ss[k].data = (uint8_t *)(uintptr_t)s;
            s += ss[k].len + 1;
        }
        p->n_strings = a->n;
        p->strings = ss;
        break;
    }
    case KILN_ATTR_TENSOR:
        if (!a->t || !(p->t = tensor_proto(w, a->t)))
            goto missing;
        break;
    case KILN_ATTR_GRAPH:
        if (!a->g || !(p->g = graph_proto(w, a->g)))
            goto missing;
        break;
    default:
        w->st = kiln_diag_set(w->d, KILN_STATUS_UNSUPPORTED, n->name, n->op_type,
                              "attribute '%s' is a %s, which the importer does not keep and "
                              "the ONNX writer cannot write back",
                              a->name, attr_type_name(a->type));
        return NULL;
    }
    return p;
missing:
    if (!w->st)
        w->st = kiln_diag_set(w->d, KILN_STATUS_INTERNAL, n->name, n->op_type,
                              "attribute '%s' has no value", a->name);
    return NULL;
}

static Onnx__NodeProto *node_proto(struct wctx *w, const struct kiln_ir_node *n)
{
    bool kiln = kiln_onnx_node_is_kiln(n, w->root->opset);
    if (kiln && w->o->standard_only) {
        w->st = kiln_diag_set(w->d, KILN_STATUS_UNSUPPORTED, n->name, n->op_type,
                              "this node exists only in kiln's '%s' domain (a kiln op or fused "
                              "attributes); plain ONNX output cannot hold it -- write it at a "
                              "lower -O level or allow the kiln domain",
                              KILN_ONNX_DOMAIN);
        return NULL;
    }
    w->uses_kiln |= kiln;
    Onnx__NodeProto *p = NEW(w, Onnx__NodeProto, ONNX__NODE_PROTO__INIT);
    uint32_t n_in = n->n_in - n->n_implicit; /* implicit inputs are the IR's, not ONNX's */
    char **in = alloc(w, n_in * sizeof *in), **out = alloc(w, n->n_out * sizeof *out);
    Onnx__AttributeProto **attrs = alloc(w, n->n_attrs * sizeof *attrs);
    if (!p || !in || !out || !attrs)
        return NULL;
    p->name = cs(n->name);
    p->op_type = cs(n->op_type);
    p->domain = cs(kiln ? KILN_ONNX_DOMAIN : "");
    for (uint32_t j = 0; j < n_in; j++)
        in[j] = cs(n->in[j] ? n->in[j]->name : "");
    for (uint32_t j = 0; j < n->n_out; j++)
        out[j] = cs(n->out[j] ? n->out[j]->name : "");
    p->n_input = n_in;
    p->input = in;
    p->n_output = n->n_out;
    p->output = out;
    for (uint32_t k = 0; k < n->n_attrs; k++) {
        if (n->attrs[k].type == KILN_ATTR_UNDEFINED)
            continue; /* an attribute without a value in the source model: it says nothing */
        if (!(attrs[p->n_attribute++] = attr_proto(w, n, &n->attrs[k])))
            return NULL;
    }
    p->attribute = attrs;
    return p;
}

/* v becomes an initializer of g if it is a constant of g's scope that no written node makes. */
static enum kiln_status add_initializer(struct wctx *w, const struct kiln_ir_graph *g,
                                        const struct kiln_ir_value *v, Onnx__GraphProto *gp)
{
    if (!v || !v->data || v->is_input || (v->owner && v->owner != g))
        return KILN_STATUS_OK;
    if (v->producer && written(v->producer))
        return KILN_STATUS_OK;
    if (v->id != UINT32_MAX) {
        if (w->inited[v->id])
            return KILN_STATUS_OK;
        w->inited[v->id] = 1;
    } else { /* a constant outside the name table: at most a few */
        for (size_t k = 0; k < gp->n_initializer; k++)
            if (strcmp(gp->initializer[k]->name, v->name) == 0)
                return KILN_STATUS_OK;
    }
    Onnx__TensorProto *t = tensor_proto(w, v);
    if (!t)
        return w->st;
    gp->initializer[gp->n_initializer++] = t;
    return KILN_STATUS_OK;
}

static bool is_graph_output(const struct kiln_ir_graph *g, const struct kiln_ir_value *v)
{
    for (uint32_t i = 0; i < g->n_outputs; i++)
        if (g->outputs[i] == v)
            return true;
    return false;
}

static Onnx__GraphProto *graph_proto(struct wctx *w, const struct kiln_ir_graph *g)
{
    Onnx__GraphProto *gp = NEW(w, Onnx__GraphProto, ONNX__GRAPH_PROTO__INIT);
    if (!gp)
        return NULL;
    gp->name = cs(g->graph_name && g->graph_name[0] ? g->graph_name : "kiln");
    size_t n_nodes = 0, n_reads = g->n_outputs, n_vals = 0;
    for (uint32_t i = 0; i < g->n_nodes; i++)
        if (written(g->nodes[i])) {
            n_nodes++;
            n_reads += g->nodes[i]->n_in;
            n_vals += g->nodes[i]->n_out;
        }
    gp->node = alloc(w, n_nodes * sizeof *gp->node);
    gp->initializer = alloc(w, n_reads * sizeof *gp->initializer);
    gp->input = alloc(w, g->n_inputs * sizeof *gp->input);
    gp->output = alloc(w, g->n_outputs * sizeof *gp->output);
    gp->value_info = alloc(w, n_vals * sizeof *gp->value_info);
    if (!gp->node || !gp->initializer || !gp->input || !gp->output || !gp->value_info)
        return NULL;
    for (uint32_t i = 0; i < g->n_nodes; i++) {
        const struct kiln_ir_node *n = g->nodes[i];
        if (!written(n))
            continue;
        if (!(gp->node[gp->n_node++] = node_proto(w, n)))
            return NULL;
        for (uint32_t j = 0; j < n->n_in; j++)
            if (add_initializer(w, g, n->in[j], gp))
                return NULL;
        for (uint32_t j = 0; j < n->n_out; j++) {
            const struct kiln_ir_value *v = n->out[j];
            if (!v || !v->dtype || is_graph_output(g, v))
                continue;
            if (!(gp->value_info[gp->n_value_info++] = value_info(w, v)))
                return NULL;
        }
    }
    for (uint32_t i = 0; i < g->n_outputs; i++)
        if (add_initializer(w, g, g->outputs[i], gp))
            return NULL;
    for (uint32_t i = 0; i < g->n_inputs; i++)
        if (!(gp->input[gp->n_input++] = value_info(w, g->inputs[i])))
            return NULL;
    for (uint32_t i = 0; i < g->n_outputs; i++)
        if (!(gp->output[gp->n_output++] = value_info(w, g->outputs[i])))
            return NULL;
    return gp;
}

/* Writes len bytes to a new temporary next to path and renames it into place. */
static enum kiln_status write_atomic(const char *path, const void *data, size_t len,
                                     struct kiln_diag *d)
{
    size_t tl = strlen(path) + 48;
    char *tmp = malloc(tl);
    if (!tmp)
        return kiln_diag_set(d, KILN_STATUS_NO_MEMORY, NULL, NULL, "out of memory");
    int fd = -1;
    for (int k = 0; k < 1000 && fd < 0; k++) {
        snprintf(tmp, tl, "%s.tmp%ld.%d", path, (long)getpid(), k);
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0666);
        if (fd < 0 && errno != EEXIST)
            break;
    }
    if (fd < 0) {
        enum kiln_status st = kiln_diag_set(d, KILN_STATUS_IO, NULL, NULL, "%s: cannot create: %s",
                                            path, strerror(errno));
        free(tmp);
        return st;
    }
    const char *p = data;
    int err = 0;
    while (len && !err) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            err = n < 0 ? errno : EIO;
        else
            p += n, len -= (size_t)n;
    }
    if (close(fd) != 0 && !err)
        err = errno;
    if (!err && rename(tmp, path) != 0)
        err = errno;
    enum kiln_status st = KILN_STATUS_OK;
    if (err) {
        unlink(tmp);
        st = kiln_diag_set(d, KILN_STATUS_IO, NULL, NULL, "%s: cannot write: %s", path,
                           strerror(err));
    }
    free(tmp);
    return st;
}

enum kiln_status kiln_onnx_write(const struct kiln_ir_graph *g, const char *path,
                                 const struct kiln_onnx_write_options *o, struct kiln_diag *d)
{
    static const struct kiln_onnx_write_options defaults = {0};
    struct wctx w = {.d = d, .root = g->root, .o = o ? o : &defaults};
    w.inited = calloc(g->root->n_values + 1, 1);
    if (!w.inited)
        return kiln_diag_set(d, KILN_STATUS_NO_MEMORY, NULL, NULL, "out of memory");
    Onnx__ModelProto *m = NEW(&w, Onnx__ModelProto, ONNX__MODEL_PROTO__INIT);
    Onnx__OperatorSetIdProto *ops[2] = {
        NEW(&w, Onnx__OperatorSetIdProto, ONNX__OPERATOR_SET_ID_PROTO__INIT),
        NEW(&w, Onnx__OperatorSetIdProto, ONNX__OPERATOR_SET_ID_PROTO__INIT)};
    Onnx__GraphProto *gp = m && ops[0] && ops[1] ? graph_proto(&w, g) : NULL;
    uint8_t *buf = NULL;
    size_t len = 0;
    if (gp) {
        m->has_ir_version = 1;
        m->ir_version = KILN_ONNX_IR_VERSION;
        m->producer_name = cs("kiln");
        m->graph = gp;
        ops[0]->domain = cs("");
        ops[0]->has_version = 1;
        ops[0]->version = g->opset;
        ops[1]->domain = cs(KILN_ONNX_DOMAIN);
        ops[1]->has_version = 1;
        ops[1]->version = KILN_ONNX_DOMAIN_VERSION;
        m->opset_import = ops;
        m->n_opset_import = w.uses_kiln ? 2 : 1;
        len = onnx__model_proto__get_packed_size(m);
        /* protobuf readers (ONNX, ONNX Runtime) refuse messages of 2 GiB or more */
        if (len > INT32_MAX)
            w.st = kiln_diag_set(d, KILN_STATUS_UNSUPPORTED, NULL, NULL,
                                 "the model would be %zu bytes; ONNX files hold at most 2 GiB "
                                 "and kiln does not write external data",
                                 len);
        else if (!(buf = malloc(len ? len : 1)))
            w.st = kiln_diag_set(d, KILN_STATUS_NO_MEMORY, NULL, NULL,
                                 "out of memory packing %zu bytes", len);
        else
            onnx__model_proto__pack(m, buf);
    }
    enum kiln_status st = w.st;
    if (!st && !buf)
        st = kiln_diag_set(d, KILN_STATUS_INTERNAL, NULL, NULL, "the model was not built");
    kiln_arena_free(&w.a);
    free(w.inited);
    if (!st)
        st = write_atomic(path, buf, len, d);
    free(buf);
    return st;
}
