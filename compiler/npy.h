/* npy.h - NumPy .npy files in and out (format versions 1.0-3.0, C order, little-endian, the
 * dtypes of dtypes.def). Fortran order, object arrays, big-endian data and unknown types are
 * refused with a clear message. Writes go to a temporary file renamed into place. */
#ifndef KILN_NPY_H
#define KILN_NPY_H

#include "compiler.h"

/* Reads path into t (t->data malloc'd; free with kiln_host_tensor_free). */
enum kiln_status kiln_npy_read(const char *path, struct kiln_host_tensor *t, struct kiln_diag *d);
/* Same, from memory (path only names the source in messages). */
enum kiln_status kiln_npy_read_buffer(const void *buf, size_t len, const char *path,
                                      struct kiln_host_tensor *t, struct kiln_diag *d);
/* Writes a dense C-order array; atomic (temporary file + rename). */
enum kiln_status kiln_npy_write(const char *path, int dtype, int rank, const int64_t *dims,
                                const void *data, struct kiln_diag *d);
/* First half of a write: the complete file goes to a new temporary next to path, whose name
 * is returned in tmp. The caller renames it into place (or unlinks it), so several files can
 * be committed together. On failure nothing is left behind and tmp is "". */
enum kiln_status kiln_npy_write_tmp(const char *path, int dtype, int rank, const int64_t *dims,
                                    const void *data, char *tmp, size_t tmp_size,
                                    struct kiln_diag *d);

#endif
