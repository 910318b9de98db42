/* two_models.c - links two emitted models (prefixes `digits_cnn` and `mlp`, with their .npy
 * drivers renamed by -Ddigits_cnn_MAIN=digits_cnn_main -Dmlp_MAIN=mlp_main) into one program, runs
 * both, and checks the argument checks of NAME_run (NULL, misaligned arena). C99.
 * Usage: two_models DIGITS_ARGS... -- MLP_ARGS...   (each as NAME_main.c takes them) */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "digits_cnn.h"
#include "mlp.h"

int digits_cnn_main(int argc, char **argv);
int mlp_main(int argc, char **argv);

/* static so that the arena is 64-aligned by construction of the offset below */
static unsigned char arena_mem[digits_cnn_ARENA_SIZE + 128];

static int check_args(void)
{
    static float x[digits_cnn_INPUT0_SIZE], y[digits_cnn_OUTPUT0_SIZE];
    const void *in[1] = {x};
    void *out[1] = {y};
    const void *null_in[1] = {NULL};
    unsigned char *arena = arena_mem + (64 - (size_t)((uintptr_t)arena_mem % 64));
    int bad = 0;
    bad |= digits_cnn_run(NULL, in, out) != 1;
    bad |= digits_cnn_run(arena + 4, in, out) != 2;
    bad |= digits_cnn_run(arena, null_in, out) != 1;
    bad |= digits_cnn_run(arena, in, NULL) != 1;
    bad |= digits_cnn_run(arena, in, out) != 0;
    if (bad)
        fprintf(stderr, "two_models: digits_cnn_run does not check its arguments as documented\n");
    return bad;
}

int main(int argc, char **argv)
{
    int split = 1;
    while (split < argc && strcmp(argv[split], "--") != 0)
        split++;
    if (split >= argc) {
        fprintf(stderr, "usage: two_models DIGITS_ARGS... -- MLP_ARGS...\n");
        return 2;
    }
    argv[split] = argv[0];
    if (digits_cnn_main(split, argv) != 0 || mlp_main(argc - split, argv + split) != 0)
        return 1;
    return check_args();
}
