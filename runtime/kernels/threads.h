/* threads.h - fork-join over the caller's thread pool (struct kiln_threads, kiln.h) for the
 * kernels that split their work: kiln_par_run runs n parts of a job, part 0 on the calling
 * thread, and returns when all are done. Kernels split so that every part writes its own
 * outputs and every output is computed the same way whatever the split: results do not depend
 * on the thread count. Without a pool (or with one thread) kernels take their serial path.
 * Emitted C gets the pool only when built with -DNAME_THREADS; otherwise parts run in order. */
#ifndef KILN_RT_THREADS_H
#define KILN_RT_THREADS_H

#include "../exec.h"

/* Part i of n of a job; parts must not depend on each other's results. */
typedef void (*kiln_par_fn)(void *ctx, int i, int n);

#if defined(KILN_EMITTED) && !defined(KILN_THREADS)
static inline int kiln_par_count(const struct kiln_threads *t)
{
    (void)t;
    return 1;
}
static inline void kiln_par_run(struct kiln_threads *t, int n, kiln_par_fn fn, void *ctx)
{
    int i;
    (void)t;
    for (i = 0; i < n; i++)
        fn(ctx, i, n);
}
#else
/* Threads of the pool, the caller included; 1 for NULL. */
int kiln_par_count(const struct kiln_threads *t);
/* Runs fn(ctx, i, n) for i in [0, n) on n threads of t (n <= kiln_par_count(t)). A pool that is
 * busy (another run uses it, or a part calls this again) runs the parts in order instead. */
void kiln_par_run(struct kiln_threads *t, int n, kiln_par_fn fn, void *ctx);
#endif

/* Work (multiply-adds, output elements) below which a kernel stays on one thread, as waking
 * threads would cost more: `normal`, or 0 with KILN_THREADS_SPLIT_ALL set (an environment
 * variable in libkilnrt, read once; a macro in emitted C), so that tests split every op. */
#if defined(KILN_EMITTED)
static inline uint64_t kiln_par_min(uint64_t normal)
{
#ifdef KILN_THREADS_SPLIT_ALL
    (void)normal;
    return 0;
#else
    return normal;
#endif
}
#else
uint64_t kiln_par_min(uint64_t normal);
#endif

/* The pool of the run a kernel belongs to: NULL outside a run or without one. */
static inline struct kiln_threads *kiln_args_threads(const struct kiln_kernel_args *a)
{
    return a->exec ? a->exec->threads : NULL;
}

/* [*lo, *hi): part i of n of `count` items handed out in units of `unit` (the last unit may be
 * short); parts differ by at most one unit. */
static inline void kiln_par_range(int64_t count, int64_t unit, int i, int n, int64_t *lo,
                                  int64_t *hi)
{
    int64_t units = (count + unit - 1) / unit, q = units / n, r = units % n;
    int64_t u0 = i * q + (i < r ? i : r), u1 = u0 + q + (i < r);
    *lo = u0 * unit < count ? u0 * unit : count;
    *hi = u1 * unit < count ? u1 * unit : count;
}

#endif
