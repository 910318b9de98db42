/* fuzz_bundle.c - libFuzzer target: bytes as a .kiln bundle. The checksum is recomputed first
 * so that mutations reach the section table and the validator; a bundle that loads is run once
 * with a fresh, zeroed arena and zeroed inputs (when its arena and I/O fit in 64 MiB). The
 * loader's promise is that nothing it accepts can read or write outside its buffers. */
#include <stdlib.h>
#include <string.h>

#include "kiln/bundle.h"

#define RUN_LIMIT (64u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *b = aligned_alloc(KILN_BUNDLE_ALIGN, (size + KILN_BUNDLE_ALIGN) / KILN_BUNDLE_ALIGN *
                                                      KILN_BUNDLE_ALIGN);
    if (!b)
        return 0;
    memcpy(b, data, size);
    if (size >= sizeof(struct kiln_bundle_header)) {
        uint32_t crc = kiln_crc32(kiln_crc32(0, b, 24), b + 28, size - 28);
        memcpy(b + 24, &crc, 4);
    }
    struct kiln_model m;
    struct kiln_diag d;
    kiln_diag_clear(&d);
    if (kiln_model_load(b, size, &m, &d) == KILN_STATUS_OK) {
        uint32_t ni = kiln_model_n_inputs(&m), no = kiln_model_n_outputs(&m);
        uint64_t total = kiln_model_arena_size(&m);
        struct kiln_io_info io;
        for (uint32_t i = 0; i < ni; i++)
            total += kiln_model_input(&m, i, &io) ? 0 : io.nbytes;
        for (uint32_t i = 0; i < no; i++)
            total += kiln_model_output(&m, i, &io) ? 0 : io.nbytes;
        const void **in = calloc(ni + 1, sizeof *in);
        void **out = calloc(no + 1, sizeof *out);
        void *arena = NULL;
        int ok = total <= RUN_LIMIT && in && out;
        for (uint32_t i = 0; ok && i < ni; i++)
            ok = !kiln_model_input(&m, i, &io) && (in[i] = calloc(1, io.nbytes + 1));
        for (uint32_t i = 0; ok && i < no; i++)
            ok = !kiln_model_output(&m, i, &io) && (out[i] = calloc(1, io.nbytes + 1));
        if (ok) {
            uint64_t asz = kiln_model_arena_size(&m);
            arena = aligned_alloc(KILN_BUNDLE_ALIGN, (asz + KILN_BUNDLE_ALIGN) /
                                                         KILN_BUNDLE_ALIGN * KILN_BUNDLE_ALIGN);
            if (arena) {
                memset(arena, 0, asz);
                kiln_model_run(&m, arena, in, out);
            }
        }
        for (uint32_t i = 0; in && i < ni; i++)
            free((void *)in[i]);
        for (uint32_t i = 0; out && i < no; i++)
            free(out[i]);
        free(in);
        free(out);
        free(arena);
    }
    free(b);
    return 0;
}
