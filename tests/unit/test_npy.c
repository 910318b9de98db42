/* test_npy.c - the .npy reader and writer: round trips for every dtype, the header variants
 * numpy writes (versions 2.0 and 3.0, '|i1'/'<u1' spellings, scalars, empty arrays), the
 * refusals (Fortran order, big-endian, objects, structured, truncation, garbage) and atomic
 * writes that leave nothing behind on failure. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "npy.h"

static char tmpdir[256];

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/kiln_test_npy_XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    DIR *dir = opendir(tmpdir);
    struct dirent *e;
    char p[512];
    while (dir && (e = readdir(dir))) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(p, sizeof p, "%s/%s", tmpdir, e->d_name);
        unlink(p);
    }
    if (dir)
        closedir(dir);
    return rmdir(tmpdir);
}

static int count_files(const char *path)
{
    DIR *dir = opendir(path);
    int n = 0;
    struct dirent *e;
    while (dir && (e = readdir(dir)))
        n += e->d_name[0] != '.';
    if (dir)
        closedir(dir);
    return n;
}

/* Builds a .npy image: magic, version, header dict (padded to 64 with '\n'), data. */
static size_t build(uint8_t *out, int major, const char *dict, const void *data, size_t nb)
{
    size_t lenb = major == 1 ? 2 : 4, pre = 8 + lenb, dl = strlen(dict);
    size_t total = (pre + dl + 1 + 63) / 64 * 64, hl = total - pre;
    memcpy(out, "\x93NUMPY", 6);
    out[6] = (uint8_t)major;
    out[7] = 0;
    for (size_t i = 0; i < lenb; i++)
        out[8 + i] = (uint8_t)(hl >> (8 * i));
    memcpy(out + pre, dict, dl);
    memset(out + pre + dl, ' ', total - pre - dl - 1);
    out[total - 1] = '\n';
    if (nb)
        memcpy(out + total, data, nb);
    return total + nb;
}

static enum kiln_status read_buf(const uint8_t *b, size_t n, struct kiln_host_tensor *t,
                                 struct kiln_diag *d)
{
    kiln_diag_clear(d);
    return kiln_npy_read_buffer(b, n, "mem.npy", t, d);
}

static void test_roundtrip_every_dtype(void **state)
{
    (void)state;
    static const int dtypes[] = {KILN_DTYPE_F32, KILN_DTYPE_F64, KILN_DTYPE_F16, KILN_DTYPE_I8,
                                 KILN_DTYPE_I16, KILN_DTYPE_I32, KILN_DTYPE_I64, KILN_DTYPE_U8,
                                 KILN_DTYPE_U16, KILN_DTYPE_U32, KILN_DTYPE_U64, KILN_DTYPE_BOOL};
    uint8_t data[2 * 3 * 8];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 37 + 1);
    for (size_t k = 0; k < sizeof dtypes / sizeof dtypes[0]; k++) {
        int dt = dtypes[k];
        if (dt == KILN_DTYPE_BOOL)
            for (size_t i = 0; i < sizeof data; i++)
                data[i] &= 1;
        char path[512];
        snprintf(path, sizeof path, "%s/rt_%d.npy", tmpdir, dt);
        int64_t dims[2] = {2, 3};
        struct kiln_diag d;
        kiln_diag_clear(&d);
        assert_int_equal(kiln_npy_write(path, dt, 2, dims, data, &d), KILN_STATUS_OK);
        struct kiln_host_tensor t;
        assert_int_equal(kiln_npy_read(path, &t, &d), KILN_STATUS_OK);
        assert_int_equal(t.dtype, dt);
        assert_int_equal(t.rank, 2);
        assert_int_equal(t.dims[0], 2);
        assert_int_equal(t.dims[1], 3);
        assert_int_equal(t.nbytes, 6 * kiln_dtype_size(dt));
        assert_memory_equal(t.data, data, t.nbytes);
        kiln_host_tensor_free(&t);
        /* header aligned to 64 bytes, version 1.0 */
        FILE *f = fopen(path, "rb");
        uint8_t h[12];
        assert_int_equal(fread(h, 1, 12, f), 12);
        fclose(f);
        assert_int_equal(h[6], 1);
        assert_int_equal((10 + (h[8] | h[9] << 8)) % 64, 0);
    }
    assert_int_equal(count_files(tmpdir), 12); /* no temporaries left */
}

static void test_numpy_header_text(void **state)
{
    (void)state;
    char path[512];
    snprintf(path, sizeof path, "%s/hdr.npy", tmpdir);
    int64_t dims[1] = {3};
    float v[3] = {1, 2, 3};
    struct kiln_diag d;
    kiln_diag_clear(&d);
    assert_int_equal(kiln_npy_write(path, KILN_DTYPE_F32, 1, dims, v, &d), KILN_STATUS_OK);
    FILE *f = fopen(path, "rb");
    char buf[128];
    assert_int_equal(fread(buf, 1, 128, f), 128);
    fclose(f);
    /* exactly what numpy writes for np.array([1, 2, 3], np.float32) */
    assert_memory_equal(buf + 10, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }",
                        57);
    assert_int_equal(buf[127], '\n'); /* 10 + 57 + 1 bytes round up to 128 */
    unlink(path);
}

static void test_header_variants(void **state)
{
    (void)state;
    uint8_t b[512];
    struct kiln_host_tensor t;
    struct kiln_diag d;
    int32_t i32[2] = {7, -8};
    /* version 2.0 */
    size_t n = build(b, 2, "{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }", i32, 8);
    assert_int_equal(read_buf(b, n, &t, &d), KILN_STATUS_OK);
    assert_int_equal(t.dtype, KILN_DTYPE_I32);
    assert_int_equal(((int32_t *)t.data)[1], -8);
    kiln_host_tensor_free(&t);
    /* version 3.0 (utf-8 header), double quotes, keys in another order, no trailing comma */
    n = build(b, 3, "{\"shape\": (1, 2), \"fortran_order\": False, \"descr\": \"<i4\"}", i32, 8);
    assert_int_equal(read_buf(b, n, &t, &d), KILN_STATUS_OK);
    assert_int_equal(t.rank, 2);
    assert_int_equal(t.dims[1], 2);
    kiln_host_tensor_free(&t);
    /* shape () : a scalar */
    double one = 1.5;
    n = build(b, 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (), }", &one, 8);
    assert_int_equal(read_buf(b, n, &t, &d), KILN_STATUS_OK);
    assert_int_equal(t.rank, 0);
    assert_int_equal(t.nbytes, 8);
    assert_true(*(double *)t.data == 1.5);
    kiln_host_tensor_free(&t);
    /* zero-sized dims */
    n = build(b, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 3), }", NULL, 0);
    assert_int_equal(read_buf(b, n, &t, &d), KILN_STATUS_OK);
    assert_int_equal(t.rank, 2);
    assert_int_equal(t.dims[0], 0);
    assert_int_equal(t.nbytes, 0);
    kiln_host_tensor_free(&t);
    /* '|i1' and '<u1' spellings, '|b1' */
    static const struct {
        const char *descr;
        int dtype;
    } sp[] = {{"|i1", KILN_DTYPE_I8}, {"<i1", KILN_DTYPE_I8}, {"|u1", KILN_DTYPE_U8},
              {"<u1", KILN_DTYPE_U8}, {"|b1", KILN_DTYPE_BOOL}, {"=f4", KILN_DTYPE_F32},
              {"<f2", KILN_DTYPE_F16}, {"<u8", KILN_DTYPE_U64}};
    for (size_t k = 0; k < sizeof sp / sizeof sp[0]; k++) {
        char dict[128];
        snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (1,), }",
                 sp[k].descr);
        uint8_t zero[8] = {0};
        n = build(b, 1, dict, zero, kiln_dtype_size(sp[k].dtype));
        assert_int_equal(read_buf(b, n, &t, &d), KILN_STATUS_OK);
        assert_int_equal(t.dtype, sp[k].dtype);
        kiln_host_tensor_free(&t);
    }
    /* a zero-dim array written by kiln reads back */
    char path[512];
    snprintf(path, sizeof path, "%s/empty.npy", tmpdir);
    int64_t dims[3] = {2, 0, 4};
    kiln_diag_clear(&d);
    assert_int_equal(kiln_npy_write(path, KILN_DTYPE_I64, 3, dims, NULL, &d), KILN_STATUS_OK);
    assert_int_equal(kiln_npy_read(path, &t, &d), KILN_STATUS_OK);
    assert_int_equal(t.dims[1], 0);
    assert_int_equal(t.dims[2], 4);
    kiln_host_tensor_free(&t);
    /* and a scalar */
    assert_int_equal(kiln_npy_write(path, KILN_DTYPE_F64, 0, dims, &one, &d), KILN_STATUS_OK);
    assert_int_equal(kiln_npy_read(path, &t, &d), KILN_STATUS_OK);
    assert_int_equal(t.rank, 0);
    assert_true(*(double *)t.data == 1.5);
    kiln_host_tensor_free(&t);
    unlink(path);
}

static void expect_refusal(const uint8_t *b, size_t n, enum kiln_status want, const char *word)
{
    struct kiln_host_tensor t;
    struct kiln_diag d;
    enum kiln_status st = read_buf(b, n, &t, &d);
    if (st != want)
        fail_msg("status %d (want %d, %s): %s", st, want, word, d.message);
    assert_string_equal(d.file, "mem.npy");
    if (!strstr(d.message, word))
        fail_msg("message '%s' lacks '%s'", d.message, word);
    assert_null(t.data);
}

static void test_refusals(void **state)
{
    (void)state;
    uint8_t b[512];
    float f[4] = {0};
    /* headers that are refused whole, with the word the message must hold */
    static const struct {
        const char *dict;
        enum kiln_status st;
        const char *word;
    } cases[] = {
        {"{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", KILN_STATUS_UNSUPPORTED,
         "Fortran"},
        {"{'descr': '>f4', 'fortran_order': False, 'shape': (2, 2), }", KILN_STATUS_UNSUPPORTED,
         "big-endian"},
        {"{'descr': '|O', 'fortran_order': False, 'shape': (2,), }", KILN_STATUS_UNSUPPORTED,
         "object"},
        {"{'descr': [('a', '<f4'), ('b', '<i4')], 'fortran_order': False, 'shape': (2,), }",
         KILN_STATUS_UNSUPPORTED, "structured"},
        {"{'descr': '<c8', 'fortran_order': False, 'shape': (2,), }", KILN_STATUS_UNSUPPORTED,
         "complex"},
        {"not a dict at all", KILN_STATUS_PARSE, "dict"},
        {"{'descr': '<f4', 'fortran_order': Maybe, 'shape': (2,), }", KILN_STATUS_PARSE,
         "fortran_order"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (-2,), }", KILN_STATUS_PARSE,
         "shape"},
        {"{'descr': '<f4', 'fortran_order': False}", KILN_STATUS_PARSE, "lacks"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}", KILN_STATUS_PARSE,
         "unknown key"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, "
         "4611686018427387904), }", KILN_STATUS_PARSE, "overflow"},
        {"{'descr': 'f4', 'fortran_order': False, 'shape': (2,), }", KILN_STATUS_PARSE,
         "byte-order"},
    };
    size_t n;
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        n = build(b, 1, cases[k].dict, f, 16);
        expect_refusal(b, n, cases[k].st, cases[k].word);
    }
    n = build(b, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", f, 16);
    expect_refusal(b, n - 1, KILN_STATUS_PARSE, "truncated");
    expect_refusal(b, 20, KILN_STATUS_PARSE, "truncated");
    /* bad magic */
    uint8_t bad[512];
    memcpy(bad, b, n);
    bad[1] = 'X';
    expect_refusal(bad, n, KILN_STATUS_PARSE, "magic");
    expect_refusal((const uint8_t *)"", 0, KILN_STATUS_PARSE, "magic");
    /* unknown version */
    memcpy(bad, b, n);
    bad[6] = 9;
    expect_refusal(bad, n, KILN_STATUS_UNSUPPORTED, "version");
    /* garbage headers */
    memcpy(bad, b, n);
    bad[20] = '\0';
    expect_refusal(bad, n, KILN_STATUS_PARSE, "garbage");
    /* header length pointing past the end */
    n = build(b, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", f, 8);
    b[9] = 0x7f;
    expect_refusal(b, n, KILN_STATUS_PARSE, "truncated");
}

static void test_missing_file_names_it(void **state)
{
    (void)state;
    struct kiln_host_tensor t;
    struct kiln_diag d;
    kiln_diag_clear(&d);
    assert_int_equal(kiln_npy_read("/nonexistent/x.npy", &t, &d), KILN_STATUS_IO);
    assert_string_equal(d.file, "/nonexistent/x.npy");
}

static void test_atomic_write(void **state)
{
    (void)state;
    struct kiln_diag d;
    int64_t dims[1] = {2};
    float v[2] = {1, 2};
    char path[512];
    int before = count_files(tmpdir);
    /* a missing folder: nothing created anywhere */
    snprintf(path, sizeof path, "%s/missing/out.npy", tmpdir);
    kiln_diag_clear(&d);
    assert_int_equal(kiln_npy_write(path, KILN_DTYPE_F32, 1, dims, v, &d), KILN_STATUS_IO);
    assert_string_equal(d.file, path);
    assert_int_equal(count_files(tmpdir), before);
    /* bfloat16 has no numpy type: refused, nothing written */
    snprintf(path, sizeof path, "%s/bf16.npy", tmpdir);
    kiln_diag_clear(&d);
    assert_int_equal(kiln_npy_write(path, KILN_DTYPE_BF16, 1, dims, v, &d),
                     KILN_STATUS_UNSUPPORTED);
    assert_int_equal(count_files(tmpdir), before);
    /* the target is a directory: the rename fails, the temporary is removed */
    snprintf(path, sizeof path, "%s/adir", tmpdir);
    assert_int_equal(mkdir(path, 0755), 0);
    kiln_diag_clear(&d);
    assert_int_equal(kiln_npy_write(path, KILN_DTYPE_F32, 1, dims, v, &d), KILN_STATUS_IO);
    assert_int_equal(count_files(tmpdir), before + 1);
    rmdir(path);
    /* an existing file is replaced whole */
    snprintf(path, sizeof path, "%s/replace.npy", tmpdir);
    assert_int_equal(kiln_npy_write(path, KILN_DTYPE_F32, 1, dims, v, &d), KILN_STATUS_OK);
    float w[2] = {3, 4};
    assert_int_equal(kiln_npy_write(path, KILN_DTYPE_F32, 1, dims, w, &d), KILN_STATUS_OK);
    struct kiln_host_tensor t;
    assert_int_equal(kiln_npy_read(path, &t, &d), KILN_STATUS_OK);
    assert_memory_equal(t.data, w, sizeof w);
    kiln_host_tensor_free(&t);
    assert_int_equal(count_files(tmpdir), before + 1);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_every_dtype),
        cmocka_unit_test(test_numpy_header_text),
        cmocka_unit_test(test_header_variants),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_missing_file_names_it),
        cmocka_unit_test(test_atomic_write),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
