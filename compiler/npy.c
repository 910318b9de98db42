/* npy.c - NumPy .npy reader and writer. The header is a Python dict literal; it is parsed by a
 * small tokenizer that accepts exactly what numpy writes (and reads back) for C-order,
 * little-endian arrays of plain numeric types, and refuses everything else by name.
 *
 *   "\x93NUMPY" major minor | header length (u16 for 1.0, u32 for 2.0/3.0) | dict ... '\n' | data
 *   <------------------- a multiple of 64 bytes when written by kiln -------------------> */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "npy.h"

#define NPY_MAGIC "\x93NUMPY"
#define NPY_MAGIC_LEN 6

/* dtype <-> descr (kind letter + size); byte order is handled separately. */
static const struct {
    char kind;
    int size;
    int dtype;
} npy_types[] = {
    {'f', 2, KILN_DTYPE_F16}, {'f', 4, KILN_DTYPE_F32}, {'f', 8, KILN_DTYPE_F64},
    {'i', 1, KILN_DTYPE_I8},  {'i', 2, KILN_DTYPE_I16}, {'i', 4, KILN_DTYPE_I32},
    {'i', 8, KILN_DTYPE_I64}, {'u', 1, KILN_DTYPE_U8},  {'u', 2, KILN_DTYPE_U16},
    {'u', 4, KILN_DTYPE_U32}, {'u', 8, KILN_DTYPE_U64}, {'b', 1, KILN_DTYPE_BOOL},
};

/* Records an error about path (the file name goes to d->file, not into the message). */
static enum kiln_status npy_err(struct kiln_diag *d, const char *path, enum kiln_status st,
                                int64_t offset, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;
static enum kiln_status npy_err(struct kiln_diag *d, const char *path, enum kiln_status st,
                                int64_t offset, const char *fmt, ...)
{
    if (!d || d->status != KILN_STATUS_OK)
        return st;
    char msg[sizeof d->message];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    kiln_diag_set(d, st, NULL, NULL, "%s", msg);
    snprintf(d->file, sizeof d->file, "%s", path ? path : "");
    d->offset = offset;
    return st;
}

/* ---- header dict parser ---- */

struct hdr {
    const char *p, *end;
};

static void skip_ws(struct hdr *h)
{
    while (h->p < h->end && (*h->p == ' ' || *h->p == '\t' || *h->p == '\n' || *h->p == '\r'))
        h->p++;
}

static bool eat(struct hdr *h, char c)
{
    skip_ws(h);
    if (h->p < h->end && *h->p == c) {
        h->p++;
        return true;
    }
    return false;
}

/* A quoted string (no escapes: numpy never needs them in these keys/values). */
static bool read_str(struct hdr *h, char *out, size_t size)
{
    skip_ws(h);
    if (h->p >= h->end || (*h->p != '\'' && *h->p != '"'))
        return false;
    char q = *h->p++;
    size_t n = 0;
    while (h->p < h->end && *h->p != q) {
        if (*h->p == '\\' || n + 1 >= size)
            return false;
        out[n++] = *h->p++;
    }
    if (h->p >= h->end)
        return false;
    h->p++;
    out[n] = '\0';
    return true;
}

static bool read_word(struct hdr *h, const char *w)
{
    skip_ws(h);
    size_t n = strlen(w);
    if ((size_t)(h->end - h->p) >= n && memcmp(h->p, w, n) == 0) {
        h->p += n;
        return true;
    }
    return false;
}

struct npy_header {
    char descr[64];
    bool have_descr, have_order, have_shape, fortran, structured;
    int rank;
    int64_t dims[KILN_MAX_RANK];
};

/* Parses "(d0, d1, ...)" into hd; returns a message on error, NULL on success. */
static const char *read_shape(struct hdr *h, struct npy_header *hd)
{
    if (!eat(h, '('))
        return "'shape' is not a tuple";
    hd->rank = 0;
    for (;;) {
        if (eat(h, ')'))
            return NULL;
        skip_ws(h);
        if (h->p >= h->end || *h->p < '0' || *h->p > '9')
            return "'shape' holds something other than non-negative integers";
        int64_t v = 0;
        while (h->p < h->end && *h->p >= '0' && *h->p <= '9') {
            if (v > (INT64_MAX - 9) / 10)
                return "a dimension in 'shape' is too large";
            v = v * 10 + (*h->p++ - '0');
        }
        if (h->p < h->end && *h->p == 'L') /* Python 2 longs */
            h->p++;
        if (hd->rank == KILN_MAX_RANK)
            return "'shape' has more dimensions than kiln supports (8)";
        hd->dims[hd->rank++] = v;
        if (eat(h, ')'))
            return NULL;
        if (!eat(h, ','))
            return "'shape' is not a well-formed tuple";
    }
}

static const char *parse_dict(struct hdr *h, struct npy_header *hd)
{
    if (!eat(h, '{'))
        return "the header is not a Python dict";
    for (;;) {
        if (eat(h, '}'))
            break;
        char key[32];
        if (!read_str(h, key, sizeof key) || !eat(h, ':'))
            return "the header dict is malformed (expected 'key': value)";
        if (strcmp(key, "descr") == 0) {
            skip_ws(h);
            if (h->p < h->end && *h->p == '[') {
                hd->structured = true; /* a field list: structured dtype */
                return NULL;
            }
            if (!read_str(h, hd->descr, sizeof hd->descr))
                return "'descr' is not a string";
            hd->have_descr = true;
        } else if (strcmp(key, "fortran_order") == 0) {
            if (read_word(h, "True"))
                hd->fortran = true;
            else if (read_word(h, "False"))
                hd->fortran = false;
            else
                return "'fortran_order' is not True or False";
            hd->have_order = true;
        } else if (strcmp(key, "shape") == 0) {
            const char *e = read_shape(h, hd);
            if (e)
                return e;
            hd->have_shape = true;
        } else {
            return "the header has an unknown key";
        }
        if (eat(h, '}'))
            break;
        if (!eat(h, ','))
            return "the header dict is malformed (expected ',' or '}')";
    }
    skip_ws(h);
    if (h->p != h->end)
        return "unexpected characters after the header dict";
    if (!hd->have_descr || !hd->have_order || !hd->have_shape)
        return "the header lacks one of 'descr', 'fortran_order', 'shape'";
    return NULL;
}

/* Maps a descr such as '<f4' to a dtype; returns a message on refusal, NULL on success. */
static const char *descr_dtype(const char *s, int *dtype, enum kiln_status *st)
{
    *st = KILN_STATUS_UNSUPPORTED;
    char order = s[0];
    if (order != '<' && order != '>' && order != '|' && order != '=' && order != '!') {
        *st = KILN_STATUS_PARSE;
        return "'descr' has no byte-order mark";
    }
    char kind = s[1];
    if (kind == 'O')
        return "object arrays are not supported (they hold Python objects, not numbers)";
    if (kind == 'V')
        return "structured/void dtypes are not supported";
    if (kind == 'U' || kind == 'S' || kind == 'a')
        return "string arrays are not supported";
    if (kind == 'c')
        return "complex numbers are not supported";
    if (kind == 'M' || kind == 'm')
        return "datetime/timedelta arrays are not supported";
    char *end;
    long size = strtol(s + 2, &end, 10);
    if (end == s + 2 || *end) {
        *st = KILN_STATUS_PARSE;
        return "'descr' is not a numpy type string";
    }
    for (size_t i = 0; i < sizeof npy_types / sizeof npy_types[0]; i++) {
        if (npy_types[i].kind != kind || npy_types[i].size != size)
            continue;
        /* '=' is native order; kiln hosts are little-endian */
        if ((order == '>' || order == '!') && size > 1)
            return "big-endian data is not supported; convert with "
                   "a.astype(a.dtype.newbyteorder('<'))";
        *dtype = npy_types[i].dtype;
        return NULL;
    }
    return "unsupported element type (kiln reads f2 f4 f8 i1 i2 i4 i8 u1 u2 u4 u8 b1)";
}

enum kiln_status kiln_npy_read_buffer(const void *buf, size_t len, const char *path,
                                      struct kiln_host_tensor *t, struct kiln_diag *d)
{
    memset(t, 0, sizeof *t);
    const unsigned char *b = buf;
    if (len < NPY_MAGIC_LEN + 2 || memcmp(b, NPY_MAGIC, NPY_MAGIC_LEN) != 0)
        return npy_err(d, path, KILN_STATUS_PARSE, 0,
                       "not a .npy file (the magic string \\x93NUMPY is missing)");
    int major = b[6], minor = b[7];
    size_t hl_size = major == 1 ? 2 : 4;
    if ((major != 1 && major != 2 && major != 3) || minor != 0)
        return npy_err(d, path, KILN_STATUS_UNSUPPORTED, 6,
                       ".npy format version %d.%d is not supported (1.0, 2.0, 3.0 are)", major,
                       minor);
    if (len < 8 + hl_size)
        return npy_err(d, path, KILN_STATUS_PARSE, 8, "truncated .npy header");
    uint64_t hlen = b[8] | (uint64_t)b[9] << 8;
    if (hl_size == 4)
        hlen |= (uint64_t)b[10] << 16 | (uint64_t)b[11] << 24;
    size_t start = 8 + hl_size;
    if (hlen > len - start)
        return npy_err(d, path, KILN_STATUS_PARSE, (int64_t)start,
                       "truncated .npy header (%llu bytes announced, %zu present)",
                       (unsigned long long)hlen, len - start);
    struct hdr h = {(const char *)b + start, (const char *)b + start + hlen};
    for (const char *p = h.p; p < h.end; p++)
        if (*p == '\0' || (major < 3 && (unsigned char)*p >= 0x80))
            return npy_err(d, path, KILN_STATUS_PARSE, (int64_t)start + (p - h.p),
                           "the .npy header contains binary garbage");
    struct npy_header hd;
    memset(&hd, 0, sizeof hd);
    const char *e = parse_dict(&h, &hd);
    if (e)
        return npy_err(d, path, KILN_STATUS_PARSE, (int64_t)(h.p - (const char *)b),
                       "bad .npy header: %s", e);
    if (hd.structured)
        return npy_err(d, path, KILN_STATUS_UNSUPPORTED, (int64_t)start,
                       "structured dtypes (record arrays) are not supported");
    enum kiln_status st;
    if ((e = descr_dtype(hd.descr, &t->dtype, &st)))
        return npy_err(d, path, st, (int64_t)start, "dtype '%s': %s", hd.descr, e);
    if (hd.fortran)
        return npy_err(d, path, KILN_STATUS_UNSUPPORTED, (int64_t)start,
                       "Fortran-order arrays are not supported; save with "
                       "np.save(f, np.ascontiguousarray(a))");
    uint64_t esz = kiln_dtype_size(t->dtype), nb = esz;
    for (int i = 0; i < hd.rank; i++) {
        if (hd.dims[i] && nb > UINT64_MAX / 2 / (uint64_t)hd.dims[i])
            return npy_err(d, path, KILN_STATUS_PARSE, (int64_t)start,
                           "the product of the dimensions overflows");
        nb *= (uint64_t)hd.dims[i];
    }
    size_t data_at = start + (size_t)hlen;
    if (nb > len - data_at)
        return npy_err(d, path, KILN_STATUS_PARSE, (int64_t)len,
                       "truncated data: the shape needs %llu bytes, the file holds %zu",
                       (unsigned long long)nb, len - data_at);
    t->rank = hd.rank;
    memcpy(t->dims, hd.dims, sizeof t->dims);
    t->nbytes = nb;
    t->data = malloc(nb ? nb : 1);
    if (!t->data) {
        memset(t, 0, sizeof *t);
        return npy_err(d, path, KILN_STATUS_NO_MEMORY, -1, "out of memory (%llu bytes)",
                       (unsigned long long)nb);
    }
    if (nb)
        memcpy(t->data, b + data_at, nb);
    return KILN_STATUS_OK;
}

enum kiln_status kiln_npy_read(const char *path, struct kiln_host_tensor *t, struct kiln_diag *d)
{
    memset(t, 0, sizeof *t);
    FILE *f = fopen(path, "rb");
    if (!f)
        return npy_err(d, path, KILN_STATUS_IO, -1, "cannot open: %s", strerror(errno));
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        fclose(f);
        return npy_err(d, path, KILN_STATUS_IO, -1, "not a regular file");
    }
    size_t n = (size_t)sb.st_size;
    void *buf = malloc(n ? n : 1);
    if (!buf) {
        fclose(f);
        return npy_err(d, path, KILN_STATUS_NO_MEMORY, -1, "out of memory reading %zu bytes", n);
    }
    size_t got = n ? fread(buf, 1, n, f) : 0;
    fclose(f);
    enum kiln_status st =
        got != n ? npy_err(d, path, KILN_STATUS_IO, (int64_t)got, "short read")
                 : kiln_npy_read_buffer(buf, n, path, t, d);
    free(buf);
    return st;
}

/* ---- writer ---- */

/* Builds the full preamble (magic .. '\n') into out (malloc'd); returns its length or 0. */
static size_t make_header(int dtype, int rank, const int64_t *dims, char **out)
{
    const char *descr = NULL;
    char dbuf[8];
    for (size_t i = 0; i < sizeof npy_types / sizeof npy_types[0]; i++)
        if (npy_types[i].dtype == dtype) {
            snprintf(dbuf, sizeof dbuf, "%c%c%d", npy_types[i].size == 1 ? '|' : '<',
                     npy_types[i].kind, npy_types[i].size);
            descr = dbuf;
        }
    if (!descr)
        return 0;
    char dict[64 + KILN_MAX_RANK * 24];
    size_t o = (size_t)snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, "
                                "'shape': (", descr);
    for (int i = 0; i < rank; i++)
        o += (size_t)snprintf(dict + o, sizeof dict - o, "%s%lld", i ? ", " : "",
                              (long long)dims[i]);
    o += (size_t)snprintf(dict + o, sizeof dict - o, "%s), }", rank == 1 ? "," : "");
    /* version 1.0 unless the header needs more than a u16 length (never with rank <= 8) */
    int major = 8 + 2 + o + 1 > 65535 ? 2 : 1;
    size_t pre = 8 + (major == 1 ? 2 : 4);
    size_t total = (pre + o + 1 + 63) / 64 * 64;
    char *h = malloc(total);
    if (!h)
        return 0;
    memcpy(h, NPY_MAGIC, NPY_MAGIC_LEN);
    h[6] = (char)major;
    h[7] = 0;
    size_t hl = total - pre;
    for (size_t i = 0; i < pre - 8; i++)
        h[8 + i] = (char)((hl >> (8 * i)) & 0xff);
    memcpy(h + pre, dict, o);
    memset(h + pre + o, ' ', total - pre - o - 1);
    h[total - 1] = '\n';
    *out = h;
    return total;
}

static bool write_all(int fd, const void *buf, uint64_t n)
{
    const char *p = buf;
    while (n) {
        ssize_t w = write(fd, p, n > (1u << 30) ? (1u << 30) : (size_t)n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        p += w;
        n -= (uint64_t)w;
    }
    return true;
}

enum kiln_status kiln_npy_write_tmp(const char *path, int dtype, int rank, const int64_t *dims,
                                    const void *data, char *tmp, size_t tmp_size,
                                    struct kiln_diag *d)
{
    if (dtype == KILN_DTYPE_BF16)
        return npy_err(d, path, KILN_STATUS_UNSUPPORTED, -1,
                       "bfloat16 has no .npy type; convert the tensor to float32 first");
    if (rank < 0 || rank > KILN_MAX_RANK)
        return npy_err(d, path, KILN_STATUS_INVALID_ARG, -1, "bad rank %d", rank);
    uint64_t nb = kiln_dtype_size(dtype);
    for (int i = 0; i < rank; i++) {
        if (dims[i] < 0)
            return npy_err(d, path, KILN_STATUS_INVALID_ARG, -1, "negative dimension");
        nb *= (uint64_t)dims[i];
    }
    char *hdr = NULL;
    size_t hlen = make_header(dtype, rank, dims, &hdr);
    if (!hlen)
        return npy_err(d, path, hdr ? KILN_STATUS_NO_MEMORY : KILN_STATUS_UNSUPPORTED, -1,
                       "cannot write element type %s to .npy", kiln_dtype_name(dtype));
    /* a unique name next to the target, so the final rename stays within one file system */
    int fd = -1;
    for (int k = 0; k < 1000 && fd < 0; k++) {
        if ((size_t)snprintf(tmp, tmp_size, "%s.tmp%ld.%d", path, (long)getpid(), k) >= tmp_size)
            break;
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0666);
        if (fd < 0 && errno != EEXIST)
            break;
    }
    if (fd < 0) {
        int e = errno;
        free(hdr);
        tmp[0] = '\0';
        return npy_err(d, path, KILN_STATUS_IO, -1, "cannot create: %s", strerror(e));
    }
    bool ok = write_all(fd, hdr, hlen) && (!nb || write_all(fd, data, nb));
    int e = errno;
    free(hdr);
    if (close(fd) != 0 && ok) {
        ok = false;
        e = errno;
    }
    if (!ok) {
        unlink(tmp);
        tmp[0] = '\0';
        return npy_err(d, path, KILN_STATUS_IO, -1, "cannot write: %s", strerror(e));
    }
    return KILN_STATUS_OK;
}

enum kiln_status kiln_npy_write(const char *path, int dtype, int rank, const int64_t *dims,
                                const void *data, struct kiln_diag *d)
{
    char tmp[4096];
    enum kiln_status st = kiln_npy_write_tmp(path, dtype, rank, dims, data, tmp, sizeof tmp, d);
    if (st)
        return st;
    if (rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return npy_err(d, path, KILN_STATUS_IO, -1, "cannot rename into place: %s", strerror(e));
    }
    return KILN_STATUS_OK;
}
