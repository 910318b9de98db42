/* rt_run.c - kiln-rt-run: loads a .kiln bundle with whatever runtime it is linked with (the
 * full libkilnrt, or one built with -DKILN_RT_OPS / -DKILN_RT_TERSE), runs it once on fixed
 * inputs and prints a hash of every output, so that two runtimes can be compared on one
 * bundle. Needs only the runtime and libc. Exit status 1 (with the loader's message) when the
 * bundle is refused. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kiln/bundle.h"

#define MAX_IO 64

/* Input bytes: small float32 values, a byte pattern for other types. */
static void fill(const struct kiln_io_info *io, uint8_t *b)
{
    if (io->dtype == KILN_DTYPE_F32) {
        for (uint64_t k = 0; k < io->nbytes / 4; k++) {
            float f = (float)((int)(k % 17) - 8) * 0.125f;
            memcpy(b + 4 * k, &f, 4);
        }
        return;
    }
    for (uint64_t k = 0; k < io->nbytes; k++)
        b[k] = (uint8_t)(k * 7 % 61);
}

static uint64_t fnv1a(const uint8_t *b, uint64_t n)
{
    uint64_t h = 14695981039346656037ull;
    for (uint64_t k = 0; k < n; k++)
        h = (h ^ b[k]) * 1099511628211ull;
    return h;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: kiln-rt-run FILE.kiln\n");
        return 2;
    }
    FILE *f = fopen(argv[1], "rb");
    long len = -1;
    if (!f || fseek(f, 0, SEEK_END) || (len = ftell(f)) <= 0 || fseek(f, 0, SEEK_SET)) {
        fprintf(stderr, "kiln-rt-run: error: %s: cannot read\n", argv[1]);
        return 2;
    }
    uint8_t *buf = aligned_alloc(64, ((size_t)len + 63) / 64 * 64);
    if (!buf || fread(buf, 1, (size_t)len, f) != (size_t)len)
        return 2;
    fclose(f);
    struct kiln_model m;
    struct kiln_diag d;
    kiln_diag_clear(&d);
    if (kiln_model_load(buf, (size_t)len, &m, &d)) {
        fprintf(stderr, "kiln-rt-run: error: %s: %s%s%s%s%s: %s\n", argv[1],
                d.node[0] ? "node '" : "", d.node, d.node[0] ? "' (" : "", d.op,
                d.node[0] ? ")" : "", d.message);
        return 1;
    }
    uint32_t n_in = kiln_model_n_inputs(&m), n_out = kiln_model_n_outputs(&m);
    if (n_in > MAX_IO || n_out > MAX_IO)
        return 2;
    const void *in[MAX_IO];
    void *out[MAX_IO];
    struct kiln_io_info io;
    for (uint32_t i = 0; i < n_in; i++) {
        kiln_model_input(&m, i, &io);
        uint8_t *b = calloc(io.nbytes + 1, 1);
        fill(&io, b);
        in[i] = b;
    }
    for (uint32_t i = 0; i < n_out; i++) {
        kiln_model_output(&m, i, &io);
        out[i] = calloc(io.nbytes + 1, 1);
    }
    uint64_t arena = kiln_model_arena_size(&m);
    void *a = aligned_alloc(64, (arena + 64) / 64 * 64);
    enum kiln_status st = kiln_model_run(&m, a, in, out);
    if (st) {
        fprintf(stderr, "kiln-rt-run: error: %s: run: %s\n", argv[1], kiln_status_name(st));
        return 1;
    }
    for (uint32_t i = 0; i < n_out; i++) {
        kiln_model_output(&m, i, &io);
        printf("output %u: %llu bytes, fnv1a %016llx\n", i, (unsigned long long)io.nbytes,
               (unsigned long long)fnv1a(out[i], io.nbytes));
        free(out[i]);
    }
    for (uint32_t i = 0; i < n_in; i++)
        free((void *)in[i]);
    free(a);
    free(buf);
    return 0;
}
