/* cmd_inspect.c - `kiln inspect`: imports a model, infers what it can and prints the summary
 * of inspect.h as text or JSON. A model kiln cannot compile yet (unknown ops, symbolic input
 * dims) still gets its summary, with the reason as a note and exit status 0; any other
 * inference error is printed after the summary and exits 1. */
#include "cli.h"
#include "inspect.h"

const char kiln_usage_inspect[] =
    "kiln inspect MODEL.onnx [--input-shape NAME=D0,D1,...]... [--json]";
const char kiln_help_inspect[] =
    "usage: kiln inspect MODEL.onnx [--input-shape NAME=D0,D1,...]... [--json]\n"
    "\n"
    "Summarizes a model: inputs and outputs (name, dtype, shape), op histogram, parameter\n"
    "count and bytes, MACs, activation bytes, and the ops kiln does not support with the\n"
    "nodes that use them.\n"
    "\n"
    "options:\n"
    "  --input-shape NAME=D0,D1,...  fix the shape of input NAME (symbolic dims); repeatable\n"
    "  --json                        print the summary as JSON\n"
    "  -h, --help                    print this help\n";

int kiln_cmd_inspect(int argc, char **argv)
{
    const char *model = NULL;
    bool json = false;
    struct cli_shapes shapes = {NULL, 0};
    int rc = CLI_OK;
    for (int i = 1; i < argc && rc == CLI_OK; i++) {
        const char *a = argv[i], *val;
        int m;
        if (cli_is_help(a)) {
            fputs(kiln_help_inspect, stdout);
            free(shapes.v);
            return CLI_OK;
        } else if (strcmp(a, "--json") == 0) {
            json = true;
        } else if ((m = cli_opt_value(argc, argv, &i, "--input-shape", &val)) != 0) {
            rc = m < 0 ? cli_usage_error(kiln_usage_inspect, "missing value for", a)
                       : cli_add_shape(&shapes, val, kiln_usage_inspect);
        } else if (a[0] == '-' && a[1]) {
            rc = cli_usage_error(kiln_usage_inspect, "unknown option", a);
        } else if (model) {
            rc = cli_usage_error(kiln_usage_inspect, "more than one model given:", a);
        } else {
            model = a;
        }
    }
    if (rc == CLI_OK && !model)
        rc = cli_usage_error(kiln_usage_inspect, "no model given", NULL);
    if (rc != CLI_OK) {
        free(shapes.v);
        return rc;
    }

    struct kiln_diag d;
    kiln_diag_clear(&d);
    struct kiln_import_options opt = {shapes.v, shapes.n};
    struct kiln_ir_graph *g = NULL;
    if (kiln_onnx_load(model, &opt, &g, &d)) {
        free(shapes.v);
        return cli_error(model, &d);
    }
    free(shapes.v);

    struct kiln_diag id;
    kiln_diag_clear(&id);
    enum kiln_status ist = kiln_infer(g, &id);
    char note[1200];
    if (ist) {
        if (id.node[0])
            snprintf(note, sizeof note, "shape inference stopped at node '%s' (%s): %s", id.node,
                     id.op, id.message);
        else
            snprintf(note, sizeof note, "shape inference stopped: %s", id.message);
    }
    struct kiln_summary s;
    if (kiln_summary_compute(g, ist == KILN_STATUS_OK, ist ? note : NULL, &s, &d)) {
        kiln_ir_graph_free(g);
        return cli_error(model, &d);
    }
    if (json)
        kiln_summary_print_json(&s, stdout);
    else
        kiln_summary_print_text(&s, stdout);
    fflush(stdout);
    kiln_summary_free(&s);
    kiln_ir_graph_free(g);
    if (ist && ist != KILN_STATUS_UNSUPPORTED)
        return cli_error(model, &id);
    return CLI_OK;
}
