/* einsum.c - Einsum: parses the equation (spaces ignored; letters, at most one "..." per
 * term; explicit "->" output or the implicit one: broadcast ellipsis axes, then the letters
 * used exactly once, in ASCII order) into struct kiln_p_einsum: the output subscripts first,
 * then the summed ones, with each input's strides per subscript. Ellipsis axes are aligned
 * from the right and broadcast like NumPy; a size-1 axis broadcasts against any size. */
#include <string.h>

#include "ops.h"

#define N_LETTERS 52 /* a-z, A-Z; ellipsis axis e (from the right) is label N_LETTERS + e */
#define N_CODES (N_LETTERS + KILN_MAX_RANK)

static int letter_code(char ch)
{
    if (ch >= 'a' && ch <= 'z')
        return ch - 'a';
    if (ch >= 'A' && ch <= 'Z')
        return 26 + (ch - 'A');
    return -1;
}

/* One term's subscripts as codes, ellipsis expanded for an operand of rank `rank` (-1 for
 * the output, expanded to `ell` axes). Returns the count or -1 on a malformed term. */
static int parse_term(const char *s, size_t len, int rank, int ell, int *codes, int *n_ell)
{
    int letters = 0, dots = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '.') {
            if (dots || i + 2 >= len + 0 || s[i + 1] != '.' || s[i + 2] != '.')
                return -1;
            dots = 1;
            i += 2;
        } else if (letter_code(s[i]) >= 0) {
            letters++;
        } else {
            return -1;
        }
    }
    int e = !dots ? 0 : rank >= 0 ? rank - letters : ell;
    if (e < 0 || (rank >= 0 && !dots && letters != rank) || letters + e > KILN_MAX_RANK)
        return -1;
    int n = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '.') {
            for (int k = e - 1; k >= 0; k--)
                codes[n++] = N_LETTERS + k;
            i += 2;
        } else {
            codes[n++] = letter_code(s[i]);
        }
    }
    *n_ell = e;
    return n;
}

static enum kiln_status infer_einsum(struct kiln_infer_ctx *c, struct kiln_ir_node *n)
{
    enum kiln_status st;
    const char *eq_raw;
    if ((st = kiln_attr_string(c, n, "equation", NULL, &eq_raw)))
        return st;
    if (!eq_raw)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL, "attribute equation is required");
    if (n->n_in > KILN_EINSUM_MAX_IN)
        return kiln_op_error(c, n, KILN_STATUS_UNSUPPORTED,
                             "%u inputs; kiln's Einsum takes up to %d", n->n_in,
                             KILN_EINSUM_MAX_IN);
    char eq[256];
    size_t len = 0;
    for (const char *s = eq_raw; *s; s++)
        if (*s != ' ' && len + 1 < sizeof eq)
            eq[len++] = *s;
    eq[len] = '\0';
    for (uint32_t i = 0; i < n->n_in; i++)
        if ((st = kiln_check_dtype(c, n, i, kiln_dtypes_numeric)) ||
            (st = kiln_check_same_dtype(c, n, 0, i)))
            return st;

    const char *arrow = strstr(eq, "->");
    size_t lhs_len = arrow ? (size_t)(arrow - eq) : len;
    int codes[KILN_EINSUM_MAX_IN][KILN_MAX_RANK], ncodes[KILN_EINSUM_MAX_IN];
    int64_t size[N_CODES];
    int uses[N_CODES] = {0}, ell = 0;
    for (int l = 0; l < N_CODES; l++)
        size[l] = 1;
    const char *t = eq;
    for (uint32_t i = 0; i < n->n_in; i++) {
        struct kiln_ir_value *v = n->in[i];
        const char *end = memchr(t, ',', lhs_len - (size_t)(t - eq));
        if (!end)
            end = eq + lhs_len;
        if ((i + 1 < n->n_in) != (end < eq + lhs_len))
            return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                                 "equation '%s' does not have one term per input (%u)", eq_raw,
                                 n->n_in);
        int e;
        ncodes[i] = parse_term(t, (size_t)(end - t), v->rank, 0, codes[i], &e);
        if (ncodes[i] < 0)
            return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                                 "term %u of equation '%s' does not fit input '%s' of rank %d",
                                 i, eq_raw, v->name, v->rank);
        ell = e > ell ? e : ell;
        for (int d = 0; d < v->rank; d++) {
            int l = codes[i][d];
            uses[l]++;
            if (v->dims[d] != 1 && size[l] != 1 && size[l] != v->dims[d])
                return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                                     "subscript %d of input '%s' has size %lld, elsewhere %lld",
                                     d, v->name, (long long)v->dims[d], (long long)size[l]);
            if (v->dims[d] != 1)
                size[l] = v->dims[d];
        }
        t = end + 1;
    }

    /* output subscripts */
    int out[KILN_MAX_RANK], nout = 0;
    if (arrow) {
        int e;
        nout = parse_term(arrow + 2, strlen(arrow + 2), -1, ell, out, &e);
        if (nout < 0)
            return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                                 "the output of equation '%s' is malformed", eq_raw);
    } else {
        for (int k = ell - 1; k >= 0; k--)
            out[nout++] = N_LETTERS + k;
        /* ASCII order: A-Z (codes 26..51) before a-z (0..25) */
        for (int j = 0; j < N_LETTERS; j++) {
            int l = j < 26 ? 26 + j : j - 26;
            if (uses[l] == 1) {
                if (nout == KILN_MAX_RANK)
                    return kiln_op_error(c, n, KILN_STATUS_UNSUPPORTED, "output rank too large");
                out[nout++] = l;
            }
        }
    }

    /* label order: output first, then the summed ones */
    int slot[N_CODES], nl = 0;
    for (int l = 0; l < N_CODES; l++)
        slot[l] = -1;
    int64_t dims[KILN_MAX_RANK];
    struct kiln_p_einsum *p = kiln_node_params(c, n, sizeof *p);
    if (!p)
        return kiln_op_error(c, n, KILN_STATUS_NO_MEMORY, "out of memory");
    for (int k = 0; k < nout; k++) {
        int l = out[k];
        if (slot[l] >= 0)
            return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                                 "the output of '%s' repeats a subscript", eq_raw);
        if (!uses[l])
            return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                                 "output subscript %d of '%s' appears in no input", k, eq_raw);
        slot[l] = nl;
        p->size[nl++] = dims[k] = size[l];
    }
    for (int l = 0; l < N_CODES; l++) {
        if (!uses[l] || slot[l] >= 0)
            continue;
        if (nl == KILN_EINSUM_MAX_LABELS)
            return kiln_op_error(c, n, KILN_STATUS_UNSUPPORTED,
                                 "'%s' uses more than %d subscripts", eq_raw,
                                 KILN_EINSUM_MAX_LABELS);
        slot[l] = nl;
        p->size[nl++] = size[l];
    }
    p->n_in = (int32_t)n->n_in;
    p->n_out = nout;
    p->n_labels = nl;
    for (uint32_t i = 0; i < n->n_in; i++) {
        struct kiln_ir_value *v = n->in[i];
        int64_t s = 1;
        for (int d = v->rank - 1; d >= 0; d--) {
            if (v->dims[d] != 1)
                p->stride[i][slot[codes[i][d]]] += s; /* repeats add: the diagonal */
            s *= v->dims[d];
        }
    }
    return kiln_set_output(c, n, 0, n->in[0]->dtype, nout, dims);
}

static uint64_t einsum_macs(const struct kiln_ir_node *n)
{
    const struct kiln_p_einsum *p = n->params;
    uint64_t m = 1;
    for (int l = 0; p && l < p->n_labels; l++)
        m *= (uint64_t)p->size[l];
    return p ? m : 0;
}

const struct kiln_op_info kiln_opi_einsum = {
    .infer = infer_einsum, .macs = einsum_macs, .dtypes = "numeric",
    .notes = "reference loop over the index space (no GEMM); up to 4 inputs and 16 subscripts",
    .opsets = {12}};
