/* tfidf.c - TfIdfVectorizer (opset 9) over int32/int64 tokens (string pools are unsupported).
 * The pool is checked and flattened here into a table of n-grams (pool offset, length, output
 * column, weight) appended to struct kiln_p_tfidf, so the kernel only matches and counts. */
#include <string.h>

#include "ops.h"

static enum kiln_status bad(struct kiln_infer_ctx *c, struct kiln_ir_node *n, const char *what)
{
    return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL, "%s", what);
}

static enum kiln_status infer_tfidf(struct kiln_infer_ctx *c, struct kiln_ir_node *n)
{
    struct kiln_ir_value *x = kiln_in(n, 0);
    enum kiln_status st;
    if (kiln_ir_attr(n, "pool_strings") ||
        (x && x->dtype != KILN_DTYPE_I32 && x->dtype != KILN_DTYPE_I64))
        return kiln_op_error(c, n, KILN_STATUS_UNSUPPORTED,
                             "only int32 and int64 inputs with pool_int64s are supported "
                             "(string input is not)");
    const char *mode;
    int64_t min_len, max_len, max_skip;
    const int64_t *counts, *indexes, *pool;
    const float *weights;
    size_t n_counts, n_indexes, pool_len, n_weights;
    if ((st = kiln_need_input(c, n, 0, &x)) ||
        (st = kiln_attr_string(c, n, "mode", "", &mode)) ||
        (st = kiln_attr_int(c, n, "min_gram_length", 0, &min_len)) ||
        (st = kiln_attr_int(c, n, "max_gram_length", 0, &max_len)) ||
        (st = kiln_attr_int(c, n, "max_skip_count", 0, &max_skip)) ||
        (st = kiln_attr_ints(c, n, "ngram_counts", &counts, &n_counts)) ||
        (st = kiln_attr_ints(c, n, "ngram_indexes", &indexes, &n_indexes)) ||
        (st = kiln_attr_ints(c, n, "pool_int64s", &pool, &pool_len)) ||
        (st = kiln_attr_floats(c, n, "weights", &weights, &n_weights)))
        return st;
    int32_t m = strcmp(mode, "TF") == 0      ? KILN_TFIDF_TF
                : strcmp(mode, "IDF") == 0   ? KILN_TFIDF_IDF
                : strcmp(mode, "TFIDF") == 0 ? KILN_TFIDF_TFIDF
                                             : -1;
    if (m < 0)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "mode '%s' is not one of TF, IDF, TFIDF", mode);
    if (x->rank < 1 || x->rank > 2)
        return bad(c, n, "the input must be [C] or [N, C]");
    if (min_len < 1 || max_len < min_len || max_skip < 0)
        return bad(c, n, "needs 1 <= min_gram_length <= max_gram_length and max_skip_count >= 0");
    /* level L (n-grams of length L+1) is pool[counts[L] .. counts[L+1] or the end) */
    int64_t n_grams = 0;
    for (size_t l = 0; l < n_counts; l++) {
        int64_t lo = counts[l], hi = l + 1 < n_counts ? counts[l + 1] : (int64_t)pool_len;
        if (lo < 0 || hi < lo || hi > (int64_t)pool_len || (hi - lo) % (int64_t)(l + 1))
            return bad(c, n, "ngram_counts does not split pool_int64s into whole n-grams");
        n_grams += (hi - lo) / (int64_t)(l + 1);
    }
    if ((size_t)n_grams != n_indexes || (n_weights && n_weights != n_indexes))
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "the pool holds %lld n-grams; ngram_indexes has %zu entries and "
                             "weights %zu",
                             (long long)n_grams, n_indexes, n_weights);
    int64_t cols = 0;
    for (size_t k = 0; k < n_indexes; k++) {
        if (indexes[k] < 0)
            return bad(c, n, "ngram_indexes must not be negative");
        cols = indexes[k] + 1 > cols ? indexes[k] + 1 : cols;
    }
    size_t size = sizeof(struct kiln_p_tfidf) + (pool_len + 4 * (size_t)n_grams) * 8;
    struct kiln_p_tfidf *p = kiln_node_params(c, n, size);
    if (!p)
        return kiln_op_error(c, n, KILN_STATUS_NO_MEMORY, "out of memory");
    p->mode = m;
    p->min_len = (int32_t)min_len;
    p->max_len = (int32_t)(max_len < 1024 ? max_len : 1024);
    p->max_skip = (int32_t)(max_skip < (1 << 30) ? max_skip : 1 << 30);
    p->rows = x->rank == 2 ? x->dims[0] : 1;
    p->row_len = x->dims[x->rank - 1];
    p->cols = cols;
    p->pool_len = (int64_t)pool_len;
    p->n_grams = n_grams;
    int64_t *data = (int64_t *)(p + 1), *gram = data + pool_len, k = 0;
    if (pool_len)
        memcpy(data, pool, pool_len * sizeof *pool);
    for (size_t l = 0; l < n_counts; l++) {
        int64_t hi = l + 1 < n_counts ? counts[l + 1] : (int64_t)pool_len;
        for (int64_t at = counts[l]; at < hi; at += (int64_t)(l + 1), k++) {
            gram[3 * k] = at;
            gram[3 * k + 1] = (int64_t)(l + 1);
            gram[3 * k + 2] = indexes[k];
            double w = n_weights ? weights[k] : 1.0;
            memcpy(gram + 3 * n_grams + k, &w, sizeof w);
        }
    }
    int64_t dims[2] = {p->rows, cols};
    return x->rank == 2 ? kiln_set_output(c, n, 0, KILN_DTYPE_F32, 2, dims)
                        : kiln_set_output(c, n, 0, KILN_DTYPE_F32, 1, &cols);
}

const struct kiln_op_info kiln_opi_tfidf_vectorizer = {
    .infer = infer_tfidf, .dtypes = "int32, int64 (string unsupported); output float32",
    .notes = "n-grams matched directly against the pool", .opsets = {9}};
