/* cleanup.c - the first pass: drops nodes whose outputs were evaluated at compile time
 * (shape subgraphs, constant expressions: their values are constants now), removes Identity
 * and inference-time Dropout by rewiring their readers, merges nodes that compute the same
 * thing from the same inputs (common subexpressions), and deletes nodes nothing reads. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "edit.h"

static bool all_outputs_constant(const struct kiln_ir_node *n)
{
    for (uint32_t o = 0; o < n->n_out; o++)
        if (n->out[o] && !n->out[o]->data)
            return false;
    return true;
}

static bool has_subgraph(const struct kiln_ir_node *n)
{
    for (uint32_t a = 0; a < n->n_attrs; a++)
        if (n->attrs[a].type == KILN_ATTR_GRAPH || n->attrs[a].g)
            return true;
    return false;
}

static bool same_attr(const struct kiln_ir_attr *a, const struct kiln_ir_attr *b)
{
    if (strcmp(a->name, b->name) || a->type != b->type || a->i != b->i ||
        memcmp(&a->f, &b->f, sizeof a->f) || a->n != b->n || a->s_len != b->s_len ||
        a->t != b->t || a->g != b->g)
        return false;
    if (a->s_len && memcmp(a->s, b->s, a->s_len))
        return false;
    if (a->ints && b->ints && memcmp(a->ints, b->ints, a->n * sizeof *a->ints))
        return false;
    if (a->floats && b->floats && memcmp(a->floats, b->floats, a->n * sizeof *a->floats))
        return false;
    return true;
}

/* Same op, inputs, attributes and kernel parameters: the outputs are equal. */
static bool same_computation(const struct kiln_ir_node *a, const struct kiln_ir_node *b)
{
    if (a->op != b->op || a->op == KILN_OP_UNKNOWN || a->n_in != b->n_in ||
        a->n_out != b->n_out || a->n_attrs != b->n_attrs || a->params_size != b->params_size ||
        (kiln_op_info(a->op)->flags & KILN_OPF_NO_FOLD) || has_subgraph(a))
        return false;
    for (uint32_t j = 0; j < a->n_in; j++)
        if (a->in[j] != b->in[j])
            return false;
    for (uint32_t o = 0; o < a->n_out; o++)
        if (!a->out[o] != !b->out[o])
            return false;
    if (a->params_size && memcmp(a->params, b->params, a->params_size))
        return false;
    for (uint32_t k = 0; k < a->n_attrs; k++)
        if (!same_attr(&a->attrs[k], &b->attrs[k]))
            return false;
    return true;
}

static void rewire_copies(struct kiln_pass_ctx *c)
{
    struct kiln_ir_graph *g = c->g;
    struct kiln_ir_node *n;
    for (uint32_t i = 0; (n = kiln_edit_next_live(g, &i));) {
        if ((n->op != KILN_OP_IDENTITY && n->op != KILN_OP_DROPOUT))
            continue;
        if (n->op == KILN_OP_DROPOUT && n->n_out > 1 && n->out[1] && n->out[1]->n_uses)
            continue; /* the mask is read: keep the node that makes it */
        if (!kiln_edit_bypass(g, n))
            continue; /* a graph output keeps its producer */
        kiln_pass_log(c, "removed %s '%s'", n->op_type, n->name);
    }
}

/* What same_computation compares first (op, inputs, counts, parameters), hashed. */
static uint64_t computation_hash(const struct kiln_ir_node *n)
{
    uint64_t h = 1469598103934665603ull;
#define MIX(x) (h = (h ^ (uint64_t)(x)) * 1099511628211ull)
    MIX(n->op);
    MIX(n->n_in);
    MIX(n->n_out);
    MIX(n->n_attrs);
    MIX(n->params_size);
    for (uint32_t j = 0; j < n->n_in; j++)
        MIX((uintptr_t)n->in[j]);
    for (uint32_t b = 0; b < n->params_size; b++)
        MIX(((const uint8_t *)n->params)[b]);
#undef MIX
    return h;
}

/* Nodes in order (topological: a node's inputs are final when it is reached), each looked up
 * among the earlier ones that compute something different from all before them; a match takes
 * its readers. A hash table keeps this linear in the graph's size (a quadratic scan took hours
 * on 10^6 nodes); without memory for it, nothing is merged. */
static void merge_duplicates(struct kiln_pass_ctx *c)
{
    struct kiln_ir_graph *g = c->g;
    uint32_t cap = 16;
    while (cap < 2 * (uint64_t)g->n_nodes && cap < (1u << 31))
        cap *= 2;
    struct kiln_ir_node **table = calloc(cap, sizeof *table);
    if (!table)
        return;
    struct kiln_ir_node *b;
    for (uint32_t i = 0; (b = kiln_edit_next_live(g, &i));) {
        if (!same_computation(b, b))
            continue;
        uint32_t slot = (uint32_t)computation_hash(b) & (cap - 1);
        struct kiln_ir_node *a = NULL;
        for (; table[slot]; slot = (slot + 1) & (cap - 1))
            if (same_computation(table[slot], b)) {
                a = table[slot];
                break;
            }
        if (!a) {
            table[slot] = b;
            continue;
        }
        bool ok = true;
        for (uint32_t o = 0; o < b->n_out && ok; o++)
            ok = !b->out[o] || !b->out[o]->is_output;
        if (!ok)
            continue;
        for (uint32_t o = 0; o < b->n_out; o++)
            if (b->out[o])
                kiln_edit_replace_uses(g, b->out[o], a->out[o]);
        b->dead = true;
        kiln_pass_log(c, "merged %s '%s' into '%s' (same inputs and attributes)", b->op_type,
                      b->name, a->name);
    }
    free(table);
}

enum kiln_status kiln_pass_cleanup(struct kiln_pass_ctx *c)
{
    struct kiln_ir_graph *g = c->g;
    uint32_t folded = 0, unused = 0;
    for (uint32_t i = 0; i < g->n_nodes; i++) {
        struct kiln_ir_node *n = g->nodes[i];
        if (!n->dead && n->n_out && all_outputs_constant(n)) {
            n->dead = true;
            folded++;
            for (uint32_t o = 0; o < n->n_out; o++)
                if (n->out[o]) { /* the value stays, as a constant with no producer */
                    n->out[o]->producer = NULL;
                    n->out[o]->is_initializer = true;
                }
        }
    }
    if (folded)
        kiln_pass_log(c, "removed %u node%s evaluated at compile time", folded,
                      folded == 1 ? "" : "s");
    rewire_copies(c);
    kiln_ir_count_uses(g);
    merge_duplicates(c);
    /* unused nodes, from the end so chains go in one sweep */
    kiln_ir_count_uses(g);
    for (uint32_t i = g->n_nodes; i-- > 0;) {
        struct kiln_ir_node *n = g->nodes[i];
        if (n->dead)
            continue;
        bool used = false;
        for (uint32_t o = 0; o < n->n_out && !used; o++)
            used = n->out[o] && (n->out[o]->n_uses || n->out[o]->is_output);
        if (used)
            continue;
        n->dead = true;
        unused++;
        for (uint32_t j = 0; j < n->n_in; j++)
            if (n->in[j] && n->in[j]->n_uses)
                n->in[j]->n_uses--;
    }
    if (unused)
        kiln_pass_log(c, "removed %u unused node%s", unused, unused == 1 ? "" : "s");
    return KILN_STATUS_OK;
}
