/* emitc_tool.c - helpers for the emitted-C tests (tests/emitc/test_emitc.sh, which emits with
 * `kiln compile --emit c`):
 *   emitc_tool same A.npy B.npy     exit 0 when dtype, shape and every byte agree
 *   emitc_tool topy IN.pb OUT.npy   an ONNX TensorProto (conformance test data) as .npy, for the
 *                                   emitted NAME_main.c that reads .npy only
 * Exit codes: 0 ok, 1 failure (message on stderr), 2 usage. */
#include <stdio.h>
#include <string.h>

#include "compiler.h"
#include "npy.h"

static int fail(const struct kiln_diag *d)
{
    fprintf(stderr, "emitc_tool: error: %s%s%s%s%s\n", d->file[0] ? d->file : "",
            d->file[0] ? ": " : "", d->node[0] ? d->node : "", d->node[0] ? ": " : "",
            d->message);
    return 1;
}

static int same(const char *a, const char *b)
{
    struct kiln_host_tensor x = {0}, y = {0};
    struct kiln_diag d;
    kiln_diag_clear(&d);
    int rc = 0;
    if (kiln_npy_read(a, &x, &d) || kiln_npy_read(b, &y, &d)) {
        rc = fail(&d);
    } else if (x.dtype != y.dtype || x.rank != y.rank ||
               memcmp(x.dims, y.dims, sizeof x.dims[0] * (size_t)x.rank) != 0 ||
               x.nbytes != y.nbytes || (x.nbytes && memcmp(x.data, y.data, x.nbytes) != 0)) {
        fprintf(stderr, "emitc_tool: %s and %s differ\n", a, b);
        rc = 1;
    }
    kiln_host_tensor_free(&x);
    kiln_host_tensor_free(&y);
    return rc;
}

static int topy(const char *pb, const char *npy)
{
    struct kiln_host_tensor t = {0};
    struct kiln_diag d;
    kiln_diag_clear(&d);
    int rc = 0;
    if (kiln_onnx_read_tensor_pb(pb, &t, &d) ||
        kiln_npy_write(npy, t.dtype, t.rank, t.dims, t.data, &d))
        rc = fail(&d);
    kiln_host_tensor_free(&t);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "same") == 0)
        return same(argv[2], argv[3]);
    if (argc == 4 && strcmp(argv[1], "topy") == 0)
        return topy(argv[2], argv[3]);
    fprintf(stderr, "usage: emitc_tool same A.npy B.npy\n"
                    "       emitc_tool topy IN.pb OUT.npy\n");
    return 2;
}
