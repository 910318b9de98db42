/* test_opset18.c - the ops and forms of opsets 18-21 on one-node graphs: the refusals their
 * inference gives (GroupNormalization, Col2Im, CenterCropPad, blocked DequantizeLinear,
 * QuantizeLinear's output_dtype, Resize-18/19, the Bitwise ops' types, Cast to float8) and
 * values worked by hand (Mish, Cast to int4, blocked dequantization, float8 decoding). tests/data/opset18 holds the models that
 * compare the same ops with ONNX Runtime. */
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
#include "ops/ops.h"

#include "graph_harness.h"

static const float x24[24] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
                              13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24};

/* GroupNormalization: num_groups must divide C; opset 18's scale is per group, 21's per
 * channel */
static void test_group_norm_refusals(void **state)
{
    (void)state;
    static const float s4[] = {1, 1, 1, 1}, s2[] = {1, 1};
    struct tg *t = tg_new("GroupNormalization", 18, 3, 1);
    tg_in(t, 0, KILN_DTYPE_F32, 3, (int64_t[]){1, 4, 6}, x24, 1);
    tg_in(t, 1, KILN_DTYPE_F32, 1, (int64_t[]){2}, s2, 0);
    tg_in(t, 2, KILN_DTYPE_F32, 1, (int64_t[]){2}, s2, 0);
    tg_int(t, "num_groups", 3);
    tg_expect_err(t, KILN_STATUS_INVALID_MODEL, "num_groups 3 does not divide the 4 channels");
    tg_free(t);

    t = tg_new("GroupNormalization", 18, 3, 1);
    tg_in(t, 0, KILN_DTYPE_F32, 3, (int64_t[]){1, 4, 6}, x24, 1);
    tg_in(t, 1, KILN_DTYPE_F32, 1, (int64_t[]){4}, s4, 0);
    tg_in(t, 2, KILN_DTYPE_F32, 1, (int64_t[]){4}, s4, 0);
    tg_int(t, "num_groups", 2);
    tg_expect_err(t, KILN_STATUS_INVALID_MODEL, "has 4 elements; expected 2");
    tg_free(t);

    /* opset 21 with scale 1 and bias 0: each group of 12 values normalised to mean 0 */
    t = tg_new("GroupNormalization", 21, 3, 1);
    static const float zero4[] = {0, 0, 0, 0};
    tg_in(t, 0, KILN_DTYPE_F32, 3, (int64_t[]){1, 4, 6}, x24, 1);
    tg_in(t, 1, KILN_DTYPE_F32, 1, (int64_t[]){4}, s4, 0);
    tg_in(t, 2, KILN_DTYPE_F32, 1, (int64_t[]){4}, zero4, 0);
    tg_int(t, "num_groups", 2);
    tg_float(t, "epsilon", 0);
    float y[24];
    assert_int_equal(tg_run(t, y, NULL), KILN_STATUS_OK);
    /* 1..12: mean 6.5, variance (12^2 - 1) / 12 */
    float sd = sqrtf(143.0f / 12.0f);
    assert_float_equal(y[0], (1 - 6.5f) / sd, 1e-5);
    assert_float_equal(y[23], (24 - 18.5f) / sd, 1e-5);
    tg_free(t);
}

/* Col2Im: the columns must match the blocks the image, pads and strides give */
static void test_col2im_refusal(void **state)
{
    (void)state;
    static const int64_t img[] = {3, 3}, blk[] = {2, 2};
    struct tg *t = tg_new("Col2Im", 18, 3, 1);
    tg_in(t, 0, KILN_DTYPE_F32, 3, (int64_t[]){1, 4, 5}, x24, 1);
    tg_in(t, 1, KILN_DTYPE_I64, 1, (int64_t[]){2}, img, 0);
    tg_in(t, 2, KILN_DTYPE_I64, 1, (int64_t[]){2}, blk, 0);
    tg_expect_err(t, KILN_STATUS_INVALID_MODEL, "the blocks need a multiple of 4 rows and 4");
    tg_free(t);

    /* one channel, 2x2 blocks over 3x3: the centre is covered by all four blocks */
    static const float ones[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    t = tg_new("Col2Im", 18, 3, 1);
    tg_in(t, 0, KILN_DTYPE_F32, 3, (int64_t[]){1, 4, 4}, ones, 1);
    tg_in(t, 1, KILN_DTYPE_I64, 1, (int64_t[]){2}, img, 0);
    tg_in(t, 2, KILN_DTYPE_I64, 1, (int64_t[]){2}, blk, 0);
    float y[9];
    assert_int_equal(tg_run(t, y, NULL), KILN_STATUS_OK);
    assert_close(y, (float[]){1, 2, 1, 2, 4, 2, 1, 2, 1}, 9, 0);
    tg_free(t);
}

/* CenterCropPad: a repeated axis is refused; crop 5 -> 2 keeps elements 1, 2 */
static void test_center_crop_pad(void **state)
{
    (void)state;
    static const int64_t s2[] = {2, 2}, s1[] = {2}, ax2[] = {0, 0};
    struct tg *t = tg_new("CenterCropPad", 18, 2, 1);
    tg_in(t, 0, KILN_DTYPE_F32, 2, (int64_t[]){2, 5}, x24, 1);
    tg_in(t, 1, KILN_DTYPE_I64, 1, (int64_t[]){2}, s2, 0);
    tg_ints(t, "axes", 2, ax2);
    tg_expect_err(t, KILN_STATUS_INVALID_MODEL, "axis 0 is repeated");
    tg_free(t);

    t = tg_new("CenterCropPad", 18, 2, 1);
    tg_in(t, 0, KILN_DTYPE_F32, 2, (int64_t[]){2, 5}, x24, 1);
    tg_in(t, 1, KILN_DTYPE_I64, 1, (int64_t[]){1}, s1, 0);
    tg_ints(t, "axes", 1, (int64_t[]){-1});
    float y[4];
    assert_int_equal(tg_run(t, y, NULL), KILN_STATUS_OK);
    assert_close(y, (float[]){2, 3, 7, 8}, 4, 0);
    tg_free(t);
}

/* DequantizeLinear-21 blocked: scale [2, 2] for x [2, 3] in blocks of 2 along axis 1 (the
 * last block one element); a scale of the wrong shape is refused */
static void test_dequantize_blocked(void **state)
{
    (void)state;
    static const int8_t q[] = {1, 2, 3, -4, -5, 6};
    static const float s[] = {1, 10, 100, 1000}, s_bad[] = {1, 2, 3};
    struct tg *t = tg_new("DequantizeLinear", 21, 2, 1);
    tg_in(t, 0, KILN_DTYPE_I4, 2, (int64_t[]){2, 3}, q, 1);
    tg_in(t, 1, KILN_DTYPE_F32, 2, (int64_t[]){2, 2}, s, 0);
    tg_int(t, "axis", 1);
    tg_int(t, "block_size", 2);
    float y[6];
    assert_int_equal(tg_run(t, y, NULL), KILN_STATUS_OK);
    assert_close(y, (float[]){1, 2, 30, -400, -500, 6000}, 6, 0);
    tg_free(t);

    t = tg_new("DequantizeLinear", 21, 2, 1);
    tg_in(t, 0, KILN_DTYPE_I4, 2, (int64_t[]){2, 3}, q, 1);
    tg_in(t, 1, KILN_DTYPE_F32, 2, (int64_t[]){1, 3}, s_bad, 0);
    tg_int(t, "axis", 1);
    tg_int(t, "block_size", 2);
    tg_expect_err(t, KILN_STATUS_INVALID_MODEL, "axis 1 in blocks of 2");
    tg_free(t);
}

/* QuantizeLinear-21: output_dtype picks int4 without a zero point (saturating to [-8, 7]);
 * it must agree with a zero point's type */
static void test_quantize_output_dtype(void **state)
{
    (void)state;
    static const float x[] = {-20, -3.4f, 2.5f, 9};
    static const float s[] = {1};
    static const uint8_t z[] = {0};
    struct tg *t = tg_new("QuantizeLinear", 21, 2, 1);
    tg_in(t, 0, KILN_DTYPE_F32, 1, (int64_t[]){4}, x, 1);
    tg_in(t, 1, KILN_DTYPE_F32, 0, NULL, s, 0);
    tg_int(t, "output_dtype", KILN_DTYPE_I4);
    int8_t y[4];
    assert_int_equal(tg_run(t, y, NULL), KILN_STATUS_OK);
    assert_int_equal(t->n->out[0]->dtype, KILN_DTYPE_I4);
    assert_memory_equal(y, ((int8_t[]){-8, -3, 2, 7}), 4);
    tg_free(t);

    t = tg_new("QuantizeLinear", 21, 3, 1);
    tg_in(t, 0, KILN_DTYPE_F32, 1, (int64_t[]){4}, x, 1);
    tg_in(t, 1, KILN_DTYPE_F32, 0, NULL, s, 0);
    tg_in(t, 2, KILN_DTYPE_U8, 0, NULL, z, 0);
    tg_int(t, "output_dtype", KILN_DTYPE_I4);
    tg_expect_err(t, KILN_STATUS_INVALID_MODEL, "does not match the zero point's type");
    tg_free(t);
}

/* Cast to int4 rounds half to even and keeps the low 4 bits (as ONNX Runtime does) */
static void test_cast_int4(void **state)
{
    (void)state;
    static const float x[] = {-9.8f, 7.6f, 2.5f, -3};
    struct tg *t = tg_new("Cast", 21, 1, 1);
    tg_in(t, 0, KILN_DTYPE_F32, 1, (int64_t[]){4}, x, 1);
    tg_int(t, "to", KILN_DTYPE_I4);
    int8_t y[4];
    assert_int_equal(tg_run(t, y, NULL), KILN_STATUS_OK);
    assert_memory_equal(y, ((int8_t[]){6, -8, 2, -3}), 4);
    tg_free(t);
}

/* float8 decodes exactly (largest finite values, a subnormal, NaN and the FNUZ forms' 0x80);
 * a Cast to float8 is refused naming the type */
static void test_float8(void **state)
{
    (void)state;
    assert_float_equal(kiln_f8_to_f32(0x7e, KILN_DTYPE_F8E4M3FN), 448, 0);
    assert_float_equal(kiln_f8_to_f32(0x01, KILN_DTYPE_F8E4M3FN), 1.0 / 512, 0);
    assert_true(isnan(kiln_f8_to_f32(0x7f, KILN_DTYPE_F8E4M3FN)));
    assert_float_equal(kiln_f8_to_f32(0x7f, KILN_DTYPE_F8E4M3FNUZ), 240, 0);
    assert_true(isnan(kiln_f8_to_f32(0x80, KILN_DTYPE_F8E4M3FNUZ)));
    assert_float_equal(kiln_f8_to_f32(0x7b, KILN_DTYPE_F8E5M2), 57344, 0);
    assert_true(isinf(kiln_f8_to_f32(0xfc, KILN_DTYPE_F8E5M2)));
    assert_float_equal(kiln_f8_to_f32(0xbc, KILN_DTYPE_F8E5M2), -1, 0);
    assert_float_equal(kiln_f8_to_f32(0xbc, KILN_DTYPE_F8E5M2FNUZ), -0.5, 0); /* bias 16 */
    assert_true(isnan(kiln_f8_to_f32(0x80, KILN_DTYPE_F8E5M2FNUZ)));

    static const float x[] = {1, 2};
    struct tg *t = tg_new("Cast", 19, 1, 1);
    tg_in(t, 0, KILN_DTYPE_F32, 1, (int64_t[]){2}, x, 1);
    tg_int(t, "to", KILN_DTYPE_F8E5M2);
    tg_expect_err(t, KILN_STATUS_UNSUPPORTED, "casting to float8e5m2 is not implemented");
    tg_free(t);
}

/* ConstantOfShape-20/21 with an int4 and a float8 value (ONNX Runtime 1.30 runs neither, so
 * no model of tests/data/opset18 has them): the value's element repeated, the float8 bits kept */
static void test_constant_of_shape_new_types(void **state)
{
    (void)state;
    static const int64_t shape[] = {3};
    static const struct {
        int dtype;
        uint8_t value;
    } cases[] = {{KILN_DTYPE_I4, 0xfd}, {KILN_DTYPE_U4, 0x0c}, {KILN_DTYPE_F8E5M2, 0x3d}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        struct tg *t = tg_new("ConstantOfShape", 21, 1, 1);
        tg_in(t, 0, KILN_DTYPE_I64, 1, (int64_t[]){1}, shape, 0);
        struct kiln_ir_attr *a = tg_attr(t, "value", KILN_ATTR_TENSOR);
        a->t = kiln_ir_value_detached(t->g, "v");
        a->t->dtype = cases[k].dtype;
        a->t->rank = 1;
        a->t->dims[0] = 1;
        a->t->data = &cases[k].value;
        uint8_t y[3];
        assert_int_equal(tg_infer(t), KILN_STATUS_OK);
        assert_int_equal(t->n->out[0]->dtype, cases[k].dtype);
        memcpy(y, t->n->out[0]->data, 3); /* evaluated at compile time */
        for (int i = 0; i < 3; i++)
            assert_int_equal(y[i], cases[k].value);
        tg_free(t);
    }
}

/* Resize-18/19: antialias where it would change a downscale, a repeated axis, and
 * half_pixel_symmetric before opset 19 are refused */
static void test_resize_refusals(void **state)
{
    (void)state;
    static const float half[] = {0.5f}, two[] = {2};
    static const struct {
        int opset;
        const char *attr, *value;
        const float *scale;
        const char *err;
    } cases[] = {
        {18, "antialias", NULL, half, "antialias=1 when downscaling (axis 1, scale 0.5)"},
        {18, "coordinate_transformation_mode", "half_pixel_symmetric", two,
         "unknown coordinate_transformation_mode 'half_pixel_symmetric' at opset 18"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        struct tg *t = tg_new("Resize", cases[k].opset, 3, 1);
        tg_in(t, 0, KILN_DTYPE_F32, 2, (int64_t[]){2, 4}, x24, 1);
        t->n->in[1] = NULL;
        tg_in(t, 2, KILN_DTYPE_F32, 1, (int64_t[]){1}, cases[k].scale, 0);
        tg_ints(t, "axes", 1, (int64_t[]){1});
        tg_str(t, "mode", "linear");
        if (cases[k].value)
            tg_str(t, cases[k].attr, cases[k].value);
        else
            tg_int(t, cases[k].attr, 1);
        tg_expect_err(t, cases[k].opset == 18 && !cases[k].value ? KILN_STATUS_UNSUPPORTED
                                                                 : KILN_STATUS_INVALID_MODEL,
                      cases[k].err);
        tg_free(t);
    }
    struct tg *t = tg_new("Resize", 18, 3, 1);
    tg_in(t, 0, KILN_DTYPE_F32, 2, (int64_t[]){2, 4}, x24, 1);
    t->n->in[1] = NULL;
    tg_in(t, 2, KILN_DTYPE_F32, 1, (int64_t[]){2}, (float[]){2, 2}, 0);
    tg_ints(t, "axes", 2, (int64_t[]){1, -1});
    tg_expect_err(t, KILN_STATUS_INVALID_MODEL, "axis 1 is repeated");
    tg_free(t);
}

/* Mish by its definition; the Bitwise ops take integers only */
static void test_mish_bitwise(void **state)
{
    (void)state;
    static const float x[] = {-3, -0.5f, 0, 2, 40};
    struct tg *t = tg_new("Mish", 18, 1, 1);
    tg_in(t, 0, KILN_DTYPE_F32, 1, (int64_t[]){5}, x, 1);
    float y[5];
    assert_int_equal(tg_run(t, y, NULL), KILN_STATUS_OK);
    for (int i = 0; i < 5; i++)
        assert_float_equal(y[i], x[i] * tanh(log1p(exp((double)x[i]))), 1e-6);
    tg_free(t);

    t = tg_new("BitwiseAnd", 18, 2, 1);
    tg_in(t, 0, KILN_DTYPE_F32, 1, (int64_t[]){5}, x, 1);
    tg_in(t, 1, KILN_DTYPE_F32, 1, (int64_t[]){5}, x, 1);
    tg_expect_err(t, KILN_STATUS_INVALID_MODEL, "float32");
    tg_free(t);

    static const uint16_t a[] = {0xf0f0, 0x1234}, b[] = {0x0ff0};
    t = tg_new("BitwiseXor", 18, 2, 1);
    tg_in(t, 0, KILN_DTYPE_U16, 1, (int64_t[]){2}, a, 1);
    tg_in(t, 1, KILN_DTYPE_U16, 1, (int64_t[]){1}, b, 1);
    uint16_t z[2];
    assert_int_equal(tg_run(t, z, NULL), KILN_STATUS_OK);
    assert_int_equal(z[0], 0xff00);
    assert_int_equal(z[1], 0x1dc4);
    tg_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_group_norm_refusals), cmocka_unit_test(test_col2im_refusal),
        cmocka_unit_test(test_center_crop_pad),     cmocka_unit_test(test_dequantize_blocked),
        cmocka_unit_test(test_quantize_output_dtype), cmocka_unit_test(test_cast_int4),
        cmocka_unit_test(test_resize_refusals),     cmocka_unit_test(test_mish_bitwise),
        cmocka_unit_test(test_float8),             cmocka_unit_test(test_constant_of_shape_new_types),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
