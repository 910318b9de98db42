/* prune.h - structured channel pruning (passes/prune.c): what it removed, layer by layer, and
 * the channel groups it left alone with the reason, for `kiln compile --report` and kiln bench.
 * The options and the entry points are declared in compiler/driver.h, which the driver calls
 * before the -O pipeline. */
#ifndef KILN_PASS_PRUNE_H
#define KILN_PASS_PRUNE_H

#include <stdio.h>

#include "driver.h"

/* One Conv/ConvTranspose/Gemm/MatMul (any node with a MAC count) whose shape pruning changed. */
struct kiln_prune_layer {
    char name[128], op_type[32];   /* copies: the report outlives the graph */
    int64_t out_before, out_after; /* output channels (dims[1] of output 0) */
    int64_t in_before, in_after;   /* input channels (dims[1] of input 0) */
    uint64_t macs_before, macs_after;
    uint64_t wbytes_before, wbytes_after;        /* the node's constant inputs */
    uint64_t weights, zeros_before, zeros_after; /* elements of the weight (input 1) */
    bool sparse_kernel; /* the weight will be stored sparse (kiln_gemm_sparse_weight) */
};

struct kiln_prune_report {
    struct kiln_prune_layer *layers;
    uint32_t n_layers;
    uint64_t macs_before, macs_after;            /* the whole graph */
    uint64_t wbytes_before, wbytes_after;        /* every constant a node reads, counted once */
    int mode;                                    /* enum kiln_prune_mode */
    int64_t channels_before, channels_after;     /* of the groups that were candidates */
    uint64_t weights, zeros_before, zeros_after; /* magnitude: all candidate weights */
    char *notes; /* NUL-separated lines: groups left alone and why; malloc'd */
    size_t notes_len, notes_cap;
    uint32_t n_notes;
};

/* The table: one row per changed layer, the totals, then the notes. */
void kiln_prune_report_print(FILE *f, const struct kiln_prune_report *r);

#endif
