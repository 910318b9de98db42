/* fuzz_onnx.c - libFuzzer target: bytes as an ONNX model through the whole compiler (import,
 * shape inference with compile-time evaluation, the -O2 passes, lowering and the memory
 * plan), under a 256 MiB memory limit. Any crash, leak, sanitizer report or hang is a finding;
 * an error status is an ordinary outcome. */
#include <stddef.h>
#include <stdint.h>

#include "driver.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct kiln_import_options opt = {NULL, 0, NULL, 0, 256u << 20};
    struct kiln_ir_graph *g = NULL;
    struct kiln_diag d;
    kiln_diag_clear(&d);
    if (kiln_onnx_load_buffer(data, size, "fuzz.onnx", NULL, &opt, &g, &d))
        return 0;
    struct kiln_compile_options o = {.graph = g, .level = 2};
    struct kiln_compiled *c = NULL;
    if (kiln_compile_model(&o, NULL, &c, &d) == KILN_STATUS_OK)
        kiln_compiled_free(c);
    return 0;
}
