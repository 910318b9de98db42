/* cli.h - what the `kiln` subcommands share: the error line format, usage errors and option
 * parsing. Exit codes: 0 success, 1 an error about the model or data, 2 a usage error. */
#ifndef KILN_CLI_H
#define KILN_CLI_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler.h"

enum { CLI_OK = 0, CLI_ERROR = 1, CLI_USAGE = 2 };

/* Prints "kiln: error: FILE: node 'NAME' (OP): message" (FILE from d->file, else file; the
 * node part only when d names a node) and returns CLI_ERROR. */
static inline int cli_error(const char *file, const struct kiln_diag *d)
{
    const char *fl = d->file[0] ? d->file : file;
    fprintf(stderr, "kiln: error: ");
    if (fl && fl[0])
        fprintf(stderr, "%s: ", fl);
    if (d->node[0])
        fprintf(stderr, "node '%s' (%s): ", d->node, d->op[0] ? d->op : "?");
    fprintf(stderr, "%s", d->message[0] ? d->message : kiln_status_name(d->status));
    if (d->value_is_input && d->value[0]) /* a graph input decides it: offer to fix it */
        fprintf(stderr, "; give its value with --input-value %s=FILE.npy", d->value);
    fputc('\n', stderr);
    return CLI_ERROR;
}

/* A usage error: the message, the command's usage line, and CLI_USAGE. */
static inline int cli_usage_error(const char *usage_line, const char *msg, const char *arg)
{
    fprintf(stderr, "kiln: error: %s%s%s%s\n", msg, arg ? " '" : "", arg ? arg : "",
            arg ? "'" : "");
    fprintf(stderr, "usage: %s\n", usage_line);
    return CLI_USAGE;
}

/* Matches argv[*i] against an option taking a value ("--opt VALUE" or "--opt=VALUE").
 * Returns 1 and sets *val (advancing *i past a separate value), 0 if argv[*i] is another
 * option, -1 if the value is missing. */
static inline int cli_opt_value(int argc, char **argv, int *i, const char *name,
                                const char **val)
{
    size_t n = strlen(name);
    const char *a = argv[*i];
    if (strncmp(a, name, n) != 0)
        return 0;
    if (a[n] == '=') {
        *val = a + n + 1;
        return 1;
    }
    if (a[n] != '\0')
        return 0;
    if (*i + 1 >= argc)
        return -1;
    *val = argv[++*i];
    return 1;
}

/* Parses a non-negative count (--repeat, --warmup); false if not a number in [0, max]. */
/* --threads of kiln run and kiln bench: at most the pool's limit (kiln_threads_create) */
#define CLI_MAX_THREADS 64

static inline bool cli_parse_count(const char *s, long max, long *out)
{
    char *end;
    if (!s[0] || s[0] == '-')
        return false;
    long v = strtol(s, &end, 10);
    if (*end || v < 0 || v > max)
        return false;
    *out = v;
    return true;
}

/* Parses --max-memory's value: bytes, or a number with K, M, G or T (powers of 1024); false
 * unless it is a whole number from 1 to 2^62 bytes. */
static inline bool cli_parse_bytes(const char *s, uint64_t *out)
{
    char *end;
    if (s[0] < '0' || s[0] > '9')
        return false;
    unsigned long long v = strtoull(s, &end, 10);
    int shift = 0;
    const char *units = "KMGT";
    const char *u = *end ? strchr(units, *end) : NULL;
    if (u) {
        shift = 10 * (int)(u - units + 1);
        end++;
    }
    if (*end || v == 0 || v > (1ull << 62) >> shift)
        return false;
    *out = (uint64_t)v << shift;
    return true;
}

/* The memory limit a command applies when --max-memory is not given: the compiler's default
 * for a model file of that size (KILN_MEMORY_PER_BYTE x the file + KILN_MEMORY_BASE). */
static inline uint64_t cli_memory_limit(uint64_t given, const char *model)
{
    if (given)
        return given;
    FILE *f = fopen(model, "rb");
    long n = -1;
    if (f && fseek(f, 0, SEEK_END) == 0)
        n = ftell(f);
    if (f)
        fclose(f);
    return kiln_default_memory_limit(n > 0 ? (uint64_t)n : 0);
}

#define CLI_MAX_MEMORY_HELP                                                                   \
    "  --max-memory BYTES            what the compiler may allocate for the model (and `kiln\n" \
    "                                run` for its arena); K, M, G suffixes; default 4 x the\n"  \
    "                                model file + 512M (docs/robustness.md)\n"

static inline bool cli_is_help(const char *a)
{
    return strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0;
}

/* The shared argument list of --input-shape options, grown as they appear. */
struct cli_shapes {
    struct kiln_input_shape *v;
    size_t n;
};

/* Adds one --input-shape spec; on a bad spec prints the error and returns CLI_USAGE. */
static inline int cli_add_shape(struct cli_shapes *s, const char *spec, const char *usage_line)
{
    struct kiln_input_shape *nv = realloc(s->v, (s->n + 1) * sizeof *nv);
    if (!nv) {
        fprintf(stderr, "kiln: error: out of memory\n");
        return CLI_ERROR;
    }
    s->v = nv;
    struct kiln_diag d;
    kiln_diag_clear(&d);
    if (kiln_parse_input_shape(spec, &s->v[s->n], &d))
        return cli_usage_error(usage_line, d.message, NULL);
    s->n++;
    return CLI_OK;
}

/* The --input-value options (NAME=FILE.npy), grown as they appear. */
struct cli_values {
    struct kiln_input_value *v;
    size_t n;
};

static inline int cli_add_value(struct cli_values *s, const char *spec, const char *usage_line)
{
    const char *eq = strchr(spec, '=');
    if (!eq || eq == spec || !eq[1] || (size_t)(eq - spec) >= sizeof s->v->name)
        return cli_usage_error(usage_line, "--input-value takes NAME=FILE.npy, not", spec);
    struct kiln_input_value *nv = realloc(s->v, (s->n + 1) * sizeof *nv);
    if (!nv) {
        fprintf(stderr, "kiln: error: out of memory\n");
        return CLI_ERROR;
    }
    s->v = nv;
    struct kiln_input_value *iv = &s->v[s->n++];
    memcpy(iv->name, spec, (size_t)(eq - spec));
    iv->name[eq - spec] = '\0';
    iv->path = eq + 1;
    return CLI_OK;
}

int kiln_cmd_compile(int argc, char **argv);
int kiln_cmd_inspect(int argc, char **argv);
int kiln_cmd_run(int argc, char **argv);
int kiln_cmd_bench(int argc, char **argv);
/* One-line usages (for usage errors) and full help texts (for --help). */
extern const char kiln_usage_compile[], kiln_help_compile[];
extern const char kiln_usage_inspect[], kiln_help_inspect[];
extern const char kiln_usage_run[], kiln_help_run[];
extern const char kiln_usage_bench[], kiln_help_bench[];

/* Writes path through a temporary renamed into place (no partial file on failure); prints
 * the error and returns CLI_ERROR on failure. In cmd_bench.c. */
int cli_write_file(const char *path, void (*write)(FILE *, const void *), const void *arg);

/* Matches -O0..-O3 (also "-O 2" / "--opt-level 2"); returns 1 and sets *level, 0 if argv[*i]
 * is something else, -1 on a bad level. */
static inline int cli_opt_level(int argc, char **argv, int *i, int *level)
{
    const char *a = argv[*i], *v = NULL;
    if (a[0] == '-' && a[1] == 'O' && a[2] && !a[3])
        v = a + 2;
    else if ((strcmp(a, "-O") == 0 || strcmp(a, "--opt-level") == 0) && *i + 1 < argc)
        v = argv[++*i];
    else
        return 0;
    if (v[0] < '0' || v[0] > '3' || v[1])
        return -1;
    *level = v[0] - '0';
    return 1;
}

#endif
