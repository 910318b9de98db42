/* plan.h - the arena plan (docs/memory-plan.md): where every intermediate tensor and kernel
 * scratch lives in the caller's arena, and how close that is to the lower bound. Lowering runs
 * the planner on the tables it builds; the same entries are rebuilt from a finished program
 * (a loaded bundle keeps only the report) so that `kiln inspect --plan` shows one thing. */
#ifndef KILN_PLAN_H
#define KILN_PLAN_H

#include <stdbool.h>

#include "kiln/kiln.h"

/* One arena buffer: a tensor together with the views, in-place results and Concat slices
 * that share its bytes (tensor names the buffer's widest member, the earliest on ties), or
 * the scratch of one node (tensor UINT32_MAX, first == last == that node). Steps index the
 * main schedule (prog.nodes); a control node's blocks live inside its scratch. */
struct kiln_plan_entry {
    uint32_t tensor;
    uint64_t offset, size; /* size rounded up to KILN_ARENA_ALIGN */
    uint32_t first, last;  /* first and last step that touches the buffer */
};

/* The plan of a program: its buffers and the planner's report. */
struct kiln_plan {
    struct kiln_plan_entry *entries; /* malloc'd; sorted by first step, then offset */
    uint32_t n;
    uint64_t lower_bound; /* largest sum of simultaneously live arena bytes */
    uint64_t naive;       /* sum of all arena buffers without any sharing */
    const char *strategy; /* placement order that won (static); NULL when not known */
};
void kiln_plan_free(struct kiln_plan *plan);
/* Sorts entries by first step, then offset (the order of kiln_plan's). */
void kiln_plan_sort(struct kiln_plan_entry *e, uint32_t n);

/* Optimisations of the arena plan; all on by default (a zeroed struct). */
struct kiln_lower_options {
    bool no_inplace; /* elementwise outputs never take their dying input's buffer */
    bool no_alias;   /* Reshape/Flatten/Squeeze/Unsqueeze/Identity/Dropout run as copies */
    bool no_concat;  /* Concat always copies (producers never write into its output) */
};

/* The tables of a program while lowering builds it. The planner reads them and sets the
 * arena tensors' offsets and the nodes' scratch offsets (blocks' ones included). */
struct kiln_plan_tables {
    struct kiln_tensor_desc *tensors;
    uint32_t n_tensors;
    const int32_t *tensor_block;  /* block of each tensor; -1: the main schedule */
    struct kiln_node_desc *nodes; /* the schedule being planned (main or one block) */
    uint32_t n_nodes;
    const uint32_t *io;
    const uint8_t *params;
    struct kiln_node_desc *block_nodes; /* the finished blocks' nodes */
    const struct kiln_block_desc *blocks;
};

/* Plans block k, whose nodes are t->nodes: every arena tensor of the block and its nodes'
 * scratch get offsets relative to the block's region, whose size goes to *size. The formal
 * inputs and outputs live through the whole block. */
enum kiln_status kiln_plan_block(const struct kiln_plan_tables *t, int32_t k,
                                 const uint32_t *formal, uint32_t n_formal, uint64_t *size,
                                 struct kiln_diag *d);

/* Plans the main schedule: views, in place and Concat in place (as opt allows), lifetimes over
 * the final schedule, placement, then the blocks moved into their control node's scratch.
 * drop (t->n_nodes entries, zeroed) receives the nodes that leave the schedule; the caller
 * removes them. plan->entries name tensors by their index in t (before that removal). */
enum kiln_status kiln_plan_schedule(const struct kiln_plan_tables *t,
                                    const struct kiln_lower_options *opt, bool *drop,
                                    struct kiln_plan *plan, uint64_t *arena,
                                    struct kiln_diag *d);

/* The plan of a finished program, rebuilt from its offsets and schedule: a tensor that no
 * node writes (a view, a Concat assembled in place) shares the buffer of the tensors last
 * written in its bytes, and tensors whose bytes and steps overlap share one buffer. For a
 * program kiln_lower made, the entries equal the planner's. The report is the caller's. */
enum kiln_status kiln_plan_from_program(const struct kiln_program *p, uint64_t lower_bound,
                                        uint64_t naive, struct kiln_plan *plan,
                                        struct kiln_diag *d);

/* The steps of the main schedule that use each tensor (first[t] > last[t] when none): its
 * own uses, or for a tensor of a block the step of the control node that runs the block. */
enum kiln_status kiln_plan_tensor_steps(const struct kiln_program *p, uint32_t *first,
                                        uint32_t *last, struct kiln_diag *d);

#endif
