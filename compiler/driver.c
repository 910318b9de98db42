/* driver.c - kiln_compile_model, the pipeline every command and tool runs (load, infer,
 * optimize, lower), and kiln_inputs_bind, which matches --input files to a model's inputs and
 * checks them. One copy of each so that kiln run, kiln compile, kiln bench and the report
 * generators cannot drift apart. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "driver.h"
#include "npy.h"

enum kiln_status kiln_compile_model(const struct kiln_compile_options *o,
                                    struct kiln_ir_graph **graph, struct kiln_compiled **out,
                                    struct kiln_diag *d)
{
    if (graph)
        *graph = NULL;
    if (out)
        *out = NULL;
    struct kiln_ir_graph *g = o->graph;
    enum kiln_status st;
    if (!g)
        st = kiln_onnx_load(o->model, &o->import, &g, d);
    else if (o->import.n_values)
        st = kiln_diag_set(d, KILN_STATUS_INTERNAL, NULL, NULL,
                           "internal error: input values are applied while loading");
    else
        st = kiln_onnx_apply_shapes(g, &o->import, d);
    if (!st)
        st = kiln_infer(g, d);
    if (!st && o->prune && o->prune->mode != KILN_PRUNE_NONE) {
        st = kiln_prune(g, o->prune, o->prune_report, d);
        if (st)
            kiln_prune_report_free(o->prune_report);
    }
    if (!st) {
        st = kiln_optimize(g, o->level, o->report, d);
        if (st)
            kiln_pass_report_free(o->report); /* a report only of a pipeline that ran through */
    }
    if (!st && out)
        st = kiln_lower_opts(g, o->lower, out, d);
    if (st && g)
        kiln_arena_explain(&g->arena, d);
    if (!st && graph)
        *graph = g;
    else
        kiln_ir_graph_free(g);
    return st;
}

void kiln_input_desc_from_value(const struct kiln_ir_value *v, struct kiln_input_desc *e)
{
    memset(e, 0, sizeof *e);
    e->name = v->name;
    e->dtype = v->dtype;
    e->rank = v->rank;
    memcpy(e->dims, v->dims, sizeof e->dims);
    kiln_ir_value_type_str(v, e->type, sizeof e->type);
}

void kiln_tensor_type_str(int dtype, int rank, const int64_t *dims, char *buf, size_t size)
{
    size_t o = (size_t)snprintf(buf, size, "%s[", kiln_dtype_name(dtype));
    for (int i = 0; i < rank && o < size; i++)
        o += (size_t)snprintf(buf + o, size - o, "%s%lld", i ? "," : "", (long long)dims[i]);
    if (o < size)
        snprintf(buf + o, size - o, "]");
}

void kiln_input_desc_from_io(const struct kiln_io_info *io, struct kiln_input_desc *e)
{
    memset(e, 0, sizeof *e);
    e->name = io->name;
    e->dtype = io->dtype;
    e->rank = io->rank;
    memcpy(e->dims, io->dims, (size_t)io->rank * sizeof *io->dims);
    kiln_tensor_type_str(e->dtype, e->rank, e->dims, e->type, sizeof e->type);
}

void kiln_bound_inputs_free(struct kiln_bound_inputs *b)
{
    for (uint32_t i = 0; b->tensors && i < b->n; i++)
        kiln_host_tensor_free(&b->tensors[i]);
    free(b->tensors);
    free(b->paths);
    free(b->shapes);
    memset(b, 0, sizeof *b);
}

/* "'a' float32[1,3], 'b' int64[N]" */
static void list_inputs(const struct kiln_input_desc *in, uint32_t n, char *buf, size_t size)
{
    size_t o = 0;
    buf[0] = '\0';
    for (uint32_t i = 0; i < n && o < size; i++)
        o += (size_t)snprintf(buf + o, size - o, "%s'%s' %s", i ? ", " : "", in[i].name,
                              in[i].type);
    if (!n)
        snprintf(buf, size, "none");
}

/* Matches the arguments to inputs: NAME= first, then the rest by position. */
static enum kiln_status match(const struct kiln_input_desc *in, uint32_t n_in,
                              const char *const *args, size_t n_args, bool require_all,
                              const char **paths, struct kiln_diag *d)
{
    char names[2048];
    list_inputs(in, n_in, names, sizeof names);
    bool *positional = calloc(n_args + 1, sizeof *positional);
    if (!positional)
        return kiln_diag_set(d, KILN_STATUS_NO_MEMORY, NULL, NULL, "out of memory");
    enum kiln_status st = KILN_STATUS_OK;
    for (size_t k = 0; k < n_args && !st; k++) {
        const char *arg = args[k], *eq = strchr(arg, '=');
        positional[k] = true;
        if (!eq)
            continue;
        char name[512];
        snprintf(name, sizeof name, "%.*s", (int)(eq - arg), arg);
        uint32_t i = 0;
        while (i < n_in && strcmp(in[i].name, name) != 0)
            i++;
        if (i < n_in) {
            positional[k] = false;
            if (paths[i])
                st = kiln_diag_set(d, KILN_STATUS_INVALID_ARG, NULL, NULL,
                                   "input '%s' is given twice (--input %s)", name, arg);
            paths[i] = eq + 1;
            continue;
        }
        if (access(arg, F_OK) != 0) /* not a file whose name has '=' in it */
            st = kiln_diag_set(d, KILN_STATUS_INVALID_ARG, NULL, NULL,
                               "--input %s: the model has no input named '%s' (inputs: %s)", arg,
                               name, names);
    }
    uint32_t next = 0;
    for (size_t k = 0; k < n_args && !st; k++) {
        if (!positional[k])
            continue;
        while (next < n_in && paths[next])
            next++;
        if (next == n_in)
            st = kiln_diag_set(d, KILN_STATUS_INVALID_ARG, NULL, NULL,
                               "--input %s: too many inputs; the model takes %u (%s)", args[k],
                               n_in, names);
        else
            paths[next++] = args[k];
    }
    for (uint32_t i = 0; i < n_in && !st && require_all; i++)
        if (!paths[i])
            st = kiln_diag_set(d, KILN_STATUS_INVALID_ARG, NULL, NULL,
                               "input '%s' is missing; the model's inputs are: %s (give them "
                               "with --input NAME=FILE.npy)",
                               in[i].name, names);
    free(positional);
    return st;
}

/* Reads the file bound to input e and checks it; its shape goes to *shape. */
static enum kiln_status read_one(const struct kiln_input_desc *e, const char *path,
                                 struct kiln_host_tensor *t, struct kiln_input_shape *shape,
                                 struct kiln_diag *d)
{
    enum kiln_status st = kiln_npy_read(path, t, d);
    if (st) {
        if (!d->file[0])
            snprintf(d->file, sizeof d->file, "%s", path);
        return st;
    }
    char got[256];
    kiln_tensor_type_str(t->dtype, t->rank, t->dims, got, sizeof got);
    if (t->dtype != e->dtype)
        st = kiln_diag_set(d, KILN_STATUS_INVALID_ARG, NULL, NULL,
                           "input '%s' has the wrong element type: the model expects %s, the "
                           "file holds %s",
                           e->name, e->type, got);
    bool ok = e->rank < 0 || t->rank == e->rank;
    for (int k = 0; ok && k < e->rank; k++)
        ok = e->dims[k] < 0 || e->dims[k] == t->dims[k];
    if (!st && !ok)
        st = kiln_diag_set(d, KILN_STATUS_INVALID_ARG, NULL, NULL,
                           "input '%s' has the wrong shape: the model expects %s, the file "
                           "holds %s",
                           e->name, e->type, got);
    if (st) {
        snprintf(d->file, sizeof d->file, "%s", path);
        return st;
    }
    snprintf(shape->name, sizeof shape->name, "%s", e->name);
    shape->rank = t->rank;
    memcpy(shape->dims, t->dims, sizeof shape->dims);
    return KILN_STATUS_OK;
}

enum kiln_status kiln_inputs_bind(const struct kiln_input_desc *in, uint32_t n_in,
                                  const char *const *args, size_t n_args, bool require_all,
                                  struct kiln_bound_inputs *out, struct kiln_diag *d)
{
    memset(out, 0, sizeof *out);
    out->n = n_in;
    out->tensors = calloc((size_t)n_in + 1, sizeof *out->tensors);
    out->paths = calloc((size_t)n_in + 1, sizeof *out->paths);
    out->shapes = calloc((size_t)n_in + 1, sizeof *out->shapes);
    enum kiln_status st = KILN_STATUS_OK;
    if (!out->tensors || !out->paths || !out->shapes)
        st = kiln_diag_set(d, KILN_STATUS_NO_MEMORY, NULL, NULL, "out of memory");
    if (!st)
        st = match(in, n_in, args, n_args, require_all, out->paths, d);
    for (uint32_t i = 0; i < n_in && !st; i++)
        if (out->paths[i])
            st = read_one(&in[i], out->paths[i], &out->tensors[i], &out->shapes[out->n_shapes++],
                          d);
    if (st)
        kiln_bound_inputs_free(out);
    return st;
}
