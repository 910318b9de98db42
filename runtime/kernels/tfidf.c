/* tfidf.c - TfIdfVectorizer: per row, counts each pool n-gram at every start and skip
 * distance (n-grams of length 1 once: skips do not apply to them), then writes the count
 * (TF), the weight when present at all (IDF) or count * weight (TFIDF) into its column.
 * Matching is direct against the n-gram table the compiler appended to the params. */
#include "kernels.h"

static int64_t tf_token(const struct kiln_tensor *x, int64_t k)
{
    return x->dtype == KILN_DTYPE_I32 ? ((const int32_t *)x->data)[k]
                                      : ((const int64_t *)x->data)[k];
}

/* Occurrences of pool[start..start+len) in row (row_len tokens from offset base), with
 * max_skip + 1 spacings between consecutive tokens. */
static int64_t tf_count(const struct kiln_p_tfidf *p, const struct kiln_tensor *x, int64_t base,
                        const int64_t *pool, int64_t start, int64_t len)
{
    int64_t cnt = 0, skips = len == 1 ? 0 : p->max_skip;
    for (int64_t s = 0; s <= skips; s++) {
        int64_t span = (len - 1) * (s + 1);
        for (int64_t i = 0; i + span < p->row_len; i++) {
            int64_t j = 0;
            while (j < len && tf_token(x, base + i + j * (s + 1)) == pool[start + j])
                j++;
            cnt += j == len;
        }
        if (span >= p->row_len)
            break;
    }
    return cnt;
}

static void kiln_k_tfidf_vectorizer(const struct kiln_kernel_args *a)
{
    const struct kiln_p_tfidf *p = a->params;
    const int64_t *pool = (const int64_t *)(p + 1), *gram = pool + p->pool_len;
    float *y = a->out[0].data;
    for (int64_t r = 0; r < p->rows; r++) {
        float *row = y + r * p->cols;
        for (int64_t c = 0; c < p->cols; c++)
            row[c] = 0;
        for (int64_t k = 0; k < p->n_grams; k++) {
            int64_t start = gram[3 * k], len = gram[3 * k + 1], col = gram[3 * k + 2];
            if (len < p->min_len || len > p->max_len)
                continue;
            int64_t cnt = tf_count(p, &a->in[0], r * p->row_len, pool, start, len);
            double w;
            memcpy(&w, gram + 3 * p->n_grams + k, sizeof w);
            row[col] = (float)(p->mode == KILN_TFIDF_TF    ? (double)cnt
                               : p->mode == KILN_TFIDF_IDF ? (cnt > 0 ? w : 0.0)
                                                           : (double)cnt * w);
        }
    }
}

KILN_KERNELS(tfidf_vectorizer, KILN_K(kiln_k_tfidf_vectorizer, UNDEFINED));
