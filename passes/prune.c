/* prune.c - structured channel pruning: removes the output channels of Conv, ConvTranspose and
 * Gemm with the smallest weight norm, and with them the matching slices of everything that
 * carries those channels (BatchNormalization, activations, depthwise Conv, pooling, Pad,
 * per-channel constants) and the consumers' input channels. Channels that must stay aligned
 * (the operands of a residual Add or Mul) form one group pruned with one mask; a Concat's
 * channels are its inputs' groups side by side. A group read by anything kiln cannot slice
 * consistently (a graph output, a Reshape, a grouped Conv, Softmax over channels, ...) is left
 * whole, and the report says why. Runs on the inferred graph before the -O pipeline. */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "edit.h"
#include "prune.h"

/* A channel group: values whose channel axis is pruned with one mask (union-find). */
struct group {
    uint32_t parent;
    int64_t C;
    bool frozen;
    bool named; /* has a source (a layer it could have pruned): worth a note when frozen */
    char why[200];
    uint32_t *parts, n_parts; /* a Concat's output: its inputs' groups in order */
    double *score;            /* [C] per-channel norm summed over the sources */
    bool *keep;               /* [C] the mask once decided; NULL: keeps all */
    bool mask_done;
};

/* A value's channel axis (axis 1) holds C*F elements: channel c is the F consecutive indices
 * c*F .. c*F+F-1 (F > 1 after a Flatten of [N, C, H, W]). */
struct member {
    int32_t g; /* group, -1: not yet seen */
    int64_t F;
};

enum edit_kind { EDIT_SLICE, EDIT_GROUP_ATTR };

/* A constant input of a node sliced along `axis` with the mask of value v's group. */
struct edit {
    enum edit_kind kind;
    struct kiln_ir_node *n;
    uint32_t input;
    int axis;
    int64_t F;
    uint32_t g;
};

/* A layer whose output channels a group ranks: the weight and its output-channel axis. */
struct source {
    struct kiln_ir_node *n;
    const struct kiln_ir_value *w;
    int axis;
    uint32_t g;
};

struct prune {
    struct kiln_pass_ctx *c;
    const struct kiln_prune_options *o;
    struct kiln_prune_report *r;
    struct group *groups;
    uint32_t n_groups, cap_groups;
    struct member *mem; /* by value id */
    uint32_t n_mem;
    struct edit *edits;
    uint32_t n_edits, cap_edits;
    struct source *srcs;
    uint32_t n_srcs, cap_srcs;
    bool oom;
};

static bool grow(void **p, uint32_t *cap, uint32_t need, size_t size)
{
    if (need <= *cap)
        return true;
    uint32_t nc = *cap ? *cap * 2 : 64;
    while (nc < need)
        nc *= 2;
    void *q = realloc(*p, (size_t)nc * size);
    if (!q)
        return false;
    *p = q;
    *cap = nc;
    return true;
}

static uint32_t find(struct prune *p, uint32_t g)
{
    while (p->groups[g].parent != g) {
        p->groups[g].parent = p->groups[p->groups[g].parent].parent;
        g = p->groups[g].parent;
    }
    return g;
}

static int32_t new_group(struct prune *p, int64_t C, bool frozen, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
static int32_t new_group(struct prune *p, int64_t C, bool frozen, const char *fmt, ...)
{
    if (!grow((void **)&p->groups, &p->cap_groups, p->n_groups + 1, sizeof *p->groups)) {
        p->oom = true;
        return -1;
    }
    struct group *g = &p->groups[p->n_groups];
    memset(g, 0, sizeof *g);
    g->parent = p->n_groups;
    g->C = C;
    g->frozen = frozen;
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(g->why, sizeof g->why, fmt, ap);
        va_end(ap);
    }
    return (int32_t)p->n_groups++;
}

static void freeze(struct prune *p, uint32_t g, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static void freeze(struct prune *p, uint32_t g, const char *fmt, ...)
{
    struct group *r = &p->groups[find(p, g)];
    if (r->frozen)
        return;
    r->frozen = true;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->why, sizeof r->why, fmt, ap);
    va_end(ap);
}

static void unite(struct prune *p, uint32_t a, uint32_t b, const struct kiln_ir_node *n)
{
    uint32_t ra = find(p, a), rb = find(p, b);
    if (ra == rb)
        return;
    struct group *A = &p->groups[ra], *B = &p->groups[rb];
    bool concat = A->n_parts || B->n_parts;
    B->parent = ra;
    A->named |= B->named;
    if (!A->frozen && B->frozen) {
        A->frozen = true;
        memcpy(A->why, B->why, sizeof A->why);
    }
    if (concat || A->C != B->C) {
        freeze(p, ra, "%s '%s' ties a Concat's channels to other channels", n->op_type, n->name);
        /* B is no root any more: freeze_concat_parts would not see its parts */
        for (uint32_t k = 0; k < B->n_parts; k++)
            freeze(p, B->parts[k], "feeds a Concat tied to other channels by %s '%s'", n->op_type,
                   n->name);
    }
}

/* Whether v carries channels: a tensor of rank >= 2 whose axis 1 is known. */
static bool has_channels(const struct kiln_ir_value *v)
{
    return v && !v->data && v->rank >= 2 && v->dims[1] > 0 && !v->runtime_dims;
}

/* v's membership, creating a frozen group for a value whose producer prunes nothing (a graph
 * input, an op kiln does not see through). */
static struct member *member(struct prune *p, const struct kiln_ir_value *v)
{
    struct member *m = &p->mem[v->id];
    if (m->g < 0) {
        const struct kiln_ir_node *pr = v->producer;
        m->F = 1;
        if (pr)
            m->g = new_group(p, v->dims[1], true, "comes from %s '%s'", pr->op_type, pr->name);
        else
            m->g = new_group(p, v->dims[1], true, "comes from the graph input '%s'", v->name);
        if (m->g < 0)
            m->g = 0; /* p->oom is set; the pass stops before using it */
    }
    return m;
}

static void set_member(struct prune *p, const struct kiln_ir_value *v, int32_t g, int64_t F)
{
    if (v && v->id < p->n_mem) {
        p->mem[v->id].g = g;
        p->mem[v->id].F = F;
    }
}

static void add_edit(struct prune *p, enum edit_kind kind, struct kiln_ir_node *n, uint32_t input,
                     int axis, int64_t F, uint32_t g)
{
    if (!grow((void **)&p->edits, &p->cap_edits, p->n_edits + 1, sizeof *p->edits)) {
        p->oom = true;
        return;
    }
    p->edits[p->n_edits++] = (struct edit){kind, n, input, axis, F, g};
}

static void add_source(struct prune *p, struct kiln_ir_node *n, int axis, uint32_t g)
{
    if (!grow((void **)&p->srcs, &p->cap_srcs, p->n_srcs + 1, sizeof *p->srcs)) {
        p->oom = true;
        return;
    }
    p->srcs[p->n_srcs++] = (struct source){n, n->in[1], axis, g};
    p->groups[g].named = true;
}

/* Freezes the group of every channel-carrying, non-constant input of n. */
static void freeze_inputs(struct prune *p, const struct kiln_ir_node *n, const char *what)
{
    for (uint32_t j = 0; j < n->n_in; j++)
        if (has_channels(n->in[j]))
            freeze(p, (uint32_t)member(p, n->in[j])->g, "is read by %s '%s'%s", n->op_type, n->name,
                   what);
}

static bool is_const(const struct kiln_ir_value *v)
{
    return v && v->data;
}

/* A new prunable group for output 0 of a layer with `C` output channels. */
static int32_t source_group(struct prune *p, struct kiln_ir_node *n, int axis)
{
    int32_t g = new_group(p, n->out[0]->dims[1], false, NULL);
    if (g >= 0) {
        set_member(p, n->out[0], g, 1);
        add_source(p, n, axis, (uint32_t)g);
        add_edit(p, EDIT_SLICE, n, 1, axis, 1, (uint32_t)g);
        if (n->op != KILN_OP_GEMM && is_const(kiln_in(n, 2)))
            add_edit(p, EDIT_SLICE, n, 2, 0, 1, (uint32_t)g);
    }
    return g;
}

/* The input channels of x read by a layer: its weight's axis `axis` follows x's mask. */
static void consumer(struct prune *p, struct kiln_ir_node *n, int axis)
{
    struct member *m = member(p, n->in[0]);
    add_edit(p, EDIT_SLICE, n, 1, axis, m->F, (uint32_t)m->g);
}

static void see_conv(struct prune *p, struct kiln_ir_node *n)
{
    struct kiln_ir_value *x = n->in[0], *w = n->in[1], *y = n->out[0];
    int64_t group = kiln_edit_attr_int(n, "group", 1);
    bool transposed = n->op == KILN_OP_CONV_TRANSPOSE;
    if (!has_channels(x) || !is_const(w) || (kiln_in(n, 2) && !is_const(n->in[2]))) {
        freeze_inputs(p, n, ": its weights are not constant");
        return;
    }
    if (member(p, x)->F != 1) {
        freeze_inputs(p, n, "");
        return;
    }
    if (!transposed && group > 1 && group == x->dims[1] && w->dims[1] == 1 &&
        y->dims[1] == x->dims[1]) {
        /* depthwise: output channel c is input channel c */
        struct member *m = member(p, x);
        set_member(p, y, m->g, 1);
        add_edit(p, EDIT_SLICE, n, 1, 0, 1, (uint32_t)m->g);
        if (kiln_in(n, 2))
            add_edit(p, EDIT_SLICE, n, 2, 0, 1, (uint32_t)m->g);
        add_edit(p, EDIT_GROUP_ATTR, n, 0, 0, 1, (uint32_t)m->g);
        return;
    }
    if (group != 1) {
        freeze_inputs(p, n, ": a grouped Conv's channels are not pruned");
        int32_t g =
            new_group(p, y->dims[1], true, "made by the grouped %s '%s'", n->op_type, n->name);
        set_member(p, y, g, 1);
        return;
    }
    consumer(p, n, transposed ? 0 : 1);
    source_group(p, n, transposed ? 1 : 0);
}

static void see_gemm(struct prune *p, struct kiln_ir_node *n)
{
    struct kiln_ir_value *a = n->in[0], *b = n->in[1], *cv = kiln_in(n, 2), *y = n->out[0];
    bool trans_b = kiln_edit_attr_int(n, "transB", 0) != 0;
    if (!is_const(b) || b->rank != 2 || (cv && !is_const(cv)) || y->rank != 2) {
        freeze_inputs(p, n, ": its weights are not constant");
        return;
    }
    if (kiln_edit_attr_int(n, "transA", 0) || !has_channels(a))
        freeze_inputs(p, n, ": A is transposed");
    else
        consumer(p, n, trans_b ? 1 : 0);
    int32_t g = source_group(p, n, trans_b ? 0 : 1);
    /* C broadcasts to [M, N]: slice its last axis when it runs along N */
    if (g >= 0 && cv && cv->rank >= 1 && cv->dims[cv->rank - 1] == y->dims[1] && y->dims[1] > 1)
        add_edit(p, EDIT_SLICE, n, 2, cv->rank - 1, 1, (uint32_t)g);
}

/* Output 0 keeps input 0's channels one for one; inputs `first..last` are per-channel
 * constants of shape [C] (BatchNormalization, InstanceNormalization). */
static void see_through(struct prune *p, struct kiln_ir_node *n, uint32_t first, uint32_t last)
{
    struct kiln_ir_value *x = n->in[0];
    struct member *m = member(p, x);
    if (m->F != 1 && first <= last) {
        freeze_inputs(p, n, "");
        return;
    }
    for (uint32_t j = 1; j < n->n_out; j++)
        if (n->out[j] && n->out[j]->n_uses) {
            freeze_inputs(p, n, ": its second output is used");
            return;
        }
    for (uint32_t j = first; j <= last && j < n->n_in; j++) {
        if (!is_const(n->in[j])) {
            freeze_inputs(p, n, ": its parameters are not constant");
            return;
        }
        add_edit(p, EDIT_SLICE, n, j, 0, 1, (uint32_t)m->g);
    }
    set_member(p, n->out[0], m->g, m->F);
}

/* Elementwise ops with numpy broadcasting: every non-constant operand with the output's
 * channels joins one group; constant operands running along the channel axis are sliced. */
static void see_elementwise(struct prune *p, struct kiln_ir_node *n)
{
    struct kiln_ir_value *y = n->out[0];
    int r = y->rank;
    if (kiln_ir_attr(n, "broadcast") || kiln_ir_attr(n, "axis")) { /* opset < 7 forms */
        freeze_inputs(p, n, ": old broadcast form");
        return;
    }
    int32_t g = -1;
    int64_t F = 1;
    bool bad = false;
    for (uint32_t j = 0; j < n->n_in && !bad; j++) {
        struct kiln_ir_value *v = n->in[j];
        if (!v || is_const(v) || v->rank < r - 1)
            continue;
        if (v->rank == r && v->dims[1] == 1 && y->dims[1] != 1)
            continue; /* broadcast along the channels */
        if (v->rank != r || v->dims[1] != y->dims[1] || !has_channels(v)) {
            bad = true;
            break;
        }
        struct member *m = member(p, v);
        if (g < 0) {
            g = m->g;
            F = m->F;
        } else if (m->F != F) {
            bad = true;
        } else {
            unite(p, (uint32_t)g, (uint32_t)m->g, n);
        }
    }
    if (bad || g < 0) {
        freeze_inputs(p, n, "");
        return;
    }
    for (uint32_t j = 0; j < n->n_in; j++) {
        struct kiln_ir_value *v = n->in[j];
        int axis = v ? 1 - (r - v->rank) : -1;
        if (is_const(v) && axis >= 0 && v->dims[axis] == y->dims[1] && y->dims[1] > 1)
            add_edit(p, EDIT_SLICE, n, j, axis, F, (uint32_t)g);
    }
    set_member(p, y, g, F);
}

/* Pad passes channels through when it pads neither axis 0 nor axis 1. */
static bool pad_keeps_channels(const struct kiln_ir_node *n)
{
    const struct kiln_ir_value *pv = kiln_in(n, 1);
    const struct kiln_ir_attr *pa = kiln_ir_attr(n, "pads");
    int r = n->in[0]->rank;
    int64_t pads[2 * KILN_MAX_RANK];
    if (pv) {
        if (!is_const(pv) || pv->dtype != KILN_DTYPE_I64 || kiln_ir_value_numel(pv) != 2 * r)
            return false;
        memcpy(pads, pv->data, (size_t)(2 * r) * sizeof *pads);
    } else if (pa && pa->type == KILN_ATTR_INTS && pa->n == (size_t)(2 * r)) {
        memcpy(pads, pa->ints, (size_t)(2 * r) * sizeof *pads);
    } else {
        return false;
    }
    return pads[0] == 0 && pads[1] == 0 && pads[r] == 0 && pads[r + 1] == 0;
}

static void see_concat(struct prune *p, struct kiln_ir_node *n)
{
    struct kiln_ir_value *y = n->out[0];
    int64_t axis = kiln_edit_attr_int(n, "axis", 1);
    if (axis < 0)
        axis += y->rank;
    bool ok = axis == 1 && y->rank >= 2;
    for (uint32_t j = 0; j < n->n_in && ok; j++)
        ok = has_channels(n->in[j]) && member(p, n->in[j])->F == 1;
    if (!ok) {
        freeze_inputs(p, n, "");
        return;
    }
    int32_t g = new_group(p, y->dims[1], false, NULL);
    if (g < 0)
        return;
    struct group *G = &p->groups[g];
    G->parts = malloc(n->n_in * sizeof *G->parts);
    if (!G->parts) {
        p->oom = true;
        return;
    }
    for (uint32_t j = 0; j < n->n_in; j++)
        G->parts[G->n_parts++] = (uint32_t)member(p, n->in[j])->g;
    set_member(p, y, g, 1);
}

/* Records how node n carries channels from its inputs to its outputs. */
static void see(struct prune *p, struct kiln_ir_node *n)
{
    const struct kiln_op_info *info = kiln_op_info(n->op);
    struct kiln_ir_value *x = kiln_in(n, 0), *y = n->n_out ? n->out[0] : NULL;
    bool dyn = false;
    for (uint32_t j = 0; j < n->n_in; j++)
        dyn |= n->in[j] && n->in[j]->runtime_dims;
    if (y && y->data) /* evaluated at compile time: reads constants only */
        return;
    if (dyn || n->n_implicit || !y) {
        freeze_inputs(p, n, "");
        return;
    }
    switch (n->op) {
    case KILN_OP_CONV:
    case KILN_OP_CONV_TRANSPOSE: see_conv(p, n); return;
    case KILN_OP_GEMM: see_gemm(p, n); return;
    case KILN_OP_BATCH_NORMALIZATION:
        if (has_channels(x))
            see_through(p, n, 1, 4);
        else
            freeze_inputs(p, n, "");
        return;
    case KILN_OP_INSTANCE_NORMALIZATION:
        if (has_channels(x) && x->rank > 2)
            see_through(p, n, 1, 2);
        else
            freeze_inputs(p, n, "");
        return;
    case KILN_OP_MAX_POOL:
    case KILN_OP_AVERAGE_POOL:
    case KILN_OP_LP_POOL:
    case KILN_OP_GLOBAL_AVERAGE_POOL:
    case KILN_OP_GLOBAL_MAX_POOL:
    case KILN_OP_GLOBAL_LP_POOL:
    case KILN_OP_IDENTITY:
    case KILN_OP_DROPOUT:
        if (has_channels(x) &&
            (n->op == KILN_OP_IDENTITY || n->op == KILN_OP_DROPOUT || member(p, x)->F == 1))
            see_through(p, n, 1, 0);
        else
            freeze_inputs(p, n, "");
        return;
    case KILN_OP_PAD:
        if (has_channels(x) && member(p, x)->F == 1 && pad_keeps_channels(n))
            see_through(p, n, 1, 0);
        else
            freeze_inputs(p, n, "");
        return;
    case KILN_OP_FLATTEN:
        if (has_channels(x) && kiln_edit_attr_int(n, "axis", 1) == 1) {
            struct member *m = member(p, x);
            int64_t F = m->F;
            for (int k = 2; k < x->rank; k++)
                F *= x->dims[k];
            set_member(p, y, m->g, F);
        } else {
            freeze_inputs(p, n, "");
        }
        return;
    case KILN_OP_CONCAT: see_concat(p, n); return;
    default: break;
    }
    if ((info->flags & KILN_OPF_ELEMENTWISE) && n->n_out == 1 && has_channels(y))
        see_elementwise(p, n);
    else
        freeze_inputs(p, n, "");
}

/* ---- deciding ---- */

static double channel_norm(const struct kiln_ir_value *w, int axis, int64_t c, int norm)
{
    int64_t outer = 1, inner = 1;
    for (int k = 0; k < axis; k++)
        outer *= w->dims[k];
    for (int k = axis + 1; k < w->rank; k++)
        inner *= w->dims[k];
    int64_t len = w->dims[axis];
    double s = 0;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            double x = kiln_edit_get(w, (o * len + c) * inner + i);
            s += norm == 2 ? x * x : fabs(x);
        }
    return s;
}

struct cand {
    double score;
    uint32_t g;
    int64_t c;
};

static int cmp_cand(const void *a, const void *b)
{
    const struct cand *x = a, *y = b;
    if (x->score != y->score)
        return x->score < y->score ? -1 : 1;
    if (x->g != y->g)
        return x->g < y->g ? -1 : 1;
    return x->c < y->c ? -1 : x->c > y->c;
}

/* A Concat output frozen as a whole freezes its inputs' groups. */
static void freeze_concat_parts(struct prune *p)
{
    for (bool changed = true; changed;) {
        changed = false;
        for (uint32_t i = 0; i < p->n_groups; i++) {
            struct group *G = &p->groups[i];
            if (find(p, i) != i || !G->n_parts || !G->frozen)
                continue;
            for (uint32_t k = 0; k < G->n_parts; k++) {
                struct group *P = &p->groups[find(p, G->parts[k])];
                if (!P->frozen) {
                    P->frozen = true;
                    snprintf(P->why, sizeof P->why, "feeds a Concat whose output %s", G->why);
                    changed = true;
                }
            }
        }
    }
}

/* Scores every unfrozen group with sources and picks the channels each keeps. */
static enum kiln_status decide(struct prune *p)
{
    freeze_concat_parts(p);
    for (uint32_t s = 0; s < p->n_srcs; s++) {
        const struct source *S = &p->srcs[s];
        struct group *G = &p->groups[find(p, S->g)];
        if (G->frozen || !kiln_edit_is_float_const(S->w, S->w->dtype))
            continue;
        if (!G->score && !(G->score = calloc((size_t)G->C, sizeof *G->score)))
            return kiln_diag_set(p->c->d, KILN_STATUS_NO_MEMORY, NULL, NULL, "out of memory");
        /* a BatchNormalization right after the layer rescales its channels: rank by the
         * weights it folds into (what fold_batchnorm will make of them) */
        const struct kiln_ir_node *bn =
            kiln_edit_sole_user_op(p->c->g, S->n->out[0], KILN_OP_BATCH_NORMALIZATION);
        bool scaled = bn && bn->params && kiln_edit_is_float_const(bn->in[1], S->w->dtype) &&
                      kiln_edit_is_float_const(bn->in[4], S->w->dtype);
        for (int64_t ch = 0; ch < G->C; ch++) {
            double f = 1;
            if (scaled) {
                const struct kiln_p_batch_norm *pb = bn->params;
                f = fabs(kiln_edit_get(bn->in[1], ch)) /
                    sqrt(kiln_edit_get(bn->in[4], ch) + pb->epsilon);
                f = p->o->norm == 2 ? f * f : f;
            }
            G->score[ch] += f * channel_norm(S->w, S->axis, ch, p->o->norm);
        }
    }
    int64_t total = 0;
    for (uint32_t i = 0; i < p->n_groups; i++)
        if (p->groups[i].score)
            total += p->groups[i].C;
    struct cand *cs = malloc((size_t)(total + 1) * sizeof *cs);
    int64_t *left = calloc(p->n_groups + 1, sizeof *left);
    if (!cs || !left) {
        free(cs), free(left);
        return kiln_diag_set(p->c->d, KILN_STATUS_NO_MEMORY, NULL, NULL, "out of memory");
    }
    enum kiln_status st = KILN_STATUS_OK;
    int64_t n = 0;
    for (uint32_t i = 0; i < p->n_groups && !st; i++) {
        struct group *G = &p->groups[i];
        if (!G->score)
            continue;
        if (!(G->keep = malloc((size_t)G->C * sizeof *G->keep))) {
            st = kiln_diag_set(p->c->d, KILN_STATUS_NO_MEMORY, NULL, NULL, "out of memory");
            break;
        }
        double mean = 0;
        for (int64_t ch = 0; ch < G->C; ch++)
            G->keep[ch] = true, mean += G->score[ch] / (double)G->C;
        left[i] = G->C;
        p->r->channels_before += G->C;
        int64_t first = n;
        for (int64_t ch = 0; ch < G->C; ch++)
            cs[n++] =
                (struct cand){p->o->global && mean > 0 ? G->score[ch] / mean : G->score[ch], i, ch};
        if (!p->o->global) { /* per group: the ratio of this group's channels */
            qsort(cs + first, (size_t)G->C, sizeof *cs, cmp_cand);
            int64_t drop = (int64_t)floor(p->o->ratio * (double)G->C + 1e-9);
            if (drop >= G->C)
                drop = G->C - 1;
            for (int64_t k = 0; k < drop; k++)
                G->keep[cs[first + k].c] = false;
            left[i] -= drop;
            n = first;
        }
    }
    if (!st && p->o->global) {
        qsort(cs, (size_t)n, sizeof *cs, cmp_cand);
        int64_t drop = (int64_t)floor(p->o->ratio * (double)n + 1e-9);
        for (int64_t k = 0; k < n && drop > 0; k++)
            if (left[cs[k].g] > 1) {
                p->groups[cs[k].g].keep[cs[k].c] = false;
                left[cs[k].g]--;
                drop--;
            }
    }
    for (uint32_t i = 0; i < p->n_groups; i++)
        if (p->groups[i].score)
            p->r->channels_after += left[i];
    free(cs), free(left);
    return st;
}

/* The mask of group g (a Concat's: its parts' side by side); NULL when g keeps every channel.
 * *kept receives the channels kept. */
static const bool *mask_of(struct prune *p, uint32_t g, int64_t *kept)
{
    struct group *G = &p->groups[find(p, g)];
    if (G->n_parts && !G->mask_done && !G->frozen) {
        G->mask_done = true;
        bool any = false;
        for (uint32_t k = 0; k < G->n_parts; k++) {
            int64_t kk;
            any |= mask_of(p, G->parts[k], &kk) != NULL;
        }
        if (any && (G->keep = malloc((size_t)G->C * sizeof *G->keep))) {
            int64_t o = 0;
            for (uint32_t k = 0; k < G->n_parts; k++) {
                int64_t kk;
                const bool *m = mask_of(p, G->parts[k], &kk);
                int64_t pc = p->groups[find(p, G->parts[k])].C;
                for (int64_t ch = 0; ch < pc && o < G->C; ch++)
                    G->keep[o++] = m ? m[ch] : true;
            }
        } else if (any) {
            p->oom = true;
        }
    }
    int64_t k = 0;
    if (G->keep && !G->frozen)
        for (int64_t ch = 0; ch < G->C; ch++)
            k += G->keep[ch];
    *kept = G->keep && !G->frozen ? k : G->C;
    return *kept < G->C ? G->keep : NULL;
}

/* ---- applying ---- */

/* A copy of constant v keeping the indices i of `axis` whose channel i / F is kept. */
static struct kiln_ir_value *slice_const(struct kiln_ir_graph *g, const struct kiln_ir_value *v,
                                         int axis, int64_t F, const bool *keep, int64_t kept)
{
    int64_t dims[KILN_MAX_RANK];
    memcpy(dims, v->dims, sizeof dims);
    dims[axis] = kept * F;
    char base[300];
    snprintf(base, sizeof base, "%s_pruned", v->name);
    struct kiln_ir_value *nv = kiln_edit_new_const(g, base, v->dtype, v->rank, dims);
    if (!nv)
        return NULL;
    size_t es = kiln_dtype_size(v->dtype);
    int64_t outer = 1, inner = 1, len = v->dims[axis];
    for (int k = 0; k < axis; k++)
        outer *= v->dims[k];
    for (int k = axis + 1; k < v->rank; k++)
        inner *= v->dims[k];
    const char *src = v->data;
    char *dst = (char *)nv->data;
    size_t row = (size_t)inner * es;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < len; i++)
            if (keep[i / F]) {
                memcpy(dst, src + (size_t)(o * len + i) * row, row);
                dst += row;
            }
    return nv;
}

static uint64_t node_macs(const struct kiln_ir_node *n)
{
    const struct kiln_op_info *info = kiln_op_info(n->op);
    return info && info->macs ? info->macs(n) : 0;
}

static uint64_t node_wbytes(const struct kiln_ir_node *n)
{
    uint64_t b = 0;
    for (uint32_t j = 0; j < n->n_in; j++)
        if (is_const(n->in[j]))
            b += kiln_ir_value_nbytes(n->in[j]);
    return b;
}

/* Graph MACs and the bytes of the distinct constants the live nodes read. */
static enum kiln_status totals(struct prune *p, uint64_t *macs, uint64_t *wbytes)
{
    struct kiln_ir_graph *g = p->c->g;
    bool *seen = calloc(g->root->n_values + 1, 1);
    if (!seen)
        return kiln_diag_set(p->c->d, KILN_STATUS_NO_MEMORY, NULL, NULL, "out of memory");
    *macs = *wbytes = 0;
    for (uint32_t i = 0; i < g->n_nodes; i++) {
        const struct kiln_ir_node *n = g->nodes[i];
        if (n->dead || (n->out[0] && n->out[0]->data))
            continue;
        *macs += node_macs(n);
        for (uint32_t j = 0; j < n->n_in; j++) {
            const struct kiln_ir_value *v = n->in[j];
            if (is_const(v) && v->id < g->root->n_values && !seen[v->id]) {
                seen[v->id] = true;
                *wbytes += kiln_ir_value_nbytes(v);
            }
        }
    }
    free(seen);
    return KILN_STATUS_OK;
}

static void note(struct kiln_prune_report *r, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static void note(struct kiln_prune_report *r, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    size_t len = strlen(line) + 1;
    uint32_t cap = (uint32_t)r->notes_cap;
    if (!grow((void **)&r->notes, &cap, (uint32_t)(r->notes_len + len), 1))
        return; /* the report loses a line; the pruning itself is unaffected */
    r->notes_cap = cap;
    memcpy(r->notes + r->notes_len, line, len);
    r->notes_len += len;
    r->n_notes++;
}

/* Notes every group that has layers to prune but was left whole. */
static void note_frozen(struct prune *p)
{
    for (uint32_t s = 0; s < p->n_srcs; s++) {
        uint32_t r = find(p, p->srcs[s].g);
        struct group *G = &p->groups[r];
        if (!G->frozen || !G->named)
            continue;
        G->named = false; /* one note per group */
        char layers[256];
        size_t o = 0;
        int more = 0;
        for (uint32_t t = s; t < p->n_srcs; t++)
            if (find(p, p->srcs[t].g) == r) {
                if (o < 160)
                    o += (size_t)snprintf(layers + o, sizeof layers - o, "%s'%s'", o ? ", " : "",
                                          p->srcs[t].n->name);
                else
                    more++;
            }
        if (more)
            snprintf(layers + o, sizeof layers - o, " and %d more", more);
        note(p->r, "kept all %lld output channels of %s: the group %s", (long long)G->C, layers,
             G->why);
    }
}

static enum kiln_status apply(struct prune *p)
{
    struct kiln_pass_ctx *c = p->c;
    struct kiln_ir_graph *g = c->g;
    struct kiln_prune_report *r = p->r;
    r->layers = calloc(g->n_nodes + 1, sizeof *r->layers);
    if (!r->layers)
        return kiln_diag_set(c->d, KILN_STATUS_NO_MEMORY, NULL, NULL, "out of memory");
    for (uint32_t i = 0; i < g->n_nodes; i++) { /* the "before" column of every layer */
        struct kiln_ir_node *n = g->nodes[i];
        struct kiln_prune_layer *L = &r->layers[i];
        if (n->dead || !n->out[0] || n->out[0]->data || !node_macs(n))
            continue;
        snprintf(L->name, sizeof L->name, "%s", n->name);
        snprintf(L->op_type, sizeof L->op_type, "%s", n->op_type);
        L->out_before = n->out[0]->rank >= 2 ? n->out[0]->dims[1] : 0;
        L->in_before = n->in[0]->rank >= 2 ? n->in[0]->dims[1] : 0;
        L->macs_before = node_macs(n);
        L->wbytes_before = node_wbytes(n);
    }
    for (uint32_t e = 0; e < p->n_edits; e++) {
        const struct edit *E = &p->edits[e];
        int64_t kept;
        const bool *m = mask_of(p, E->g, &kept);
        if (p->oom)
            return kiln_diag_set(c->d, KILN_STATUS_NO_MEMORY, NULL, NULL, "out of memory");
        if (!m)
            continue;
        if (E->kind == EDIT_GROUP_ATTR) {
            if (!kiln_edit_set_int(g, E->n, "group", kept))
                return kiln_diag_set(c->d, KILN_STATUS_NO_MEMORY, NULL, NULL, "out of memory");
            continue;
        }
        struct kiln_ir_value *v = E->n->in[E->input];
        struct kiln_ir_value *nv = slice_const(g, v, E->axis, E->F, m, kept);
        if (!nv)
            return kiln_diag_set(c->d, KILN_STATUS_NO_MEMORY, NULL, NULL, "out of memory");
        E->n->in[E->input] = nv;
    }
    /* re-infer, in order, the nodes reading a new constant or a value whose shape changed */
    bool *dirty = calloc(p->n_mem + 1, sizeof *dirty);
    if (!dirty)
        return kiln_diag_set(c->d, KILN_STATUS_NO_MEMORY, NULL, NULL, "out of memory");
    for (uint32_t i = 0; i < g->n_nodes; i++) {
        struct kiln_ir_node *n = g->nodes[i];
        if (n->dead || !n->out[0] || n->out[0]->data)
            continue;
        bool touched = false;
        for (uint32_t j = 0; j < n->n_in; j++)
            touched |= n->in[j] && (n->in[j]->id >= p->n_mem || dirty[n->in[j]->id]);
        if (!touched)
            continue;
        int64_t before[8][KILN_MAX_RANK];
        for (uint32_t o = 0; o < n->n_out && o < 8; o++)
            if (n->out[o])
                memcpy(before[o], n->out[o]->dims, sizeof before[o]);
        enum kiln_status st = kiln_edit_reinfer(c, n);
        if (st) {
            free(dirty);
            return st;
        }
        for (uint32_t o = 0; o < n->n_out; o++) {
            struct kiln_ir_value *y = n->out[o];
            if (y && y->id < p->n_mem &&
                (o >= 8 || memcmp(before[o], y->dims, sizeof before[o]) != 0))
                dirty[y->id] = true;
        }
    }
    free(dirty);
    uint32_t k = 0;
    for (uint32_t i = 0; i < g->n_nodes; i++) {
        struct kiln_ir_node *n = g->nodes[i];
        struct kiln_prune_layer L = r->layers[i];
        if (!L.name[0])
            continue;
        L.out_after = n->out[0]->rank >= 2 ? n->out[0]->dims[1] : 0;
        L.in_after = n->in[0]->rank >= 2 ? n->in[0]->dims[1] : 0;
        L.macs_after = node_macs(n);
        L.wbytes_after = node_wbytes(n);
        if (L.macs_after != L.macs_before || L.wbytes_after != L.wbytes_before)
            r->layers[k++] = L;
    }
    r->n_layers = k;
    kiln_ir_count_uses(g);
    return KILN_STATUS_OK;
}

/* ---- unstructured magnitude pruning ---- */

/* The float constant weight (input 1) magnitude pruning zeroes, or NULL. */
static const struct kiln_ir_value *prunable_weight(const struct kiln_ir_node *n)
{
    const struct kiln_ir_value *w = kiln_in(n, 1);
    if (n->dead || (n->op != KILN_OP_CONV && n->op != KILN_OP_CONV_TRANSPOSE &&
                    n->op != KILN_OP_GEMM && n->op != KILN_OP_MATMUL))
        return NULL;
    return w && n->out[0] && !n->out[0]->data && kiln_edit_is_float_const(w, w->dtype) &&
                   kiln_ir_value_numel(w) > 0
               ? w
               : NULL;
}

static int cmp_abs(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The magnitude at or below which the fraction `ratio` of the n values |w| lies. */
static double threshold(double *mag, uint64_t n, double ratio)
{
    uint64_t k = (uint64_t)floor(ratio * (double)n + 1e-9);
    if (k == 0)
        return -1;
    qsort(mag, n, sizeof *mag, cmp_abs);
    return mag[k - 1];
}

static uint64_t zeros_of(const struct kiln_ir_value *w)
{
    uint64_t z = 0, n = (uint64_t)kiln_ir_value_numel(w);
    for (uint64_t i = 0; i < n; i++)
        z += kiln_edit_get(w, (int64_t)i) == 0;
    return z;
}

/* Zeroes the smallest weights: the fraction o->ratio of each layer's, or of all layers' (one
 * threshold) with :global. Each weight becomes a new constant (the old one may be shared). */
static enum kiln_status magnitude(struct kiln_pass_ctx *c, const struct kiln_prune_options *o,
                                  struct kiln_prune_report *r)
{
    struct kiln_ir_graph *g = c->g;
    uint64_t total = 0;
    for (uint32_t i = 0; i < g->n_nodes; i++) {
        const struct kiln_ir_value *w = prunable_weight(g->nodes[i]);
        total += w ? (uint64_t)kiln_ir_value_numel(w) : 0;
    }
    r->layers = calloc(g->n_nodes + 1, sizeof *r->layers);
    double *mag = malloc((total + 1) * sizeof *mag);
    if (!r->layers || !mag) {
        free(mag);
        return kiln_diag_set(c->d, KILN_STATUS_NO_MEMORY, NULL, NULL, "out of memory");
    }
    double t_all = -1;
    if (o->global) {
        uint64_t k = 0;
        for (uint32_t i = 0; i < g->n_nodes; i++) {
            const struct kiln_ir_value *w = prunable_weight(g->nodes[i]);
            for (int64_t e = 0; w && e < kiln_ir_value_numel(w); e++)
                mag[k++] = fabs(kiln_edit_get(w, e));
        }
        t_all = threshold(mag, total, o->ratio);
    }
    enum kiln_status st = KILN_STATUS_OK;
    for (uint32_t i = 0; i < g->n_nodes && !st; i++) {
        struct kiln_ir_node *n = g->nodes[i];
        const struct kiln_ir_value *w = prunable_weight(n);
        if (!w)
            continue;
        int64_t ne = kiln_ir_value_numel(w);
        double t = t_all;
        if (!o->global) {
            for (int64_t e = 0; e < ne; e++)
                mag[e] = fabs(kiln_edit_get(w, e));
            t = threshold(mag, (uint64_t)ne, o->ratio);
        }
        struct kiln_prune_layer *L = &r->layers[r->n_layers++];
        snprintf(L->name, sizeof L->name, "%s", n->name);
        snprintf(L->op_type, sizeof L->op_type, "%s", n->op_type);
        L->weights = (uint64_t)ne;
        L->zeros_before = zeros_of(w);
        L->macs_before = L->macs_after = node_macs(n);
        char base[300];
        snprintf(base, sizeof base, "%s_pruned", w->name);
        struct kiln_ir_value *nw = kiln_edit_new_const(g, base, w->dtype, w->rank, w->dims);
        if (!nw) {
            st = kiln_diag_set(c->d, KILN_STATUS_NO_MEMORY, n->name, n->op_type, "out of memory");
            break;
        }
        for (int64_t e = 0; e < ne; e++) {
            double x = kiln_edit_get(w, e);
            kiln_edit_set(nw, e, fabs(x) <= t ? 0.0 : x);
        }
        n->in[1] = nw;
        L->zeros_after = zeros_of(nw);
        L->wbytes_before = L->wbytes_after = node_wbytes(n);
        int rank;
        int64_t dims[KILN_MAX_RANK];
        L->sparse_kernel = kiln_gemm_sparse_weight(n, &rank, dims, NULL);
        r->weights += L->weights;
        r->zeros_before += L->zeros_before;
        r->zeros_after += L->zeros_after;
    }
    free(mag);
    kiln_ir_count_uses(g);
    return st;
}

enum kiln_status kiln_prune(struct kiln_ir_graph *g, const struct kiln_prune_options *o,
                            struct kiln_prune_report *report, struct kiln_diag *d)
{
    struct kiln_prune_report local;
    struct kiln_prune_report *r = report ? report : &local;
    memset(r, 0, sizeof *r);
    r->mode = o->mode;
    struct kiln_pass_ctx c = {.g = g, .d = d};
    if (o->mode == KILN_PRUNE_MAGNITUDE) {
        enum kiln_status st = magnitude(&c, o, r);
        if (st || !report)
            kiln_prune_report_free(r);
        return st;
    }
    if (o->mode != KILN_PRUNE_CHANNELS)
        return kiln_diag_set(d, KILN_STATUS_INTERNAL, NULL, NULL,
                             "internal error: unknown pruning mode %d", o->mode);
    struct prune p = {.c = &c, .o = o, .r = r};
    kiln_ir_count_uses(g);
    p.n_mem = g->root->n_values;
    p.mem = malloc((p.n_mem + 1) * sizeof *p.mem);
    enum kiln_status st = KILN_STATUS_OK;
    if (!p.mem)
        st = kiln_diag_set(d, KILN_STATUS_NO_MEMORY, NULL, NULL, "out of memory");
    for (uint32_t i = 0; !st && i < p.n_mem; i++)
        p.mem[i].g = -1, p.mem[i].F = 1;
    if (!st)
        st = totals(&p, &r->macs_before, &r->wbytes_before);
    for (uint32_t i = 0; !st && i < g->n_nodes && !p.oom; i++)
        if (!g->nodes[i]->dead)
            see(&p, g->nodes[i]);
    for (uint32_t i = 0; !st && i < g->n_outputs && !p.oom; i++)
        if (has_channels(g->outputs[i]))
            freeze(&p, (uint32_t)member(&p, g->outputs[i])->g, "is a graph output ('%s')",
                   g->outputs[i]->name);
    if (!st && p.oom)
        st = kiln_diag_set(d, KILN_STATUS_NO_MEMORY, NULL, NULL, "out of memory");
    if (!st)
        st = decide(&p);
    if (!st) {
        note_frozen(&p);
        st = apply(&p);
    }
    if (!st)
        st = totals(&p, &r->macs_after, &r->wbytes_after);
#ifndef NDEBUG
    if (!st)
        st = kiln_ir_verify(g, d);
#endif
    for (uint32_t i = 0; i < p.n_groups; i++)
        free(p.groups[i].parts), free(p.groups[i].score), free(p.groups[i].keep);
    free(p.groups), free(p.mem), free(p.edits), free(p.srcs);
    if (st || !report)
        kiln_prune_report_free(r);
    return st;
}

void kiln_prune_report_free(struct kiln_prune_report *r)
{
    if (!r)
        return;
    free(r->layers);
    free(r->notes);
    memset(r, 0, sizeof *r);
}

static double pct(uint64_t before, uint64_t after)
{
    return before ? 100.0 * ((double)before - (double)after) / (double)before : 0;
}

static void print_magnitude(FILE *f, const struct kiln_prune_report *r)
{
    fprintf(f, "pruning: %llu of %llu weights zero (%.1f%%; %.1f%% before)\n",
            (unsigned long long)r->zeros_after, (unsigned long long)r->weights,
            r->weights ? 100.0 * (double)r->zeros_after / (double)r->weights : 0,
            r->weights ? 100.0 * (double)r->zeros_before / (double)r->weights : 0);
    fprintf(f, "  %-28s %-14s %10s  %-17s %s\n", "layer", "op", "weights", "zero", "stored");
    for (uint32_t i = 0; i < r->n_layers; i++) {
        const struct kiln_prune_layer *L = &r->layers[i];
        char z[40];
        snprintf(z, sizeof z, "%.1f%% -> %.1f%%",
                 100.0 * (double)L->zeros_before / (double)L->weights,
                 100.0 * (double)L->zeros_after / (double)L->weights);
        fprintf(f, "  %-28s %-14s %10llu  %-17s %s\n", L->name, L->op_type,
                (unsigned long long)L->weights, z,
                L->sparse_kernel ? "sparse (sparse Gemm kernel)" : "dense");
    }
}

void kiln_prune_report_print(FILE *f, const struct kiln_prune_report *r)
{
    if (r->mode == KILN_PRUNE_MAGNITUDE) {
        print_magnitude(f, r);
        return;
    }
    fprintf(f, "pruning: %lld of %lld candidate channels removed\n",
            (long long)(r->channels_before - r->channels_after), (long long)r->channels_before);
    fprintf(f, "  %-28s %-14s %-13s %-13s %s\n", "layer", "op", "out ch", "in ch",
            "MACs / weight bytes (change)");
    for (uint32_t i = 0; i < r->n_layers; i++) {
        const struct kiln_prune_layer *L = &r->layers[i];
        char oc[32], ic[32];
        snprintf(oc, sizeof oc, "%lld->%lld", (long long)L->out_before, (long long)L->out_after);
        snprintf(ic, sizeof ic, "%lld->%lld", (long long)L->in_before, (long long)L->in_after);
        fprintf(f, "  %-28s %-14s %-13s %-13s %llu->%llu (-%.1f%%) / %llu->%llu (-%.1f%%)\n",
                L->name, L->op_type, oc, ic, (unsigned long long)L->macs_before,
                (unsigned long long)L->macs_after, pct(L->macs_before, L->macs_after),
                (unsigned long long)L->wbytes_before, (unsigned long long)L->wbytes_after,
                pct(L->wbytes_before, L->wbytes_after));
    }
    fprintf(f, "  total MACs %llu -> %llu (-%.1f%%), weight bytes %llu -> %llu (-%.1f%%)\n",
            (unsigned long long)r->macs_before, (unsigned long long)r->macs_after,
            pct(r->macs_before, r->macs_after), (unsigned long long)r->wbytes_before,
            (unsigned long long)r->wbytes_after, pct(r->wbytes_before, r->wbytes_after));
    const char *line = r->notes;
    for (uint32_t k = 0; k < r->n_notes; k++) {
        fprintf(f, "  note: %s\n", line);
        line += strlen(line) + 1;
    }
}

enum kiln_status kiln_prune_parse(const char *spec, const char *norm, struct kiln_prune_options *o,
                                  struct kiln_diag *d)
{
    memset(o, 0, sizeof *o);
    o->norm = 1;
    if (norm && strcmp(norm, "l1") && strcmp(norm, "l2"))
        return kiln_diag_set(d, KILN_STATUS_INVALID_ARG, NULL, NULL,
                             "--prune-norm takes l1 or l2, not '%s'", norm);
    if (norm)
        o->norm = norm[1] - '0';
    static const char *const modes[] = {"channels:", "magnitude:"};
    const char *arg = NULL;
    for (int m = 0; m < 2 && !arg; m++)
        if (strncmp(spec, modes[m], strlen(modes[m])) == 0) {
            arg = spec + strlen(modes[m]);
            o->mode = m == 0 ? KILN_PRUNE_CHANNELS : KILN_PRUNE_MAGNITUDE;
        }
    char *end = NULL;
    double v = arg ? strtod(arg, &end) : 0;
    bool ok = arg && end != arg && v > 0 && v < 1;
    if (ok && *end) {
        if (strcmp(end, ":global") == 0)
            o->global = true;
        else
            ok = strcmp(end, ":per-layer") == 0;
    }
    if (!ok)
        return kiln_diag_set(d, KILN_STATUS_INVALID_ARG, NULL, NULL,
                             "--prune %s: expected channels:R or magnitude:S, then optionally "
                             ":global or :per-layer, with 0 < R, S < 1 (e.g. channels:0.3)",
                             spec);
    o->ratio = v;
    return KILN_STATUS_OK;
}
