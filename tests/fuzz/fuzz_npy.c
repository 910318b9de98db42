/* fuzz_npy.c - libFuzzer target: bytes as a .npy file (kiln run's and kiln bench's inputs,
 * --input-value files): the header parser and the data checks. */
#include <stddef.h>
#include <stdint.h>

#include "npy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct kiln_host_tensor t;
    struct kiln_diag d;
    kiln_diag_clear(&d);
    if (kiln_npy_read_buffer(data, size, "fuzz.npy", &t, &d) == KILN_STATUS_OK)
        kiln_host_tensor_free(&t);
    return 0;
}
