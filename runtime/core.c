/* core.c - runtime basics shared by every kiln component: diagnostics, dtype facts and the
 * half-precision conversions (IEEE binary16 and bfloat16, round to nearest even). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "kiln/kiln.h"

void kiln_diag_clear(struct kiln_diag *d)
{
    if (!d)
        return;
    memset(d, 0, sizeof *d);
    d->offset = -1;
}

enum kiln_status kiln_diag_set(struct kiln_diag *d, enum kiln_status st, const char *node,
                               const char *op, const char *fmt, ...)
{
    if (!d || d->status != KILN_STATUS_OK)
        return st;
    d->status = st;
    snprintf(d->node, sizeof d->node, "%s", node ? node : "");
    snprintf(d->op, sizeof d->op, "%s", op ? op : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->message, sizeof d->message, fmt, ap);
    va_end(ap);
    return st;
}

const char *kiln_status_name(enum kiln_status st)
{
    switch (st) {
    case KILN_STATUS_OK: return "ok";
    case KILN_STATUS_INVALID_ARG: return "invalid argument";
    case KILN_STATUS_IO: return "i/o error";
    case KILN_STATUS_PARSE: return "parse error";
    case KILN_STATUS_INVALID_MODEL: return "invalid model";
    case KILN_STATUS_UNSUPPORTED: return "unsupported";
    case KILN_STATUS_NO_MEMORY: return "out of memory";
    case KILN_STATUS_INTERNAL: return "internal error";
    }
    return "unknown status";
}

size_t kiln_dtype_size(int dtype)
{
    switch (dtype) {
#define KILN_DTYPE(E, code, s, ct, sz, nm) case code: return sz;
#include "kiln/dtypes.def"
#undef KILN_DTYPE
    default: return 0;
    }
}

const char *kiln_dtype_name(int dtype)
{
    switch (dtype) {
#define KILN_DTYPE(E, code, s, ct, sz, nm) case code: return nm;
#include "kiln/dtypes.def"
#undef KILN_DTYPE
    case 8: return "string";
    default: return "undefined";
    }
}

int kiln_dtype_is_float(int dtype)
{
    return dtype == KILN_DTYPE_F32 || dtype == KILN_DTYPE_F64 || dtype == KILN_DTYPE_F16 ||
           dtype == KILN_DTYPE_BF16;
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
