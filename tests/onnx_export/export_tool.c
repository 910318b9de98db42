/* export_tool.c - test driver for the ONNX writer (the CLI's --emit onnx is wired elsewhere):
 * loads MODEL.onnx, fixes symbolic input dims from its reference inputs (MODEL.input.npy or
 * MODEL.input.K.npy) when they exist, infers, optimizes at -O LEVEL and writes OUT.onnx.
 * --mark-kiln adds a string attribute "kiln_note" to the first node, putting it in the kiln
 * domain (the checker test's kiln-domain case until passes write fused attributes).
 * Usage: export_tool MODEL.onnx LEVEL OUT.onnx [--standard|--mark-kiln]  (exit 0 ok, 1 error) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "compiler.h"
#include "npy.h"
#include "onnx_export.h"
#include "pass.h"

/* Gives input i the shape of its reference .npy, if there is one. */
static int fix_shapes(struct kiln_ir_graph *g, const char *model, struct kiln_diag *d)
{
    char base[4096], p[4200];
    snprintf(base, sizeof base, "%s", model);
    size_t l = strlen(base);
    if (l > 5 && strcmp(base + l - 5, ".onnx") == 0)
        base[l - 5] = '\0';
    for (uint32_t i = 0; i < g->n_inputs; i++) {
        struct stat sb;
        snprintf(p, sizeof p, "%s.input.npy", base);
        if (g->n_inputs > 1 || stat(p, &sb) != 0)
            snprintf(p, sizeof p, "%s.input.%u.npy", base, i);
        if (stat(p, &sb) != 0)
            continue;
        struct kiln_host_tensor t;
        if (kiln_npy_read(p, &t, d))
            return 1;
        struct kiln_ir_value *v = g->inputs[i];
        if (t.rank == v->rank)
            for (int k = 0; k < v->rank; k++)
                v->dims[k] = t.dims[k];
        kiln_host_tensor_free(&t);
    }
    return 0;
}

static int mark_kiln(struct kiln_ir_graph *g, struct kiln_diag *d)
{
    if (!g->n_nodes)
        return kiln_diag_set(d, KILN_STATUS_INVALID_ARG, NULL, NULL, "--mark-kiln: no nodes");
    struct kiln_ir_node *n = g->nodes[0];
    struct kiln_ir_attr *a = kiln_arena_alloc(&g->arena, (n->n_attrs + 1) * sizeof *a);
    if (!a)
        return kiln_diag_set(d, KILN_STATUS_NO_MEMORY, NULL, NULL, "out of memory");
    if (n->n_attrs)
        memcpy(a, n->attrs, n->n_attrs * sizeof *a);
    a[n->n_attrs++] = (struct kiln_ir_attr){.name = "kiln_note", .type = KILN_ATTR_STRING,
                                            .s = "export_tool", .s_len = 11};
    n->attrs = a;
    return 0;
}

int main(int argc, char **argv)
{
    const char *opt = argc == 5 ? argv[4] : "";
    if (argc < 4 || argc > 5 ||
        (opt[0] && strcmp(opt, "--standard") && strcmp(opt, "--mark-kiln"))) {
        fprintf(stderr, "usage: export_tool MODEL.onnx LEVEL OUT.onnx [--standard|--mark-kiln]\n");
        return 2;
    }
    struct kiln_onnx_write_options o = {.standard_only = strcmp(opt, "--standard") == 0};
    struct kiln_ir_graph *g = NULL;
    struct kiln_diag d;
    kiln_diag_clear(&d);
    int rc = kiln_onnx_load(argv[1], NULL, &g, &d) || fix_shapes(g, argv[1], &d) ||
             kiln_infer(g, &d) || kiln_optimize(g, atoi(argv[2]), NULL, &d) ||
             (strcmp(opt, "--mark-kiln") == 0 && mark_kiln(g, &d)) ||
             kiln_onnx_write(g, argv[3], &o, &d);
    if (rc)
        fprintf(stderr, "export_tool: error: %s: %s%s%s%s\n", argv[1], d.node[0] ? "node '" : "",
                d.node, d.node[0] ? "': " : "", d.message);
    kiln_ir_graph_free(g);
    return rc;
}
