/* control.c - If, Loop and Scan: their bodies are subgraphs, inferred here with the types the
 * op gives their formal inputs. kiln compiles static shapes, so a loop-carried value must keep
 * its shape, If branches must agree (unless the condition is constant: then only the taken
 * branch counts; with a run-time condition, a branch that inference refuses for these input
 * shapes is compiled to fail the run that takes it), and a Loop with scan outputs needs a trip
 * count known at compile time; when its condition may stop it earlier, the scan outputs'
 * extent is set in each run. */
#include <stdio.h>
#include <string.h>

#include "ops.h"

static enum kiln_status body_of(struct kiln_infer_ctx *c, const struct kiln_ir_node *n,
                                const char *name, struct kiln_ir_graph **out)
{
    const struct kiln_ir_attr *a = kiln_ir_attr(n, name);
    if (!a || a->type != KILN_ATTR_GRAPH || !a->g)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL, "graph attribute '%s' is missing",
                             name);
    *out = a->g;
    return KILN_STATUS_OK;
}

static void set_type(struct kiln_ir_value *v, int dtype, int rank, const int64_t *dims)
{
    v->dtype = dtype;
    v->rank = rank;
    for (int i = 0; i < rank; i++) {
        v->dims[i] = dims[i];
        v->dim_param[i] = NULL;
    }
}

static bool same_type(const struct kiln_ir_value *a, const struct kiln_ir_value *b)
{
    if (a->dtype != b->dtype || a->rank != b->rank)
        return false;
    for (int i = 0; i < a->rank; i++)
        if (a->dims[i] != b->dims[i])
            return false;
    return true;
}

/* a and b must have one type and shape (kiln compiles static shapes): If branches must agree,
 * loop-carried values and Scan states must keep their type through the body. */
static enum kiln_status agree(struct kiln_infer_ctx *c, const struct kiln_ir_node *n,
                              const struct kiln_ir_value *a, const struct kiln_ir_value *b,
                              const char *what, uint32_t k)
{
    if (!same_type(a, b)) {
        char ta[128], tb[128];
        return kiln_op_error(c, n, KILN_STATUS_UNSUPPORTED,
                             "%s %u is %s and %s; kiln needs them to agree (static shapes)", what,
                             k, kiln_ir_value_type_str(a, ta, sizeof ta),
                             kiln_ir_value_type_str(b, tb, sizeof tb));
    }
    if (a->runtime_dims || b->runtime_dims)
        return kiln_op_error(c, n, KILN_STATUS_UNSUPPORTED,
                             "%s %u ('%s') has extents that depend on the data; kiln needs "
                             "fixed extents there",
                             what, k, (a->runtime_dims ? a : b)->name);
    return KILN_STATUS_OK;
}

/* A body value that is a constant true, or its condition input passed through Identity. */
static bool always_true(const struct kiln_ir_graph *body, const struct kiln_ir_value *v)
{
    while (v && v->producer && v->producer->op == KILN_OP_IDENTITY && v->owner == body)
        v = v->producer->in[0];
    if (!v)
        return false;
    if (v->data)
        return *(const uint8_t *)v->data != 0;
    return body->n_inputs > 1 && v == body->inputs[1];
}

static enum kiln_status infer_if(struct kiln_infer_ctx *c, struct kiln_ir_node *n)
{
    enum kiln_status st;
    struct kiln_ir_value *cond = n->in[0];
    static const int bool_only[] = {KILN_DTYPE_BOOL, 0};
    if ((st = kiln_check_dtype(c, n, 0, bool_only)))
        return st;
    if (kiln_ir_value_numel(cond) != 1)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "the condition '%s' must hold exactly one value", cond->name);
    struct kiln_ir_graph *br[2] = {NULL, NULL};
    if ((st = body_of(c, n, "then_branch", &br[0])) || (st = body_of(c, n, "else_branch", &br[1])))
        return st;
    for (int b = 0; b < 2; b++)
        if (br[b]->n_inputs || br[b]->n_outputs != n->n_out)
            return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                                 "the %s branch has %u inputs and %u outputs; it needs none and "
                                 "%u",
                                 b ? "else" : "then", br[b]->n_inputs, br[b]->n_outputs,
                                 n->n_out);
    struct kiln_p_if *p = kiln_node_params(c, n, sizeof *p);
    if (!p)
        return kiln_op_error(c, n, KILN_STATUS_NO_MEMORY, "out of memory");
    p->then_block = p->else_block = -1;
    n->kdtype = 0;
    if (cond->data) { /* only the taken branch is compiled: lowering inlines it */
        struct kiln_ir_graph *t = br[*(const uint8_t *)cond->data ? 0 : 1];
        if ((st = kiln_infer_graph(c, t)))
            return st;
        for (uint32_t o = 0; o < n->n_out; o++) {
            struct kiln_ir_value *bo = t->outputs[o];
            if ((st = kiln_set_output(c, n, o, bo->dtype, bo->rank, bo->dims)))
                return st;
            if (n->out[o]) {
                n->out[o]->data = bo->data; /* a constant branch result folds the If */
                n->out[o]->runtime_dims = bo->runtime_dims;
            }
        }
        return KILN_STATUS_OK;
    }
    /* Shape errors of one branch are kept for the run that takes it (the other branch may be
     * the only one these inputs ever take); an error that fixing an input's value would cure
     * (d->value), or one of memory, still fails the compilation, as do two refused branches. */
    struct kiln_diag first = {0};
    for (int b = 0; b < 2; b++) {
        br[b]->refused = NULL;
        if (!(st = kiln_infer_graph(c, br[b])))
            continue;
        struct kiln_diag *d = c->diag;
        if ((st != KILN_STATUS_INVALID_MODEL && st != KILN_STATUS_UNSUPPORTED) || d->value[0] ||
            br[0]->refused)
            return br[0]->refused ? (*d = first, first.status) : st;
        size_t len = strlen(d->message) + strlen(d->node) + strlen(d->op) + 128;
        char *msg = kiln_arena_alloc(&c->g->arena, len);
        if (!msg)
            return kiln_op_error(c, n, KILN_STATUS_NO_MEMORY, "out of memory");
        snprintf(msg, len,
                 "the %s branch was taken, which kiln refused for the input shapes it was "
                 "compiled for: node '%s' (%s): %s",
                 b ? "else" : "then", d->node, d->op, d->message);
        br[b]->refused = msg;
        first = *d;
        kiln_diag_clear(d);
    }
    const struct kiln_ir_graph *ok = br[0]->refused ? br[1] : br[0];
    for (uint32_t o = 0; o < n->n_out; o++) {
        const struct kiln_ir_value *a = ok->outputs[o];
        if ((!br[0]->refused && !br[1]->refused &&
             (st = agree(c, n, a, br[1]->outputs[o], "output (then branch, else branch)", o))) ||
            (st = kiln_set_output(c, n, o, a->dtype, a->rank, a->dims)))
            return st;
        if (a->runtime_dims)
            return agree(c, n, a, a, "output (then branch, else branch)", o);
    }
    return KILN_STATUS_OK;
}

static enum kiln_status infer_loop(struct kiln_infer_ctx *c, struct kiln_ir_node *n)
{
    enum kiln_status st;
    struct kiln_ir_graph *body = NULL;
    if ((st = body_of(c, n, "body", &body)))
        return st;
    if (n->n_in - n->n_implicit < 2)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "needs the trip count and condition inputs (either may be empty)");
    uint32_t n_carried = n->n_in - n->n_implicit - 2;
    if (n->n_out < n_carried)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "has %u loop-carried inputs but only %u outputs", n_carried,
                             n->n_out);
    uint32_t n_scan = n->n_out - n_carried;
    if (body->n_inputs != 2 + n_carried || body->n_outputs != 1 + n_carried + n_scan)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "the body has %u inputs and %u outputs; with %u carried values and "
                             "%u scan outputs it needs %u and %u",
                             body->n_inputs, body->n_outputs, n_carried, n_scan, 2 + n_carried,
                             1 + n_carried + n_scan);
    struct kiln_ir_value *m = n->in[0], *cond = n->in[1];
    static const int bool_only[] = {KILN_DTYPE_BOOL, 0}, i64_only[] = {KILN_DTYPE_I64, 0};
    if ((st = kiln_check_dtype(c, n, 0, i64_only)) || (st = kiln_check_dtype(c, n, 1, bool_only)))
        return st;
    if ((m && kiln_ir_value_numel(m) != 1) || (cond && kiln_ir_value_numel(cond) != 1))
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "the trip count and the condition must hold one value each");
    if (!m && !cond)
        return kiln_op_error(c, n, KILN_STATUS_UNSUPPORTED,
                             "has neither a trip count nor a condition: it would never end");
    static const int64_t none[1] = {0};
    set_type(body->inputs[0], KILN_DTYPE_I64, 0, none);
    set_type(body->inputs[1], KILN_DTYPE_BOOL, 0, none);
    for (uint32_t k = 0; k < n_carried; k++) {
        struct kiln_ir_value *v = n->in[2 + k];
        if (!v)
            return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                                 "loop-carried input %u is missing", k);
        set_type(body->inputs[2 + k], v->dtype, v->rank, v->dims);
    }
    if ((st = kiln_infer_graph(c, body)))
        return st;
    struct kiln_ir_value *cout = body->outputs[0];
    if (cout->dtype != KILN_DTYPE_BOOL || kiln_ir_value_numel(cout) != 1)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "the body's first output must be a boolean condition");
    for (uint32_t k = 0; k < n_carried; k++) {
        const struct kiln_ir_value *in = body->inputs[2 + k];
        if ((st = agree(c, n, in, body->outputs[1 + k],
                        "loop-carried value (body input, body output)", k)) ||
            (st = kiln_set_output(c, n, k, in->dtype, in->rank, in->dims)))
            return st;
    }
    int64_t trip = m && m->data ? *(const int64_t *)m->data : -1;
    if (trip < -1)
        trip = 0;
    bool cond_true = !cond || (cond->data && *(const uint8_t *)cond->data);
    /* Scan outputs hold one slice per iteration: trip slices, or at most trip when the
     * condition may stop the loop earlier (then their extent is set in each run). */
    bool early = !cond_true || !always_true(body, cout);
    if (n_scan && trip < 0 && m)
        return kiln_not_constant(c, n, m, "trip count M",
                                 "the scan outputs hold one slice per iteration and need a "
                                 "bound (with a condition, M is an upper bound: the loop may "
                                 "still stop earlier)");
    if (n_scan && trip < 0)
        return kiln_op_error(c, n, KILN_STATUS_UNSUPPORTED,
                             "its scan outputs hold one slice per iteration, and the loop has "
                             "no trip count M to bound the iterations: give it one (an upper "
                             "bound; the condition may still stop the loop earlier)");
    for (uint32_t k = 0; k < n_carried + n_scan; k++)
        if (body->outputs[1 + k]->runtime_dims)
            return kiln_op_error(c, n, KILN_STATUS_UNSUPPORTED,
                                 "body output '%s' has extents that depend on the data; kiln "
                                 "needs loop-carried values and scan slices of fixed size",
                                 body->outputs[1 + k]->name);
    for (uint32_t k = 0; k < n_scan; k++) {
        struct kiln_ir_value *s = body->outputs[1 + n_carried + k];
        int64_t dims[KILN_MAX_RANK];
        if (s->rank + 1 > KILN_MAX_RANK)
            return kiln_op_error(c, n, KILN_STATUS_UNSUPPORTED, "scan output %u has rank %d", k,
                                 s->rank + 1);
        dims[0] = trip;
        for (int i = 0; i < s->rank; i++)
            dims[1 + i] = s->dims[i];
        if ((st = (early ? kiln_set_output_bound : kiln_set_output)(
                 c, n, n_carried + k, s->dtype, s->rank + 1, dims)))
            return st;
    }
    struct kiln_p_loop *p = kiln_node_params(c, n, sizeof *p);
    if (!p)
        return kiln_op_error(c, n, KILN_STATUS_NO_MEMORY, "out of memory");
    p->body = -1;
    p->n_carried = (int32_t)n_carried;
    p->n_scan = (int32_t)n_scan;
    p->max_trip = trip;
    n->kdtype = 0;
    return KILN_STATUS_OK;
}

static enum kiln_status axes_attr(struct kiln_infer_ctx *c, const struct kiln_ir_node *n,
                                  const char *name, uint32_t count, int32_t *out)
{
    const int64_t *v;
    size_t len;
    enum kiln_status st = kiln_attr_ints(c, n, name, &v, &len);
    if (st)
        return st;
    if (v && len != count)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "attribute '%s' has %zu values for %u tensors", name, len, count);
    for (uint32_t i = 0; i < count; i++)
        out[i] = v ? (int32_t)v[i] : 0;
    return KILN_STATUS_OK;
}

static enum kiln_status infer_scan(struct kiln_infer_ctx *c, struct kiln_ir_node *n)
{
    enum kiln_status st;
    struct kiln_ir_graph *body = NULL;
    if ((st = body_of(c, n, "body", &body)))
        return st;
    bool v8 = c->g->opset < 9;
    int64_t m64;
    if ((st = kiln_attr_int(c, n, "num_scan_inputs", 0, &m64)))
        return st;
    uint32_t n_decl = n->n_in - n->n_implicit, first = v8 ? 1 : 0;
    if (m64 < 1 || (uint64_t)m64 + first > n_decl)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "num_scan_inputs = %lld does not fit its %u inputs", (long long)m64,
                             n_decl);
    uint32_t n_scan_in = (uint32_t)m64, n_state = n_decl - first - n_scan_in;
    if (n->n_out < n_state)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL, "fewer outputs than states");
    uint32_t n_scan_out = n->n_out - n_state;
    if (n_scan_in > KILN_MAX_SCAN_IO || n_scan_out > KILN_MAX_SCAN_IO)
        return kiln_op_error(c, n, KILN_STATUS_UNSUPPORTED,
                             "kiln supports up to %d scan inputs and outputs", KILN_MAX_SCAN_IO);
    if (body->n_inputs != n_state + n_scan_in || body->n_outputs != n_state + n_scan_out)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "the body has %u inputs and %u outputs; it needs %u and %u",
                             body->n_inputs, body->n_outputs, n_state + n_scan_in,
                             n_state + n_scan_out);
    if (v8 && n->in[0] && kiln_ir_value_numel(n->in[0]) > 0)
        return kiln_op_error(c, n, KILN_STATUS_UNSUPPORTED,
                             "sequence_lens is not supported: every sequence must have the full "
                             "length");
    struct kiln_p_scan *p = kiln_node_params(c, n, sizeof *p);
    if (!p)
        return kiln_op_error(c, n, KILN_STATUS_NO_MEMORY, "out of memory");
    p->body = -1;
    p->n_state = (int32_t)n_state;
    p->n_scan_in = (int32_t)n_scan_in;
    p->n_scan_out = (int32_t)n_scan_out;
    n->kdtype = 0;
    if (v8) {
        if ((st = axes_attr(c, n, "directions", n_scan_in, p->in_reverse)))
            return st;
        for (uint32_t i = 0; i < n_scan_in; i++)
            p->in_axis[i] = 0; /* after the batch axis is taken off */
    } else if ((st = axes_attr(c, n, "scan_input_axes", n_scan_in, p->in_axis)) ||
               (st = axes_attr(c, n, "scan_input_directions", n_scan_in, p->in_reverse)) ||
               (st = axes_attr(c, n, "scan_output_axes", n_scan_out, p->out_axis)) ||
               (st = axes_attr(c, n, "scan_output_directions", n_scan_out, p->out_reverse))) {
        return st;
    }
    /* the batch (opset 8) and the sequence length */
    int64_t batch = 0, seq = -1;
    for (uint32_t i = 0; i < n_state + n_scan_in; i++) {
        struct kiln_ir_value *v = n->in[first + i];
        if (!v)
            return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL, "input %u is missing",
                                 first + i);
        int lead = v8 ? 1 : 0;
        if (v->rank < lead + (i >= n_state ? 1 : 0))
            return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL, "input '%s' has too few axes",
                                 v->name);
        if (v8) {
            if (i && v->dims[0] != batch)
                return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                                     "inputs disagree on the batch size");
            batch = v->dims[0];
        }
        if (i < n_state) {
            set_type(body->inputs[i], v->dtype, v->rank - lead, v->dims + lead);
            continue;
        }
        uint32_t k = i - n_state;
        int64_t ax;
        if ((st = kiln_norm_axis(c, n, p->in_axis[k], v->rank - lead, &ax)))
            return st;
        p->in_axis[k] = (int32_t)ax;
        int64_t len = v->dims[lead + ax];
        if (seq >= 0 && len != seq)
            return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                                 "scan inputs disagree on the sequence length (%lld vs %lld)",
                                 (long long)seq, (long long)len);
        seq = len;
        int64_t dims[KILN_MAX_RANK];
        int r = 0;
        for (int d = lead; d < v->rank; d++)
            if (d != lead + ax)
                dims[r++] = v->dims[d];
        set_type(body->inputs[i], v->dtype, r, dims);
    }
    p->seq_len = seq;
    p->batch = batch;
    if ((st = kiln_infer_graph(c, body)))
        return st;
    for (uint32_t i = 0; i < n_state; i++) {
        if ((st = agree(c, n, body->inputs[i], body->outputs[i],
                        "state (body input, body output)", i)))
            return st;
        struct kiln_ir_value *init = n->in[first + i];
        if ((st = kiln_set_output(c, n, i, init->dtype, init->rank, init->dims)))
            return st;
    }
    for (uint32_t k = 0; k < n_scan_out; k++) {
        struct kiln_ir_value *s = body->outputs[n_state + k];
        int lead = v8 ? 1 : 0, rank = s->rank + 1 + lead;
        if (rank > KILN_MAX_RANK)
            return kiln_op_error(c, n, KILN_STATUS_UNSUPPORTED, "scan output %u has rank %d", k,
                                 rank);
        int64_t ax;
        if ((st = kiln_norm_axis(c, n, p->out_axis[k], s->rank + 1, &ax)))
            return st;
        p->out_axis[k] = (int32_t)ax;
        int64_t dims[KILN_MAX_RANK];
        int r = 0;
        if (v8)
            dims[r++] = batch;
        for (int d = 0; d <= s->rank; d++)
            dims[r++] = d == ax ? seq : s->dims[d < ax ? d : d - 1];
        if ((st = kiln_set_output(c, n, n_state + k, s->dtype, rank, dims)))
            return st;
    }
    return KILN_STATUS_OK;
}

const struct kiln_op_info kiln_opi_if = {
    .flags = KILN_OPF_NO_FOLD, .infer = infer_if, .dtypes = "any",
    .notes = "a constant condition compiles only the taken branch; with a run-time one, a branch "
             "that does not fit the input shapes fails the run taking it, and otherwise both "
             "branches must produce the same types and shapes",
    .opsets = {1}};
const struct kiln_op_info kiln_opi_loop = {
    .flags = KILN_OPF_NO_FOLD, .infer = infer_loop, .dtypes = "any",
    .notes = "loop-carried values keep their shape; scan outputs need a compile-time trip count "
             "and a condition that cannot end the loop early",
    .opsets = {1, 11}};
const struct kiln_op_info kiln_opi_scan = {
    .flags = KILN_OPF_NO_FOLD, .infer = infer_scan, .dtypes = "any",
    .notes = "opset 8 (batch axis, without sequence_lens) and 9+; states keep their shape",
    .opsets = {8, 9}};
