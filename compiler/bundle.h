/* bundle.h (compiler) - writing programs as .kiln bundles, mapping bundle files for the CLI,
 * and the memory-plan listing of `kiln inspect --plan`, which works from the program alone
 * so that it serves compiled ONNX models and loaded bundles alike. */
#ifndef KILN_COMPILER_BUNDLE_H
#define KILN_COMPILER_BUNDLE_H

#include <stdio.h>

#include "compiler.h"
#include "kiln/bundle.h"

/* Entries of p->io (the program does not store the count): the end of the last node's list. */
uint32_t kiln_program_n_io(const struct kiln_program *p);

/* Serializes p (with the planner's report) into *out, a malloc'd 64-byte-aligned buffer of
 * *len bytes (free with free()). */
enum kiln_status kiln_bundle_build(const struct kiln_program *p, uint64_t plan_lower_bound,
                                   uint64_t plan_naive, void **out, size_t *len,
                                   struct kiln_diag *d);
/* Writes buf to a temporary next to path, then renames it into place: no partial file. */
enum kiln_status kiln_bundle_save(const char *path, const void *buf, size_t len,
                                  struct kiln_diag *d);

/* A file mapped read-only (page aligned, as kiln_model_load wants). */
struct kiln_mapped_file {
    void *data;
    size_t len;
};
enum kiln_status kiln_file_map(const char *path, struct kiln_mapped_file *f, struct kiln_diag *d);
void kiln_file_unmap(struct kiln_mapped_file *f);
/* 1 when the file starts with the bundle magic (the CLI dispatches on content, not name). */
int kiln_file_is_bundle(const char *path);
/* Maps and loads a bundle; on error d names the file and, when known, the byte offset. */
enum kiln_status kiln_bundle_open(const char *path, struct kiln_mapped_file *f,
                                  struct kiln_model *m, struct kiln_diag *d);

/* One arena buffer: a tensor, or a node's scratch (tensor UINT32_MAX). first/last are the
 * schedule steps (node indices) that use it. */
struct kiln_plan_use {
    uint32_t tensor, node;
    uint64_t offset, size;
    uint32_t first, last;
};
/* The arena buffers of p sorted by offset, then first use; *out is malloc'd. Buffers that no
 * node uses are listed with first = last = UINT32_MAX. */
enum kiln_status kiln_plan_uses(const struct kiln_program *p, struct kiln_plan_use **out,
                                uint32_t *n, struct kiln_diag *d);
/* Prints the plan table (and the planner's report when lower_bound is not 0). */
void kiln_plan_print(const struct kiln_program *p, const struct kiln_plan_use *u, uint32_t n,
                     uint64_t lower_bound, uint64_t naive, bool json, FILE *f);

#endif
