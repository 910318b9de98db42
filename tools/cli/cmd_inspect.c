/* cmd_inspect.c - `kiln inspect`: imports a model, infers what it can and prints the summary
 * of inspect.h as text or JSON. A model kiln cannot compile yet (unknown ops, symbolic input
 * dims) still gets its summary, with the reason as a note and exit status 0; any other
 * inference error is printed after the summary and exits 1. A .kiln bundle (recognised by its
 * magic) gets a summary of its program. --plan adds the memory plan: each arena buffer with
 * its offset, size, first and last use and the tensors it holds (plan.h). */
#include "bundle.h"
#include "cli.h"
#include "inspect.h"

const char kiln_usage_inspect[] =
    "kiln inspect MODEL.onnx|MODEL.kiln [--input-shape NAME=D0,D1,...]... "
    "[--input-value NAME=FILE.npy]... [--json] [--plan] [--max-memory BYTES]";
const char kiln_help_inspect[] =
    "usage: kiln inspect MODEL.onnx|MODEL.kiln [--input-shape NAME=D0,D1,...]...\n"
    "                    [--input-value NAME=FILE.npy]... [--json] [--plan]\n"
    "                    [--max-memory BYTES]\n"
    "\n"
    "Summarizes a model: inputs and outputs (name, dtype, shape), op histogram, parameter\n"
    "count and bytes, MACs, activation bytes, and the ops kiln does not support with the\n"
    "nodes that use them. For a .kiln bundle: its inputs, outputs, ops, sizes and arena.\n"
    "\n"
    "options:\n"
    "  --input-shape NAME=D0,D1,...  fix the shape of input NAME (symbolic dims); repeatable\n"
    "  --input-value NAME=FILE.npy   fix the value of input NAME (a constant); repeatable\n"
    "  --json                        print the summary (or with --plan, the plan) as JSON\n"
    "  --plan                        print the memory plan: every arena buffer's offset,\n"
    "                                size, first and last use (node index) and tensors\n"
    CLI_MAX_MEMORY_HELP
    "  -h, --help                    print this help\n";

static enum kiln_status print_plan(const struct kiln_program *p, const struct kiln_plan *plan,
                                   bool json, struct kiln_diag *d)
{
    if (!json)
        printf("\n");
    return kiln_plan_print(p, plan, json, stdout, d);
}

/* A bundle keeps only the plan's report: its buffers are rebuilt from the program. */
static enum kiln_status print_bundle_plan(const struct kiln_model *m, bool json,
                                          struct kiln_diag *d)
{
    struct kiln_plan plan;
    enum kiln_status st =
        kiln_plan_from_program(&m->prog, m->plan_lower_bound, m->plan_naive, &plan, d);
    if (!st)
        st = print_plan(&m->prog, &plan, json, d);
    kiln_plan_free(&plan);
    return st;
}

static void print_io(const struct kiln_io_info *io, bool json, bool first)
{
    if (json) {
        printf("%s{\"name\": ", first ? "" : ", ");
        kiln_json_string(stdout, io->name);
        printf(", \"dtype\": \"%s\", \"shape\": [", kiln_dtype_name(io->dtype));
    } else {
        printf("  '%s' %s[", io->name, kiln_dtype_name(io->dtype));
    }
    for (int k = 0; k < io->rank; k++)
        printf("%s%lld", k ? (json ? ", " : ",") : "", (long long)io->dims[k]);
    printf(json ? "], \"bytes\": %llu}" : "]  (%llu bytes)\n", (unsigned long long)io->nbytes);
}

/* The summary of a bundle: what its program takes, returns and runs, and what it needs. */
static int inspect_bundle(const char *path, bool json, bool plan)
{
    struct kiln_model m;
    struct kiln_diag d;
    kiln_diag_clear(&d);
    if (kiln_bundle_open(path, &m, &d))
        return cli_error(path, &d);
    const struct kiln_program *p = &m.prog;
    uint32_t count[1024] = {0}, n_types = 0;
    for (uint32_t i = 0; i < p->n_nodes; i++)
        n_types += p->nodes[i].op < 1024 && count[p->nodes[i].op]++ == 0;
    if (plan && json) {
        print_bundle_plan(&m, true, &d);
        kiln_model_unmap(&m);
        return CLI_OK;
    }
    if (json) {
        printf("{\"bundle\": ");
        kiln_json_string(stdout, path);
        printf(", \"format\": \"%u.%u\", \"bytes\": %llu,\n \"inputs\": [", m.version_major,
               m.version_minor, (unsigned long long)m.size);
    } else {
        printf("bundle: %s\n  format %u.%u, %llu bytes\ninputs:\n", path, m.version_major,
               m.version_minor, (unsigned long long)m.size);
    }
    struct kiln_io_info io;
    for (uint32_t i = 0; i < kiln_model_n_inputs(&m); i++)
        kiln_model_input(&m, i, &io), print_io(&io, json, i == 0);
    printf(json ? "],\n \"outputs\": [" : "outputs:\n");
    for (uint32_t i = 0; i < kiln_model_n_outputs(&m); i++)
        kiln_model_output(&m, i, &io), print_io(&io, json, i == 0);
    if (json)
        printf("],\n \"nodes\": %u, \"ops\": {", p->n_nodes);
    else
        printf("ops (%u nodes, %u types):\n", p->n_nodes, n_types);
    for (uint32_t op = 0, k = 0; op < 1024; op++)
        if (count[op])
            printf(json ? "%s\"%s\": %u" : "%s  %-20s %u\n", json && k++ ? ", " : "",
                   kiln_op_name(op), count[op]);
    unsigned long long w = p->weights_size, a = p->arena_size;
    if (json)
        printf("},\n \"weights_bytes\": %llu, \"params_bytes\": %llu, \"arena_bytes\": %llu}\n",
               w, (unsigned long long)p->params_size, a);
    else
        printf("weights: %llu bytes\nparams: %llu bytes\narena: %llu bytes\n", w,
               (unsigned long long)p->params_size, a);
    if (plan)
        print_bundle_plan(&m, false, &d);
    fflush(stdout);
    kiln_model_unmap(&m);
    return CLI_OK;
}

int kiln_cmd_inspect(int argc, char **argv)
{
    const char *model = NULL;
    bool json = false, plan = false;
    uint64_t max_memory = 0;
    struct cli_shapes shapes = {NULL, 0};
    struct cli_values values = {NULL, 0};
    int rc = CLI_OK;
    for (int i = 1; i < argc && rc == CLI_OK; i++) {
        const char *a = argv[i], *val;
        int m;
        if (cli_is_help(a)) {
            fputs(kiln_help_inspect, stdout);
            free(shapes.v), free(values.v);
            return CLI_OK;
        } else if (strcmp(a, "--json") == 0) {
            json = true;
        } else if (strcmp(a, "--plan") == 0) {
            plan = true;
        } else if ((m = cli_opt_value(argc, argv, &i, "--input-shape", &val)) != 0) {
            rc = m < 0 ? cli_usage_error(kiln_usage_inspect, "missing value for", a)
                       : cli_add_shape(&shapes, val, kiln_usage_inspect);
        } else if ((m = cli_opt_value(argc, argv, &i, "--input-value", &val)) != 0) {
            rc = m < 0 ? cli_usage_error(kiln_usage_inspect, "missing value for", a)
                       : cli_add_value(&values, val, kiln_usage_inspect);
        } else if ((m = cli_opt_value(argc, argv, &i, "--max-memory", &val)) != 0) {
            if (m < 0 || !cli_parse_bytes(val, &max_memory))
                rc = cli_usage_error(kiln_usage_inspect,
                                     "--max-memory takes a byte count (K, M, G suffixes), not",
                                     m < 0 ? "" : val);
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
        free(shapes.v), free(values.v);
        return rc;
    }

    struct kiln_diag d;
    kiln_diag_clear(&d);
    if (kiln_file_is_bundle(model)) {
        rc = shapes.n || values.n
                 ? cli_usage_error(kiln_usage_inspect,
                                   shapes.n ? "--input-shape does not apply to a bundle (kiln "
                                              "compile fixed its shapes)"
                                            : "--input-value does not apply to a bundle (kiln "
                                              "compile fixed its values)",
                                   NULL)
                 : inspect_bundle(model, json, plan);
        free(shapes.v), free(values.v);
        return rc;
    }
    struct kiln_import_options opt = {shapes.v, shapes.n, values.v, values.n, max_memory};
    struct kiln_ir_graph *g = NULL;
    enum kiln_status lst = kiln_onnx_load(model, &opt, &g, &d);
    free(shapes.v), free(values.v);
    if (lst)
        return cli_error(model, &d);

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
    if (!plan || !json)
        (json ? kiln_summary_print_json : kiln_summary_print_text)(&s, stdout);
    kiln_summary_free(&s);
    if (plan && ist) {
        kiln_ir_graph_free(g);
        return cli_error(model, &id); /* no program, no plan */
    }
    struct kiln_compiled *c = NULL;
    if (plan && (kiln_lower(g, &c, &d) || print_plan(&c->prog, &c->plan, json, &d))) {
        kiln_compiled_free(c);
        kiln_ir_graph_free(g);
        return cli_error(model, &d);
    }
    fflush(stdout);
    kiln_compiled_free(c);
    kiln_ir_graph_free(g);
    if (ist && ist != KILN_STATUS_UNSUPPORTED)
        return cli_error(model, &id);
    return CLI_OK;
}
