/* onnx_import.c - ONNX ModelProto (protobuf-c, generated at build time from Debian's
 * onnx.proto) to the IR. Protobuf objects never leave this file: tensors are copied into the
 * graph arena, names and attributes too. Also reads standalone TensorProto files. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "compiler.h"
#include "npy.h"
#include "onnx.pb-c.h"
#include "ops/ops.h" /* KILN_MAX_OPSET */

static enum kiln_status read_file(const char *path, uint8_t **buf, size_t *len,
                                  struct kiln_diag *d)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return kiln_diag_set(d, KILN_STATUS_IO, NULL, NULL, "cannot open: %s", strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return kiln_diag_set(d, KILN_STATUS_IO, NULL, NULL, "not a regular file");
    }
    size_t n = (size_t)st.st_size;
    uint8_t *b = malloc(n ? n : 1);
    if (!b) {
        fclose(f);
        return kiln_diag_set(d, KILN_STATUS_NO_MEMORY, NULL, NULL,
                             "out of memory reading %zu bytes", n);
    }
    size_t got = n ? fread(b, 1, n, f) : 0;
    fclose(f);
    if (got != n) {
        free(b);
        return kiln_diag_set(d, KILN_STATUS_IO, NULL, NULL, "short read (%zu of %zu bytes)", got,
                             n);
    }
    *buf = b;
    *len = n;
    return KILN_STATUS_OK;
}

static bool supported_dtype(int32_t t)
{
    return kiln_dtype_size(t) != 0;
}

/* The name of an ONNX element type for a refusal: kiln's types, and those it lacks. */
static const char *onnx_type_name(int32_t t)
{
    if (t == 8)
        return "string";
    if (t == 23)
        return "float4e2m1 (opset 23)";
    return kiln_dtype_name(t);
}

static bool four_bit(int dtype)
{
    return dtype == KILN_DTYPE_I4 || dtype == KILN_DTYPE_U4;
}

/* ONNX packs int4/uint4 two to a byte, element 2k in the low nibble; kiln keeps a byte per
 * element (int4 sign-extended). `byte(k)` reads packed byte k. */
static void unpack_4bit(int dtype, int64_t numel, const uint8_t *raw, const int32_t *words,
                        uint8_t *dst)
{
    for (int64_t i = 0; i < numel; i++) {
        unsigned b = raw ? raw[i / 2] : (unsigned)words[i / 2] & 0xff;
        unsigned v = i % 2 ? b >> 4 : b & 0xf;
        dst[i] = (uint8_t)(dtype == KILN_DTYPE_I4 && v >= 8 ? v | 0xf0 : v);
    }
}

/* Checks dims (non-negative, rank <= KILN_MAX_RANK, no overflow) and returns numel. */
static enum kiln_status check_dims(const int64_t *dims, size_t n, const char *what,
                                   int64_t *numel, struct kiln_diag *d)
{
    if (n > KILN_MAX_RANK)
        return kiln_diag_set(d, KILN_STATUS_UNSUPPORTED, NULL, NULL,
                             "%s has rank %zu; kiln supports up to %d dimensions", what, n,
                             KILN_MAX_RANK);
    int64_t total = 1;
    for (size_t i = 0; i < n; i++) {
        if (dims[i] < 0)
            return kiln_diag_set(d, KILN_STATUS_INVALID_MODEL, NULL, NULL,
                                 "%s has a negative dimension (%lld at axis %zu)", what,
                                 (long long)dims[i], i);
        if (dims[i] && total > INT64_MAX / 16 / dims[i])
            return kiln_diag_set(d, KILN_STATUS_INVALID_MODEL, NULL, NULL,
                                 "%s: the product of its dimensions overflows", what);
        total *= dims[i];
    }
    *numel = total;
    return KILN_STATUS_OK;
}

/* Resolves an external-data location inside base_dir; refuses anything that leaves it. */
static enum kiln_status external_path(const char *base_dir, const char *loc, const char *what,
                                      char *out, size_t size, struct kiln_diag *d)
{
    if (!base_dir)
        return kiln_diag_set(d, KILN_STATUS_UNSUPPORTED, NULL, NULL,
                             "%s uses external data, but the model was not read from a file",
                             what);
    if (!loc[0] || loc[0] == '/' || strstr(loc, "\\"))
        return kiln_diag_set(d, KILN_STATUS_INVALID_MODEL, NULL, NULL,
                             "%s: external data location '%s' must be a relative path inside "
                             "the model's folder",
                             what, loc);
    /* no ".." component */
    const char *p = loc;
    while (*p) {
        const char *e = strchr(p, '/');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == 2 && p[0] == '.' && p[1] == '.')
            return kiln_diag_set(d, KILN_STATUS_INVALID_MODEL, NULL, NULL,
                                 "%s: external data location '%s' leaves the model's folder",
                                 what, loc);
        p += len;
        if (*p == '/')
            p++;
    }
    char joined[PATH_MAX];
    if ((size_t)snprintf(joined, sizeof joined, "%s/%s", base_dir, loc) >= sizeof joined)
        return kiln_diag_set(d, KILN_STATUS_INVALID_MODEL, NULL, NULL,
                             "%s: external data path too long", what);
    char rbase[PATH_MAX], rfile[PATH_MAX];
    if (!realpath(base_dir, rbase) || !realpath(joined, rfile))
        return kiln_diag_set(d, KILN_STATUS_IO, NULL, NULL,
                             "%s: cannot open external data file '%s': %s", what, joined,
                             strerror(errno));
    size_t bl = strlen(rbase);
    if (strncmp(rfile, rbase, bl) != 0 || (rfile[bl] != '/' && rbase[bl - 1] != '/'))
        return kiln_diag_set(d, KILN_STATUS_INVALID_MODEL, NULL, NULL,
                             "%s: external data file '%s' resolves outside the model's folder",
                             what, loc);
    if ((size_t)snprintf(out, size, "%s", rfile) >= size)
        return kiln_diag_set(d, KILN_STATUS_INVALID_MODEL, NULL, NULL, "path too long");
    return KILN_STATUS_OK;
}

/* Reads the nbytes of t's external data into dst; with dst NULL, only checks that the file
 * is where it may be and holds them. */
static enum kiln_status load_external(const Onnx__TensorProto *t, const char *base_dir,
                                      const char *what, void *dst, uint64_t nbytes,
                                      struct kiln_diag *d)
{
    const char *loc = NULL;
    int64_t off = 0, len = -1;
    for (size_t i = 0; i < t->n_external_data; i++) {
        const Onnx__StringStringEntryProto *e = t->external_data[i];
        if (!e->key || !e->value)
            continue;
        char *end;
        if (strcmp(e->key, "location") == 0)
            loc = e->value;
        else if (strcmp(e->key, "offset") == 0) {
            off = strtoll(e->value, &end, 10);
            if (*end || off < 0)
                return kiln_diag_set(d, KILN_STATUS_INVALID_MODEL, NULL, NULL,
                                     "%s: bad external data offset '%s'", what, e->value);
        } else if (strcmp(e->key, "length") == 0) {
            len = strtoll(e->value, &end, 10);
            if (*end || len < 0)
                return kiln_diag_set(d, KILN_STATUS_INVALID_MODEL, NULL, NULL,
                                     "%s: bad external data length '%s'", what, e->value);
        }
    }
    if (!loc)
        return kiln_diag_set(d, KILN_STATUS_INVALID_MODEL, NULL, NULL,
                             "%s: external data without a location", what);
    if (len >= 0 && (uint64_t)len != nbytes)
        return kiln_diag_set(d, KILN_STATUS_INVALID_MODEL, NULL, NULL,
                             "%s: external data length %lld does not match its shape (%llu "
                             "bytes)",
                             what, (long long)len, (unsigned long long)nbytes);
    char path[PATH_MAX];
    enum kiln_status st = external_path(base_dir, loc, what, path, sizeof path, d);
    if (st)
        return st;
    FILE *f = fopen(path, "rb");
    if (!f)
        return kiln_diag_set(d, KILN_STATUS_IO, NULL, NULL, "%s: cannot open '%s': %s", what,
                             path, strerror(errno));
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0 || (uint64_t)sb.st_size < (uint64_t)off + nbytes) {
        fclose(f);
        return kiln_diag_set(d, KILN_STATUS_INVALID_MODEL, NULL, NULL,
                             "%s: external data file '%s' is too short for offset %lld + %llu "
                             "bytes",
                             what, loc, (long long)off, (unsigned long long)nbytes);
    }
    if (dst && (fseeko(f, off, SEEK_SET) != 0 || fread(dst, 1, nbytes, f) != nbytes)) {
        fclose(f);
        return kiln_diag_set(d, KILN_STATUS_IO, NULL, NULL, "%s: cannot read '%s'", what, loc);
    }
    fclose(f);
    return KILN_STATUS_OK;
}

static bool is_external(const Onnx__TensorProto *t)
{
    return t->has_data_location &&
           t->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
}

/* Checks that t holds the data its shape claims (raw bytes, typed values, or an external file
 * long enough), before anything is allocated for it: a few bytes of file claiming gigabytes
 * are refused here. */
static enum kiln_status tensor_source(const Onnx__TensorProto *t, const char *base_dir,
                                      const char *what, int dtype, int64_t numel,
                                      uint64_t nbytes, struct kiln_diag *d)
{
    if (t->segment)
        return kiln_diag_set(d, KILN_STATUS_UNSUPPORTED, NULL, NULL,
                             "%s: segmented tensors are not supported", what);
    if (four_bit(dtype)) {
        size_t packed = (size_t)(numel + 1) / 2;
        size_t have = t->has_raw_data ? t->raw_data.len : t->n_int32_data;
        if (is_external(t))
            return kiln_diag_set(d, KILN_STATUS_UNSUPPORTED, NULL, NULL,
                                 "%s: %s tensors in external data are not supported", what,
                                 kiln_dtype_name(dtype));
        if (have != packed)
            return kiln_diag_set(d, KILN_STATUS_INVALID_MODEL, NULL, NULL,
                                 "%s holds %zu packed bytes but its shape needs %zu", what, have,
                                 packed);
        return KILN_STATUS_OK;
    }
    if (is_external(t))
        return load_external(t, base_dir, what, NULL, nbytes, d);
    if (t->has_raw_data) {
        if (t->raw_data.len != nbytes)
            return kiln_diag_set(d, KILN_STATUS_INVALID_MODEL, NULL, NULL,
                                 "%s: raw_data holds %zu bytes but its shape needs %llu", what,
                                 t->raw_data.len, (unsigned long long)nbytes);
        return KILN_STATUS_OK;
    }
    size_t have;
    switch (dtype) {
    case KILN_DTYPE_F32: have = t->n_float_data; break;
    case KILN_DTYPE_F64: have = t->n_double_data; break;
    case KILN_DTYPE_I64: have = t->n_int64_data; break;
    case KILN_DTYPE_U32:
    case KILN_DTYPE_U64: have = t->n_uint64_data; break;
    default: have = t->n_int32_data; break;
    }
    if (have != (size_t)numel)
        return kiln_diag_set(d, KILN_STATUS_INVALID_MODEL, NULL, NULL,
                             "%s holds %zu values but its shape needs %lld", what, have,
                             (long long)numel);
    return KILN_STATUS_OK;
}

/* Converts a TensorProto's contents to dense little-endian bytes in dst (nbytes long); checks
 * as tensor_source first. */
static enum kiln_status tensor_bytes(const Onnx__TensorProto *t, const char *base_dir,
                                     const char *what, int dtype, int64_t numel, void *dst,
                                     uint64_t nbytes, struct kiln_diag *d)
{
    enum kiln_status st = tensor_source(t, base_dir, what, dtype, numel, nbytes, d);
    if (st)
        return st;
    if (four_bit(dtype)) {
        unpack_4bit(dtype, numel, t->has_raw_data ? t->raw_data.data : NULL, t->int32_data,
                    dst);
        return KILN_STATUS_OK;
    }
    if (is_external(t))
        return load_external(t, base_dir, what, dst, nbytes, d);
    if (t->has_raw_data) {
        if (nbytes)
            memcpy(dst, t->raw_data.data, nbytes);
        return KILN_STATUS_OK;
    }
    for (int64_t i = 0; i < numel; i++) {
        switch (dtype) {
        case KILN_DTYPE_F32: ((float *)dst)[i] = t->float_data[i]; break;
        case KILN_DTYPE_F64: ((double *)dst)[i] = t->double_data[i]; break;
        case KILN_DTYPE_I64: ((int64_t *)dst)[i] = t->int64_data[i]; break;
        case KILN_DTYPE_U32: ((uint32_t *)dst)[i] = (uint32_t)t->uint64_data[i]; break;
        case KILN_DTYPE_U64: ((uint64_t *)dst)[i] = t->uint64_data[i]; break;
        case KILN_DTYPE_I32: ((int32_t *)dst)[i] = t->int32_data[i]; break;
        case KILN_DTYPE_I16: ((int16_t *)dst)[i] = (int16_t)t->int32_data[i]; break;
        case KILN_DTYPE_U16:
        case KILN_DTYPE_F16:
        case KILN_DTYPE_BF16: ((uint16_t *)dst)[i] = (uint16_t)t->int32_data[i]; break;
        case KILN_DTYPE_I8: ((int8_t *)dst)[i] = (int8_t)t->int32_data[i]; break;
        case KILN_DTYPE_F8E4M3FN:
        case KILN_DTYPE_F8E4M3FNUZ:
        case KILN_DTYPE_F8E5M2:
        case KILN_DTYPE_F8E5M2FNUZ: ((uint8_t *)dst)[i] = (uint8_t)t->int32_data[i]; break;
        case KILN_DTYPE_U8: ((uint8_t *)dst)[i] = (uint8_t)t->int32_data[i]; break;
        case KILN_DTYPE_BOOL: ((uint8_t *)dst)[i] = t->int32_data[i] != 0; break;
        default: break;
        }
    }
    return KILN_STATUS_OK;
}

/* Checks a TensorProto's type and shape; fills dtype/rank/dims/numel/nbytes. */
static enum kiln_status tensor_header(const Onnx__TensorProto *t, const char *what, int *dtype,
                                      int *rank, int64_t *dims, int64_t *numel,
                                      uint64_t *nbytes, struct kiln_diag *d)
{
    int dt = t->has_data_type ? t->data_type : 0;
    if (!supported_dtype(dt))
        return kiln_diag_set(d, KILN_STATUS_UNSUPPORTED, NULL, NULL,
                             "%s has element type %d (%s), which kiln does not support", what,
                             dt, onnx_type_name(dt));
    enum kiln_status st = check_dims(t->dims, t->n_dims, what, numel, d);
    if (st)
        return st;
    *dtype = dt;
    *rank = (int)t->n_dims;
    for (size_t i = 0; i < t->n_dims; i++)
        dims[i] = t->dims[i];
    *nbytes = (uint64_t)*numel * kiln_dtype_size(dt);
    return KILN_STATUS_OK;
}

static enum kiln_status tensor_to_value(struct kiln_ir_graph *g, const Onnx__TensorProto *t,
                                        const char *base_dir, const char *what,
                                        struct kiln_ir_value *v, struct kiln_diag *d)
{
    int64_t numel;
    uint64_t nbytes;
    enum kiln_status st =
        tensor_header(t, what, &v->dtype, &v->rank, v->dims, &numel, &nbytes, d);
    if (!st)
        st = tensor_source(t, base_dir, what, v->dtype, numel, nbytes, d);
    if (st)
        return st;
    struct kiln_arena *b = g->arena.budget ? g->arena.budget : &g->arena;
    uint64_t more;
    if (is_external(t) && b->grow_per_byte &&
        (__builtin_mul_overflow(nbytes, (uint64_t)b->grow_per_byte, &more) ||
         __builtin_add_overflow(b->limit, more, &b->limit)))
        b->limit = UINT64_MAX;
    void *data = kiln_arena_alloc_aligned(&g->arena, nbytes ? nbytes : 1, 64);
    if (!data)
        return kiln_diag_set(d, KILN_STATUS_NO_MEMORY, NULL, NULL,
                             "out of memory for %s (%llu bytes)", what,
                             (unsigned long long)nbytes);
    st = tensor_bytes(t, base_dir, what, v->dtype, numel, data, nbytes, d);
    if (st)
        return st;
    v->data = data;
    return KILN_STATUS_OK;
}

static enum kiln_status convert_attr(struct kiln_ir_graph *g, struct kiln_ir_node *n,
                                     const Onnx__AttributeProto *a, struct kiln_ir_attr *o,
                                     const char *base_dir, struct kiln_diag *d)
{
    o->name = kiln_arena_strdup(&g->arena, a->name ? a->name : "");
    if (!o->name)
        return kiln_diag_set(d, KILN_STATUS_NO_MEMORY, n->name, n->op_type, "out of memory");
    if (a->ref_attr_name && a->ref_attr_name[0])
        return kiln_diag_set(d, KILN_STATUS_INVALID_MODEL, n->name, n->op_type,
                             "attribute '%s' refers to a function attribute outside a function",
                             o->name);
    int type = a->has_type ? (int)a->type : 0;
    if (!type) { /* IR < 0.0.2 writers leave type unset: take the field that is present */
        if (a->n_floats) type = KILN_ATTR_FLOATS;
        else if (a->n_ints) type = KILN_ATTR_INTS;
        else if (a->n_strings) type = KILN_ATTR_STRINGS;
        else if (a->t) type = KILN_ATTR_TENSOR;
        else if (a->g) type = KILN_ATTR_GRAPH;
        else if (a->has_s) type = KILN_ATTR_STRING;
        else if (a->has_f) type = KILN_ATTR_FLOAT;
        else if (a->has_i) type = KILN_ATTR_INT;
    }
    o->type = (enum kiln_attr_type)type;
    o->f = a->f;
    o->i = a->i;
    switch (type) {
    case KILN_ATTR_STRING:
        o->s = kiln_arena_strndup(&g->arena, (const char *)a->s.data, a->s.len);
        o->s_len = a->s.len;
        break;
    case KILN_ATTR_INTS:
        o->n = a->n_ints;
        o->ints = kiln_arena_alloc(&g->arena, (a->n_ints ? a->n_ints : 1) * sizeof(int64_t));
        if (o->ints && a->n_ints)
            memcpy(o->ints, a->ints, a->n_ints * sizeof(int64_t));
        break;
    case KILN_ATTR_FLOATS:
        o->n = a->n_floats;
        o->floats = kiln_arena_alloc(&g->arena, (a->n_floats ? a->n_floats : 1) * sizeof(float));
        if (o->floats && a->n_floats)
            memcpy(o->floats, a->floats, a->n_floats * sizeof(float));
        break;
    case KILN_ATTR_TENSOR: {
        if (!a->t)
            return kiln_diag_set(d, KILN_STATUS_INVALID_MODEL, n->name, n->op_type,
                                 "tensor attribute '%s' has no tensor", o->name);
        char what[300];
        snprintf(what, sizeof what, "tensor attribute '%s'", o->name);
        o->t = kiln_ir_value_detached(g, a->t->name ? a->t->name : "");
        if (!o->t)
            return kiln_diag_set(d, KILN_STATUS_NO_MEMORY, n->name, n->op_type, "out of memory");
        struct kiln_diag sub;
        kiln_diag_clear(&sub);
        enum kiln_status st = tensor_to_value(g, a->t, base_dir, what, o->t, &sub);
        if (st)
            return kiln_diag_set(d, st, n->name, n->op_type, "%s", sub.message);
        break;
    }
    case KILN_ATTR_STRINGS: { /* packed into s: each string NUL-terminated, back to back */
        size_t total = 0;
        for (size_t k = 0; k < a->n_strings; k++)
            total += a->strings[k].len + 1;
        char *p = kiln_arena_alloc(&g->arena, total ? total : 1);
        if (!p)
            return kiln_diag_set(d, KILN_STATUS_NO_MEMORY, n->name, n->op_type, "out of memory");
        o->s = p;
        o->s_len = total;
        o->n = a->n_strings;
        for (size_t k = 0; k < a->n_strings; k++) {
            if (a->strings[k].len)
                memcpy(p, a->strings[k].data, a->strings[k].len);
            p += a->strings[k].len + 1; /* the arena zeroes: the NUL is there */
        }
        break;
    }
    case KILN_ATTR_GRAPH:
        if (!a->g)
            return kiln_diag_set(d, KILN_STATUS_INVALID_MODEL, n->name, n->op_type,
                                 "graph attribute '%s' has no graph", o->name);
        o->pending = a->g; /* read by import_node once the node exists */
        break;
    default: break; /* graphs, sparse tensors, type protos: the op that needs them says so */
    }
    return KILN_STATUS_OK;
}

/* Reads a ValueInfoProto's tensor type into v. */
static enum kiln_status value_info_type(const Onnx__ValueInfoProto *vi, struct kiln_ir_value *v,
                                        const char *role, struct kiln_diag *d)
{
    const Onnx__TypeProto *tp = vi->type;
    if (!tp)
        return KILN_STATUS_OK; /* outputs may omit their type */
    if (tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE)
        return kiln_diag_set(d, KILN_STATUS_UNSUPPORTED, NULL, NULL,
                             "%s '%s' is a %s, not a tensor; kiln supports tensor inputs and "
                             "outputs only",
                             role, v->name,
                             tp->value_case == ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE ? "sequence"
                             : tp->value_case == ONNX__TYPE_PROTO__VALUE_MAP_TYPE ? "map"
                             : tp->value_case == ONNX__TYPE_PROTO__VALUE_OPTIONAL_TYPE
                                 ? "optional"
                                 : "sparse tensor or unknown type");
    const Onnx__TypeProto__Tensor *tt = tp->tensor_type;
    if (tt->has_elem_type) {
        if (!supported_dtype(tt->elem_type))
            return kiln_diag_set(d, KILN_STATUS_UNSUPPORTED, NULL, NULL,
                                 "%s '%s' has element type %d (%s), which kiln does not support",
                                 role, v->name, tt->elem_type, onnx_type_name(tt->elem_type));
        v->dtype = tt->elem_type;
    }
    if (!tt->shape)
        return KILN_STATUS_OK;
    if (tt->shape->n_dim > KILN_MAX_RANK)
        return kiln_diag_set(d, KILN_STATUS_UNSUPPORTED, NULL, NULL,
                             "%s '%s' has rank %zu; kiln supports up to %d dimensions", role,
                             v->name, tt->shape->n_dim, KILN_MAX_RANK);
    v->rank = (int)tt->shape->n_dim;
    for (int i = 0; i < v->rank; i++) {
        const Onnx__TensorShapeProto__Dimension *dm = tt->shape->dim[i];
        v->dims[i] = -1;
        v->dim_param[i] = NULL;
        if (dm->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE) {
            if (dm->dim_value < 0)
                return kiln_diag_set(d, KILN_STATUS_INVALID_MODEL, NULL, NULL,
                                     "%s '%s' has a negative dimension (%lld at axis %d)", role,
                                     v->name, (long long)dm->dim_value, i);
            v->dims[i] = dm->dim_value;
        } else if (dm->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM) {
            v->dim_param[i] = dm->dim_param; /* copied below by the caller's arena */
        }
    }
    return KILN_STATUS_OK;
}

static enum kiln_status oom(struct kiln_diag *d)
{
    return kiln_diag_set(d, KILN_STATUS_NO_MEMORY, NULL, NULL, "out of memory");
}

/* Where a node's names live: the main graph (identity), or the body of a model-local function
 * being inlined, whose formal inputs/outputs map to the caller's names and whose other names
 * get the call's unique prefix. */
struct scope {
    Onnx__FunctionProto **functions;
    size_t n_functions;
    const Onnx__FunctionProto *fn;  /* NULL at the top level */
    const Onnx__NodeProto *call;    /* the calling node */
    const struct scope *parent;
    const char *prefix;             /* "<caller node name>/" */
    int depth;
};

#define KILN_MAX_FUNCTION_DEPTH 32

/* Maps a name used inside scope sc to the graph's name (written to buf). */
static const char *scoped_name(const struct scope *sc, const char *name, char *buf, size_t size)
{
    if (!sc->fn || !name || !name[0])
        return name ? name : "";
    for (size_t i = 0; i < sc->fn->n_input; i++)
        if (strcmp(sc->fn->input[i], name) == 0) {
            const char *actual = i < sc->call->n_input ? sc->call->input[i] : "";
            return scoped_name(sc->parent, actual, buf, size);
        }
    for (size_t i = 0; i < sc->fn->n_output; i++)
        if (strcmp(sc->fn->output[i], name) == 0) {
            const char *actual = i < sc->call->n_output ? sc->call->output[i] : "";
            return scoped_name(sc->parent, actual, buf, size);
        }
    snprintf(buf, size, "%s%s", sc->prefix, name);
    return buf;
}

static const Onnx__FunctionProto *find_function(const struct scope *sc, const Onnx__NodeProto *np)
{
    const char *dom = np->domain ? np->domain : "";
    /* built-in ONNX ops win over same-named local functions in the default domain */
    if ((!dom[0] || strcmp(dom, "ai.onnx") == 0) &&
        kiln_ir_op_lookup(dom, np->op_type) != KILN_OP_UNKNOWN)
        return NULL;
    for (size_t i = 0; i < sc->n_functions; i++) {
        const Onnx__FunctionProto *f = sc->functions[i];
        const char *fd = f->domain ? f->domain : "";
        if (f->name && strcmp(f->name, np->op_type) == 0 && strcmp(fd, dom) == 0)
            return f;
    }
    return NULL;
}

/* The caller's attribute a function attribute refers to (ref_attr_name), or NULL. */
static const Onnx__AttributeProto *caller_attr(const struct scope *sc, const char *ref)
{
    for (size_t i = 0; sc->call && i < sc->call->n_attribute; i++)
        if (sc->call->attribute[i]->name && strcmp(sc->call->attribute[i]->name, ref) == 0)
            return sc->call->attribute[i];
    return NULL;
}

static enum kiln_status import_subgraph(struct kiln_ir_graph *parent, struct kiln_ir_node *owner,
                                        const Onnx__GraphProto *gp, const struct scope *sc,
                                        const char *base_dir, struct kiln_ir_graph **out,
                                        struct kiln_diag *d);

/* Appends to n->in every value its subgraphs read from outside themselves. */
static enum kiln_status add_implicit_inputs(struct kiln_ir_graph *g, struct kiln_ir_node *n,
                                            struct kiln_ir_graph *sub, struct kiln_diag *d)
{
    for (uint32_t i = 0; i <= sub->n_nodes; i++) {
        struct kiln_ir_value **vs = i < sub->n_nodes ? sub->nodes[i]->in : sub->outputs;
        uint32_t cnt = i < sub->n_nodes ? sub->nodes[i]->n_in : sub->n_outputs;
        for (uint32_t j = 0; j < cnt; j++) {
            struct kiln_ir_value *v = vs[j];
            if (!v || v->owner == sub || !v->owner || !kiln_ir_in_scope_of(g, v->owner))
                continue;
            bool have = false;
            for (uint32_t k = n->n_in - n->n_implicit; k < n->n_in && !have; k++)
                have = n->in[k] == v;
            if (have)
                continue;
            struct kiln_ir_value **in = kiln_arena_alloc(&g->arena, (n->n_in + 1) * sizeof *in);
            if (!in)
                return oom(d);
            memcpy(in, n->in, n->n_in * sizeof *in);
            in[n->n_in++] = v;
            n->in = in;
            n->n_implicit++;
        }
    }
    return KILN_STATUS_OK;
}

static enum kiln_status import_node(struct kiln_ir_graph *g, const Onnx__NodeProto *np,
                                    size_t index, const struct scope *sc, const char *base_dir,
                                    struct kiln_diag *d)
{
    enum kiln_status st;
    const char *op_type = np->op_type ? np->op_type : "";
    char autoname[96], nmbuf[512], namebuf[1024];
    const char *nm = np->name;
    if (!nm || !nm[0]) {
        snprintf(autoname, sizeof autoname, "%s_%zu", op_type[0] ? op_type : "node", index);
        nm = autoname;
    }
    if (sc->fn) {
        snprintf(nmbuf, sizeof nmbuf, "%s%s", sc->prefix, nm);
        nm = nmbuf;
    }
    if (!op_type[0])
        return kiln_diag_set(d, KILN_STATUS_INVALID_MODEL, nm, NULL, "node has no op type");
    const Onnx__FunctionProto *fn = find_function(sc, np);
    if (fn) { /* inline the model-local function's body */
        if (sc->depth >= KILN_MAX_FUNCTION_DEPTH)
            return kiln_diag_set(d, KILN_STATUS_INVALID_MODEL, nm, op_type,
                                 "functions nest deeper than %d calls (recursive function?)",
                                 KILN_MAX_FUNCTION_DEPTH);
        if (np->n_input > fn->n_input || np->n_output > fn->n_output)
            return kiln_diag_set(d, KILN_STATUS_INVALID_MODEL, nm, op_type,
                                 "calls function '%s' with %zu inputs and %zu outputs; it "
                                 "declares %zu and %zu",
                                 fn->name, np->n_input, np->n_output, fn->n_input,
                                 fn->n_output);
        char prefix[520];
        snprintf(prefix, sizeof prefix, "%s/", nm);
        struct scope inner = {.functions = sc->functions,
                              .n_functions = sc->n_functions,
                              .fn = fn,
                              .call = np,
                              .parent = sc,
                              .prefix = prefix,
                              .depth = sc->depth + 1};
        /* the call's node itself lives in the caller's scope: resolve its attribute references
         * there first by importing body nodes with inner scope (attributes resolve through
         * inner.call, whose own references were resolved when the caller was inlined) */
        for (size_t i = 0; i < fn->n_node; i++)
            if ((st = import_node(g, fn->node[i], i, &inner, base_dir, d)))
                return st;
        return KILN_STATUS_OK;
    }
    struct kiln_ir_node *n = kiln_ir_node_new(g, nm, op_type, np->domain, (uint32_t)np->n_input,
                                              (uint32_t)np->n_output);
    if (!n)
        return oom(d);
    for (size_t j = 0; j < np->n_input; j++) {
        const char *in = scoped_name(sc, np->input[j], namebuf, sizeof namebuf);
        if (!in[0])
            continue;
        struct kiln_ir_value *v = kiln_ir_find(g, in);
        if (!v && !(v = kiln_ir_value_new(g, in)))
            return oom(d);
        n->in[j] = v;
    }
    for (size_t j = 0; j < np->n_output; j++) {
        const char *on = scoped_name(sc, np->output[j], namebuf, sizeof namebuf);
        if (!on[0])
            continue;
        struct kiln_ir_value *v = kiln_ir_find(g, on);
        if (v && (v->producer || v->is_input || v->is_initializer))
            return kiln_diag_set(d, KILN_STATUS_INVALID_MODEL, nm, op_type,
                                 "output '%s' is already defined (%s)", on,
                                 v->producer ? "by another node"
                                 : v->is_input ? "as a graph input"
                                               : "as an initializer");
        if (!v && !(v = kiln_ir_value_new(g, on)))
            return oom(d);
        v->producer = n;
        n->out[j] = v;
    }
    n->attrs = kiln_arena_alloc(&g->arena, (np->n_attribute + 1) * sizeof *n->attrs);
    if (!n->attrs)
        return oom(d);
    for (size_t j = 0; j < np->n_attribute; j++) {
        const Onnx__AttributeProto *a = np->attribute[j];
        Onnx__AttributeProto resolved;
        if (a->ref_attr_name && a->ref_attr_name[0]) {
            if (!sc->fn)
                return kiln_diag_set(d, KILN_STATUS_INVALID_MODEL, nm, op_type,
                                     "attribute '%s' refers to a function attribute outside a "
                                     "function",
                                     a->name ? a->name : "");
            /* resolve through the chain of callers */
            const struct scope *s2 = sc;
            const Onnx__AttributeProto *src = a;
            while (src && src->ref_attr_name && src->ref_attr_name[0] && s2 && s2->fn) {
                src = caller_attr(s2, src->ref_attr_name);
                s2 = s2->parent;
            }
            if (!src)
                continue; /* not given by the caller: the attribute is absent */
            resolved = *src;
            resolved.name = a->name;
            resolved.ref_attr_name = NULL;
            a = &resolved;
        }
        if ((st = convert_attr(g, n, a, &n->attrs[n->n_attrs], base_dir, d)))
            return st;
        n->n_attrs++;
    }
    for (uint32_t j = 0; j < n->n_attrs; j++) {
        struct kiln_ir_attr *a = &n->attrs[j];
        if (!a->pending)
            continue;
        if ((st = import_subgraph(g, n, a->pending, sc, base_dir, &a->g, d)))
            return st;
        a->pending = NULL;
        if ((st = add_implicit_inputs(g, n, a->g, d)))
            return st;
    }
    return KILN_STATUS_OK;
}

/* Reads the body of an If/Loop/Scan: its own initializers, formal inputs (types may be
 * partial: the owning op's inference completes them), nodes and outputs. Names not defined
 * inside resolve in the enclosing scopes. */
static enum kiln_status import_subgraph(struct kiln_ir_graph *parent, struct kiln_ir_node *owner,
                                        const Onnx__GraphProto *gp, const struct scope *sc,
                                        const char *base_dir, struct kiln_ir_graph **out,
                                        struct kiln_diag *d)
{
    enum kiln_status st;
    char namebuf[1024];
    struct kiln_ir_graph *g = kiln_ir_subgraph_new(parent);
    if (!g)
        return oom(d);
    g->graph_name = kiln_arena_strdup(&g->arena, gp->name ? gp->name : "");
    for (size_t i = 0; i < gp->n_initializer; i++) {
        const Onnx__TensorProto *t = gp->initializer[i];
        const char *nm = scoped_name(sc, t->name ? t->name : "", namebuf, sizeof namebuf);
        struct kiln_ir_value *v = nm[0] ? kiln_ir_value_new(g, nm) : NULL;
        if (!v)
            return kiln_diag_set(d, KILN_STATUS_INVALID_MODEL, owner->name, owner->op_type,
                                 "subgraph initializer '%s' is unnamed or already defined", nm);
        char what[300];
        snprintf(what, sizeof what, "initializer '%s'", nm);
        if ((st = tensor_to_value(g, t, base_dir, what, v, d)))
            return st;
        v->is_initializer = true;
    }
    g->inputs = kiln_arena_alloc(&g->arena, (gp->n_input + 1) * sizeof *g->inputs);
    g->outputs = kiln_arena_alloc(&g->arena, (gp->n_output + 1) * sizeof *g->outputs);
    if (!g->inputs || !g->outputs)
        return oom(d);
    for (size_t i = 0; i < gp->n_input; i++) {
        const char *nm = scoped_name(sc, gp->input[i]->name, namebuf, sizeof namebuf);
        struct kiln_ir_value *v = nm[0] ? kiln_ir_value_new(g, nm) : NULL;
        if (!v)
            return kiln_diag_set(d, KILN_STATUS_INVALID_MODEL, owner->name, owner->op_type,
                                 "subgraph input '%s' is unnamed or shadows another name", nm);
        if ((st = value_info_type(gp->input[i], v, "subgraph input", d)))
            return st;
        for (int k = 0; k < v->rank; k++)
            if (v->dim_param[k] && !(v->dim_param[k] = kiln_arena_strdup(&g->arena,
                                                                         v->dim_param[k])))
                return oom(d);
        v->is_input = true;
        g->inputs[g->n_inputs++] = v;
    }
    for (size_t i = 0; i < gp->n_node; i++)
        if ((st = import_node(g, gp->node[i], i, sc, base_dir, d)))
            return st;
    for (uint32_t i = 0; i < g->n_nodes; i++) {
        struct kiln_ir_node *n = g->nodes[i];
        for (uint32_t j = 0; j < n->n_in; j++) {
            struct kiln_ir_value *v = n->in[j];
            if (v && v->owner == g && !v->producer && !v->is_input && !v->is_initializer)
                return kiln_diag_set(d, KILN_STATUS_INVALID_MODEL, n->name, n->op_type,
                                     "input '%s' is not defined in this subgraph of '%s' or "
                                     "any enclosing graph",
                                     v->name, owner->name);
        }
    }
    for (size_t i = 0; i < gp->n_output; i++) {
        const char *nm = scoped_name(sc, gp->output[i]->name, namebuf, sizeof namebuf);
        struct kiln_ir_value *v = kiln_ir_find(g, nm);
        if (!v || (v->owner == g && !v->producer && !v->is_input && !v->is_initializer))
            return kiln_diag_set(d, KILN_STATUS_INVALID_MODEL, owner->name, owner->op_type,
                                 "subgraph output '%s' is not produced by any node", nm);
        g->outputs[g->n_outputs++] = v;
    }
    if ((st = kiln_ir_toposort(g, d)))
        return st;
    *out = g;
    return KILN_STATUS_OK;
}

static enum kiln_status build_graph(struct kiln_ir_graph *g, const Onnx__ModelProto *m,
                                    const char *base_dir, struct kiln_diag *d)
{
    const Onnx__GraphProto *gp = m->graph;
    enum kiln_status st;
    g->ir_version = m->has_ir_version ? m->ir_version : 0;
    g->opset = -1;
    for (size_t i = 0; i < m->n_opset_import; i++) {
        const Onnx__OperatorSetIdProto *o = m->opset_import[i];
        if (!o->domain || !o->domain[0] || strcmp(o->domain, "ai.onnx") == 0)
            g->opset = o->has_version ? o->version : 1;
    }
    if (g->opset < 0) {
        if (m->n_opset_import)
            return kiln_diag_set(d, KILN_STATUS_UNSUPPORTED, NULL, NULL,
                                 "the model imports no version of the default ONNX domain");
        g->opset = 1; /* IR version 1/2 models predate opset_import */
    }
    if (g->opset < 1)
        return kiln_diag_set(d, KILN_STATUS_INVALID_MODEL, NULL, NULL,
                             "the model imports opset %lld of the default ONNX domain; opset "
                             "versions start at 1",
                             (long long)g->opset);
    if (g->opset > KILN_MAX_OPSET)
        return kiln_diag_set(d, KILN_STATUS_UNSUPPORTED, NULL, NULL,
                             "the model uses opset %lld; kiln knows opsets up to %d (ONNX 1.16)",
                             (long long)g->opset, KILN_MAX_OPSET);
    char prod[256];
    snprintf(prod, sizeof prod, "%s%s%s", m->producer_name ? m->producer_name : "",
             m->producer_version && m->producer_version[0] ? " " : "",
             m->producer_version ? m->producer_version : "");
    g->producer = kiln_arena_strdup(&g->arena, prod);
    g->graph_name = kiln_arena_strdup(&g->arena, gp->name ? gp->name : "");
    if (gp->n_sparse_initializer)
        return kiln_diag_set(d, KILN_STATUS_UNSUPPORTED, NULL, NULL,
                             "sparse initializers are not supported");

    for (size_t i = 0; i < gp->n_initializer; i++) {
        const Onnx__TensorProto *t = gp->initializer[i];
        const char *nm = t->name ? t->name : "";
        if (!nm[0])
            return kiln_diag_set(d, KILN_STATUS_INVALID_MODEL, NULL, NULL,
                                 "initializer #%zu has no name", i);
        struct kiln_ir_value *v = kiln_ir_value_new(g, nm);
        if (!v)
            return kiln_ir_find(g, nm)
                       ? kiln_diag_set(d, KILN_STATUS_INVALID_MODEL, NULL, NULL,
                                       "initializer '%s' is defined twice", nm)
                       : oom(d);
        char what[300];
        snprintf(what, sizeof what, "initializer '%s'", nm);
        if ((st = tensor_to_value(g, t, base_dir, what, v, d)))
            return st;
        v->is_initializer = true;
    }

    /* graph inputs (those that are also initializers are defaults we treat as constants) */
    g->inputs = kiln_arena_alloc(&g->arena, (gp->n_input + 1) * sizeof *g->inputs);
    if (!g->inputs)
        return oom(d);
    for (size_t i = 0; i < gp->n_input; i++) {
        const Onnx__ValueInfoProto *vi = gp->input[i];
        const char *nm = vi->name ? vi->name : "";
        struct kiln_ir_value *v = kiln_ir_find(g, nm);
        if (v && v->is_initializer)
            continue;
        if (v || !nm[0])
            return kiln_diag_set(d, KILN_STATUS_INVALID_MODEL, NULL, NULL,
                                 nm[0] ? "graph input '%s' is listed twice"
                                       : "graph input #%s has no name",
                                 nm[0] ? nm : "?");
        v = kiln_ir_value_new(g, nm);
        if (!v)
            return oom(d);
        if ((st = value_info_type(vi, v, "input", d)))
            return st;
        if (!v->dtype)
            return kiln_diag_set(d, KILN_STATUS_INVALID_MODEL, NULL, NULL,
                                 "input '%s' has no element type", nm);
        if (v->rank < 0)
            return kiln_diag_set(d, KILN_STATUS_INVALID_MODEL, NULL, NULL,
                                 "input '%s' has no shape; give it with --input-shape %s=...",
                                 nm, nm);
        for (int k = 0; k < v->rank; k++)
            if (v->dim_param[k] && !(v->dim_param[k] = kiln_arena_strdup(&g->arena,
                                                                         v->dim_param[k])))
                return oom(d);
        v->is_input = true;
        g->inputs[g->n_inputs++] = v;
    }

    /* nodes; inputs may reference outputs of later nodes (unsorted graphs are legal) */
    struct scope top = {.functions = m->functions, .n_functions = m->n_functions};
    for (size_t i = 0; i < gp->n_node; i++)
        if ((st = import_node(g, gp->node[i], i, &top, base_dir, d)))
            return st;
    /* every node input must now be defined */
    for (uint32_t i = 0; i < g->n_nodes; i++) {
        struct kiln_ir_node *n = g->nodes[i];
        for (uint32_t j = 0; j < n->n_in; j++) {
            struct kiln_ir_value *v = n->in[j];
            if (v && !v->producer && !v->is_input && !v->is_initializer)
                return kiln_diag_set(d, KILN_STATUS_INVALID_MODEL, n->name, n->op_type,
                                     "input '%s' is not defined: no node, graph input or "
                                     "initializer has that name (missing initializer?)",
                                     v->name);
        }
    }

    g->outputs = kiln_arena_alloc(&g->arena, (gp->n_output + 1) * sizeof *g->outputs);
    if (!g->outputs)
        return oom(d);
    for (size_t i = 0; i < gp->n_output; i++) {
        const char *nm = gp->output[i]->name ? gp->output[i]->name : "";
        struct kiln_ir_value *v = kiln_ir_find(g, nm);
        if (!v || (!v->producer && !v->is_input && !v->is_initializer))
            return kiln_diag_set(d, KILN_STATUS_INVALID_MODEL, NULL, NULL,
                                 "graph output '%s' is not produced by any node", nm);
        /* the declared type only checks what inference finds; it is read here for the dtype
         * of sequence/map outputs, which are refused */
        struct kiln_ir_value tmp = {.name = nm, .rank = -1};
        if ((st = value_info_type(gp->output[i], &tmp, "output", d)))
            return st;
        v->declared_dtype = tmp.dtype;
        v->is_output = true;
        g->outputs[g->n_outputs++] = v;
    }
    if (!g->n_outputs)
        return kiln_diag_set(d, KILN_STATUS_INVALID_MODEL, NULL, NULL, "the graph has no outputs");
    if ((st = kiln_ir_toposort(g, d)))
        return st;
    kiln_ir_count_uses(g);
    return kiln_ir_verify(g, d);
}

enum kiln_status kiln_onnx_apply_shapes(struct kiln_ir_graph *g,
                                        const struct kiln_import_options *o, struct kiln_diag *d)
{
    for (size_t i = 0; o && i < o->n_shapes; i++) {
        const struct kiln_input_shape *s = &o->shapes[i];
        struct kiln_ir_value *v = kiln_ir_find(g, s->name);
        if (!v || !v->is_input) {
            char names[512] = "";
            size_t off = 0;
            for (uint32_t k = 0; k < g->n_inputs && off < sizeof names; k++)
                off += (size_t)snprintf(names + off, sizeof names - off, "%s'%s'", k ? ", " : "",
                                        g->inputs[k]->name);
            return kiln_diag_set(d, KILN_STATUS_INVALID_ARG, NULL, NULL,
                                 "--input-shape names '%s', which is not an input of the model "
                                 "(inputs: %s)",
                                 s->name, names);
        }
        if (v->rank >= 0 && v->rank != s->rank)
            return kiln_diag_set(d, KILN_STATUS_INVALID_ARG, NULL, NULL,
                                 "--input-shape gives input '%s' %d dimensions; the model "
                                 "declares %d",
                                 s->name, s->rank, v->rank);
        for (int k = 0; k < s->rank; k++) {
            if (v->rank >= 0 && v->dims[k] >= 0 && v->dims[k] != s->dims[k])
                return kiln_diag_set(d, KILN_STATUS_INVALID_ARG, NULL, NULL,
                                     "--input-shape gives input '%s' dimension %d = %lld; the "
                                     "model fixes it at %lld",
                                     s->name, k, (long long)s->dims[k], (long long)v->dims[k]);
            v->dims[k] = s->dims[k];
        }
        v->rank = s->rank;
    }
    return KILN_STATUS_OK;
}

/* Freezes the inputs --input-value names: checks the file's type against the input's, fixes
 * symbolic dims from it, and turns the input into a constant. */
static enum kiln_status apply_values(struct kiln_ir_graph *g, const struct kiln_import_options *o,
                                     struct kiln_diag *d)
{
    for (size_t i = 0; o && i < o->n_values; i++) {
        const struct kiln_input_value *iv = &o->values[i];
        uint32_t k = 0;
        while (k < g->n_inputs && strcmp(g->inputs[k]->name, iv->name) != 0)
            k++;
        if (k == g->n_inputs)
            return kiln_diag_set(d, KILN_STATUS_INVALID_ARG, NULL, NULL,
                                 "--input-value names '%s', which is not an input of the model "
                                 "(or is given twice)",
                                 iv->name);
        struct kiln_ir_value *v = g->inputs[k];
        struct kiln_host_tensor t = {0};
        enum kiln_status st = kiln_npy_read(iv->path, &t, d);
        bool ok = !st && t.dtype == v->dtype && t.rank == v->rank;
        for (int j = 0; ok && j < v->rank; j++)
            ok = v->dims[j] < 0 || v->dims[j] == t.dims[j];
        if (!st && !ok) {
            char want[256], got[256];
            struct kiln_ir_value tv = {.dtype = t.dtype, .rank = t.rank};
            memcpy(tv.dims, t.dims, sizeof tv.dims);
            st = kiln_diag_set(d, KILN_STATUS_INVALID_ARG, NULL, NULL,
                               "--input-value for input '%s': the model expects %s, the file "
                               "holds %s",
                               iv->name, kiln_ir_value_type_str(v, want, sizeof want),
                               kiln_ir_value_type_str(&tv, got, sizeof got));
            snprintf(d->file, sizeof d->file, "%s", iv->path);
        }
        if (!st) {
            for (int j = 0; j < v->rank; j++)
                v->dims[j] = t.dims[j], v->dim_param[j] = NULL;
            st = kiln_ir_freeze_input(g, k, t.data, d);
        }
        kiln_host_tensor_free(&t);
        if (st)
            return st;
    }
    return KILN_STATUS_OK;
}

/* ---- the shape of the file before it is parsed ----
 * protobuf-c recurses once per nested message, so a file of a few kilobytes nesting subgraphs
 * ten thousand deep would overflow the stack while being parsed. This walk over the wire
 * format follows only the fields through which ONNX messages nest (model -> graph -> node ->
 * attribute -> graph, functions, training graphs), counts nodes and stops at the depth limit;
 * its recursion is bounded by that limit. Malformed bytes end the walk quietly: the parser
 * reports them. */
enum wire_msg { WIRE_MODEL, WIRE_TRAINING, WIRE_GRAPH, WIRE_FUNCTION, WIRE_NODE, WIRE_ATTR };

struct wire_scan {
    uint64_t nodes;
    bool too_deep;
};

static bool wire_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    *v = 0;
    for (int shift = 0; shift < 64 && *p < end; shift += 7) {
        uint8_t b = *(*p)++;
        *v |= (uint64_t)(b & 127) << shift;
        if (!(b & 128))
            return true;
    }
    return false;
}

static enum wire_msg wire_child(enum wire_msg type, uint64_t field, bool *nests)
{
    static const struct {
        uint8_t type, field, child;
    } edges[] = {{WIRE_MODEL, 7, WIRE_GRAPH},     {WIRE_MODEL, 20, WIRE_TRAINING},
                 {WIRE_MODEL, 25, WIRE_FUNCTION}, {WIRE_TRAINING, 1, WIRE_GRAPH},
                 {WIRE_TRAINING, 2, WIRE_GRAPH},  {WIRE_GRAPH, 1, WIRE_NODE},
                 {WIRE_FUNCTION, 7, WIRE_NODE},   {WIRE_NODE, 5, WIRE_ATTR},
                 {WIRE_ATTR, 6, WIRE_GRAPH},      {WIRE_ATTR, 11, WIRE_GRAPH}};
    for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++)
        if (edges[i].type == type && edges[i].field == field) {
            *nests = true;
            return (enum wire_msg)edges[i].child;
        }
    *nests = false;
    return type;
}

static void wire_walk(const uint8_t *p, const uint8_t *end, enum wire_msg type, int depth,
                      struct wire_scan *s)
{
    while (p < end && !s->too_deep) {
        uint64_t key, len;
        if (!wire_varint(&p, end, &key))
            return;
        switch (key & 7) {
        case 0:
            if (!wire_varint(&p, end, &len))
                return;
            continue;
        case 1:
        case 5: {
            size_t w = (key & 7) == 1 ? 8 : 4;
            if ((size_t)(end - p) < w)
                return;
            p += w;
            continue;
        }
        case 2: break;
        default: return;
        }
        if (!wire_varint(&p, end, &len) || len > (uint64_t)(end - p))
            return;
        const uint8_t *sub = p;
        p += len;
        bool nests;
        enum wire_msg child = wire_child(type, key >> 3, &nests);
        if (!nests)
            continue;
        s->nodes += child == WIRE_NODE;
        int d = depth + (child == WIRE_GRAPH);
        if (d > KILN_MAX_GRAPH_DEPTH) {
            s->too_deep = true;
            return;
        }
        wire_walk(sub, sub + len, child, d, s);
    }
}

/* protobuf-c's allocations while parsing, counted against the memory limit (a few bytes of
 * file can ask for many bytes of structs: each repeated entry becomes a message). */
struct pb_budget {
    uint64_t limit, used;
    bool refused;
};

static void *pb_alloc(void *data, size_t size)
{
    struct pb_budget *b = data;
    if (b->used > b->limit || size > b->limit - b->used) {
        b->refused = true;
        return NULL;
    }
    b->used += size;
    return malloc(size);
}

static void pb_free(void *data, void *p)
{
    (void)data;
    free(p);
}

enum kiln_status kiln_onnx_load_buffer(const void *buf, size_t len, const char *path,
                                       const char *base_dir,
                                       const struct kiln_import_options *opt,
                                       struct kiln_ir_graph **out, struct kiln_diag *d)
{
    *out = NULL;
    if (len == 0)
        return kiln_diag_set(d, KILN_STATUS_PARSE, NULL, NULL, "the file is empty");
    struct wire_scan ws = {0, false};
    wire_walk(buf, (const uint8_t *)buf + len, WIRE_MODEL, 0, &ws);
    if (ws.too_deep)
        return kiln_diag_set(d, KILN_STATUS_UNSUPPORTED, NULL, NULL,
                             "subgraphs are nested more than %d deep; kiln compiles up to %d "
                             "levels (docs/robustness.md)",
                             KILN_MAX_GRAPH_DEPTH, KILN_MAX_GRAPH_DEPTH);
    if (ws.nodes > KILN_MAX_NODES)
        return kiln_diag_set(d, KILN_STATUS_UNSUPPORTED, NULL, NULL,
                             "the model has %llu nodes; kiln compiles up to %u "
                             "(docs/robustness.md)",
                             (unsigned long long)ws.nodes, KILN_MAX_NODES);
    uint64_t limit = opt && opt->max_memory ? opt->max_memory : kiln_default_memory_limit(len);
    struct pb_budget pb = {limit, 0, false};
    ProtobufCAllocator alloc = {pb_alloc, pb_free, &pb};
    Onnx__ModelProto *m = onnx__model_proto__unpack(&alloc, len, buf);
    if (!m && pb.refused)
        return kiln_diag_set(d, KILN_STATUS_NO_MEMORY, NULL, NULL,
                             "parsing the model needs more than the compile-time memory limit of "
                             "%llu bytes; --max-memory BYTES raises it (docs/robustness.md)",
                             (unsigned long long)limit);
    if (!m)
        return kiln_diag_set(d, KILN_STATUS_PARSE, NULL, NULL,
                             "not an ONNX model: the protobuf data is truncated or corrupt");
    if (!m->graph) {
        onnx__model_proto__free_unpacked(m, &alloc);
        return kiln_diag_set(d, KILN_STATUS_PARSE, NULL, NULL,
                             "not an ONNX model: no graph in the file");
    }
    struct kiln_ir_graph *g = kiln_ir_graph_new();
    if (!g) {
        onnx__model_proto__free_unpacked(m, &alloc);
        return oom(d);
    }
    /* the parsed message counts against the limit while the graph is built from it */
    g->arena.limit = limit;
    g->arena.charged = pb.used;
    g->arena.grow_per_byte = opt && opt->max_memory ? 0 : KILN_MEMORY_PER_BYTE;
    g->path = kiln_arena_strdup(&g->arena, path ? path : "");
    enum kiln_status st = build_graph(g, m, base_dir, d);
    if (st)
        kiln_arena_explain(&g->arena, d);
    onnx__model_proto__free_unpacked(m, &alloc);
    g->arena.charged -= pb.used;
    if (!st)
        st = kiln_onnx_apply_shapes(g, opt, d);
    if (!st && (st = apply_values(g, opt, d)))
        kiln_arena_explain(&g->arena, d);
    if (st) {
        kiln_ir_graph_free(g);
        return st;
    }
    *out = g;
    return KILN_STATUS_OK;
}

enum kiln_status kiln_onnx_load(const char *path, const struct kiln_import_options *opt,
                                struct kiln_ir_graph **out, struct kiln_diag *d)
{
    uint8_t *buf;
    size_t len;
    *out = NULL;
    enum kiln_status st = read_file(path, &buf, &len, d);
    if (st)
        return st;
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *(slash == dir ? slash + 1 : slash) = '\0';
    else
        snprintf(dir, sizeof dir, ".");
    st = kiln_onnx_load_buffer(buf, len, path, dir, opt, out, d);
    free(buf);
    return st;
}

void kiln_host_tensor_free(struct kiln_host_tensor *t)
{
    if (!t)
        return;
    free(t->data);
    free(t->name);
    memset(t, 0, sizeof *t);
}

enum kiln_status kiln_onnx_read_tensor_pb(const char *path, struct kiln_host_tensor *t,
                                          struct kiln_diag *d)
{
    memset(t, 0, sizeof *t);
    uint8_t *buf;
    size_t len;
    enum kiln_status st = read_file(path, &buf, &len, d);
    if (st)
        return st;
    Onnx__TensorProto *tp = onnx__tensor_proto__unpack(NULL, len, buf);
    free(buf);
    if (!tp)
        return kiln_diag_set(d, KILN_STATUS_PARSE, NULL, NULL,
                             "not a TensorProto: the protobuf data is truncated or corrupt");
    int64_t numel;
    st = tensor_header(tp, "tensor", &t->dtype, &t->rank, t->dims, &numel, &t->nbytes, d);
    if (!st) {
        t->data = malloc(t->nbytes ? t->nbytes : 1);
        if (!t->data)
            st = oom(d);
    }
    if (!st)
        st = tensor_bytes(tp, NULL, "tensor", t->dtype, numel, t->data, t->nbytes, d);
    if (!st && tp->name)
        t->name = strdup(tp->name);
    onnx__tensor_proto__free_unpacked(tp, NULL);
    if (st)
        kiln_host_tensor_free(t);
    return st;
}

enum kiln_status kiln_parse_input_shape(const char *spec, struct kiln_input_shape *s,
                                        struct kiln_diag *d)
{
    const char *eq = strrchr(spec, '=');
    if (!eq || eq == spec)
        return kiln_diag_set(d, KILN_STATUS_INVALID_ARG, NULL, NULL,
                             "--input-shape '%s': expected NAME=D0,D1,... (e.g. "
                             "input=1,3,224,224)",
                             spec);
    memset(s, 0, sizeof *s);
    if ((size_t)(eq - spec) >= sizeof s->name)
        return kiln_diag_set(d, KILN_STATUS_INVALID_ARG, NULL, NULL,
                             "--input-shape: input name too long");
    memcpy(s->name, spec, (size_t)(eq - spec));
    const char *p = eq + 1;
    int r = 0;
    if (*p) {
        for (;;) {
            char *end;
            errno = 0;
            long long v = strtoll(p, &end, 10);
            if (end == p || v < 0 || errno)
                return kiln_diag_set(d, KILN_STATUS_INVALID_ARG, NULL, NULL,
                                     "--input-shape '%s': dimension %d is not a non-negative "
                                     "integer",
                                     spec, r);
            if (r == KILN_MAX_RANK)
                return kiln_diag_set(d, KILN_STATUS_UNSUPPORTED, NULL, NULL,
                                     "--input-shape '%s': more than %d dimensions", spec,
                                     KILN_MAX_RANK);
            s->dims[r++] = v;
            if (*end == '\0')
                break;
            if (*end != ',' && *end != 'x')
                return kiln_diag_set(d, KILN_STATUS_INVALID_ARG, NULL, NULL,
                                     "--input-shape '%s': unexpected '%c'", spec, *end);
            p = end + 1;
        }
    }
    s->rank = r;
    return KILN_STATUS_OK;
}
