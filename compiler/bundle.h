/* bundle.h (compiler) - writing programs as .kiln bundles (with the plan's report) and mapping
 * bundle files for the CLI. */
#ifndef KILN_COMPILER_BUNDLE_H
#define KILN_COMPILER_BUNDLE_H

#include <stdio.h>

#include "compiler.h"
#include "kiln/bundle.h"

/* Entries of p->io (the program does not store the count): the end of the last node's list. */
uint32_t kiln_program_n_io(const struct kiln_program *p);

/* Serializes p with plan's report (lower bound and naive sum; NULL: none) into *out, a
 * malloc'd 64-byte-aligned buffer of *len bytes (free with free()). */
enum kiln_status kiln_bundle_build(const struct kiln_program *p, const struct kiln_plan *plan,
                                   void **out, size_t *len, struct kiln_diag *d);
/* Writes buf to a temporary next to path, then renames it into place: no partial file. */
enum kiln_status kiln_bundle_save(const char *path, const void *buf, size_t len,
                                  struct kiln_diag *d);

/* 1 when the file starts with the bundle magic (the CLI dispatches on content, not name). */
int kiln_file_is_bundle(const char *path);
/* Maps and loads a bundle (kiln_model_map; release with kiln_model_unmap); on error d names the
 * file and the message ends with the byte offset, when known. */
enum kiln_status kiln_bundle_open(const char *path, struct kiln_model *m, struct kiln_diag *d);

#endif
