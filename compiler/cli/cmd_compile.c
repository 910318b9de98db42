/* cmd_compile.c - `kiln compile`: imports an ONNX model, infers shapes, lowers it and writes
 * the program as a .kiln bundle (default: the model path with .onnx replaced by .kiln). The
 * bundle goes to a temporary next to the target and is renamed into place, so a failure never
 * leaves a partial file. */
#include "bundle.h"
#include "cli.h"

const char kiln_usage_compile[] =
    "kiln compile MODEL.onnx [-o OUT.kiln] [--input-shape NAME=D0,D1,...]...";
const char kiln_help_compile[] =
    "usage: kiln compile MODEL.onnx [-o OUT.kiln] [--input-shape NAME=D0,D1,...]...\n"
    "\n"
    "Compiles a model into a .kiln bundle: the kernel schedule, parameters, 64-byte aligned\n"
    "weights and the memory plan in one file that the kiln runtime loads in place\n"
    "(kiln run OUT.kiln, or kiln_model_load in your program). See docs/bundle-format.md.\n"
    "\n"
    "options:\n"
    "  -o, --output OUT.kiln         where to write (default: MODEL with .onnx replaced by .kiln)\n"
    "  --input-shape NAME=D0,D1,...  fix the shape of input NAME (symbolic dims); repeatable\n"
    "  -h, --help                    print this help\n";

/* MODEL.onnx -> MODEL.kiln; any other name gets .kiln appended. */
static char *default_output(const char *model)
{
    size_t n = strlen(model);
    char *out = malloc(n + 6);
    if (!out)
        return NULL;
    memcpy(out, model, n + 1);
    if (n > 5 && strcmp(model + n - 5, ".onnx") == 0)
        n -= 5;
    memcpy(out + n, ".kiln", 6);
    return out;
}

int kiln_cmd_compile(int argc, char **argv)
{
    const char *model = NULL, *output = NULL;
    struct cli_shapes shapes = {NULL, 0};
    int rc = CLI_OK;
    for (int i = 1; i < argc && rc == CLI_OK; i++) {
        const char *a = argv[i], *val;
        int m;
        if (cli_is_help(a)) {
            fputs(kiln_help_compile, stdout);
            free(shapes.v);
            return CLI_OK;
        } else if ((m = cli_opt_value(argc, argv, &i, "--input-shape", &val)) != 0) {
            rc = m < 0 ? cli_usage_error(kiln_usage_compile, "missing value for", a)
                       : cli_add_shape(&shapes, val, kiln_usage_compile);
        } else if ((m = cli_opt_value(argc, argv, &i, "--output", &val)) != 0 ||
                   (m = cli_opt_value(argc, argv, &i, "-o", &val)) != 0) {
            if (m < 0)
                rc = cli_usage_error(kiln_usage_compile, "missing value for", a);
            else
                output = val;
        } else if (a[0] == '-' && a[1]) {
            rc = cli_usage_error(kiln_usage_compile, "unknown option", a);
        } else if (model) {
            rc = cli_usage_error(kiln_usage_compile, "more than one model given:", a);
        } else {
            model = a;
        }
    }
    if (rc == CLI_OK && !model)
        rc = cli_usage_error(kiln_usage_compile, "no model given", NULL);
    if (rc != CLI_OK) {
        free(shapes.v);
        return rc;
    }
    char *out_path = output ? strdup(output) : default_output(model);
    struct kiln_diag d;
    kiln_diag_clear(&d);
    struct kiln_import_options opt = {shapes.v, shapes.n};
    struct kiln_ir_graph *g = NULL;
    struct kiln_compiled *c = NULL;
    void *buf = NULL;
    size_t len = 0;
    if (!out_path) {
        fprintf(stderr, "kiln: error: out of memory\n");
        rc = CLI_ERROR;
    } else if (kiln_onnx_load(model, &opt, &g, &d) || kiln_infer(g, &d) ||
               kiln_lower(g, &c, &d) ||
               kiln_bundle_build(&c->prog, c->plan_lower_bound, c->plan_naive, &buf, &len, &d)) {
        rc = cli_error(model, &d);
    } else if (kiln_bundle_save(out_path, buf, len, &d)) {
        rc = cli_error(out_path, &d);
    } else {
        printf("wrote %s: %zu bytes (weights %llu, %u nodes, arena %llu bytes)\n", out_path, len,
               (unsigned long long)c->prog.weights_size, c->prog.n_nodes,
               (unsigned long long)c->prog.arena_size);
    }
    free(buf);
    kiln_compiled_free(c);
    kiln_ir_graph_free(g);
    free(out_path);
    free(shapes.v);
    return rc;
}
