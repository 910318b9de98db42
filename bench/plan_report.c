/* plan_report.c - kiln-plan-report: prints the arena plan of ONNX models side by side: the
 * arena, the lower bound (the most bytes live at one step), the naive sum of every
 * intermediate, their ratio, and how much the in-place/alias/Concat optimisations save.
 * Usage: kiln-plan-report MODEL.onnx...   (bench/plan_report.sh runs it on the usual set) */
#include <stdio.h>
#include <string.h>

#include "compiler.h"

static int report(const char *path)
{
    struct kiln_diag d;
    kiln_diag_clear(&d);
    struct kiln_ir_graph *g = NULL;
    struct kiln_compiled *c = NULL, *plain = NULL;
    static const struct kiln_lower_options off = {true, true, true};
    if (kiln_onnx_load(path, NULL, &g, &d) || kiln_infer(g, &d) || kiln_lower(g, &c, &d) ||
        kiln_lower_opts(g, &off, &plain, &d)) {
        fprintf(stderr, "kiln-plan-report: error: %s: %s%s%s\n", path, d.node[0] ? d.node : "",
                d.node[0] ? ": " : "", d.message);
        kiln_compiled_free(c);
        kiln_ir_graph_free(g);
        return 1;
    }
    const char *name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    double kib = 1024.0;
    printf("| %-24s | %10.1f | %10.1f | %10.1f | %6.4f | %10.1f | %5u -> %-5u | %s |\n", name,
           c->prog.arena_size / kib, c->plan_lower_bound / kib, c->plan_naive / kib,
           c->plan_lower_bound ? (double)c->prog.arena_size / (double)c->plan_lower_bound : 1.0,
           plain->prog.arena_size / kib, plain->prog.n_nodes, c->prog.n_nodes,
           c->plan_strategy ? c->plan_strategy : "");
    kiln_compiled_free(plain);
    kiln_compiled_free(c);
    kiln_ir_graph_free(g);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: kiln-plan-report MODEL.onnx...\n");
        return 2;
    }
    printf("| %-24s | %10s | %10s | %10s | %6s | %10s | %-14s | %s |\n", "model", "arena KiB",
           "lower KiB", "naive KiB", "ratio", "plain KiB", "nodes", "placement");
    printf("|%s|%s|%s|%s|%s|%s|%s|%s|\n", "--------------------------", "------------",
           "------------", "------------", "--------", "------------", "----------------",
           "---");
    int rc = 0;
    for (int i = 1; i < argc; i++)
        rc |= report(argv[i]);
    return rc;
}
