/* emit_c.h - the C emitter: writes a lowered program as self-contained C99 sources (schedule,
 * the runtime's own kernel files for the ops the model uses, weights, a CMake snippet and an
 * optional .npy command-line driver) that build into any app with a C99 compiler and libm.
 * See docs/emit-c.md for the emitted files and what they guarantee. */
#ifndef KILN_EMIT_C_H
#define KILN_EMIT_C_H

#include "compiler.h"

enum kiln_emit_weights {
    KILN_EMIT_WEIGHTS_C = 0,   /* NAME_weights.c: the blob as a 64-byte-aligned C array */
    KILN_EMIT_WEIGHTS_BIN = 1, /* NAME.weights.bin, handed to NAME_set_weights() at run time */
};

struct kiln_emit_c_options {
    const char *name;    /* C identifier prefixing every file and symbol ("kws") */
    const char *out_dir; /* existing directory the files go to */
    enum kiln_emit_weights weights;
    int with_main; /* also write NAME_main.c, a .npy in/out command-line program */
};

/* Writes the files (each through a temporary file renamed into place once all are written;
 * on error none is left). Fails with INVALID_ARG for a bad name or directory, UNSUPPORTED for
 * a program the emitter cannot express (a kernel whose source is not embedded), IO. */
enum kiln_status kiln_emit_c(const struct kiln_compiled *c, const struct kiln_emit_c_options *o,
                             struct kiln_diag *d);

/* The runtime sources embedded at build time (compiler/emit_c_embed.cmake); path is relative
 * to runtime/ ("kernels/conv.c") or include/ ("kiln/kiln.h"). */
struct kiln_emit_source {
    const char *path;
    const char *text;
    size_t size;
};
extern const struct kiln_emit_source kiln_emit_sources[];
extern const size_t kiln_emit_n_sources;

#endif
