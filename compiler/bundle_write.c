/* bundle_write.c - serializes a lowered program as a .kiln bundle (docs/bundle-format.md):
 * the header, the section table, then each table as it is in memory so the runtime can map it
 * in place, the weights last at a 64-byte boundary. Also the file side: atomic save through a
 * temporary and read-only mapping for the CLI. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bundle.h"
#include "../runtime/kernels/gemm_core.h"

#define ALIGN_UP(x, a) (((x) + (a)-1) / (a) * (a))
#define SECTION_ALIGN 16

uint32_t kiln_program_n_io(const struct kiln_program *p)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < p->n_nodes + p->n_block_nodes; i++) {
        const struct kiln_node_desc *nd = &p->nodes[i];
        uint32_t end = nd->io_first + nd->n_in + nd->n_out;
        if (end > n)
            n = end;
    }
    for (uint32_t b = 0; b < p->n_blocks; b++) {
        const struct kiln_block_desc *bd = &p->blocks[b];
        uint32_t end = bd->io_first + bd->n_in + bd->n_out;
        if (end > n)
            n = end;
    }
    return n;
}

struct part {
    uint32_t type, count, record_size;
    const void *data;
    uint64_t size;
};

enum kiln_status kiln_bundle_build(const struct kiln_program *p, const struct kiln_plan *pl,
                                   void **out, size_t *len, struct kiln_diag *d)
{
    static const char metadata[] = "producer=kiln";
    struct kiln_bundle_plan plan = {kiln_program_plan_arena(p), pl ? pl->lower_bound : 0, pl ? pl->naive : 0,
                                    0};
    uint32_t n_io = kiln_program_n_io(p), n_nodes = p->n_nodes + p->n_block_nodes;
    /* blocks: record 0 is the main schedule, then the program's blocks */
    struct kiln_block_desc *blocks = NULL;
    if (p->n_blocks) {
        blocks = calloc(p->n_blocks + 1, sizeof *blocks);
        if (!blocks)
            return kiln_diag_set(d, KILN_STATUS_NO_MEMORY, NULL, NULL, "out of memory");
        blocks[0].n_nodes = p->n_nodes;
        memcpy(blocks + 1, p->blocks, p->n_blocks * sizeof *blocks);
    }
    const struct part parts[] = {
        {KILN_SECTION_TENSORS, p->n_tensors, sizeof *p->tensors, p->tensors,
         (uint64_t)p->n_tensors * sizeof *p->tensors},
        {KILN_SECTION_NODES, n_nodes, sizeof *p->nodes, p->nodes,
         (uint64_t)n_nodes * sizeof *p->nodes},
        {KILN_SECTION_NODE_IO, n_io, 4, p->io, (uint64_t)n_io * 4},
        {KILN_SECTION_INPUTS, p->n_inputs, 4, p->inputs, (uint64_t)p->n_inputs * 4},
        {KILN_SECTION_OUTPUTS, p->n_outputs, 4, p->outputs, (uint64_t)p->n_outputs * 4},
        {KILN_SECTION_PLAN, 1, sizeof plan, &plan, sizeof plan},
        {KILN_SECTION_PARAMS, 0, 0, p->params, p->params_size},
        {KILN_SECTION_STRINGS, 0, 0, p->strings, p->strings_size},
        {KILN_SECTION_METADATA, 0, 0, metadata, sizeof metadata},
        {KILN_SECTION_BLOCKS, p->n_blocks + 1, sizeof *blocks, blocks,
         blocks ? (uint64_t)(p->n_blocks + 1) * sizeof *blocks : 0},
        {KILN_SECTION_WEIGHTS, 0, 0, p->weights, p->weights_size},
    };
    enum { N_ALL = sizeof parts / sizeof parts[0] };
    /* without blocks, no BLOCKS section: the bundle is one a 1.0 reader loads */
    const int N = blocks ? N_ALL : N_ALL - 1;
    const struct part *part_at[N_ALL];
    for (int i = 0, k = 0; i < N_ALL; i++)
        if (blocks || parts[i].type != KILN_SECTION_BLOCKS)
            part_at[k++] = &parts[i];
    struct kiln_bundle_section sec[N_ALL];
    uint64_t off = sizeof(struct kiln_bundle_header) + N * sizeof sec[0];
    for (int i = 0; i < N; i++) {
        const struct part *pt = part_at[i];
        off = ALIGN_UP(off, pt->type == KILN_SECTION_WEIGHTS ? KILN_BUNDLE_ALIGN : SECTION_ALIGN);
        sec[i] = (struct kiln_bundle_section){
            .type = pt->type,
            .flags = pt->type == KILN_SECTION_METADATA ? 0 : KILN_SECTION_REQUIRED,
            .offset = off,
            .size = pt->size,
            .count = pt->count,
            .record_size = pt->record_size,
        };
        off += pt->size;
    }
    size_t total = (size_t)off;
    uint8_t *b = aligned_alloc(KILN_BUNDLE_ALIGN, ALIGN_UP(total, KILN_BUNDLE_ALIGN));
    if (!b) {
        free(blocks);
        return kiln_diag_set(d, KILN_STATUS_NO_MEMORY, NULL, NULL,
                             "out of memory for a bundle of %zu bytes", total);
    }
    memset(b, 0, total);
    struct kiln_bundle_header h = {
        .version_major = KILN_BUNDLE_VERSION_MAJOR,
        .version_minor = KILN_BUNDLE_VERSION_MINOR,
        .file_size = total,
        .header_size = sizeof h,
        .n_sections = (uint32_t)N,
        .section_entry_size = sizeof sec[0],
        .section_table_offset = sizeof h,
    };
    for (uint32_t t = 0; t < p->n_tensors; t++)
        if (p->tensors[t].flags & KILN_TENSOR_RUNTIME_DIMS)
            h.flags |= KILN_BUNDLE_FEATURE_RUNTIME_DIMS; /* older readers refuse the bundle */
    for (uint32_t i = 0; i < p->n_nodes + p->n_block_nodes; i++) {
        const struct kiln_node_desc *nd = &p->nodes[i];
        if (nd->op == KILN_OP_GEMM && nd->variant == KILN_GEMM_VARIANT_SPARSE)
            h.flags |= KILN_BUNDLE_FEATURE_SPARSE_WEIGHTS;
        else if ((nd->op == KILN_OP_CONV || nd->op == KILN_OP_GEMM ||
                  nd->op == KILN_OP_MATMUL) &&
                 nd->variant >= KILN_GEMM_VARIANT_PACKED)
            h.flags |= KILN_BUNDLE_FEATURE_PACKED_WEIGHTS;
    }
    memcpy(h.magic, KILN_BUNDLE_MAGIC, 8);
    memcpy(b, &h, sizeof h);
    memcpy(b + sizeof h, sec, N * sizeof sec[0]);
    for (int i = 0; i < N; i++)
        if (part_at[i]->size)
            memcpy(b + sec[i].offset, part_at[i]->data, part_at[i]->size);
    free(blocks);
    h.checksum = kiln_crc32(kiln_crc32(0, b, 24), b + 28, total - 28);
    memcpy(b + offsetof(struct kiln_bundle_header, checksum), &h.checksum, 4);
    *out = b;
    *len = total;
    return KILN_STATUS_OK;
}

static enum kiln_status file_err(struct kiln_diag *d, const char *path, enum kiln_status st,
                                 const char *what, int e)
{
    kiln_diag_set(d, st, NULL, NULL, "%s: %s", what, strerror(e));
    if (d && d->file[0] == '\0')
        snprintf(d->file, sizeof d->file, "%s", path);
    return st;
}

enum kiln_status kiln_bundle_save(const char *path, const void *buf, size_t len,
                                  struct kiln_diag *d)
{
    char tmp[4096];
    int fd = -1;
    for (int k = 0; k < 1000 && fd < 0; k++) {
        if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp%ld.%d", path, (long)getpid(), k) >=
            sizeof tmp)
            return file_err(d, path, KILN_STATUS_IO, "cannot create", ENAMETOOLONG);
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0666);
        if (fd < 0 && errno != EEXIST)
            break;
    }
    if (fd < 0)
        return file_err(d, path, KILN_STATUS_IO, "cannot create", errno);
    const uint8_t *p = buf;
    size_t left = len;
    while (left) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            int e = w < 0 ? errno : EIO;
            close(fd);
            unlink(tmp);
            return file_err(d, path, KILN_STATUS_IO, "cannot write", e);
        }
        p += w;
        left -= (size_t)w;
    }
    if (close(fd) != 0) {
        int e = errno;
        unlink(tmp);
        return file_err(d, path, KILN_STATUS_IO, "cannot write", e);
    }
    if (rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return file_err(d, path, KILN_STATUS_IO, "cannot rename into place", e);
    }
    return KILN_STATUS_OK;
}

int kiln_file_is_bundle(const char *path)
{
    unsigned char m[8];
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return 0;
    size_t got = fread(m, 1, sizeof m, fp);
    fclose(fp);
    return got == sizeof m && memcmp(m, KILN_BUNDLE_MAGIC, 8) == 0;
}

enum kiln_status kiln_bundle_open(const char *path, struct kiln_model *m, struct kiln_diag *d)
{
    enum kiln_status st = kiln_model_map(path, m, d);
    if (st && d && d->status != KILN_STATUS_IO) {
        size_t n = strlen(d->message);
        if (d->offset >= 0 && n < sizeof d->message)
            snprintf(d->message + n, sizeof d->message - n, " (at byte %lld)",
                     (long long)d->offset);
    }
    return st;
}
