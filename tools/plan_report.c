/* plan_report.c - kiln-plan-report: prints the arena plan of ONNX models side by side: the
 * arena, the lower bound (the most bytes live at one step), the naive sum of every
 * intermediate, their ratio, and how much the in-place/alias/Concat optimisations save.
 * --plan also lists every buffer: offset, size, lifetime (as a bar over the schedule), name.
 * Usage: kiln-plan-report [--plan] MODEL.onnx...   (bench/plan_report.sh runs the usual set) */
#include <stdio.h>
#include <string.h>

#include "driver.h"

static void list_plan(const struct kiln_compiled *c)
{
    const struct kiln_program *p = &c->prog;
    uint32_t steps = p->n_nodes, width = steps < 60 ? steps : 60;
    printf("  %10s %10s  %-9s  %-*s  %s\n", "offset", "bytes", "steps", (int)width, "lifetime",
           "buffer");
    for (uint32_t i = 0; i < c->plan.n; i++) {
        const struct kiln_plan_entry *e = &c->plan.entries[i];
        char bar[64], span[32];
        for (uint32_t k = 0; k < width; k++) {
            uint32_t s0 = (uint32_t)((uint64_t)k * steps / width);
            uint32_t s1 = (uint32_t)((uint64_t)(k + 1) * steps / width) - 1;
            bar[k] = e->first <= s1 && e->last >= s0 ? '#' : '.';
        }
        bar[width] = 0;
        snprintf(span, sizeof span, "%u-%u", e->first, e->last);
        char name[96];
        if (e->tensor == UINT32_MAX)
            snprintf(name, sizeof name, "(scratch of node %u, %s)", e->first,
                     kiln_op_name(p->nodes[e->first].op));
        else
            snprintf(name, sizeof name, "%s", kiln_prog_str(p, p->tensors[e->tensor].name));
        printf("  %10llu %10llu  %-9s  %s  %s\n", (unsigned long long)e->offset,
               (unsigned long long)e->size, span, bar, name);
    }
}

static int report(const char *path, int plan)
{
    struct kiln_diag d;
    kiln_diag_clear(&d);
    struct kiln_ir_graph *g = NULL;
    struct kiln_compiled *c = NULL, *plain = NULL;
    static const struct kiln_lower_options off = {true, true, true};
    struct kiln_compile_options co = {.model = path}; /* -O0: the graph as the model has it */
    if (kiln_compile_model(&co, &g, &c, &d) || kiln_lower_opts(g, &off, &plain, &d)) {
        fprintf(stderr, "kiln-plan-report: error: %s: %s%s%s\n", path, d.node[0] ? d.node : "",
                d.node[0] ? ": " : "", d.message);
        kiln_compiled_free(c);
        kiln_ir_graph_free(g);
        return 1;
    }
    const char *name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    double kib = 1024.0;
    printf("| %-24s | %10.1f | %10.1f | %10.1f | %6.4f | %10.1f | %5u -> %-5u | %s |\n", name,
           c->prog.arena_size / kib, c->plan.lower_bound / kib, c->plan.naive / kib,
           c->plan.lower_bound ? (double)c->prog.arena_size / (double)c->plan.lower_bound : 1.0,
           plain->prog.arena_size / kib, plain->prog.n_nodes, c->prog.n_nodes,
           c->plan.strategy ? c->plan.strategy : "");
    if (plan)
        list_plan(c);
    kiln_compiled_free(plain);
    kiln_compiled_free(c);
    kiln_ir_graph_free(g);
    return 0;
}

int main(int argc, char **argv)
{
    int plan = argc > 1 && strcmp(argv[1], "--plan") == 0;
    if (argc < 2 + plan) {
        fprintf(stderr, "usage: kiln-plan-report [--plan] MODEL.onnx...\n");
        return 2;
    }
    printf("| %-24s | %10s | %10s | %10s | %6s | %10s | %-14s | %s |\n", "model", "arena KiB",
           "lower KiB", "naive KiB", "ratio", "plain KiB", "nodes", "placement");
    printf("|%s|%s|%s|%s|%s|%s|%s|%s|\n", "--------------------------", "------------",
           "------------", "------------", "--------", "------------", "----------------",
           "---");
    int rc = 0;
    for (int i = 1 + plan; i < argc; i++)
        rc |= report(argv[i], plan);
    return rc;
}
