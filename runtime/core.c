/* core.c - runtime basics shared by every kiln component: diagnostics and dtype facts. What
 * kernels call (element sizes, half-precision conversions) is in kernels/dtype.c, which the C
 * emitter copies. */
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

