/* run_bundle.c - a program as a user of the installed runtime writes it: it includes only
 * <kiln/bundle.h>, links only libkilnrt (static or shared), loads a .kiln bundle from a file,
 * sizes the arena from the bundle's memory plan, runs the model once on .npy inputs and writes
 * each output's raw bytes to OUTDIR/output.K.bin, printing a line per output.
 * tests/install/test_install.sh builds it through pkg-config and through find_package(kilnrt)
 * and compares those bytes with `kiln run`. Usage: run_bundle MODEL.kiln OUTDIR INPUT.npy... */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kiln/bundle.h>

#define MAX_IO 16

/* The whole file in a 64-byte aligned buffer (kiln_model_load maps the bundle in place and
 * needs that alignment); NULL on failure. */
static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    uint8_t *buf = NULL;
    long n = -1;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0)
        buf = aligned_alloc(KILN_BUNDLE_ALIGN, ((size_t)n + KILN_BUNDLE_ALIGN - 1) /
                                                   KILN_BUNDLE_ALIGN * KILN_BUNDLE_ALIGN);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *len = buf ? (size_t)n : 0;
    return buf;
}

/* The data of a .npy file (version 1 to 3): what follows the header. Only the size is
 * checked against the model's input (the header's dtype and shape are not parsed). */
static const uint8_t *npy_data(const uint8_t *b, size_t len, size_t *n)
{
    if (len < 12 || memcmp(b, "\x93NUMPY", 6) != 0 || b[6] < 1 || b[6] > 3)
        return NULL;
    size_t hlen = (size_t)b[8] | (size_t)b[9] << 8; /* little-endian, 2 bytes in version 1 */
    if (b[6] > 1)
        hlen |= (size_t)b[10] << 16 | (size_t)b[11] << 24;
    size_t start = (b[6] == 1 ? 10 : 12) + hlen;
    if (start > len)
        return NULL;
    *n = len - start;
    return b + start;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: run_bundle MODEL.kiln OUTDIR INPUT.npy...\n");
        return 2;
    }
    size_t len;
    uint8_t *bundle = read_file(argv[1], &len);
    if (!bundle) {
        fprintf(stderr, "run_bundle: %s: cannot read\n", argv[1]);
        return 1;
    }
    struct kiln_model m;
    struct kiln_diag d;
    kiln_diag_clear(&d);
    if (kiln_model_load(bundle, len, &m, &d) != KILN_STATUS_OK) {
        fprintf(stderr, "run_bundle: %s: %s\n", argv[1], d.message);
        return 1;
    }
    uint32_t n_in = kiln_model_n_inputs(&m), n_out = kiln_model_n_outputs(&m);
    if (n_in > MAX_IO || n_out > MAX_IO || (uint32_t)(argc - 3) != n_in) {
        fprintf(stderr, "run_bundle: %s takes %u inputs, %d given\n", argv[1], n_in, argc - 3);
        return 2;
    }

    uint8_t *files[MAX_IO] = {0};
    const void *in[MAX_IO];
    void *out[MAX_IO] = {0};
    struct kiln_io_info io;
    int rc = 1;
    for (uint32_t i = 0; i < n_in; i++) {
        size_t flen, n = 0;
        kiln_model_input(&m, i, &io);
        files[i] = read_file(argv[3 + i], &flen);
        in[i] = files[i] ? npy_data(files[i], flen, &n) : NULL;
        if (!in[i] || n != io.nbytes) {
            fprintf(stderr, "run_bundle: %s: not a .npy of %llu data bytes (input '%s')\n",
                    argv[3 + i], (unsigned long long)io.nbytes, io.name);
            goto done;
        }
    }
    for (uint32_t i = 0; i < n_out; i++) {
        kiln_model_output(&m, i, &io);
        if (!(out[i] = malloc(io.nbytes ? io.nbytes : 1)))
            goto done;
    }

    /* The plan fixed every intermediate's place at compile time: one block, no other memory. */
    uint64_t arena_size = kiln_model_arena_size(&m);
    void *arena = aligned_alloc(KILN_BUNDLE_ALIGN, (arena_size + KILN_BUNDLE_ALIGN) /
                                                       KILN_BUNDLE_ALIGN * KILN_BUNDLE_ALIGN);
    if (!arena)
        goto done;
    enum kiln_status st = kiln_model_run(&m, arena, in, out);
    free(arena);
    if (st != KILN_STATUS_OK) {
        fprintf(stderr, "run_bundle: %s: run failed: %s\n", argv[1], kiln_status_name(st));
        goto done;
    }

    printf("%s: %u inputs, %u outputs, arena %llu bytes\n", argv[1], n_in, n_out,
           (unsigned long long)arena_size);
    for (uint32_t i = 0; i < n_out; i++) {
        kiln_model_output(&m, i, &io);
        printf("output %u '%s': %s [", i, io.name, kiln_dtype_name(io.dtype));
        for (int32_t k = 0; k < io.rank; k++)
            printf("%s%lld", k ? "," : "", (long long)io.dims[k]);
        printf("]");
        if (io.dtype == KILN_DTYPE_F32 && io.nbytes >= sizeof(float)) {
            float v;
            memcpy(&v, out[i], sizeof v);
            printf(", first value %.9g", v);
        }
        printf("\n");
        char path[4096];
        snprintf(path, sizeof path, "%s/output.%u.bin", argv[2], i);
        FILE *f = fopen(path, "wb");
        int ok = f && fwrite(out[i], 1, io.nbytes, f) == io.nbytes;
        if (f && fclose(f) != 0)
            ok = 0;
        if (!ok) {
            fprintf(stderr, "run_bundle: %s: cannot write\n", path);
            goto done;
        }
    }
    rc = 0;
done:
    for (uint32_t i = 0; i < n_in; i++)
        free(files[i]);
    for (uint32_t i = 0; i < n_out; i++)
        free(out[i]);
    free(bundle);
    return rc;
}
