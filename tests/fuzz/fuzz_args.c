/* fuzz_args.c - libFuzzer target: bytes as the values of kiln's --input-shape
 * (kiln_parse_input_shape) and --input-value (cli_add_value) options; the first byte picks
 * which, the rest is the argument as a C string. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    char *spec = malloc(size);
    if (!spec)
        return 0;
    memcpy(spec, data + 1, size - 1);
    spec[size - 1] = '\0';
    if (data[0] & 1) {
        struct kiln_input_shape s;
        struct kiln_diag d;
        kiln_diag_clear(&d);
        kiln_parse_input_shape(spec, &s, &d);
    } else {
        struct cli_values v = {NULL, 0};
        FILE *keep = stderr;
        stderr = fopen("/dev/null", "w"); /* usage errors are printed */
        cli_add_value(&v, spec, "fuzz");
        fclose(stderr);
        stderr = keep;
        free(v.v);
    }
    free(spec);
    return 0;
}
