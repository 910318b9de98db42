/* params.h - the parameter struct of every kernel, shared by the compiler (which fills them),
 * the interpreter and bundle (which store them as bytes) and the emitted C (which prints them).
 * Rules: fixed-width fields only, no pointers, every field initialised (zero padding bytes are
 * part of the format), sizes a multiple of 8. Shapes live in the tensors, not here. */
#ifndef KILN_PARAMS_H
#define KILN_PARAMS_H

#include <stdint.h>

#include "kiln/kiln.h"

#define KILN_MAX_SPATIAL 3

/* A fused activation, applied in a producer's epilogue (Conv, Gemm, MatMul). */
enum kiln_act_kind {
    KILN_ACT_NONE = 0,
    KILN_ACT_RELU,
    KILN_ACT_CLIP,         /* min(max(x, alpha), beta) */
    KILN_ACT_LEAKY_RELU,   /* alpha */
    KILN_ACT_SIGMOID,
    KILN_ACT_TANH,
    KILN_ACT_HARD_SIGMOID, /* alpha, beta */
    KILN_ACT_HARD_SWISH,
    KILN_ACT_SILU,
    KILN_ACT_GELU,
};

struct kiln_act {
    int32_t kind;
    float alpha, beta;
    int32_t reserved;
};

/* Elementwise unary ops and Clip. a, b, c hold the op's attributes:
 * LeakyRelu/Elu/Celu/ThresholdedRelu alpha=a; Selu alpha=a gamma=b; HardSigmoid alpha=a beta=b;
 * Shrink lambd=a bias=b; Clip min=a max=b; IsInf detect_positive=a detect_negative=b. */
struct kiln_p_unary {
    double a, b, c;
};

/* Binary elementwise ops; BitShift direction (0 left, 1 right), Mod fmod flag.
 * b_trailing: size-1 axes appended to input B's shape before numpy broadcasting, for the
 * pre-opset-7 Add/Sub/Mul/Div `broadcast=1, axis=k` form. */
struct kiln_p_binary {
    int32_t flag;
    int32_t b_trailing;
};

/* The sliding window of Conv and the pools, per spatial axis (axes past nsp are zero). */
struct kiln_p_window {
    int64_t kernel[KILN_MAX_SPATIAL];
    int64_t stride[KILN_MAX_SPATIAL];
    int64_t dilation[KILN_MAX_SPATIAL];
    int64_t pad_begin[KILN_MAX_SPATIAL];
    int64_t pad_end[KILN_MAX_SPATIAL];
};

struct kiln_p_conv {
    int32_t nsp;   /* spatial dims, 1..3 */
    int32_t group;
    struct kiln_p_window win;
    struct kiln_act act;
};

struct kiln_p_gemm {
    int32_t trans_a, trans_b;
    float alpha, beta;
    struct kiln_act act;
};

struct kiln_p_matmul {
    struct kiln_act act;
};

/* MaxPool, AveragePool, and the global pools (kernel = whole spatial extent). */
struct kiln_p_pool {
    int32_t nsp;
    int32_t count_include_pad; /* AveragePool */
    int32_t storage_order;     /* MaxPool Indices: 0 row major, 1 column major */
    int32_t reserved;
    struct kiln_p_window win;
};

struct kiln_p_batch_norm {
    float epsilon;
    int32_t reserved;
};

/* Softmax, LogSoftmax, Hardmax: the input is viewed as [outer, axis_len, inner]. */
struct kiln_p_softmax {
    int64_t outer, axis_len, inner;
};

/* Reductions and ArgMax/ArgMin. Bit i of axes_mask set: axis i of the input is reduced
 * (ArgMax/ArgMin: exactly one bit). keepdims only documents the output shape, which the output
 * tensor carries. */
struct kiln_p_reduce {
    uint32_t axes_mask;
    int32_t keepdims;
    int32_t select_last_index; /* ArgMax/ArgMin */
    int32_t reserved;
};

struct kiln_p_transpose {
    int32_t perm[KILN_MAX_RANK];
};

struct kiln_p_axis {
    int64_t axis; /* non-negative after import: Concat, Gather */
};

/* Slice: per input axis, the first element and the step (step 1 for untouched axes);
 * the element count per axis is the output's dims. */
struct kiln_p_slice {
    int64_t starts[KILN_MAX_RANK];
    int64_t steps[KILN_MAX_RANK];
};

enum kiln_pad_mode { KILN_PAD_CONSTANT = 0, KILN_PAD_REFLECT, KILN_PAD_EDGE, KILN_PAD_WRAP };

/* Pad: negative pads crop. value is converted to the tensor's dtype by the kernel. */
struct kiln_p_pad {
    int32_t mode;
    int32_t reserved;
    int64_t begin[KILN_MAX_RANK];
    int64_t end[KILN_MAX_RANK];
    double value;
};

/* ConstantOfShape value and Range start/delta, each as double (float outputs) and int64
 * (integer and bool outputs) so every dtype converts exactly: element k of the output is
 * f + k * df, or i + k * di. ConstantOfShape leaves df and di 0. */
struct kiln_p_fill {
    double f, df;
    int64_t i, di;
};

/* Cast: the destination dtype also in the output tensor; saturate for future float8 types. */
struct kiln_p_cast {
    int32_t to;
    int32_t reserved;
};

enum kiln_resize_mode { KILN_RESIZE_NEAREST = 0, KILN_RESIZE_LINEAR, KILN_RESIZE_CUBIC };
enum kiln_resize_coord {
    KILN_RESIZE_HALF_PIXEL = 0,
    KILN_RESIZE_PYTORCH_HALF_PIXEL,
    KILN_RESIZE_ALIGN_CORNERS,
    KILN_RESIZE_ASYMMETRIC,
    KILN_RESIZE_TF_HALF_PIXEL_FOR_NN,
    KILN_RESIZE_TF_CROP_AND_RESIZE,
};
enum kiln_resize_nearest {
    KILN_RESIZE_ROUND_PREFER_FLOOR = 0,
    KILN_RESIZE_ROUND_PREFER_CEIL,
    KILN_RESIZE_FLOOR,
    KILN_RESIZE_CEIL,
};

/* Resize and Upsample. scales[i] maps output to input coordinates on axis i (out = in * scale
 * when scales were given, out / in when sizes were); roi is used by tf_crop_and_resize. */
/* Scratch per output index per axis that the Resize kernels use for their taps. */
#define KILN_RESIZE_TAP_BYTES 80

struct kiln_p_resize {
    int32_t mode, coord, nearest, exclude_outside;
    float cubic_a, extrapolation;
    double scales[KILN_MAX_RANK];
    double roi_start[KILN_MAX_RANK];
    double roi_end[KILN_MAX_RANK];
};

/* ---- ops3-nn: neural network, part 2 ---- */
/* ConvTranspose reuses struct kiln_p_conv: win.pad_begin places the input grid on the output
 * (negative when output_shape asks for more than the natural extent); pad_end, output_padding
 * and output_shape only decide the output extent, which the output tensor carries. */

enum kiln_norm_affine {
    KILN_NORM_PLAIN = 0,       /* MeanVarianceNormalization: no scale or bias */
    KILN_NORM_PER_CHANNEL = 1, /* InstanceNormalization: scale[c], bias[c] (axis 1) */
    KILN_NORM_PER_ELEMENT = 2, /* LayerNormalization: scale/bias over the normalised axes */
};

/* InstanceNormalization, LayerNormalization, MeanVarianceNormalization: the elements that share
 * their indices on the axes outside reduce_mask form a group, normalised by the group's own
 * mean and (biased) variance. scale_step/bias_step: 1, or 0 for a one-element scale/bias. */
struct kiln_p_norm {
    uint32_t reduce_mask;
    int32_t affine; /* enum kiln_norm_affine */
    int32_t scale_step, bias_step;
    int32_t eps_after_sqrt; /* MVN: (x - mean) / (sqrt(var) + eps); else / sqrt(var + eps) */
    int32_t reserved;
    double epsilon;
};

/* LRN across channels (axis 1): size channels centred on c, as ONNX rounds the window. */
struct kiln_p_lrn {
    float alpha, beta, bias;
    int32_t size;
};

/* LpNormalization: the input viewed as [outer, axis_len, inner]; p is 1 or 2. */
struct kiln_p_lp_norm {
    int64_t outer, axis_len, inner;
    int32_t p;
    int32_t reserved;
};

/* LpPool (window) and GlobalLpPool (pool.win unused): pool first so the shared pool frame
 * reads it as a struct kiln_p_pool. */
struct kiln_p_lp_pool {
    struct kiln_p_pool pool;
    int32_t p;
    int32_t reserved;
};

/* MaxUnpool: the shape the indices refer to (from kernel_shape/strides/pads); an output_shape
 * input larger than it pads the result at the end of each axis. */
struct kiln_p_max_unpool {
    int64_t index_dims[KILN_MAX_RANK];
};

enum kiln_grid_mode { KILN_GRID_BILINEAR = 0, KILN_GRID_NEAREST, KILN_GRID_BICUBIC };
enum kiln_grid_padding { KILN_GRID_ZEROS = 0, KILN_GRID_BORDER, KILN_GRID_REFLECTION };

struct kiln_p_grid_sample {
    int32_t mode, padding, align_corners, reserved;
};

/* RoiAlign: mode 0 avg, 1 max; half_pixel shifts the scaled roi by -0.5 (opset 16 default);
 * sampling_ratio 0 = adaptive (ceil(roi size / output size)). */
struct kiln_p_roi_align {
    int32_t mode, half_pixel, sampling_ratio;
    float spatial_scale;
};

/* NonMaxSuppression: the thresholds come from the (constant) inputs. */
struct kiln_p_nms {
    int32_t center_point_box;
    int32_t reserved;
};

#endif
