/* test_bench.c - the library half of `kiln bench`: statistics (nearest rank) on a fake clock,
 * the interleaved timer, SQNR / max abs error / top-1 on known vectors, the config parser
 * with its errors, and a whole run of models/mlp.onnx on a fake clock whose JSON output is
 * validated against docs/bench.schema.json by the small JSON Schema checker below. */
#include <ctype.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bench.h"
#include "kernels/gemm_core.h"

#define ROOT KILN_TEST_DATA "/../.."

/* ---- statistics ---- */

static void test_stats_nearest_rank(void **state)
{
    (void)state;
    double v[10] = {7, 3, 10, 1, 9, 2, 8, 4, 6, 5};
    struct kiln_bench_stats s;
    kiln_bench_stats_compute(v, 10, &s);
    assert_int_equal(s.n, 10);
    assert_true(s.min == 1 && s.max == 10);
    assert_true(s.median == 5.5); /* even count: mean of the middle two */
    assert_true(s.p90 == 9);      /* ceil(0.9 * 10) = 9th */
    assert_true(s.p99 == 10);     /* ceil(0.99 * 10) = 10th */
    assert_true(fabs(s.mean - 5.5) < 1e-12);
    assert_true(v[0] == 7); /* the caller's samples are not reordered */

    double w[100];
    for (int i = 0; i < 100; i++)
        w[i] = 100 - i;
    kiln_bench_stats_compute(w, 100, &s);
    assert_true(s.p90 == 90 && s.p99 == 99 && s.median == 50.5);

    double one = 4.25;
    kiln_bench_stats_compute(&one, 1, &s);
    assert_true(s.min == 4.25 && s.median == 4.25 && s.p90 == 4.25 && s.p99 == 4.25);

    double odd[5] = {5, 1, 4, 2, 3};
    kiln_bench_stats_compute(odd, 5, &s);
    assert_true(s.median == 3 && s.p90 == 5 && s.p99 == 5);
    double sorted[7] = {1, 2, 3, 4, 5, 6, 7};
    assert_true(kiln_bench_percentile(sorted, 7, 50) == 4); /* ceil(3.5) = 4th */
    assert_true(kiln_bench_percentile(sorted, 7, 10) == 1);
    assert_true(isnan(kiln_bench_percentile(sorted, 0, 50)));
}

/* A fake clock: each read returns the time, and a run advances it by its item's cost. */
struct fake {
    uint64_t now;
    uint64_t step;          /* added on every read */
    const uint64_t *cost;   /* per item, per call to run */
    size_t calls, order[64];
};

static uint64_t fake_clock(void *user)
{
    struct fake *f = user;
    uint64_t t = f->now;
    f->now += f->step;
    return t;
}

static enum kiln_status fake_run(void *user, size_t item)
{
    struct fake *f = user;
    if (f->calls < 64)
        f->order[f->calls] = item;
    f->calls++;
    f->now += f->cost[item] + f->calls; /* +calls: every run differs, so rounds are told apart */
    return KILN_STATUS_OK;
}

static void test_timer_interleaved(void **state)
{
    (void)state;
    uint64_t cost[3] = {1000000, 2000000, 500000}; /* 1 ms, 2 ms, 0.5 ms */
    struct fake f = {.cost = cost};
    struct kiln_bench_timer t = {fake_clock, &f, fake_run, &f, NULL, NULL};
    double samples[3 * 4];
    assert_int_equal(kiln_bench_time_interleaved(&t, 3, 2, 4, samples), KILN_STATUS_OK);
    assert_int_equal(f.calls, 3 * 6);
    /* round r starts at item r % 3, so the order rotates */
    size_t want[9] = {0, 1, 2, 1, 2, 0, 2, 0, 1};
    for (int i = 0; i < 9; i++)
        assert_int_equal(f.order[i], want[i]);
    /* timed rounds are 2..5; call k (1-based) of item i costs cost[i] + k ns */
    for (size_t item = 0; item < 3; item++)
        for (int r = 0; r < 4; r++) {
            int round = r + 2;
            size_t pos = (item + 3 - (size_t)round % 3) % 3; /* place of item in the round */
            size_t k = (size_t)round * 3 + pos + 1;
            double want_ms = (double)(cost[item] + k) / 1e6;
            assert_true(fabs(samples[item * 4 + r] - want_ms) < 1e-12);
        }
    struct kiln_bench_stats s;
    kiln_bench_stats_compute(samples + 4, 4, &s); /* item 1: 2 ms + a few ns */
    assert_true(s.min > 2.0 && s.max < 2.0001 && s.min < s.max);
}

/* ---- output comparison ---- */

static void test_sqnr_and_errors(void **state)
{
    (void)state;
    double ref[4] = {1, 2, 3, 4}, x[4] = {1.1, 1.9, 3.1, 3.9};
    /* signal 30, noise 4 * 0.01 = 0.04: 10 log10(750) */
    assert_true(fabs(kiln_bench_sqnr_db(ref, x, 4) - 10 * log10(750.0)) < 1e-9);
    assert_true(fabs(kiln_bench_max_abs_diff(ref, x, 4) - 0.1) < 1e-12);
    assert_true(isinf(kiln_bench_sqnr_db(ref, ref, 4)) && kiln_bench_sqnr_db(ref, ref, 4) > 0);
    assert_true(kiln_bench_max_abs_diff(ref, ref, 4) == 0);
    double zero[2] = {0, 0}, one[2] = {0, 1};
    assert_true(isinf(kiln_bench_sqnr_db(zero, one, 2)) && kiln_bench_sqnr_db(zero, one, 2) < 0);
    double half[4] = {0.5, 1, 1.5, 2}; /* error = ref / 2: SQNR = 10 log10(4) */
    assert_true(fabs(kiln_bench_sqnr_db(ref, half, 4) - 10 * log10(4.0)) < 1e-9);
    double withnan[4] = {1, NAN, 3, 4};
    assert_true(isnan(kiln_bench_max_abs_diff(ref, withnan, 4)));
    assert_true(isnan(kiln_bench_sqnr_db(ref, withnan, 4)));
}

static void test_argmax_and_widen(void **state)
{
    (void)state;
    double v[5] = {0.1, 0.9, 0.9, NAN, -3};
    assert_int_equal(kiln_bench_argmax(v, 5), 1); /* first of a tie */
    double n2[2] = {NAN, -1};
    assert_int_equal(kiln_bench_argmax(n2, 2), 1); /* NaN never wins */
    double neg[3] = {-5, -2, -9};
    assert_int_equal(kiln_bench_argmax(neg, 3), 1);

    uint16_t h[3] = {kiln_f32_to_f16(1.5f), kiln_f32_to_f16(-2.0f), 0};
    double out[3];
    assert_true(kiln_bench_to_f64(h, KILN_DTYPE_F16, 3, out));
    assert_true(out[0] == 1.5 && out[1] == -2.0 && out[2] == 0);
    int64_t i64[2] = {-7, 1LL << 40};
    assert_true(kiln_bench_to_f64(i64, KILN_DTYPE_I64, 2, out));
    assert_true(out[0] == -7 && out[1] == (double)(1LL << 40));
    uint8_t b[2] = {0, 5};
    assert_true(kiln_bench_to_f64(b, KILN_DTYPE_BOOL, 2, out));
    assert_true(out[0] == 0 && out[1] == 1);
    assert_false(kiln_bench_to_f64(b, 8 /* string */, 2, out));
}

/* ---- configurations ---- */

static void parse_ok(const char *list, size_t n, const int *levels)
{
    struct kiln_bench_config *c = NULL;
    size_t nc = 0;
    struct kiln_diag d;
    kiln_diag_clear(&d);
    assert_int_equal(kiln_bench_parse_configs(list, &c, &nc, &d), KILN_STATUS_OK);
    assert_int_equal(nc, n);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(c[i].opt_level, levels[i]);
        assert_false(c[i].int8 || c[i].fp16 || c[i].prune > 0);
    }
    free(c);
}

static void parse_err(const char *list, enum kiln_status want, const char *phrase)
{
    struct kiln_bench_config *c = (void *)1;
    size_t nc = 7;
    struct kiln_diag d;
    kiln_diag_clear(&d);
    assert_int_equal(kiln_bench_parse_configs(list, &c, &nc, &d), want);
    assert_null(c);
    assert_int_equal(nc, 0);
    if (!strstr(d.message, phrase))
        fail_msg("'%s': '%s' not in '%s'", list, phrase, d.message);
}

static void test_config_parser(void **state)
{
    (void)state;
    parse_ok("O0,O2", 2, (int[]){0, 2});
    parse_ok("O3", 1, (int[]){3});
    parse_ok("O2,O0,O1", 3, (int[]){2, 0, 1});
    struct kiln_bench_config *c;
    size_t n;
    struct kiln_diag d;
    kiln_diag_clear(&d);
    assert_int_equal(kiln_bench_parse_configs("O1,O2", &c, &n, &d), 0);
    assert_string_equal(c[0].label, "O1");
    assert_string_equal(c[1].label, "O2");
    free(c);
    /* prune:R is channel pruning (kiln compile --prune channels:R) */
    assert_int_equal(kiln_bench_parse_configs("O1+prune:0.5", &c, &n, &d), 0);
    assert_true(c[0].prune == 0.5 && c[0].opt_level == 1);
    free(c);

    /* features that do not exist yet: named, never skipped */
    parse_err("O0,O2+int8", KILN_STATUS_UNSUPPORTED, "int8 quantization is not implemented yet");
    parse_err("O2+fp16", KILN_STATUS_UNSUPPORTED, "fp16 conversion is not implemented yet");
    parse_err("int8", KILN_STATUS_UNSUPPORTED, "config 'int8'");
    /* malformed or unknown: a usage error, also when a future feature is next to it */
    parse_err("O4", KILN_STATUS_INVALID_ARG, "unknown feature 'O4'");
    parse_err("O2+int8,O9", KILN_STATUS_INVALID_ARG, "unknown feature 'O9'");
    parse_err("O2+turbo", KILN_STATUS_INVALID_ARG, "known: O0, O1, O2, O3, int8");
    parse_err("O1+O2", KILN_STATUS_INVALID_ARG, "with another -O level");
    parse_err("O2+int8+int8", KILN_STATUS_INVALID_ARG, "'int8' given twice");
    parse_err("O0,O0", KILN_STATUS_INVALID_ARG, "config 'O0' is given twice");
    parse_err("", KILN_STATUS_INVALID_ARG, "empty config list");
    parse_err("O0,,O2", KILN_STATUS_INVALID_ARG, "empty config label");
    parse_err("O0,", KILN_STATUS_INVALID_ARG, "empty config label");
    parse_err("O2+", KILN_STATUS_INVALID_ARG, "empty or overlong feature");
    parse_err("prune:2", KILN_STATUS_INVALID_ARG, "fraction between 0 and 1");
    parse_err("prune", KILN_STATUS_INVALID_ARG, "fraction between 0 and 1");
    parse_err("prune:0.5x", KILN_STATUS_INVALID_ARG, "fraction between 0 and 1");

    /* simd:NAME forces the float32 GEMM's micro-kernel; one the CPU lacks is refused */
    assert_int_equal(kiln_bench_parse_configs("O2+simd:portable,O2", &c, &n, &d), 0);
    assert_int_equal(c[0].simd, KILN_GEMM_ISA_PORTABLE + 1);
    assert_int_equal(c[0].opt_level, 2);
    assert_int_equal(c[1].simd, 0);
    free(c);
    parse_err("simd:sse", KILN_STATUS_INVALID_ARG, "simd: takes portable, avx2 or avx512");
    parse_err("simd:", KILN_STATUS_INVALID_ARG, "simd: takes portable");
    parse_err("O2+simd:avx2+simd:avx2", KILN_STATUS_INVALID_ARG, "'simd:avx2' given twice");
    for (int i = 1; i < KILN_GEMM_ISA_COUNT; i++) {
        char list[64];
        snprintf(list, sizeof list, "O0+simd:%s", kiln_gemm_isa_name((enum kiln_gemm_isa)i));
        if (kiln_gemm_isa_supported((enum kiln_gemm_isa)i))
            parse_ok(list, 1, (int[]){0});
        else
            parse_err(list, KILN_STATUS_UNSUPPORTED, "does not run the");
    }
}

/* simd: configs run side by side in one process; the process default is back afterwards, and
 * the portable row differs from the best variant only by rounding */
static void test_run_simd_configs(void **state)
{
    (void)state;
    enum kiln_gemm_isa before = kiln_gemm_isa_active();
    struct kiln_bench_config *cfg = NULL;
    size_t n = 0;
    struct kiln_diag d;
    kiln_diag_clear(&d);
    assert_int_equal(kiln_bench_parse_configs("O2+simd:portable,O2", &cfg, &n, &d), 0);
    struct kiln_bench_options o = {.model = ROOT "/models/digits_cnn.onnx", .configs = cfg,
                                   .n_configs = n, .repeat = 2, .warmup = 0};
    struct kiln_bench_result r;
    assert_int_equal(kiln_bench_run(&o, &r, &d), KILN_STATUS_OK);
    assert_int_equal(kiln_gemm_isa_active(), before);
    assert_int_equal(r.n_rows, 2);
    assert_true(r.rows[1].diffs != NULL);
    assert_true(r.rows[1].max_abs < 1e-4);
    if (before == KILN_GEMM_ISA_PORTABLE)
        assert_true(r.rows[1].max_abs == 0);
    kiln_bench_result_free(&r);
    free(cfg);
}

/* ---- a tiny JSON reader and the JSON Schema subset docs/bench.schema.json uses ---- */

enum jt { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };
struct jv {
    enum jt t;
    bool b, is_int;
    double num;
    char *str;
    struct jv *items; /* array elements or object values */
    char **keys;
    size_t n;
};

struct jp {
    const char *s;
    bool bad;
};

static void jws(struct jp *p)
{
    while (*p->s == ' ' || *p->s == '\n' || *p->s == '\t' || *p->s == '\r')
        p->s++;
}

static char *jstring(struct jp *p)
{
    if (*p->s != '"') {
        p->bad = true;
        return NULL;
    }
    p->s++;
    char *out = malloc(strlen(p->s) + 1);
    size_t n = 0;
    while (*p->s && *p->s != '"') {
        if (*p->s == '\\') {
            p->s++;
            if (*p->s == 'u') { /* only the \u00XX escapes the writer makes */
                out[n++] = '?';
                p->s += 4;
            } else
                out[n++] = *p->s == 'n' ? '\n' : *p->s;
            p->s++;
        } else if ((unsigned char)*p->s < 0x20) {
            p->bad = true;
            break;
        } else
            out[n++] = *p->s++;
    }
    if (*p->s != '"')
        p->bad = true;
    else
        p->s++;
    out[n] = '\0';
    return out;
}

static void jparse(struct jp *p, struct jv *v, int depth)
{
    memset(v, 0, sizeof *v);
    jws(p);
    if (depth > 64) {
        p->bad = true;
        return;
    }
    char c = *p->s;
    if (c == '{' || c == '[') {
        v->t = c == '{' ? J_OBJ : J_ARR;
        p->s++;
        size_t cap = 0;
        jws(p);
        if (*p->s == (c == '{' ? '}' : ']')) {
            p->s++;
            return;
        }
        for (;;) {
            if (v->n == cap) {
                cap = cap ? cap * 2 : 8;
                v->items = realloc(v->items, cap * sizeof *v->items);
                v->keys = realloc(v->keys, cap * sizeof *v->keys);
            }
            v->keys[v->n] = NULL;
            if (c == '{') {
                jws(p);
                v->keys[v->n] = jstring(p);
                jws(p);
                if (*p->s++ != ':')
                    p->bad = true;
            }
            jparse(p, &v->items[v->n++], depth + 1);
            jws(p);
            if (p->bad)
                return;
            if (*p->s == ',') {
                p->s++;
                continue;
            }
            if (*p->s++ != (c == '{' ? '}' : ']'))
                p->bad = true;
            return;
        }
    }
    if (c == '"') {
        v->t = J_STR;
        v->str = jstring(p);
    } else if (strncmp(p->s, "true", 4) == 0 || strncmp(p->s, "false", 5) == 0) {
        v->t = J_BOOL;
        v->b = c == 't';
        p->s += v->b ? 4 : 5;
    } else if (strncmp(p->s, "null", 4) == 0) {
        v->t = J_NULL;
        p->s += 4;
    } else {
        char *end;
        v->t = J_NUM;
        v->num = strtod(p->s, &end);
        if (end == p->s || c == '+' || c == '.' || (c == '0' && isdigit((unsigned char)p->s[1])))
            p->bad = true;
        v->is_int = !memchr(p->s, '.', (size_t)(end - p->s)) &&
                    !memchr(p->s, 'e', (size_t)(end - p->s)) &&
                    !memchr(p->s, 'E', (size_t)(end - p->s));
        p->s = end;
    }
}

static bool jparse_all(const char *text, struct jv *v)
{
    struct jp p = {text, false};
    jparse(&p, v, 0);
    jws(&p);
    return !p.bad && *p.s == '\0';
}

static void jfree(struct jv *v)
{
    for (size_t i = 0; i < v->n; i++) {
        jfree(&v->items[i]);
        if (v->keys)
            free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    free(v->str);
}

static const struct jv *jget(const struct jv *o, const char *key)
{
    for (size_t i = 0; o && o->t == J_OBJ && i < o->n; i++)
        if (strcmp(o->keys[i], key) == 0)
            return &o->items[i];
    return NULL;
}

static bool type_is(const struct jv *v, const char *t)
{
    return (strcmp(t, "null") == 0 && v->t == J_NULL) ||
           (strcmp(t, "boolean") == 0 && v->t == J_BOOL) ||
           (strcmp(t, "number") == 0 && v->t == J_NUM) ||
           (strcmp(t, "integer") == 0 && v->t == J_NUM && v->is_int) ||
           (strcmp(t, "string") == 0 && v->t == J_STR) ||
           (strcmp(t, "array") == 0 && v->t == J_ARR) ||
           (strcmp(t, "object") == 0 && v->t == J_OBJ);
}

/* Checks v against schema s (type, enum, minimum, maximum, required, properties,
 * additionalProperties: false, items, oneOf, $ref to #/$defs/NAME); on failure the path and
 * the reason go to err. Unknown keywords fail too, so the checker cannot silently pass. */
static bool validate(const struct jv *root, const struct jv *s, const struct jv *v,
                     const char *path, char *err, size_t esz)
{
    const struct jv *k;
    if ((k = jget(s, "$ref"))) {
        const char *pre = "#/$defs/";
        if (k->t != J_STR || strncmp(k->str, pre, strlen(pre)) != 0) {
            snprintf(err, esz, "%s: unsupported $ref", path);
            return false;
        }
        const struct jv *def = jget(jget(root, "$defs"), k->str + strlen(pre));
        if (!def) {
            snprintf(err, esz, "%s: dangling $ref %s", path, k->str);
            return false;
        }
        return validate(root, def, v, path, err, esz);
    }
    for (size_t i = 0; i < s->n; i++) {
        const char *kw = s->keys[i];
        static const char *const known[] = {
            "$schema", "$id", "title", "description", "type", "enum", "minimum", "maximum",
            "required", "properties", "additionalProperties", "items", "oneOf", "$defs"};
        bool ok = false;
        for (size_t j = 0; j < sizeof known / sizeof known[0]; j++)
            ok |= strcmp(kw, known[j]) == 0;
        if (!ok) {
            snprintf(err, esz, "%s: schema keyword '%s' not supported by the checker", path, kw);
            return false;
        }
    }
    if ((k = jget(s, "type"))) {
        bool ok = false;
        if (k->t == J_STR)
            ok = type_is(v, k->str);
        for (size_t i = 0; k->t == J_ARR && i < k->n; i++)
            ok |= type_is(v, k->items[i].str);
        if (!ok) {
            snprintf(err, esz, "%s: wrong type", path);
            return false;
        }
    }
    if ((k = jget(s, "enum"))) {
        bool ok = false;
        for (size_t i = 0; i < k->n; i++)
            ok |= v->t == J_STR && k->items[i].t == J_STR && !strcmp(v->str, k->items[i].str);
        if (!ok) {
            snprintf(err, esz, "%s: not one of the enum values", path);
            return false;
        }
    }
    if (v->t == J_NUM && (k = jget(s, "minimum")) && v->num < k->num) {
        snprintf(err, esz, "%s: %g below the minimum %g", path, v->num, k->num);
        return false;
    }
    if (v->t == J_NUM && (k = jget(s, "maximum")) && v->num > k->num) {
        snprintf(err, esz, "%s: %g above the maximum %g", path, v->num, k->num);
        return false;
    }
    if ((k = jget(s, "oneOf"))) {
        int matches = 0;
        char sub[256];
        for (size_t i = 0; i < k->n; i++)
            matches += validate(root, &k->items[i], v, path, sub, sizeof sub);
        if (matches != 1) {
            snprintf(err, esz, "%s: matches %d of the oneOf schemas", path, matches);
            return false;
        }
    }
    char sub[512];
    if (v->t == J_OBJ) {
        const struct jv *props = jget(s, "properties"), *add = jget(s, "additionalProperties");
        if ((k = jget(s, "required")))
            for (size_t i = 0; i < k->n; i++)
                if (!jget(v, k->items[i].str)) {
                    snprintf(err, esz, "%s: '%s' is missing", path, k->items[i].str);
                    return false;
                }
        for (size_t i = 0; i < v->n; i++) {
            const struct jv *ps = jget(props, v->keys[i]);
            snprintf(sub, sizeof sub, "%s.%s", path, v->keys[i]);
            if (!ps && add && add->t == J_BOOL && !add->b) {
                snprintf(err, esz, "%s: not allowed", sub);
                return false;
            }
            if (ps && !validate(root, ps, &v->items[i], sub, err, esz))
                return false;
        }
    }
    if (v->t == J_ARR && (k = jget(s, "items")))
        for (size_t i = 0; i < v->n; i++) {
            snprintf(sub, sizeof sub, "%s[%zu]", path, i);
            if (!validate(root, k, &v->items[i], sub, err, esz))
                return false;
        }
    return true;
}

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
    s[n] = '\0';
    fclose(f);
    return s;
}

static bool check_against_schema(const char *json, char *err, size_t esz)
{
    char *schema_text = read_text(ROOT "/docs/bench.schema.json");
    struct jv schema, doc;
    assert_true(jparse_all(schema_text, &schema));
    bool ok = jparse_all(json, &doc);
    if (!ok)
        snprintf(err, esz, "not valid JSON");
    else
        ok = validate(&schema, &schema, &doc, "$", err, esz);
    jfree(&schema);
    jfree(&doc);
    free(schema_text);
    return ok;
}

static void test_json_checker_rejects(void **state)
{
    (void)state;
    char err[512];
    /* the checker itself must be able to fail */
    assert_false(check_against_schema("{\"schema\": \"kiln-bench/1\"}", err, sizeof err));
    assert_non_null(strstr(err, "is missing"));
    assert_false(check_against_schema("{\"a\": [1, 2,]}", err, sizeof err));
    assert_false(check_against_schema("[1] x", err, sizeof err));
}

/* ---- a whole run on a fake clock: every interval is exactly one tick ---- */

static uint64_t tick_clock(void *user)
{
    uint64_t *now = user;
    uint64_t t = *now;
    *now += 1000; /* 1 us per read */
    return t;
}

static void test_run_mlp_fake_clock(void **state)
{
    (void)state;
    struct kiln_bench_config *cfg;
    size_t n_cfg;
    struct kiln_diag d;
    kiln_diag_clear(&d);
    assert_int_equal(kiln_bench_parse_configs("O0,O2", &cfg, &n_cfg, &d), 0);
    uint64_t now = 0;
    int64_t batches[2] = {4, 8};
    struct kiln_bench_options o = {
        .model = ROOT "/models/mlp.onnx",
        .configs = cfg,
        .n_configs = n_cfg,
        .batches = batches,
        .n_batches = 2,
        .repeat = 7,
        .warmup = 1,
        .seed = 3,
        .measure_rss = true,
        .profile_runs = 2,
        .clock = tick_clock,
        .clock_user = &now,
    };
    struct kiln_bench_result r;
    enum kiln_status st = kiln_bench_run(&o, &r, &d);
    if (st)
        fail_msg("%s", d.message);
    assert_int_equal(r.n_rows, 2);
    assert_int_equal(r.n_batches, 2);
    for (size_t c = 0; c < 2; c++) {
        const struct kiln_bench_row *row = &r.rows[c];
        const struct kiln_bench_stats *s = &row->batches[0].lat;
        assert_int_equal(s->n, 7);
        assert_true(fabs(s->median - 0.001) < 1e-12 && fabs(s->p99 - 0.001) < 1e-12);
        assert_true(fabs(row->batches[0].items_per_s - 4 / 1e-6) < 1e-3);
        /* mlp fixes its batch at 4: batch 8 is a note, not a failure */
        assert_false(row->batches[1].ok);
        assert_non_null(strstr(row->batches[1].note, "fixes the batch at 4"));
        assert_true(fabs(row->compile_ms - 0.001) < 1e-12);
        assert_true(row->arena_bytes > 0 && row->weights_bytes > 0);
        assert_true(row->peak_rss_bytes > 0);
        assert_true(row->code_bytes > 0);
        if (c == 0) /* the baseline against itself */
            assert_true(row->max_abs == 0 && isinf(row->sqnr_db));
        else /* -O2 reorders float arithmetic (Gemm, fused epilogues): close, not identical */
            assert_true(row->max_abs < 1e-5 && row->sqnr_db > 100);
        assert_int_equal(row->top1_total, 4); /* output [4,8]: 4 score rows */
        assert_int_equal(row->top1_same, 4);
        /* every main-schedule node takes one tick per profiled run */
        double sum = 0;
        uint32_t nodes = 0;
        for (size_t k = 0; k < row->n_ops; k++) {
            sum += row->ops[k].ms;
            nodes += row->ops[k].nodes;
        }
        assert_int_equal(nodes, row->n_nodes);
        assert_true(fabs(sum - 0.001 * row->n_nodes) < 1e-9);
        assert_int_equal(row->n_events, row->n_nodes);
    }
    assert_true(r.all_kernels_code_bytes >= r.rows[0].code_bytes);

    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    kiln_bench_write_json(f, &r);
    fclose(f);
    char err[512] = "";
    if (!check_against_schema(buf, err, sizeof err))
        fail_msg("JSON output does not match docs/bench.schema.json: %s\n%s", err, buf);
    assert_non_null(strstr(buf, "\"sqnr_db\": null"));
    /* a broken document fails the same check */
    char *cut = strstr(buf, "\"weights_bytes\"");
    assert_non_null(cut);
    memcpy(cut, "\"weightz_bytes\"", 15);
    assert_false(check_against_schema(buf, err, sizeof err));
    free(buf);

    /* the other writers on the same result */
    buf = NULL;
    f = open_memstream(&buf, &len);
    kiln_bench_write_text(f, &r);
    fclose(f);
    assert_non_null(strstr(buf, "speedup"));
    assert_non_null(strstr(buf, "[1] batch 8: the model fixes the batch at 4"));
    free(buf);
    buf = NULL;
    f = open_memstream(&buf, &len);
    kiln_bench_write_svg(f, &r);
    fclose(f);
    assert_non_null(strstr(buf, "<svg xmlns=\"http://www.w3.org/2000/svg\""));
    assert_null(strstr(buf, "<script"));
    assert_non_null(strstr(buf, "</svg>\n"));
    free(buf);
    buf = NULL;
    f = open_memstream(&buf, &len);
    struct kiln_bench_trace t = {"O0", r.rows[0].events, r.rows[0].n_events};
    kiln_bench_write_trace(f, &t, 1);
    fclose(f);
    struct jv tr;
    assert_true(jparse_all(buf, &tr));
    const struct jv *ev = jget(&tr, "traceEvents");
    assert_non_null(ev);
    assert_int_equal(ev->n, 1 + r.rows[0].n_events);
    assert_string_equal(jget(&ev->items[1], "ph")->str, "X");
    assert_true(jget(&ev->items[1], "dur")->num == 1.0); /* one tick = 1 us */
    jfree(&tr);
    free(buf);
    kiln_bench_result_free(&r);
    free(cfg);
}

static void test_run_errors(void **state)
{
    (void)state;
    struct kiln_bench_config cfg = {"O0", 0, false, false, 0, 0};
    struct kiln_bench_range bad = {"nope", 0, 1};
    struct kiln_bench_options o = {.model = ROOT "/models/mlp.onnx", .configs = &cfg,
                                   .n_configs = 1, .repeat = 1, .ranges = &bad, .n_ranges = 1};
    struct kiln_bench_result r;
    struct kiln_diag d;
    kiln_diag_clear(&d);
    assert_int_equal(kiln_bench_run(&o, &r, &d), KILN_STATUS_INVALID_ARG);
    assert_non_null(strstr(d.message, "--input-range names 'nope'"));
    kiln_bench_result_free(&r);

    const char *in = "input=" ROOT "/models/digits_cnn.input.npy";
    o.ranges = NULL;
    o.n_ranges = 0;
    o.inputs = &in;
    o.n_inputs = 1;
    kiln_diag_clear(&d);
    assert_int_equal(kiln_bench_run(&o, &r, &d), KILN_STATUS_INVALID_ARG);
    assert_non_null(strstr(d.message, "the model expects float32[4,16]"));
    kiln_bench_result_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stats_nearest_rank),
        cmocka_unit_test(test_timer_interleaved),
        cmocka_unit_test(test_sqnr_and_errors),
        cmocka_unit_test(test_argmax_and_widen),
        cmocka_unit_test(test_config_parser),
        cmocka_unit_test(test_json_checker_rejects),
        cmocka_unit_test(test_run_mlp_fake_clock),
        cmocka_unit_test(test_run_errors),
        cmocka_unit_test(test_run_simd_configs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
