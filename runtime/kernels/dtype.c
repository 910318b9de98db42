/* dtype.c - the runtime helpers kernels call: element sizes, element counts and the
 * half-precision conversions (IEEE binary16 and bfloat16, round to nearest even). Kept apart
 * from core.c (diagnostics, stdio) because the C emitter copies this file into emitted code,
 * renaming its functions with the model's prefix. No kernels here. */
#include <string.h>

#include "kernels.h"

size_t kiln_dtype_size(int dtype)
{
    switch (dtype) {
#define KILN_DTYPE(E, code, s, ct, sz, nm) case code: return sz;
#include "kiln/dtypes.def"
#undef KILN_DTYPE
    default: return 0;
    }
}

int64_t kiln_tensor_numel(const struct kiln_tensor *t)
{
    int64_t n = 1;
    for (int i = 0; i < t->rank; i++)
        n *= t->dims[i];
    return n;
}

static uint32_t f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static float bits_f32(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

float kiln_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f;
    uint32_t man = h & 0x3ff;
    if (exp == 0x1f) /* inf / nan */
        return bits_f32(sign | 0x7f800000u | (man << 13));
    if (exp == 0) { /* zero / subnormal: man * 2^-24 */
        float v = (float)man * 5.9604644775390625e-8f;
        return sign ? -v : v;
    }
    return bits_f32(sign | ((exp + 112) << 23) | (man << 13));
}

uint16_t kiln_f32_to_f16(float f)
{
    uint32_t u = f32_bits(f);
    uint16_t sign = (uint16_t)((u >> 16) & 0x8000);
    uint32_t exp = (u >> 23) & 0xff;
    uint32_t man = u & 0x7fffff;
    if (exp == 0xff)
        return (uint16_t)(sign | 0x7c00 | (man ? 0x200 | (man >> 13) : 0));
    int32_t e = (int32_t)exp - 127 + 15;
    if (e >= 0x1f)
        return (uint16_t)(sign | 0x7c00);
    if (e <= 0) { /* subnormal or zero in half */
        if (e < -10)
            return sign;
        man |= 0x800000;
        uint32_t shift = (uint32_t)(14 - e);
        uint32_t half = man >> shift;
        uint32_t rem = man & ((1u << shift) - 1);
        uint32_t mid = 1u << (shift - 1);
        if (rem > mid || (rem == mid && (half & 1)))
            half++;
        return (uint16_t)(sign | half);
    }
    uint32_t half = ((uint32_t)e << 10) | (man >> 13);
    uint32_t rem = man & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (half & 1)))
        half++; /* may carry into the exponent, which rounds up to inf correctly */
    return (uint16_t)(sign | half);
}

/* float8 (ONNX's four forms): E4M3 with bias 7 (FN: no infinities, S.1111.111 is NaN) or 8
 * (FNUZ), E5M2 with bias 15 (IEEE-like: infinities and NaNs) or 16 (FNUZ); the FNUZ forms have
 * no negative zero, 0x80 is their NaN. */
float kiln_f8_to_f32(uint8_t v, int dtype)
{
    int e4 = dtype == KILN_DTYPE_F8E4M3FN || dtype == KILN_DTYPE_F8E4M3FNUZ;
    int fnuz = dtype == KILN_DTYPE_F8E4M3FNUZ || dtype == KILN_DTYPE_F8E5M2FNUZ;
    int mbits = e4 ? 3 : 2, emax = e4 ? 15 : 31;
    int bias = (e4 ? 7 : 15) + fnuz;
    int e = (v & 0x7f) >> mbits, m = v & ((1 << mbits) - 1);
    uint32_t sign = v & 0x80 ? 0x80000000u : 0;
    if ((fnuz && v == 0x80) || (dtype == KILN_DTYPE_F8E4M3FN && e == emax && m == 7) ||
        (dtype == KILN_DTYPE_F8E5M2 && e == emax && m))
        return bits_f32(0x7fc00000u); /* NaN */
    if (dtype == KILN_DTYPE_F8E5M2 && e == emax)
        return bits_f32(sign | 0x7f800000u);
    if (e == 0) /* subnormal: m * 2^(1 - bias - mbits), exact in float */
        return bits_f32(sign | (uint32_t)(127 + 1 - bias - mbits) << 23) * (float)m;
    return bits_f32(sign | (uint32_t)(e - bias + 127) << 23 | (uint32_t)m << (23 - mbits));
}

float kiln_bf16_to_f32(uint16_t h)
{
    return bits_f32((uint32_t)h << 16);
}

uint16_t kiln_f32_to_bf16(float f)
{
    uint32_t u = f32_bits(f);
    if ((u & 0x7fffffff) > 0x7f800000)
        return (uint16_t)((u >> 16) | 0x40); /* quiet nan */
    u += 0x7fff + ((u >> 16) & 1);
    return (uint16_t)(u >> 16);
}
