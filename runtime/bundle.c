/* bundle.c - the bundle loader: checks a .kiln buffer (header, version, checksum, section
 * table) and maps its sections in place as a struct kiln_program, then hands the program to
 * kiln_program_validate (validate.c). No allocation and no copies: the program's tables and
 * the weights are the caller's buffer. Also the I/O query API and kiln_model_run. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kiln/bundle.h"

_Static_assert(sizeof(struct kiln_bundle_header) == 64, "header layout");
_Static_assert(sizeof(struct kiln_bundle_section) == 32, "section entry layout");
_Static_assert(sizeof(struct kiln_bundle_plan) == 32, "plan layout");
/* The records are mapped in place: the C structs must have the documented layout. */
_Static_assert(sizeof(struct kiln_tensor_desc) == 104, "tensor record layout");
_Static_assert(offsetof(struct kiln_tensor_desc, dims) == 24, "tensor record layout");
_Static_assert(offsetof(struct kiln_tensor_desc, name) == 96, "tensor record layout");
_Static_assert(sizeof(struct kiln_node_desc) == 40, "node record layout");
_Static_assert(offsetof(struct kiln_node_desc, scratch_offset) == 24, "node record layout");
_Static_assert(sizeof(struct kiln_block_desc) == 16, "block record layout");

#define MAX_SECTIONS 64

/* Records the error with the byte offset it is about. */
static enum kiln_status at(struct kiln_diag *d, enum kiln_status st, uint64_t off)
{
    if (d && d->offset < 0)
        d->offset = (int64_t)off;
    return st;
}
#ifndef KILN_RT_TERSE
#define FAIL(st, off, ...) at(d, kiln_diag_set(d, st, NULL, NULL, __VA_ARGS__), off)
#else /* small runtimes: the byte offset and the line of the check instead of a message */
#define FAIL(st, off, ...) at(d, kiln_diag_set(d, st, NULL, NULL, "bundle.c:%d", __LINE__), off)
#endif
#define U(x) ((unsigned long long)(x))

/* Record size of each section type (0: a blob); index = type. */
static const uint8_t record_size[] = {0, 0, sizeof(struct kiln_tensor_desc),
                                      sizeof(struct kiln_node_desc), 4, 4, 4, 0, 0,
                                      sizeof(struct kiln_bundle_plan), 0, 0, 0, 0, 0, 0, 0,
                                      sizeof(struct kiln_block_desc)};
#define N_KNOWN (sizeof record_size / sizeof record_size[0])
/* The types this reader knows (1..10, 17) and those a 1.x bundle must have (1..9). */
#define KNOWN_MASK 0x207feu
#define REQUIRED_MASK 0x3feu

static enum kiln_status check_header(const uint8_t *b, size_t len,
                                     const struct kiln_bundle_header **out, struct kiln_diag *d)
{
    const struct kiln_bundle_header *h = (const void *)b;
    if (len < 8 || memcmp(b, KILN_BUNDLE_MAGIC, 8) != 0)
        return FAIL(KILN_STATUS_PARSE, 0, "not a kiln bundle (bad magic)");
    if (len < sizeof *h)
        return FAIL(KILN_STATUS_PARSE, len, "truncated: %llu bytes, the header alone has %llu",
                    U(len), U(sizeof *h));
    if (h->version_major != KILN_BUNDLE_VERSION_MAJOR) /* newer (or a pre-release 0.x) */
        return FAIL(KILN_STATUS_UNSUPPORTED, 8,
                    "bundle format version %u.%u; this runtime reads version %u.x (it is %u.%u)",
                    h->version_major, h->version_minor, KILN_BUNDLE_VERSION_MAJOR,
                    KILN_BUNDLE_VERSION_MAJOR, KILN_BUNDLE_VERSION_MINOR);
    if (h->file_size != len)
        return FAIL(KILN_STATUS_PARSE, len,
                    "truncated or padded: the header says %llu bytes, the buffer has %llu",
                    U(h->file_size), U(len));
    uint32_t crc = kiln_crc32(kiln_crc32(0, b, 24), b + 28, len - 28);
    if (crc != h->checksum)
        return FAIL(KILN_STATUS_PARSE, 24, "checksum mismatch (computed %08llx, stored %08llx)",
                    U(crc), U(h->checksum));
    if (h->flags &
        ~(uint32_t)(KILN_BUNDLE_FEATURE_RUNTIME_DIMS | KILN_BUNDLE_FEATURE_PACKED_WEIGHTS |
                    KILN_BUNDLE_FEATURE_SPARSE_WEIGHTS))
        return FAIL(KILN_STATUS_UNSUPPORTED, 12, "needs features this runtime lacks (flags %#llx)",
                    U(h->flags));
    if (h->header_size < sizeof *h || h->header_size > len)
        return FAIL(KILN_STATUS_PARSE, 28, "bad header size %llu", U(h->header_size));
    uint64_t es = h->section_entry_size, to = h->section_table_offset;
    if (es < sizeof(struct kiln_bundle_section) || es % 8 || h->n_sections > MAX_SECTIONS ||
        to % 8 || to < h->header_size || to > len || (len - to) / es < h->n_sections)
        return FAIL(KILN_STATUS_PARSE, 32, "bad section table (%llu sections at %llu)",
                    U(h->n_sections), U(to));
    *out = h;
    return KILN_STATUS_OK;
}

enum kiln_status kiln_model_load(const void *buf, size_t len, struct kiln_model *m,
                                 struct kiln_diag *d)
{
    if (!buf || !m)
        return kiln_diag_set(d, KILN_STATUS_INVALID_ARG, NULL, NULL, "no buffer or model");
    if ((uintptr_t)buf % KILN_BUNDLE_ALIGN)
        return kiln_diag_set(d, KILN_STATUS_INVALID_ARG, NULL, NULL,
                             "the bundle buffer must be %d-byte aligned", KILN_BUNDLE_ALIGN);
    const uint8_t *b = buf;
    const struct kiln_bundle_header *h = NULL;
    enum kiln_status st = check_header(b, len, &h, d);
    if (st)
        return st;
    const struct kiln_bundle_section *sec[N_KNOWN] = {0};
    uint64_t ends[MAX_SECTIONS + 1][2] = {{0, h->header_size}};
    uint32_t n_ranges = 1;
    for (uint32_t i = 0; i < h->n_sections; i++) {
        uint64_t eo = h->section_table_offset + (uint64_t)i * h->section_entry_size;
        const struct kiln_bundle_section *s = (const void *)(b + eo);
        if (s->offset > len || s->size > len - s->offset || s->offset < h->header_size)
            return FAIL(KILN_STATUS_PARSE, eo, "section %u lies outside the file (offset %llu)",
                        i, U(s->offset));
        if (s->type >= N_KNOWN || !((KNOWN_MASK >> s->type) & 1)) {
            if (s->flags & KILN_SECTION_REQUIRED)
                return FAIL(KILN_STATUS_UNSUPPORTED, eo,
                            "needs section type %u, unknown to this runtime (section %u)",
                            s->type, i);
            continue; /* an optional section of a newer minor version */
        }
        uint64_t align = s->type == KILN_SECTION_WEIGHTS ? KILN_BUNDLE_ALIGN : 8;
        uint64_t rs = record_size[s->type];
        if (sec[s->type] || s->offset % align ||
            (rs && (s->record_size != rs || s->size != (uint64_t)s->count * rs)) ||
            (!rs && (s->count || s->record_size)))
            return FAIL(KILN_STATUS_PARSE, eo,
                        "section %u (type %u) is duplicated, misaligned or mis-sized", i,
                        s->type);
        sec[s->type] = s;
        ends[n_ranges][0] = s->offset;
        ends[n_ranges++][1] = s->offset + s->size;
    }
    uint64_t table_end = h->section_table_offset + (uint64_t)h->n_sections * h->section_entry_size;
    for (uint32_t i = 0; i < n_ranges; i++) {
        uint64_t lo = ends[i][0], hi = ends[i][1];
        if (i && lo < table_end && h->section_table_offset < hi && hi > lo)
            return FAIL(KILN_STATUS_PARSE, lo, "the section at %llu overlaps the section table",
                        U(lo));
        for (uint32_t j = 0; j < i; j++)
            if (lo < ends[j][1] && ends[j][0] < hi && hi > lo && ends[j][1] > ends[j][0])
                return FAIL(KILN_STATUS_PARSE, lo, "sections at %llu and %llu overlap",
                            U(ends[j][0]), U(lo));
    }
    for (uint32_t t = 1; t < N_KNOWN; t++)
        if (((REQUIRED_MASK >> t) & 1) && !sec[t])
            return FAIL(KILN_STATUS_PARSE, 0, "section type %u is missing", t);
    const struct kiln_bundle_plan *plan = (const void *)(b + sec[KILN_SECTION_PLAN]->offset);
    if (sec[KILN_SECTION_PLAN]->count != 1 || plan->reserved)
        return FAIL(KILN_STATUS_PARSE, sec[KILN_SECTION_PLAN]->offset,
                    "the plan section needs exactly one record");
    memset(m, 0, sizeof *m);
    struct kiln_program *p = &m->prog;
#define AT(T) ((const void *)(b + sec[KILN_SECTION_##T]->offset))
    p->n_tensors = sec[KILN_SECTION_TENSORS]->count;
    p->n_nodes = sec[KILN_SECTION_NODES]->count;
    p->n_inputs = sec[KILN_SECTION_INPUTS]->count;
    p->n_outputs = sec[KILN_SECTION_OUTPUTS]->count;
    p->tensors = AT(TENSORS);
    p->nodes = AT(NODES);
    p->io = AT(NODE_IO);
    p->inputs = AT(INPUTS);
    p->outputs = AT(OUTPUTS);
    p->params = AT(PARAMS);
    p->params_size = sec[KILN_SECTION_PARAMS]->size;
    p->weights = AT(WEIGHTS);
    p->weights_size = sec[KILN_SECTION_WEIGHTS]->size;
    p->strings = AT(STRINGS);
    p->strings_size = sec[KILN_SECTION_STRINGS]->size;
    p->arena_size = plan->arena_size;
    if (sec[KILN_SECTION_BLOCKS]) {
        /* record 0 is the main schedule as a block; blocks 0.. follow it */
        const struct kiln_block_desc *bl = AT(BLOCKS);
        if (!sec[KILN_SECTION_BLOCKS]->count || bl->first_node || bl->io_first || bl->n_in ||
            bl->n_out || bl->n_nodes > p->n_nodes)
            return FAIL(KILN_STATUS_PARSE, sec[KILN_SECTION_BLOCKS]->offset,
                        "the blocks section must start with the main schedule");
        p->n_block_nodes = p->n_nodes - bl->n_nodes;
        p->n_nodes = bl->n_nodes;
        p->n_blocks = sec[KILN_SECTION_BLOCKS]->count - 1;
        p->blocks = bl + 1;
    }
#undef AT
    m->base = b;
    m->size = len;
    m->n_io = sec[KILN_SECTION_NODE_IO]->count;
    m->version_major = h->version_major;
    m->version_minor = h->version_minor;
    m->plan_lower_bound = plan->lower_bound;
    m->plan_naive = plan->naive;
    st = kiln_program_validate(p, m->n_io, d);
    if (!st && kiln_program_reserve_views(p))
        st = FAIL(KILN_STATUS_INVALID_MODEL, sec[KILN_SECTION_PLAN]->offset,
                  "an arena of %llu bytes cannot be allocated", U(plan->arena_size));
    if (st)
        memset(m, 0, sizeof *m);
    return st;
}

uint32_t kiln_model_n_inputs(const struct kiln_model *m)
{
    return m ? m->prog.n_inputs : 0;
}

uint32_t kiln_model_n_outputs(const struct kiln_model *m)
{
    return m ? m->prog.n_outputs : 0;
}

static enum kiln_status io_info(const struct kiln_model *m, uint32_t t, struct kiln_io_info *io)
{
    const struct kiln_tensor_desc *td = &m->prog.tensors[t];
    io->name = m->prog.strings + td->name;
    io->dtype = td->dtype;
    io->rank = td->rank;
    io->dims = td->dims;
    io->nbytes = td->nbytes;
    io->scale = td->scale;
    io->zero_point = td->zero_point;
    io->flags = td->flags;
    return KILN_STATUS_OK;
}

enum kiln_status kiln_model_input(const struct kiln_model *m, uint32_t i, struct kiln_io_info *io)
{
    if (!m || !io || i >= m->prog.n_inputs)
        return KILN_STATUS_INVALID_ARG;
    return io_info(m, m->prog.inputs[i], io);
}

enum kiln_status kiln_model_output(const struct kiln_model *m, uint32_t i,
                                   struct kiln_io_info *io)
{
    if (!m || !io || i >= m->prog.n_outputs)
        return KILN_STATUS_INVALID_ARG;
    return io_info(m, m->prog.outputs[i], io);
}

uint64_t kiln_model_arena_size(const struct kiln_model *m)
{
    return m ? m->prog.arena_size : 0;
}

enum kiln_status kiln_model_run_opts(const struct kiln_model *m, void *arena,
                                     const void *const in[], void *const out[],
                                     const struct kiln_run_opts *opts)
{
    if (!m || !m->base || (uintptr_t)arena % KILN_BUNDLE_ALIGN)
        return KILN_STATUS_INVALID_ARG;
    return kiln_run_opts(&m->prog, arena, in, out, opts);
}

enum kiln_status kiln_model_run(const struct kiln_model *m, void *arena, const void *const in[],
                                void *const out[])
{
    return kiln_model_run_opts(m, arena, in, out, NULL);
}
