/* bundle_file.c - kiln_model_map: a bundle file mapped read-only and loaded in place, so the
 * weights are never copied and every process that maps the same file shares its pages. The
 * one POSIX-dependent part of libkilnrt (open, fstat, mmap): a runtime for a system without
 * them leaves this file out and calls kiln_model_load on its own buffer. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kiln/bundle.h"

static enum kiln_status file_error(struct kiln_diag *d, const char *path, const char *what, int e)
{
    kiln_diag_set(d, KILN_STATUS_IO, NULL, NULL, "%s: %s", what, strerror(e));
    if (d && d->file[0] == '\0')
        snprintf(d->file, sizeof d->file, "%s", path);
    return KILN_STATUS_IO;
}

enum kiln_status kiln_model_map(const char *path, struct kiln_model *m, struct kiln_diag *d)
{
    memset(m, 0, sizeof *m);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return file_error(d, path, "cannot open", errno);
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        int e = errno ? errno : EINVAL;
        close(fd);
        return file_error(d, path, "cannot read", e);
    }
    size_t len = (size_t)st.st_size;
    /* an empty file has nothing to map; the loader refuses it with its usual message */
    static const uint8_t empty[KILN_BUNDLE_ALIGN] __attribute__((aligned(KILN_BUNDLE_ALIGN)));
    void *data = (void *)empty;
    if (len) {
        data = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
        if (data == MAP_FAILED) {
            int e = errno;
            close(fd);
            return file_error(d, path, "cannot map", e);
        }
    }
    close(fd);
    enum kiln_status s = kiln_model_load(data, len, m, d);
    if (s) {
        if (len)
            munmap(data, len);
        memset(m, 0, sizeof *m);
        if (d && d->file[0] == '\0')
            snprintf(d->file, sizeof d->file, "%s", path);
    }
    return s;
}

void kiln_model_unmap(struct kiln_model *m)
{
    if (m->base && m->size)
        munmap((void *)m->base, m->size);
    memset(m, 0, sizeof *m);
}
