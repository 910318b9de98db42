/* exec.h - internal to the runtime: the state of one run, shared by the interpreter and the
 * control-flow kernels that execute blocks (If branches, Loop and Scan bodies). */
#ifndef KILN_RT_EXEC_H
#define KILN_RT_EXEC_H

#include "kiln/kiln.h"

struct kiln_exec {
    const struct kiln_program *p;
    uint8_t *arena;
    const void *const *inputs;
    void *const *outputs;
    kiln_node_hook hook;
    void *user;
    /* the first failure of the run (run-time extents that do not fit an op); once set, no
     * further node runs and loops stop */
    enum kiln_status *status;
    uint32_t depth; /* block nesting level of the nodes being run (main schedule: 0) */
    /* the caller's pool for kernels that split their work (runtime/kernels/threads.h); NULL:
     * every kernel runs on the calling thread */
    struct kiln_threads *threads;
};

/* Runs block b's nodes in order. */
void kiln_rt_run_block(const struct kiln_exec *e, uint32_t b);
/* The view of program tensor t in this run (data resolved against arena, inputs, weights). */
void kiln_rt_view(const struct kiln_exec *e, uint32_t t, struct kiln_tensor *v);

#endif
