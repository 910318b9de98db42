/* nms.c - NonMaxSuppression. Its output length depends on the data: when every input is
 * constant, inference runs the selection (runtime/kernels/nms.h) once to size the output
 * [num_selected, 3] and the node folds. Otherwise the output gets the bound
 * batches * classes * min(boxes, max_output_boxes_per_class when constant) and the kernel
 * sets the selection count as its extent in each run (runtime/dims.c). */
#include <stdlib.h>

#include "ops.h"
#include "../../runtime/kernels/nms.h"

static enum kiln_status infer_nms(struct kiln_infer_ctx *c, struct kiln_ir_node *n)
{
    static const char *const what[] = {"boxes", "scores", "max_output_boxes_per_class",
                                       "iou_threshold", "score_threshold"};
    struct kiln_ir_value *boxes, *scores;
    enum kiln_status st;
    int64_t center;
    if ((st = kiln_need_input(c, n, 0, &boxes)) || (st = kiln_need_input(c, n, 1, &scores)) ||
        (st = kiln_check_dtype(c, n, 0, kiln_dtypes_f32)) ||
        (st = kiln_check_same_dtype(c, n, 0, 1)) ||
        (st = kiln_attr_int(c, n, "center_point_box", 0, &center)))
        return st;
    if (center != 0 && center != 1)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL, "center_point_box is %lld; "
                             "expected 0 or 1", (long long)center);
    if (boxes->rank != 3 || boxes->dims[2] != 4 || scores->rank != 3 ||
        scores->dims[0] != boxes->dims[0] || scores->dims[2] != boxes->dims[1])
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "boxes '%s' must be [batches, boxes, 4] and scores '%s' [batches, "
                             "classes, boxes]",
                             boxes->name, scores->name);
    bool all_const = true;
    for (uint32_t i = 0; i < n->n_in; i++) {
        if (i >= 2 && n->in[i] && kiln_ir_value_numel(n->in[i]) != 1)
            return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL, "%s '%s' must be a scalar",
                                 what[i], n->in[i]->name);
        all_const &= !n->in[i] || n->in[i]->data;
    }
    static const int count_dtypes[] = {KILN_DTYPE_I64, 0}, thr_dtypes[] = {KILN_DTYPE_F32, 0};
    if ((kiln_in(n, 2) && (st = kiln_check_dtype(c, n, 2, count_dtypes))) ||
        (kiln_in(n, 3) && (st = kiln_check_dtype(c, n, 3, thr_dtypes))) ||
        (kiln_in(n, 4) && (st = kiln_check_dtype(c, n, 4, thr_dtypes))))
        return st;
    double max_boxes = 0, iou = 0, score = 0;
    if ((kiln_in(n, 2) && n->in[2]->data &&
         (st = kiln_const_scalar(c, n, 2, what[2], &max_boxes))) ||
        (all_const && kiln_in(n, 3) && (st = kiln_const_scalar(c, n, 3, what[3], &iou))) ||
        (all_const && kiln_in(n, 4) && (st = kiln_const_scalar(c, n, 4, what[4], &score))))
        return st;
    struct kiln_p_nms *p = kiln_node_params(c, n, sizeof *p);
    if (!p)
        return kiln_op_error(c, n, KILN_STATUS_NO_MEMORY, "out of memory");
    p->center_point_box = (int32_t)center;
    int64_t B = boxes->dims[0], N = boxes->dims[1], C = scores->dims[1];
    n->scratch_size = kiln_nms_scratch(N);
    if (!all_const) {
        int64_t per_class = N;
        if (kiln_in(n, 2) && n->in[2]->data)
            per_class = kiln_nms_per_class(max_boxes, N);
        int64_t dims[2] = {B * C * per_class, 3};
        return kiln_set_output_bound(c, n, 0, KILN_DTYPE_I64, 2, dims);
    }
    void *scratch = malloc(n->scratch_size);
    if (!scratch)
        return kiln_op_error(c, n, KILN_STATUS_NO_MEMORY, "out of memory");
    int64_t count = kiln_nms_run(boxes->data, scores->data, B, C, N,
                                 kiln_nms_per_class(max_boxes, N), (float)iou,
                                 kiln_in(n, 4) != NULL, (float)score, (int)center, NULL, 0,
                                 scratch);
    free(scratch);
    int64_t dims[2] = {count, 3};
    return kiln_set_output(c, n, 0, KILN_DTYPE_I64, 2, dims);
}

const struct kiln_op_info kiln_opi_non_max_suppression = {
    .infer = infer_nms, .dtypes = "float32",
    .notes = "folded when every input is constant; else a run-time extent (bound: batches x "
             "classes x min(boxes, max_output_boxes_per_class)); center_point_box 0/1",
    .opsets = {10}};
