/* tfidf.c - load-time check of TfIdfVectorizer (kernel tfidf.c): the variable-size n-gram
 * pool inside its params. */
#define KILN_CK_FILE "checks/tfidf.c"
#include "check.h"

/* TfIdfVectorizer: variable-size params (struct kiln_p_tfidf, int64 pool[pool_len], int64
 * {start, len, col} per n-gram, double weight per n-gram) whose counts must give exactly
 * params_size; every n-gram inside the pool and its column inside the output row. */
static int check_tfidf(struct kiln_vctx *v)
{
    const struct kiln_p_tfidf *p = v->params;
    desc *x = v->in[0], *y = v->out[0];
    uint64_t slots = (v->n->params_size - sizeof *p) / 8; /* int64 slots after the struct */
    if (p->mode < KILN_TFIDF_TF || p->mode > KILN_TFIDF_TFIDF || p->min_len < 1 ||
        p->max_len < p->min_len || p->max_skip < 0 || p->rows < 0 || p->row_len < 0 ||
        p->cols < 0 || p->pool_len < 0 || p->n_grams < 0 || (uint64_t)p->pool_len > slots ||
        (uint64_t)p->n_grams > slots / 4 ||
        sizeof *p + 8 * ((uint64_t)p->pool_len + 4 * (uint64_t)p->n_grams) != v->n->params_size)
        return BAD("mode %d, n-gram lengths %d..%d, skip %d, or a pool of %lld with %lld "
                   "n-grams in %u bytes of params",
                   p->mode, p->min_len, p->max_len, p->max_skip, L(p->pool_len), L(p->n_grams),
                   v->n->params_size);
    if ((x->dtype != KILN_DTYPE_I32 && x->dtype != KILN_DTYPE_I64) ||
        mulc((uint64_t)p->rows, (uint64_t)p->row_len) != (uint64_t)numel(x) ||
        kiln_ck_dtypes(v, KILN_DTYPE_F32, y, 0, 0) ||
        mulc((uint64_t)p->rows, (uint64_t)p->cols) != (uint64_t)numel(y))
        return BAD("needs %lld x %lld int32/int64 tokens and %lld x %lld float32 outputs",
                   L(p->rows), L(p->row_len), L(p->rows), L(p->cols));
    const int64_t *gram = (const int64_t *)(const void *)(p + 1) + p->pool_len;
    for (int64_t k = 0; k < p->n_grams; k++) {
        int64_t start = gram[3 * k], len = gram[3 * k + 1], col = gram[3 * k + 2];
        if (start < 0 || start > p->pool_len || len < 1 || len > p->pool_len - start ||
            col < 0 || col >= p->cols)
            return BAD("n-gram %lld: pool[%lld] + %lld or column %lld out of range", L(k),
                       L(start), L(len), L(col));
    }
    return 0;
}

/* ---- the ops' checks (kiln_oc_<op>, reached through their kernel lists) ---- */

KILN_CHECK(tfidf_vectorizer, check_tfidf, PVAR | sizeof(struct kiln_p_tfidf));
