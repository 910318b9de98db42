/* fuse_elementwise.c - merges chains of float32 elementwise ops over one shape (operands of
 * that shape or one-element constants) whose intermediate values have a single reader into one
 * FusedElementwise node: a bytecode program (params.h, docs/kiln-domain.md) the kernel runs per
 * block of elements, so the intermediates never go through memory. Groups are trees grown
 * backwards from a root; at most KILN_FEW_MAX_CODE instructions, KILN_FEW_MAX_IN inputs and
 * KILN_FEW_MAX_CONSTS constants. */
#include <math.h>
#include <string.h>

#include "edit.h"

#define MAX_GROUP KILN_FEW_MAX_CODE

/* Opcode of a one-instruction op; -1 when n is not fusable this way. Clip is handled apart. */
static int opcode(const struct kiln_ir_node *n)
{
    const struct kiln_p_unary *u = n->params;
    switch (n->op) {
    case KILN_OP_ADD: return KILN_FEW_ADD;
    case KILN_OP_SUB: return KILN_FEW_SUB;
    case KILN_OP_MUL: return KILN_FEW_MUL;
    case KILN_OP_DIV: return KILN_FEW_DIV;
    case KILN_OP_MAX: return n->n_in == 2 ? KILN_FEW_MAX : -1;
    case KILN_OP_MIN: return n->n_in == 2 ? KILN_FEW_MIN : -1;
    case KILN_OP_POW: return KILN_FEW_POW;
    case KILN_OP_LEAKY_RELU: return KILN_FEW_LEAKY_RELU;
    case KILN_OP_NEG: return KILN_FEW_NEG;
    case KILN_OP_ABS: return KILN_FEW_ABS;
    case KILN_OP_EXP: return KILN_FEW_EXP;
    case KILN_OP_LOG: return KILN_FEW_LOG;
    case KILN_OP_SQRT: return KILN_FEW_SQRT;
    case KILN_OP_RECIPROCAL: return KILN_FEW_RECIP;
    case KILN_OP_RELU: return KILN_FEW_RELU;
    case KILN_OP_SIGMOID: return KILN_FEW_SIGMOID;
    case KILN_OP_TANH: return KILN_FEW_TANH;
    case KILN_OP_ERF: return KILN_FEW_ERF;
    case KILN_OP_FLOOR: return KILN_FEW_FLOOR;
    case KILN_OP_CEIL: return KILN_FEW_CEIL;
    case KILN_OP_GELU:
        return u && u->a == 0 ? (u->b != 0 ? KILN_FEW_FAST_GELU : KILN_FEW_GELU) : -1;
    default: return -1;
    }
}

/* A one-element float32 constant: inlined in the program rather than read as an input. */
static bool const_operand(const struct kiln_ir_value *v, float *f)
{
    return v->dtype == KILN_DTYPE_F32 && kiln_edit_scalar(v, f);
}

static int n_instr(const struct kiln_ir_node *n)
{
    return n->op == KILN_OP_CLIP ? 2 : 1;
}

/* Inputs a group member reads: Clip's bounds come from its params, not its inputs. */
static uint32_t data_inputs(const struct kiln_ir_node *n)
{
    return n->op == KILN_OP_CLIP ? 1 : n->n_in;
}

/* n can be part of a group over shape s: float32, output of shape s, every input of shape s or a
 * one-element float32 constant. */
static bool fusable(const struct kiln_ir_node *n, const struct kiln_ir_value *s)
{
    if (n->dead || !n->params || n->n_out != 1 || !n->out[0] ||
        (n->op != KILN_OP_CLIP && opcode(n) < 0) || !kiln_edit_same_type(n->out[0], s) ||
        (n->op == KILN_OP_CLIP && kiln_runtime_operands(n, 1)))
        return false;
    for (uint32_t j = 0; j < data_inputs(n); j++) {
        const struct kiln_ir_value *v = n->in[j];
        float f;
        if (!v || (!kiln_edit_same_type(v, s) && !const_operand(v, &f)))
            return false;
    }
    return true;
}

struct group {
    struct kiln_ir_node *node[MAX_GROUP];
    int n, n_code;
    /* the program being built */
    struct kiln_ir_value *in[KILN_FEW_MAX_IN];
    int n_in;
    float consts[KILN_FEW_MAX_CONSTS];
    int n_consts;
    int64_t code[KILN_FEW_MAX_CODE * 4];
    int len;
};

static int member(const struct group *gr, const struct kiln_ir_node *n)
{
    for (int k = 0; k < gr->n; k++)
        if (gr->node[k] == n)
            return k;
    return -1;
}

static int add_const(struct group *gr, float f)
{
    for (int k = 0; k < gr->n_consts; k++)
        if (memcmp(&gr->consts[k], &f, sizeof f) == 0)
            return KILN_FEW_CONST + k;
    if (gr->n_consts == KILN_FEW_MAX_CONSTS)
        return -1;
    gr->consts[gr->n_consts] = f;
    return KILN_FEW_CONST + gr->n_consts++;
}

/* Builds the program of the group's first n members (node[0] is the root); false when it needs
 * more inputs, constants or registers than the format has. */
static bool build(struct group *gr, int n, const struct kiln_ir_graph *g)
{
    gr->n_in = gr->n_consts = gr->len = 0;
    /* external inputs first: they own registers 0..n_in-1 */
    for (int k = 0; k < n; k++)
        for (uint32_t j = 0; j < data_inputs(gr->node[k]); j++) {
            struct kiln_ir_value *v = gr->node[k]->in[j];
            struct kiln_ir_node *p = kiln_edit_producer(v);
            float f;
            if ((p && member(gr, p) >= 0 && member(gr, p) < n) || const_operand(v, &f))
                continue;
            int r = 0;
            while (r < gr->n_in && gr->in[r] != v)
                r++;
            if (r == gr->n_in) {
                if (gr->n_in == KILN_FEW_MAX_IN)
                    return false;
                gr->in[gr->n_in++] = v;
            }
        }
    int reg_of[MAX_GROUP];
    bool busy[KILN_FEW_MAX_REGS] = {false};
    for (int r = 0; r < gr->n_in; r++)
        busy[r] = true;
    /* members in graph order (producers first): by their positions, which node ids hold
     * after sorting (a walk over the whole graph per group made long chains quadratic); when
     * an id is stale, by that walk */
    int order[MAX_GROUP], n_order = 0;
    bool ids_valid = true;
    for (int k = 0; k < n && ids_valid; k++)
        ids_valid = gr->node[k]->id < g->n_nodes && g->nodes[gr->node[k]->id] == gr->node[k];
    if (ids_valid) {
        for (int k = 0; k < n; k++) {
            int at = n_order++;
            while (at > 0 && gr->node[order[at - 1]]->id > gr->node[k]->id) {
                order[at] = order[at - 1];
                at--;
            }
            order[at] = k;
        }
    } else {
        for (uint32_t i = 0; i < g->n_nodes; i++) {
            int k = member(gr, g->nodes[i]);
            if (k >= 0 && k < n)
                order[n_order++] = k;
        }
    }
    for (int o = 0; o < n_order; o++) {
        int k = order[o];
        struct kiln_ir_node *m = gr->node[k];
        int ops[2] = {0, 0};
        for (uint32_t j = 0; j < data_inputs(m); j++) {
            struct kiln_ir_value *v = m->in[j];
            struct kiln_ir_node *p = kiln_edit_producer(v);
            int pk = p ? member(gr, p) : -1;
            float f;
            if (pk >= 0 && pk < n) {
                ops[j] = reg_of[pk];
                busy[reg_of[pk]] = false; /* its single reader is m */
            } else if (const_operand(v, &f)) {
                if ((ops[j] = add_const(gr, f)) < 0)
                    return false;
            } else {
                for (int r = 0; r < gr->n_in; r++)
                    if (gr->in[r] == v)
                        ops[j] = r;
            }
        }
        int dst = gr->n_in;
        while (dst < KILN_FEW_MAX_REGS && busy[dst])
            dst++;
        if (dst == KILN_FEW_MAX_REGS)
            return false;
        busy[dst] = true;
        reg_of[k] = dst;
        const struct kiln_p_unary *u = m->params;
        int64_t *c = gr->code + gr->len;
        if (m->op == KILN_OP_CLIP) {
            int lo = add_const(gr, (float)u->a), hi = add_const(gr, (float)u->b);
            if (lo < 0 || hi < 0)
                return false;
            int64_t two[8] = {KILN_FEW_MAX, dst, ops[0], lo, KILN_FEW_MIN, dst, dst, hi};
            memcpy(c, two, sizeof two);
            gr->len += 8;
        } else {
            int op = opcode(m);
            if (op == KILN_FEW_LEAKY_RELU && (ops[1] = add_const(gr, (float)u->a)) < 0)
                return false;
            c[0] = op, c[1] = dst, c[2] = ops[0], c[3] = op < KILN_FEW_FIRST_UNARY ? ops[1] : 0;
            gr->len += 4;
        }
    }
    return true;
}

enum kiln_status kiln_pass_fuse_elementwise(struct kiln_pass_ctx *c)
{
    struct kiln_ir_graph *g = c->g;
    kiln_ir_count_uses(g);
    for (uint32_t i = g->n_nodes; i-- > 0;) {
        struct kiln_ir_node *root = g->nodes[i];
        if (!root->out || !root->n_out || !root->out[0] || root->out[0]->dtype != KILN_DTYPE_F32 ||
            !fusable(root, root->out[0]))
            continue;
        struct group gr = {.node = {root}, .n = 1, .n_code = n_instr(root)};
        /* grow breadth-first: a member's producers join when they feed only that member */
        for (int k = 0; k < gr.n; k++) {
            struct kiln_ir_node *m = gr.node[k];
            for (uint32_t j = 0; j < data_inputs(m) && gr.n < MAX_GROUP; j++) {
                struct kiln_ir_node *p = kiln_edit_producer(m->in[j]);
                if (!p || member(&gr, p) >= 0 || !fusable(p, root->out[0]) ||
                    kiln_edit_sole_user(g, m->in[j]) != m ||
                    gr.n_code + n_instr(p) > KILN_FEW_MAX_CODE)
                    continue;
                gr.node[gr.n++] = p;
                gr.n_code += n_instr(p);
            }
        }
        /* members added last are leaves: drop them until the program fits */
        int n = gr.n;
        while (n >= 2 && !build(&gr, n, g))
            n--;
        if (n < 2)
            continue;
        struct kiln_ir_node *f =
            kiln_edit_new_node(g, root->name, "FusedElementwise", KILN_OP_FUSED_ELEMENTWISE,
                               "FusedElementwise", "kiln", (uint32_t)gr.n_in);
        if (!f || !kiln_edit_set_ints(g, f, "kiln_program", gr.code, (size_t)gr.len) ||
            !kiln_edit_set_floats(g, f, "kiln_constants", gr.consts, (size_t)gr.n_consts))
            return kiln_diag_set(c->d, KILN_STATUS_NO_MEMORY, NULL, NULL, "out of memory");
        for (int k = 0; k < gr.n_in; k++)
            f->in[k] = gr.in[k];
        char names[400] = "";
        for (int k = n - 1; k >= 0; k--) {
            gr.node[k]->dead = true;
            size_t l = strlen(names);
            snprintf(names + l, sizeof names - l, "%s%s '%s'", k == n - 1 ? "" : ", ",
                     gr.node[k]->op_type, gr.node[k]->name);
        }
        kiln_edit_take_output(f, root->out[0]);
        enum kiln_status st = kiln_edit_reinfer(c, f);
        if (st)
            return st;
        kiln_pass_log(c,
                      "fused %d elementwise nodes into FusedElementwise '%s' (%d instructions): %s",
                      n, f->name, gr.len / 4, names);
        /* the uses as kiln_ir_count_uses would find them, without a walk over the graph per
         * group (quadratic on long chains) */
        for (int k = 0; k < n; k++)
            for (uint32_t j = 0; j < gr.node[k]->n_in; j++)
                if (gr.node[k]->in[j])
                    gr.node[k]->in[j]->n_uses--;
        for (uint32_t j = 0; j < f->n_in; j++)
            if (f->in[j])
                f->in[j]->n_uses++;
    }
    return KILN_STATUS_OK;
}
