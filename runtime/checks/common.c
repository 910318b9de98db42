/* common.c - the helpers the load-time checks of several op families share (check.h declares
 * them): broadcasting, saturating products, strided walks, axis and scratch checks, element
 * types. Linked with the first check a runtime holds; validate.c does not use them. */
#define KILN_CK_FILE "checks/common.c"
#include <math.h>

#include "check.h"

int kiln_ck_bcast_to(desc *x, int extra, desc *y)
{
    int xr = x->rank + extra;
    if (xr > y->rank)
        return 0;
    for (int i = 0; i < xr; i++) {
        int64_t xd = i < x->rank ? x->dims[i] : 1, yd = y->dims[y->rank - xr + i];
        if (xd != yd && xd != 1)
            return 0;
    }
    return 1;
}

uint64_t kiln_ck_prodc(const int64_t *d, int n)
{
    uint64_t r = 1;
    for (int i = 0; i < n; i++)
        r = mulc(r, (uint64_t)d[i]);
    return r;
}

int kiln_ck_strided_fits(const int64_t *dims, const int64_t *st, int rank, int64_t limit)
{
    uint64_t last = 0;
    int empty = 0;
    for (int i = 0; i < rank; i++) {
        if (dims[i] < 0 || dims[i] > MAX_ELEMS || st[i] < 0 || st[i] > MAX_ELEMS)
            return 0;
        uint64_t t = mulc((uint64_t)(dims[i] ? dims[i] - 1 : 0), (uint64_t)st[i]);
        if (t > (uint64_t)MAX_ELEMS)
            return 0;
        last += t;
        empty |= dims[i] == 0;
    }
    return empty || (last < (uint64_t)limit && last <= (uint64_t)MAX_ELEMS);
}

int kiln_ck_oai(struct kiln_vctx *v, const int64_t *oai, desc *x)
{
    int64_t n;
    if (oai[0] < 0 || oai[1] < 0 || oai[2] < 0 || __builtin_mul_overflow(oai[0], oai[1], &n) ||
        __builtin_mul_overflow(n, oai[2], &n) || n != numel(x) ||
        (oai[1] == 0 && oai[0] * oai[2] > 0))
        return BAD("outer %lld x axis %lld x inner %lld is not the input's %lld elements",
                   L(oai[0]), L(oai[1]), L(oai[2]), L(numel(x)));
    return 0;
}

int kiln_ck_axis(struct kiln_vctx *v, int64_t axis, int rank)
{
    if (axis < 0 || axis >= rank)
        return BAD("axis %lld for rank %d", L(axis), rank);
    return 0;
}

int kiln_ck_scratch(struct kiln_vctx *v, uint64_t need)
{
    if (v->n->scratch_size < need)
        return BAD("scratch of %llu bytes; the kernel uses %llu", U(v->n->scratch_size), U(need));
    return 0;
}

int kiln_ck_act(struct kiln_vctx *v, const struct kiln_act *a)
{
    if (a->kind < KILN_ACT_NONE || a->kind >= KILN_ACT_COUNT || a->reserved)
        return BAD("unknown fused activation %d", a->kind);
    return 0;
}

int kiln_ck_dtypes(struct kiln_vctx *v, int want, desc *a, desc *b, desc *c)
{
    desc *t[3] = {a, b, c};
    for (int i = 0; i < 3; i++)
        if (present(t[i]) && t[i]->dtype != want)
            return BAD("operand of type %s where the kernel handles %s",
                       kiln_dtype_name(t[i]->dtype), kiln_dtype_name(want));
    return 0;
}

int kiln_ck_ew_unary(struct kiln_vctx *v, int out_dt)
{
    if (kiln_ck_dtypes(v, v->kd, v->in[0], 0, 0) ||
        kiln_ck_dtypes(v, out_dt ? out_dt : v->kd, v->out[0], 0, 0))
        return 1;
    if (!same_shape(v->in[0], v->out[0]))
        return BAD("the output's shape differs from the input's");
    return 0;
}
