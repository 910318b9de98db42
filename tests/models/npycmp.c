/* npycmp.c - compares two .npy files for the model tests and `make demo`:
 *   npycmp [--rtol R] [--atol A] [--quiet] ACTUAL.npy EXPECTED.npy
 * Dtype and shape must match. Floats pass when every element has |a-b| <= atol + rtol*|b|
 * (NaN matches NaN, inf matches the same inf); max abs and max relative error are reported.
 * Integers and bool must be equal. Exit 0 on match, 1 on mismatch, 2 on usage or read errors. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "npy.h"

static double as_double(const void *p, int dt, int64_t i)
{
    switch (dt) {
    case KILN_DTYPE_F32: return ((const float *)p)[i];
    case KILN_DTYPE_F64: return ((const double *)p)[i];
    case KILN_DTYPE_F16: return kiln_f16_to_f32(((const uint16_t *)p)[i]);
    case KILN_DTYPE_BF16: return kiln_bf16_to_f32(((const uint16_t *)p)[i]);
    default: return 0;
    }
}

static void shape_str(const struct kiln_host_tensor *t, char *buf, size_t size)
{
    size_t o = (size_t)snprintf(buf, size, "[");
    for (int i = 0; i < t->rank && o < size; i++)
        o += (size_t)snprintf(buf + o, size - o, "%s%lld", i ? "," : "", (long long)t->dims[i]);
    if (o < size)
        snprintf(buf + o, size - o, "]");
}

static int parse_tol(const char *opt, const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= 0)) {
        fprintf(stderr, "npycmp: %s wants a number >= 0, got '%s'\n", opt, s);
        return 0;
    }
    *out = v;
    return 1;
}

static int usage(void)
{
    fprintf(stderr, "usage: npycmp [--rtol R] [--atol A] [--quiet] ACTUAL.npy EXPECTED.npy\n"
                    "  floats pass when |a-b| <= atol + rtol*|b| (defaults rtol 1e-4, atol 1e-5);\n"
                    "  integers and bool must be equal. Exit 0 match, 1 mismatch, 2 error.\n");
    return 2;
}

/* Float comparison; returns the number of elements out of tolerance. */
static int64_t compare_float(const struct kiln_host_tensor *a, const struct kiln_host_tensor *b,
                             int64_t n, double rtol, double atol, int quiet)
{
    double max_abs = 0, max_rel = 0;
    int64_t bad = 0, first_bad = -1, worst = -1;
    for (int64_t i = 0; i < n; i++) {
        double x = as_double(a->data, a->dtype, i), y = as_double(b->data, b->dtype, i);
        if ((isnan(x) && isnan(y)) || (isinf(y) && x == y))
            continue;
        double err = fabs(x - y);
        if (isnan(err))
            err = INFINITY; /* one side NaN: the worst error there is */
        if (err > max_abs || worst < 0) {
            if (err > max_abs)
                max_abs = err;
            worst = i;
        }
        if (y != 0 && err / fabs(y) > max_rel)
            max_rel = err / fabs(y);
        if (!(err <= atol + rtol * fabs(y))) {
            if (first_bad < 0)
                first_bad = i;
            bad++;
        }
    }
    if (!quiet || bad)
        printf("max abs err %.3g, max rel err %.3g (rtol %g, atol %g)\n", max_abs, max_rel, rtol,
               atol);
    if (bad) {
        printf("%lld of %lld elements out of tolerance; first at flat index %lld: %.9g, "
               "expected %.9g\n",
               (long long)bad, (long long)n, (long long)first_bad,
               as_double(a->data, a->dtype, first_bad), as_double(b->data, b->dtype, first_bad));
        if (worst >= 0 && worst != first_bad)
            printf("largest error at flat index %lld: %.9g, expected %.9g\n", (long long)worst,
                   as_double(a->data, a->dtype, worst), as_double(b->data, b->dtype, worst));
    }
    return bad;
}

/* Exact comparison of integer and bool data, element by element. */
static int64_t compare_exact(const struct kiln_host_tensor *a, const struct kiln_host_tensor *b,
                             int64_t n, int quiet)
{
    size_t es = kiln_dtype_size(a->dtype);
    int64_t bad = 0, first_bad = -1;
    for (int64_t i = 0; i < n; i++) {
        if (memcmp((const char *)a->data + i * es, (const char *)b->data + i * es, es) != 0) {
            if (first_bad < 0)
                first_bad = i;
            bad++;
        }
    }
    if (!bad) {
        if (!quiet)
            printf("all %lld elements equal\n", (long long)n);
        return 0;
    }
    /* Show the first difference as raw little-endian integers (sign-less, good enough). */
    unsigned long long x = 0, y = 0;
    memcpy(&x, (const char *)a->data + first_bad * es, es < 8 ? es : 8);
    memcpy(&y, (const char *)b->data + first_bad * es, es < 8 ? es : 8);
    printf("%lld of %lld elements differ; first at flat index %lld: 0x%llx, expected 0x%llx\n",
           (long long)bad, (long long)n, (long long)first_bad, x, y);
    return bad;
}

int main(int argc, char **argv)
{
    double rtol = 1e-4, atol = 1e-5;
    int quiet = 0;
    const char *paths[2];
    int np = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--rtol") || !strcmp(argv[i], "--atol")) {
            if (i + 1 >= argc)
                return usage();
            if (!parse_tol(argv[i], argv[i + 1], argv[i][2] == 'r' ? &rtol : &atol))
                return 2;
            i++;
        } else if (!strcmp(argv[i], "--quiet") || !strcmp(argv[i], "-q")) {
            quiet = 1;
        } else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage();
            return 0;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "npycmp: unknown option '%s'\n", argv[i]);
            return usage();
        } else if (np < 2) {
            paths[np++] = argv[i];
        } else {
            return usage();
        }
    }
    if (np != 2)
        return usage();

    struct kiln_host_tensor t[2];
    memset(t, 0, sizeof t);
    int rc = 2;
    for (int k = 0; k < 2; k++) {
        struct kiln_diag d;
        kiln_diag_clear(&d);
        if (kiln_npy_read(paths[k], &t[k], &d) != KILN_STATUS_OK) {
            fprintf(stderr, "npycmp: error: %s: %s\n", paths[k], d.message);
            goto out;
        }
    }

    char sa[160], sb[160];
    shape_str(&t[0], sa, sizeof sa);
    shape_str(&t[1], sb, sizeof sb);
    if (!quiet)
        printf("npycmp: %s vs %s: %s %s\n", paths[0], paths[1], kiln_dtype_name(t[1].dtype), sb);
    rc = 1;
    if (t[0].dtype != t[1].dtype) {
        printf("FAIL: dtype %s, expected %s\n", kiln_dtype_name(t[0].dtype),
               kiln_dtype_name(t[1].dtype));
        goto out;
    }
    if (strcmp(sa, sb) != 0) {
        printf("FAIL: shape %s, expected %s\n", sa, sb);
        goto out;
    }
    int64_t n = 1;
    for (int i = 0; i < t[1].rank; i++)
        n *= t[1].dims[i];
    int64_t bad = kiln_dtype_is_float(t[1].dtype) ? compare_float(&t[0], &t[1], n, rtol, atol, quiet)
                                                  : compare_exact(&t[0], &t[1], n, quiet);
    if (bad) {
        printf("FAIL: %s differs from %s\n", paths[0], paths[1]);
    } else {
        if (!quiet)
            printf("PASS\n");
        rc = 0;
    }
out:
    kiln_host_tensor_free(&t[0]);
    kiln_host_tensor_free(&t[1]);
    return rc;
}
