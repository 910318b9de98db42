/* onnx_export.h - writes an (optimized) IR graph back as an ONNX model, for Netron, ONNX Runtime
 * and kiln itself. Nodes that only kiln understands (fused attributes "kiln_*", kiln-only ops)
 * go to the "kiln" domain, documented in docs/kiln-domain.md; kiln's importer reads it back. */
#ifndef KILN_ONNX_EXPORT_H
#define KILN_ONNX_EXPORT_H

#include <stdbool.h>

#include "ir.h"

/* The custom domain of kiln's ops and fused attributes, and its version. */
#define KILN_ONNX_DOMAIN "kiln"
#define KILN_ONNX_DOMAIN_VERSION 1

struct kiln_onnx_write_options {
    /* Refuse (naming the node) instead of writing a kiln-domain node: the file must be plain
     * ONNX that other runtimes execute (what -O1 output promises). */
    bool standard_only;
};

/* Writes g (inferred; optimized or not) to path as a ModelProto: IR version 8, producer
 * "kiln", the default-domain opset g->opset (plus ("kiln", 1) when a kiln-domain node is
 * written), typed graph inputs/outputs, value_info for intermediates, every constant a written
 * node reads as an initializer (raw_data, little-endian), live nodes in topological order with
 * their names and attributes, subgraphs recursively. Nodes whose outputs were all evaluated at
 * compile time are written as those constants instead. The file is written to a temporary
 * next to path and renamed: on error nothing is left. o may be NULL (defaults). */
enum kiln_status kiln_onnx_write(const struct kiln_ir_graph *g, const char *path,
                                 const struct kiln_onnx_write_options *o, struct kiln_diag *d);

/* True if n is written in the kiln domain for a model of default-domain opset `opset`: its
 * domain is already "kiln", it carries an attribute named "kiln_*", or its op is one ONNX does
 * not define at that opset (FusedElementwise; Gelu before opset 20). */
bool kiln_onnx_node_is_kiln(const struct kiln_ir_node *n, int64_t opset);

#endif
