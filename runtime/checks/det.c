/* det.c - load-time check of Det (kernel det.c). */
#define KILN_CK_FILE "checks/det.c"
#include "check.h"

/* Det: [..., M, M] in, the leading axes out; one M x M double matrix of scratch. */
static int check_det(struct kiln_vctx *v)
{
    desc *x = v->in[0], *y = v->out[0];
    int r = x->rank;
    if (kiln_ck_dtypes(v, v->kd, x, y, NULL))
        return 1;
    if (r < 2 || x->dims[r - 1] != x->dims[r - 2] || y->rank != r - 2)
        return BAD("the input must be [..., M, M] and the output its leading axes");
    for (int i = 0; i < r - 2; i++)
        if (y->dims[i] != x->dims[i])
            return BAD("output axis %d has %lld, the input %lld", i, L(y->dims[i]),
                       L(x->dims[i]));
    uint64_t m = (uint64_t)x->dims[r - 1];
    return kiln_ck_scratch(v, mulc(mulc(m, m), sizeof(double)));
}

/* ---- the ops' checks (kiln_oc_<op>, reached through their kernel lists) ---- */

KILN_CHECK(det, check_det, 0);
