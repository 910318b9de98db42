/* bundle_load.c - kiln-bundle-load: times loading a .kiln bundle file N times with
 * kiln_model_map (open, mmap, header, checksum over every page, section table and full
 * validation, then kiln_model_unmap); prints the file size and the median and minimum load
 * time. Used by bench/bundle_report.sh; links only the runtime. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "kiln/bundle.h"

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: kiln-bundle-load FILE.kiln [N]\n");
        return 2;
    }
    int n = argc > 2 ? atoi(argv[2]) : 20;
    if (n < 1)
        n = 1;
    double *t = malloc((size_t)n * sizeof *t);
    struct kiln_model m;
    struct kiln_diag d;
    for (int i = 0; i < n && t; i++) {
        kiln_diag_clear(&d);
        double t0 = now_us();
        enum kiln_status s = kiln_model_map(argv[1], &m, &d);
        t[i] = now_us() - t0;
        if (!s && i + 1 < n)
            kiln_model_unmap(&m);
        if (s) {
            fprintf(stderr, "kiln-bundle-load: error: %s: %s\n", argv[1], d.message);
            return 1;
        }
    }
    if (!t)
        return 1;
    qsort(t, (size_t)n, sizeof *t, cmp);
    printf("%s: %llu bytes, %u nodes, arena %llu bytes, load median %.1f us, min %.1f us "
           "(%d runs)\n",
           argv[1], (unsigned long long)m.size, m.prog.n_nodes,
           (unsigned long long)m.prog.arena_size, t[n / 2], t[0], n);
    free(t);
    kiln_model_unmap(&m);
    return 0;
}
