/* emitc_tool.c - test driver for the C emitter until `kiln compile --emit c` calls it:
 *   emitc_tool emit MODEL.onnx OUT_DIR NAME [--weights bin] [--main]
 *   emitc_tool same A.npy B.npy     exit 0 when dtype, shape and every byte agree
 * Exit codes: 0 ok, 1 failure (message on stderr), 2 usage. */
#include <stdio.h>
#include <string.h>

#include "compiler.h"
#include "emit_c.h"
#include "npy.h"

static int fail(const struct kiln_diag *d)
{
    fprintf(stderr, "emitc_tool: error: %s%s%s%s%s\n", d->file[0] ? d->file : "",
            d->file[0] ? ": " : "", d->node[0] ? d->node : "", d->node[0] ? ": " : "",
            d->message);
    return 1;
}

static int emit(int argc, char **argv)
{
    struct kiln_emit_c_options o = {.out_dir = argv[3], .name = argv[4]};
    for (int i = 5; i < argc; i++) {
        if (strcmp(argv[i], "--main") == 0)
            o.with_main = 1;
        else if (strcmp(argv[i], "--weights") == 0 && i + 1 < argc &&
                 strcmp(argv[i + 1], "bin") == 0)
            o.weights = KILN_EMIT_WEIGHTS_BIN, i++;
        else
            return 2;
    }
    struct kiln_diag d;
    kiln_diag_clear(&d);
    struct kiln_import_options opt = {0};
    struct kiln_ir_graph *g = NULL;
    struct kiln_compiled *c = NULL;
    int rc = 0;
    if (kiln_onnx_load(argv[2], &opt, &g, &d) || kiln_infer(g, &d) || kiln_lower(g, &c, &d) ||
        kiln_emit_c(c, &o, &d))
        rc = fail(&d);
    kiln_compiled_free(c);
    kiln_ir_graph_free(g);
    return rc;
}

static int same(const char *a, const char *b)
{
    struct kiln_host_tensor x = {0}, y = {0};
    struct kiln_diag d;
    kiln_diag_clear(&d);
    int rc = 0;
    if (kiln_npy_read(a, &x, &d) || kiln_npy_read(b, &y, &d)) {
        rc = fail(&d);
    } else if (x.dtype != y.dtype || x.rank != y.rank ||
               memcmp(x.dims, y.dims, sizeof x.dims[0] * (size_t)x.rank) != 0 ||
               x.nbytes != y.nbytes || (x.nbytes && memcmp(x.data, y.data, x.nbytes) != 0)) {
        fprintf(stderr, "emitc_tool: %s and %s differ\n", a, b);
        rc = 1;
    }
    kiln_host_tensor_free(&x);
    kiln_host_tensor_free(&y);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc >= 5 && strcmp(argv[1], "emit") == 0) {
        int rc = emit(argc, argv);
        if (rc != 2)
            return rc;
    } else if (argc == 4 && strcmp(argv[1], "same") == 0) {
        return same(argv[2], argv[3]);
    }
    fprintf(stderr, "usage: emitc_tool emit MODEL.onnx OUT_DIR NAME [--weights bin] [--main]\n"
                    "       emitc_tool same A.npy B.npy\n");
    return 2;
}
