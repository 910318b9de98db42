/* threads.c - the caller-owned thread pool (kiln_threads_create, kiln.h) and the fork-join
 * kiln_par_run of threads.h: n - 1 worker threads started once, woken for each job by a
 * generation counter under one mutex, the caller running part 0 and waiting for the rest.
 * Memory is allocated only by kiln_threads_create; a run allocates nothing. Compiled into
 * libkilnrt, and into emitted C only with -DNAME_THREADS (POSIX threads). */
#include <stdlib.h>
#include <string.h>

#include "threads.h"

#if !defined(KILN_EMITTED) || defined(KILN_THREADS)
#include <pthread.h>

#define KILN_THREADS_MAX 64

struct kiln_threads {
    int n; /* threads including the caller */
    int started;
    pthread_mutex_t mu;
    pthread_cond_t wake, done;
    /* the job, under mu */
    unsigned long gen;
    kiln_par_fn fn;
    void *ctx;
    int parts, pending, busy, quit;
    pthread_t th[KILN_THREADS_MAX];
    struct kiln_threads *self[KILN_THREADS_MAX]; /* worker k's argument: &self[k] */
};

static void *worker(void *arg)
{
    struct kiln_threads **slot = arg;
    struct kiln_threads *t = *slot;
    int me = (int)(slot - t->self) + 1; /* worker k runs part k + 1 */
    unsigned long seen = 0;
    pthread_mutex_lock(&t->mu);
    for (;;) {
        while (!t->quit && t->gen == seen)
            pthread_cond_wait(&t->wake, &t->mu);
        if (t->quit)
            break;
        seen = t->gen;
        if (me >= t->parts)
            continue;
        kiln_par_fn fn = t->fn;
        void *ctx = t->ctx;
        int parts = t->parts;
        pthread_mutex_unlock(&t->mu);
        fn(ctx, me, parts);
        pthread_mutex_lock(&t->mu);
        if (--t->pending == 0)
            pthread_cond_signal(&t->done);
    }
    pthread_mutex_unlock(&t->mu);
    return NULL;
}

#ifndef KILN_EMITTED
/* -1 until read; racing first reads store the same value */
static int split_all = -1;

uint64_t kiln_par_min(uint64_t normal)
{
    int v = __atomic_load_n(&split_all, __ATOMIC_RELAXED);
    if (v < 0) {
        const char *e = getenv("KILN_THREADS_SPLIT_ALL");
        v = e && *e && strcmp(e, "0") != 0;
        __atomic_store_n(&split_all, v, __ATOMIC_RELAXED);
    }
    return v ? 0 : normal;
}
#endif

int kiln_par_count(const struct kiln_threads *t)
{
    return t ? t->n : 1;
}

void kiln_par_run(struct kiln_threads *t, int n, kiln_par_fn fn, void *ctx)
{
    int serial = !t || n <= 1 || n > t->n;
    if (!serial) {
        pthread_mutex_lock(&t->mu);
        serial = t->busy;
        if (!serial) {
            t->busy = 1;
            t->fn = fn, t->ctx = ctx, t->parts = n, t->pending = n - 1;
            t->gen++;
            pthread_cond_broadcast(&t->wake);
        }
        pthread_mutex_unlock(&t->mu);
    }
    if (serial) {
        for (int i = 0; i < n; i++)
            fn(ctx, i, n);
        return;
    }
    fn(ctx, 0, n);
    pthread_mutex_lock(&t->mu);
    while (t->pending)
        pthread_cond_wait(&t->done, &t->mu);
    t->busy = 0;
    pthread_mutex_unlock(&t->mu);
}

static void stop(struct kiln_threads *t)
{
    pthread_mutex_lock(&t->mu);
    t->quit = 1;
    pthread_cond_broadcast(&t->wake);
    pthread_mutex_unlock(&t->mu);
    for (int k = 0; k < t->started; k++)
        pthread_join(t->th[k], NULL);
    pthread_cond_destroy(&t->done);
    pthread_cond_destroy(&t->wake);
    pthread_mutex_destroy(&t->mu);
    free(t);
}

enum kiln_status kiln_threads_create(int n, struct kiln_threads **out)
{
    if (!out)
        return KILN_STATUS_INVALID_ARG;
    *out = NULL;
    if (n < 1 || n > KILN_THREADS_MAX)
        return KILN_STATUS_INVALID_ARG;
    struct kiln_threads *t = calloc(1, sizeof *t);
    if (!t)
        return KILN_STATUS_NO_MEMORY;
    t->n = n;
    if (pthread_mutex_init(&t->mu, NULL)) {
        free(t);
        return KILN_STATUS_NO_MEMORY;
    }
    if (pthread_cond_init(&t->wake, NULL)) {
        pthread_mutex_destroy(&t->mu);
        free(t);
        return KILN_STATUS_NO_MEMORY;
    }
    if (pthread_cond_init(&t->done, NULL)) {
        pthread_cond_destroy(&t->wake);
        pthread_mutex_destroy(&t->mu);
        free(t);
        return KILN_STATUS_NO_MEMORY;
    }
    for (int k = 0; k < n - 1; k++) {
        t->self[k] = t;
        if (pthread_create(&t->th[k], NULL, worker, &t->self[k])) {
            stop(t);
            return KILN_STATUS_NO_MEMORY;
        }
        t->started++;
    }
    *out = t;
    return KILN_STATUS_OK;
}

void kiln_threads_destroy(struct kiln_threads *t)
{
    if (t)
        stop(t);
}

int kiln_threads_count(const struct kiln_threads *t)
{
    return kiln_par_count(t);
}
#else
/* emitted C without NAME_THREADS: threads.h runs parts in order; nothing to define */
typedef int kiln_threads_unused;
#endif
