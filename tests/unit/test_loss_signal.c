/* test_loss_signal.c - losses, signal processing and the other single ops, on one-node graphs
 * (kiln_infer + kiln_lower + kiln_run):
 * NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss (weights, ignore_index, run-time
 * targets out of range), TfIdfVectorizer, Unique, DFT, STFT, the windows, MelWeightMatrix and
 * Det, with hand-checked values, plus the inference errors (constant inputs required, bad
 * targets, string input). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "compiler.h"

#include "graph_harness.h"

/* ---- losses ---- */

/* x = log-probabilities [[-1, -2, -3], [-4, -5, -6]], targets [2, 0], weight [1, 2, 3]:
 * losses 3*3 = 9 and 1*4 = 4; mean divides by 3 + 1. */
static void test_nll_mean_weight(void **state)
{
    (void)state;
    static const float x[] = {-1, -2, -3, -4, -5, -6}, w[] = {1, 2, 3};
    static const int64_t tgt[] = {2, 0};
    struct tg *t = tg_new("NegativeLogLikelihoodLoss", 13, 3, 1);
    tg_in(t, 0, KILN_DTYPE_F32, 2, (int64_t[]){2, 3}, x, 1);
    tg_in(t, 1, KILN_DTYPE_I64, 1, (int64_t[]){2}, tgt, 1);
    tg_in(t, 2, KILN_DTYPE_F32, 1, (int64_t[]){3}, w, 0);
    float y = 0;
    assert_int_equal(tg_run(t, &y, NULL), KILN_STATUS_OK);
    assert_dims(t, 0, 0, NULL);
    assert_close(&y, (float[]){13.0f / 4.0f}, 1, 1e-6f);
    tg_free(t);
}

/* reduction none over [N, C, d] with int32 targets: ignore_index 1 and a run-time target 7
 * (outside [0, C)) both give 0. x[n, c, d] = -(10 n + 3 c + d). */
static void test_nll_none_ignore(void **state)
{
    (void)state;
    float x[2 * 3 * 2];
    for (int n = 0; n < 2; n++)
        for (int c = 0; c < 3; c++)
            for (int d = 0; d < 2; d++)
                x[(n * 3 + c) * 2 + d] = -(float)(10 * n + 3 * c + d);
    static const int32_t tgt[] = {0, 1, 7, 2};
    struct tg *t = tg_new("NegativeLogLikelihoodLoss", 12, 2, 1);
    tg_in(t, 0, KILN_DTYPE_F32, 3, (int64_t[]){2, 3, 2}, x, 1);
    tg_in(t, 1, KILN_DTYPE_I32, 2, (int64_t[]){2, 2}, tgt, 1);
    tg_str(t, "reduction", "none");
    tg_int(t, "ignore_index", 1);
    float y[4];
    assert_int_equal(tg_run(t, y, NULL), KILN_STATUS_OK);
    assert_dims(t, 0, 2, (int64_t[]){2, 2});
    /* (0,0): c 0 -> 0; (0,1): ignored; (1,0): 7 out of range; (1,1): c 2 -> 10 + 6 + 1 */
    assert_close(y, (float[]){0, 0, 0, 17}, 4, 1e-6f);
    tg_free(t);
}

static void test_nll_errors(void **state)
{
    (void)state;
    static const float x[6] = {0};
    static const int64_t bad[] = {0, 3}, ok[] = {0, 1};
    struct tg *t = tg_new("NegativeLogLikelihoodLoss", 13, 2, 1);
    tg_in(t, 0, KILN_DTYPE_F32, 2, (int64_t[]){2, 3}, x, 1);
    tg_in(t, 1, KILN_DTYPE_I64, 1, (int64_t[]){2}, bad, 0);
    tg_expect_err(t, KILN_STATUS_INVALID_MODEL, "outside [0, 3)");
    tg_free(t);

    t = tg_new("NegativeLogLikelihoodLoss", 13, 2, 1);
    tg_in(t, 0, KILN_DTYPE_F32, 2, (int64_t[]){2, 3}, x, 1);
    tg_in(t, 1, KILN_DTYPE_I64, 1, (int64_t[]){2}, ok, 0);
    tg_str(t, "reduction", "average");
    tg_expect_err(t, KILN_STATUS_INVALID_MODEL, "reduction 'average'");
    tg_free(t);

    t = tg_new("NegativeLogLikelihoodLoss", 13, 2, 1);
    tg_in(t, 0, KILN_DTYPE_F32, 2, (int64_t[]){2, 3}, x, 1);
    tg_in(t, 1, KILN_DTYPE_I64, 1, (int64_t[]){3}, ok, 1);
    tg_expect_err(t, KILN_STATUS_INVALID_MODEL, "without the class axis");
    tg_free(t);
}

/* scores [[0, ln 3], [ln 3, 0]]: log_softmax rows [ln 1/4, ln 3/4], [ln 3/4, ln 1/4];
 * labels [1, 1]: losses -ln 3/4 and -ln 1/4; sum. */
static void test_sce_sum_log_prob(void **state)
{
    (void)state;
    float l3 = logf(3.0f);
    float x[] = {0, l3, l3, 0};
    static const int64_t lab[] = {1, 1};
    struct tg *t = tg_new("SoftmaxCrossEntropyLoss", 13, 2, 2);
    tg_in(t, 0, KILN_DTYPE_F32, 2, (int64_t[]){2, 2}, x, 1);
    tg_in(t, 1, KILN_DTYPE_I64, 1, (int64_t[]){2}, lab, 1);
    tg_str(t, "reduction", "sum");
    float y = 0, lp[4];
    assert_int_equal(tg_run(t, &y, lp), KILN_STATUS_OK);
    float q = logf(0.25f), h = logf(0.75f);
    assert_close(&y, (float[]){-(h + q)}, 1, 1e-5f);
    assert_close(lp, (float[]){q, h, h, q}, 4, 1e-5f);
    assert_dims(t, 1, 2, (int64_t[]){2, 2});
    tg_free(t);
}

/* mean with weights and no log_prob output (scratch holds it): labels [0, 1], weights
 * [2, 1]: (2 * -ln 1/4 + 1 * -ln 1/4) / 3. */
static void test_sce_mean_weight(void **state)
{
    (void)state;
    float l3 = logf(3.0f);
    float x[] = {l3, 0, l3, 0}, w[] = {2, 1};
    static const int64_t lab[] = {0, 1};
    struct tg *t = tg_new("SoftmaxCrossEntropyLoss", 12, 3, 1);
    tg_in(t, 0, KILN_DTYPE_F32, 2, (int64_t[]){2, 2}, x, 1);
    tg_in(t, 1, KILN_DTYPE_I64, 1, (int64_t[]){2}, lab, 1);
    tg_in(t, 2, KILN_DTYPE_F32, 1, (int64_t[]){2}, w, 0);
    float y = 0;
    assert_int_equal(tg_run(t, &y, NULL), KILN_STATUS_OK);
    float want = (-2 * logf(0.75f) - logf(0.25f)) / 3;
    assert_close(&y, &want, 1, 1e-5f);
    tg_free(t);
}

/* ---- TfIdfVectorizer ---- */

/* pool: unigrams {3, 5}, bigrams {(3, 5), (5, 5)}; columns 3, 0, 1, 2; weights 1, 2, 10, 100;
 * input [3, 5, 5, 3, 9, 5] with max_skip_count 1, TFIDF (count * weight). */
static void test_tfidf(void **state)
{
    (void)state;
    static const int64_t x[] = {3, 5, 5, 3, 9, 5};
    static const int64_t counts[] = {0, 2}, idx[] = {3, 0, 1, 2}, pool[] = {3, 5, 3, 5, 5, 5};
    struct tg *t = tg_new("TfIdfVectorizer", 9, 1, 1);
    tg_in(t, 0, KILN_DTYPE_I64, 1, (int64_t[]){6}, x, 1);
    tg_str(t, "mode", "TFIDF");
    tg_int(t, "min_gram_length", 1);
    tg_int(t, "max_gram_length", 2);
    tg_int(t, "max_skip_count", 1);
    tg_ints(t, "ngram_counts", 2, counts);
    tg_ints(t, "ngram_indexes", 4, idx);
    tg_ints(t, "pool_int64s", 6, pool);
    struct kiln_ir_attr *wa = tg_attr(t, "weights", KILN_ATTR_FLOATS);
    static float w[] = {1, 2, 10, 100};
    wa->floats = w;
    wa->n = 4;
    float y[4];
    assert_int_equal(tg_run(t, y, NULL), KILN_STATUS_OK);
    assert_dims(t, 0, 1, (int64_t[]){4});
    /* unigram 3: 2 (col 3, w 1); unigram 5: 3, counted once whatever the skip (col 0, w 2);
     * (3,5): adjacent at 0-1, one apart at 0-2 and 3-5 -> 3 (col 1, w 10);
     * (5,5): adjacent at 1-2 only -> 1 (col 2, w 100) */
    assert_close(y, (float[]){6, 30, 100, 2}, 4, 1e-6f);
    tg_free(t);
}

static void test_tfidf_errors(void **state)
{
    (void)state;
    static const int64_t x[] = {1, 2}, counts[] = {0}, idx[] = {0, 1}, pool[] = {1};
    struct tg *t = tg_new("TfIdfVectorizer", 9, 1, 1);
    tg_in(t, 0, KILN_DTYPE_I64, 1, (int64_t[]){2}, x, 1);
    tg_str(t, "mode", "TF");
    tg_int(t, "min_gram_length", 1);
    tg_int(t, "max_gram_length", 1);
    tg_ints(t, "ngram_counts", 1, counts);
    tg_ints(t, "ngram_indexes", 2, idx);
    tg_ints(t, "pool_int64s", 1, pool);
    tg_expect_err(t, KILN_STATUS_INVALID_MODEL, "holds 1 n-grams");
    tg_free(t);

    t = tg_new("TfIdfVectorizer", 9, 1, 1);
    tg_in(t, 0, KILN_DTYPE_I64, 1, (int64_t[]){2}, x, 1);
    tg_str(t, "mode", "TF");
    struct kiln_ir_attr *a = tg_attr(t, "pool_strings", KILN_ATTR_STRINGS);
    a->s = "a";
    a->s_len = 2;
    tg_expect_err(t, KILN_STATUS_UNSUPPORTED, "string input");
    tg_free(t);
}

/* ---- Unique ---- */

static void test_unique_flat(void **state)
{
    (void)state;
    static const float x[] = {3, 1, 3, 2, 1};
    for (int sorted = 0; sorted < 2; sorted++) {
        struct tg *t = tg_new("Unique", 11, 1, 4);
        tg_in(t, 0, KILN_DTYPE_F32, 1, (int64_t[]){5}, x, 0);
        tg_int(t, "sorted", sorted);
        float y[3];
        int64_t ind[3], inv[5];
        assert_int_equal(tg_run3(t, y, ind, inv), KILN_STATUS_OK);
        assert_dims(t, 0, 1, (int64_t[]){3});
        assert_dims(t, 2, 1, (int64_t[]){5});
        const int64_t *cnt = t->n->out[3]->data;
        if (sorted) {
            assert_close(y, (float[]){1, 2, 3}, 3, 0);
            assert_memory_equal(ind, ((int64_t[]){1, 3, 0}), sizeof ind);
            assert_memory_equal(inv, ((int64_t[]){2, 0, 2, 1, 0}), sizeof inv);
            assert_memory_equal(cnt, ((int64_t[]){2, 1, 2}), 3 * sizeof *cnt);
        } else {
            assert_close(y, (float[]){3, 1, 2}, 3, 0);
            assert_memory_equal(ind, ((int64_t[]){0, 1, 3}), sizeof ind);
            assert_memory_equal(inv, ((int64_t[]){0, 1, 0, 2, 1}), sizeof inv);
            assert_memory_equal(cnt, ((int64_t[]){2, 2, 1}), 3 * sizeof *cnt);
        }
        tg_free(t);
    }
}

/* rows of [[2, 1], [0, 5], [2, 1]] along axis 0: sorted [[0, 5], [2, 1]] */
static void test_unique_axis(void **state)
{
    (void)state;
    static const int32_t x[] = {2, 1, 0, 5, 2, 1};
    struct tg *t = tg_new("Unique", 11, 1, 3);
    tg_in(t, 0, KILN_DTYPE_I32, 2, (int64_t[]){3, 2}, x, 0);
    tg_int(t, "axis", -2);
    int32_t y[4];
    int64_t ind[2], inv[3];
    assert_int_equal(tg_run3(t, y, ind, inv), KILN_STATUS_OK);
    assert_dims(t, 0, 2, (int64_t[]){2, 2});
    assert_memory_equal(y, ((int32_t[]){0, 5, 2, 1}), sizeof y);
    assert_memory_equal(ind, ((int64_t[]){1, 0}), sizeof ind);
    assert_memory_equal(inv, ((int64_t[]){1, 0, 1}), sizeof inv);
    tg_free(t);

    /* a run-time input: the same rows, bounded by the 3 rows of the input */
    t = tg_new("Unique", 11, 1, 3);
    tg_in(t, 0, KILN_DTYPE_I32, 2, (int64_t[]){3, 2}, x, 1);
    tg_int(t, "axis", -2);
    int32_t yb[6];
    int64_t indb[3], invb[3];
    assert_int_equal(tg_run3(t, yb, indb, invb), KILN_STATUS_OK);
    assert_dims(t, 0, 2, (int64_t[]){3, 2});
    assert_true(t->n->out[0]->runtime_dims && !t->n->out[2]->runtime_dims);
    assert_int_equal(t->ext[0][0], 2);
    assert_int_equal(t->ext[0][1], 2);
    assert_int_equal(t->ext[1][0], 2);
    assert_memory_equal(yb, ((int32_t[]){0, 5, 2, 1}), 4 * sizeof *yb);
    assert_memory_equal(indb, ((int64_t[]){1, 0}), 2 * sizeof *indb);
    assert_memory_equal(invb, ((int64_t[]){1, 0, 1}), sizeof invb);
    tg_free(t);
}

/* ---- DFT, STFT ---- */

/* [1, 2, 3, 4]: X = 10, -2+2i, -2, -2-2i; onesided keeps 3 bins; inverse of the full
 * spectrum gives the signal back. */
static void test_dft(void **state)
{
    (void)state;
    static const float x[] = {1, 2, 3, 4};
    struct tg *t = tg_new("DFT", 17, 1, 1);
    tg_in(t, 0, KILN_DTYPE_F32, 3, (int64_t[]){1, 4, 1}, x, 1);
    tg_int(t, "onesided", 1);
    float y[6];
    assert_int_equal(tg_run(t, y, NULL), KILN_STATUS_OK);
    assert_dims(t, 0, 3, (int64_t[]){1, 3, 2});
    assert_close(y, (float[]){10, 0, -2, 2, -2, 0}, 6, 1e-6f);
    tg_free(t);

    static const float spec[] = {10, 0, -2, 2, -2, 0, -2, -2};
    t = tg_new("DFT", 17, 1, 1);
    tg_in(t, 0, KILN_DTYPE_F32, 3, (int64_t[]){1, 4, 2}, spec, 1);
    tg_int(t, "inverse", 1);
    float z[8];
    assert_int_equal(tg_run(t, z, NULL), KILN_STATUS_OK);
    assert_close(z, (float[]){1, 0, 2, 0, 3, 0, 4, 0}, 8, 1e-6f);
    tg_free(t);
}

/* dft_length 2 cuts [1, 2, 3, 4] to [1, 2] (X = 3, -1); 6 pads it with zeros (X0 = 10);
 * a run-time dft_length is refused. Axis 0 of a [4, 1] input. */
static void test_dft_length(void **state)
{
    (void)state;
    static const float x[] = {1, 2, 3, 4};
    static const int64_t two = 2, six = 6;
    struct tg *t = tg_new("DFT", 17, 2, 1);
    tg_in(t, 0, KILN_DTYPE_F32, 2, (int64_t[]){4, 1}, x, 1);
    tg_in(t, 1, KILN_DTYPE_I64, 0, NULL, &two, 0);
    tg_int(t, "axis", 0);
    float y[4];
    assert_int_equal(tg_run(t, y, NULL), KILN_STATUS_OK);
    assert_dims(t, 0, 2, (int64_t[]){2, 2});
    assert_close(y, (float[]){3, 0, -1, 0}, 4, 1e-6f);
    tg_free(t);

    t = tg_new("DFT", 17, 2, 1);
    tg_in(t, 0, KILN_DTYPE_F32, 2, (int64_t[]){4, 1}, x, 1);
    tg_in(t, 1, KILN_DTYPE_I64, 0, NULL, &six, 0);
    tg_int(t, "axis", 0);
    float z[12];
    assert_int_equal(tg_run(t, z, NULL), KILN_STATUS_OK);
    assert_dims(t, 0, 2, (int64_t[]){6, 2});
    assert_close(z, (float[]){10, 0}, 2, 1e-6f);
    tg_free(t);

    t = tg_new("DFT", 17, 2, 1);
    tg_in(t, 0, KILN_DTYPE_F32, 2, (int64_t[]){4, 1}, x, 1);
    tg_in(t, 1, KILN_DTYPE_I64, 0, NULL, &six, 1);
    tg_int(t, "axis", 0);
    tg_expect_err(t, KILN_STATUS_UNSUPPORTED, "must be known at compile time");
    tg_free(t);

    t = tg_new("DFT", 17, 1, 1);
    tg_in(t, 0, KILN_DTYPE_F32, 2, (int64_t[]){4, 3}, x, 1);
    tg_expect_err(t, KILN_STATUS_INVALID_MODEL, "last dimension of 1 (real) or 2 (complex)");
    tg_free(t);
}

/* signal [1, 2, 3, 4], frames of 2 every 2 with window [1, 0.5]: [1, 1] -> (2, 0), (0, 0)...
 * bins: X0 = a + b, X1 = a - b. */
static void test_stft(void **state)
{
    (void)state;
    static const float x[] = {1, 2, 3, 4}, win[] = {1, 0.5f};
    static const int64_t step = 2, len = 2;
    struct tg *t = tg_new("STFT", 17, 4, 1);
    tg_in(t, 0, KILN_DTYPE_F32, 3, (int64_t[]){1, 4, 1}, x, 1);
    tg_in(t, 1, KILN_DTYPE_I64, 0, NULL, &step, 0);
    tg_in(t, 2, KILN_DTYPE_F32, 1, (int64_t[]){2}, win, 1);
    tg_in(t, 3, KILN_DTYPE_I64, 0, NULL, &len, 0);
    float y[8];
    assert_int_equal(tg_run(t, y, NULL), KILN_STATUS_OK);
    assert_dims(t, 0, 4, (int64_t[]){1, 2, 2, 2});
    /* frame [1, 2] * w = [1, 1]: 2, 0; frame [3, 4] * w = [3, 2]: 5, 1 */
    assert_close(y, (float[]){2, 0, 0, 0, 5, 0, 1, 0}, 8, 1e-6f);
    tg_free(t);

    t = tg_new("STFT", 17, 2, 1);
    tg_in(t, 0, KILN_DTYPE_F32, 3, (int64_t[]){1, 4, 1}, x, 1);
    tg_in(t, 1, KILN_DTYPE_I64, 0, NULL, &step, 0);
    tg_expect_err(t, KILN_STATUS_INVALID_MODEL, "needs a window or a frame_length");
    tg_free(t);
}

/* ---- windows, MelWeightMatrix ---- */

static void run_window(const char *op, int64_t size, int periodic, const double *want)
{
    struct tg *t = tg_new(op, 17, 1, 1);
    tg_in(t, 0, KILN_DTYPE_I64, 0, NULL, &size, 0);
    tg_int(t, "periodic", periodic);
    tg_int(t, "output_datatype", KILN_DTYPE_F64);
    double y[8];
    assert_int_equal(tg_run(t, y, NULL), KILN_STATUS_OK);
    assert_dims(t, 0, 1, &size);
    assert_int_equal(t->n->out[0]->dtype, KILN_DTYPE_F64);
    for (int64_t k = 0; k < size; k++)
        assert_float_equal(y[k], want[k], 1e-12);
    tg_free(t);
}

static void test_windows(void **state)
{
    (void)state;
    run_window("HannWindow", 4, 1, (double[]){0, 0.5, 1, 0.5});
    run_window("HannWindow", 3, 0, (double[]){0, 1, 0});
    run_window("HammingWindow", 3, 0, (double[]){4.0 / 46, 1, 4.0 / 46});
    run_window("BlackmanWindow", 4, 1, (double[]){0, 0.34, 1, 0.34});

    int64_t size = 4;
    struct tg *t = tg_new("HannWindow", 17, 1, 1);
    tg_in(t, 0, KILN_DTYPE_I64, 0, NULL, &size, 1);
    tg_expect_err(t, KILN_STATUS_UNSUPPORTED, "must be known at compile time");
    tg_free(t);
}

/* 2 mel bins, dft_length 8, 100 Hz, 0..50 Hz: the mel points fall on spectrogram bins
 * 0, 1, 2, 3 (1.10, 2.21, 3.35 before flooring), so each triangle is one peak. */
static void test_mel(void **state)
{
    (void)state;
    static const int64_t nm = 2, dl = 8, sr = 100;
    static const float lo = 0, hi = 50;
    struct tg *t = tg_new("MelWeightMatrix", 17, 5, 1);
    tg_in(t, 0, KILN_DTYPE_I64, 0, NULL, &nm, 0);
    tg_in(t, 1, KILN_DTYPE_I64, 0, NULL, &dl, 0);
    tg_in(t, 2, KILN_DTYPE_I64, 0, NULL, &sr, 0);
    tg_in(t, 3, KILN_DTYPE_F32, 0, NULL, &lo, 0);
    tg_in(t, 4, KILN_DTYPE_F32, 0, NULL, &hi, 0);
    float y[10];
    assert_int_equal(tg_run(t, y, NULL), KILN_STATUS_OK);
    assert_dims(t, 0, 2, (int64_t[]){5, 2});
    assert_close(y, (float[]){0, 0, 1, 0, 0, 1, 0, 0, 0, 0}, 10, 0);
    tg_free(t);

    t = tg_new("MelWeightMatrix", 17, 5, 1);
    tg_in(t, 0, KILN_DTYPE_I64, 0, NULL, &nm, 0);
    tg_in(t, 1, KILN_DTYPE_I64, 0, NULL, &dl, 0);
    tg_in(t, 2, KILN_DTYPE_I64, 0, NULL, &sr, 0);
    tg_in(t, 3, KILN_DTYPE_F32, 0, NULL, &hi, 0);
    tg_in(t, 4, KILN_DTYPE_F32, 0, NULL, &lo, 0);
    tg_expect_err(t, KILN_STATUS_INVALID_MODEL, "lower_edge_hertz < upper_edge_hertz");
    tg_free(t);
}

/* ---- Det ---- */

static void test_det(void **state)
{
    (void)state;
    /* needs a row swap (zero first pivot): det = -8; then a singular matrix: 0 */
    static const double x[] = {0, 2, 1, 1, 1, 0, 2, 0, 3, 1, 2, 3, 2, 4, 6, 0, 1, 1};
    struct tg *t = tg_new("Det", 11, 1, 1);
    tg_in(t, 0, KILN_DTYPE_F64, 3, (int64_t[]){2, 3, 3}, x, 1);
    double y[2];
    assert_int_equal(tg_run(t, y, NULL), KILN_STATUS_OK);
    assert_dims(t, 0, 1, (int64_t[]){2});
    assert_float_equal(y[0], -8.0, 1e-12);
    assert_float_equal(y[1], 0.0, 1e-12);
    tg_free(t);

    t = tg_new("Det", 11, 1, 1);
    tg_in(t, 0, KILN_DTYPE_F64, 2, (int64_t[]){2, 3}, x, 1);
    tg_expect_err(t, KILN_STATUS_INVALID_MODEL, "square matrices");
    tg_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nll_mean_weight), cmocka_unit_test(test_nll_none_ignore),
        cmocka_unit_test(test_nll_errors),      cmocka_unit_test(test_sce_sum_log_prob),
        cmocka_unit_test(test_sce_mean_weight), cmocka_unit_test(test_tfidf),
        cmocka_unit_test(test_tfidf_errors),    cmocka_unit_test(test_unique_flat),
        cmocka_unit_test(test_unique_axis),     cmocka_unit_test(test_dft),
        cmocka_unit_test(test_dft_length),      cmocka_unit_test(test_stft),
        cmocka_unit_test(test_windows),         cmocka_unit_test(test_mel),
        cmocka_unit_test(test_det),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
