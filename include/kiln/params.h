/* params.h - the parameter struct of every kernel, shared by the compiler (which fills them),
 * the interpreter and bundle (which store them as bytes) and the emitted C (which prints them).
 * Rules: fixed-width fields only, no pointers, every field initialised (zero padding bytes are
 * part of the format), sizes a multiple of 8. Shapes live in the tensors, not here. */
#ifndef KILN_PARAMS_H
#define KILN_PARAMS_H

#include <stdint.h>

#include "kiln/kiln.h"

#define KILN_MAX_SPATIAL 3

/* A fused activation, applied in a producer's epilogue (Conv, Gemm, MatMul) or as a recurrent
 * op's gate function: one kind per row of acts.def, which says what alpha and beta hold. */
enum kiln_act_kind {
    KILN_ACT_NONE = 0,
#define KILN_ACT(E, ...) KILN_ACT_##E,
#include "kiln/acts.def"
#undef KILN_ACT
    KILN_ACT_COUNT
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
    KILN_RESIZE_HALF_PIXEL_SYMMETRIC, /* opset 19 */
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

/* ---- control flow: block numbers index struct kiln_program.blocks ---- */
#define KILN_MAX_SCAN_IO 16

/* If: the block run for a true / false condition; -1 - s for a branch the compiler refused for
 * the compiled input shapes (the condition is a run-time value), s the offset in the program's
 * strings of why: a run that takes it fails with KILN_STATUS_UNSUPPORTED. */
struct kiln_p_if {
    int32_t then_block, else_block;
};

/* Loop: body block inputs are (iteration, condition, carried...), outputs (condition,
 * carried..., scan...). max_trip >= 0 is the compile-time trip count bound (the scan outputs'
 * first dimension), -1 when only the M input bounds the loop (no scan outputs). */
struct kiln_p_loop {
    int32_t body;
    int32_t n_carried, n_scan;
    int32_t reserved;
    int64_t max_trip;
};

/* Scan (opset 8 with a batch axis, 9+ without): body inputs (state..., slice...), outputs
 * (state..., slice...). */
struct kiln_p_scan {
    int32_t body;
    int32_t n_state, n_scan_in, n_scan_out;
    int64_t seq_len;
    int64_t batch; /* opset 8: the batch size (axis 0 of every input); 0 from opset 9 */
    int32_t in_axis[KILN_MAX_SCAN_IO], in_reverse[KILN_MAX_SCAN_IO];
    int32_t out_axis[KILN_MAX_SCAN_IO], out_reverse[KILN_MAX_SCAN_IO];
};

/* ---- recurrent: LSTM, GRU, RNN ---- */

enum kiln_rnn_cell { KILN_RNN_CELL_RNN = 0, KILN_RNN_CELL_GRU, KILN_RNN_CELL_LSTM };
enum kiln_rnn_dir { KILN_RNN_FORWARD = 0, KILN_RNN_REVERSE, KILN_RNN_BIDIRECTIONAL };

/* LSTM, GRU and RNN. act[d * 3 + k] is activation k (f, g, h; unused slots NONE) of direction d
 * (0: forward or the only direction, 1: the reverse half of a bidirectional op), with its
 * alpha/beta filled in (defaults applied). clip <= 0: no clipping; otherwise gate
 * pre-activations are clamped to [-clip, clip]. layout 1: batch-first X, Y, Y_h, Y_c and
 * initial states. */
struct kiln_p_rnn {
    int32_t cell;      /* enum kiln_rnn_cell */
    int32_t direction; /* enum kiln_rnn_dir */
    int32_t layout;
    int32_t hidden_size;
    int32_t input_forget;        /* LSTM */
    int32_t linear_before_reset; /* GRU */
    float clip;
    int32_t reserved;
    struct kiln_act act[6];
};

/* ---- quantized ---- */

/* QuantizeLinear, DequantizeLinear: the input viewed as [outer, axis_len, inner]; element
 * (o, a, i) uses scale and zero point number a (axis_len 1: one pair for the whole tensor), or
 * with block > 0 (blocked quantization, opset 21) number (o, a / block, i) of scales shaped
 * [outer, ceil(axis_len / block), inner].
 * QLinearConv and ConvInteger use struct kiln_p_conv; the MatMul forms need no params. */
struct kiln_p_quant_axis {
    int64_t outer, axis_len, inner;
    int64_t block; /* 0: per tensor or per axis entry */
};

/* ---- data movement, indexing and sorting ---- */

/* Split and GatherElements take struct kiln_p_axis (axis non-negative); output i of Split
 * takes out[i].dims[axis] elements along the axis, in order. Tile, NonZero: no params. */

/* Reduction of ScatterElements / ScatterND / Scatter (always NONE). */
enum kiln_scatter_reduction {
    KILN_SCATTER_NONE = 0,
    KILN_SCATTER_ADD,
    KILN_SCATTER_MUL,
    KILN_SCATTER_MAX, /* opset 18 */
    KILN_SCATTER_MIN,
};

/* ScatterElements and Scatter (axis non-negative), ScatterND (axis unused). */
struct kiln_p_scatter {
    int64_t axis;
    int32_t reduction; /* enum kiln_scatter_reduction */
    int32_t reserved;
};

struct kiln_p_gather_nd {
    int64_t batch_dims;
};

/* OneHot: depth is the size of the new axis inserted at `axis` (non-negative) of the output. */
struct kiln_p_one_hot {
    int64_t axis;
    int64_t depth;
};

/* Trilu (upper, k = diagonal offset) and EyeLike (k; upper unused). */
struct kiln_p_diag {
    int64_t k;
    int32_t upper;
    int32_t reserved;
};

/* DepthToSpace and SpaceToDepth as one strided copy: the output, viewed with shape dims[rank],
 * reads the input at the element offsets given by strides (a reshape-transpose-reshape). */
struct kiln_p_strided {
    int32_t rank;
    int32_t reserved;
    int64_t dims[KILN_MAX_RANK];
    int64_t strides[KILN_MAX_RANK];
};

struct kiln_p_reverse_sequence {
    int32_t batch_axis, time_axis; /* 0 and 1 in some order */
};

/* Compress: axis non-negative, or -1 when the input is flattened first. */
struct kiln_p_compress {
    int64_t axis;
};

struct kiln_p_cumsum {
    int64_t axis;
    int32_t exclusive, reverse;
};

/* TopK: the k first of the sorted elements along axis; ties keep the lower index first.
 * Scratch: 2 * axis length int64. */
struct kiln_p_topk {
    int64_t axis;
    int64_t k;
    int32_t largest, sorted;
};

/* Einsum as a loop over an index space of n_labels subscripts: the first n_out of them are the
 * output's axes (in output order), the rest are summed. size[l] is the extent of subscript l;
 * stride[i][l] the element stride of input i along it (0 when input i lacks it; a subscript
 * repeated within one input adds its strides, which walks the diagonal). */
#define KILN_EINSUM_MAX_IN 4
#define KILN_EINSUM_MAX_LABELS 16
struct kiln_p_einsum {
    int32_t n_in, n_out, n_labels, reserved;
    int64_t size[KILN_EINSUM_MAX_LABELS];
    int64_t stride[KILN_EINSUM_MAX_IN][KILN_EINSUM_MAX_LABELS];
};

/* ---- neural network: ConvTranspose, normalisation, pooling, sampling, detection ---- */
/* ConvTranspose reuses struct kiln_p_conv: win.pad_begin places the input grid on the output
 * (negative when output_shape asks for more than the natural extent); pad_end, output_padding
 * and output_shape only decide the output extent, which the output tensor carries. */

enum kiln_norm_affine {
    KILN_NORM_PLAIN = 0,       /* MeanVarianceNormalization: no scale or bias */
    KILN_NORM_PER_CHANNEL = 1, /* InstanceNormalization: scale[c], bias[c] (axis 1) */
    KILN_NORM_PER_ELEMENT = 2, /* LayerNormalization: scale/bias over the normalised axes */
    KILN_NORM_GROUP_CHANNEL = 3, /* GroupNormalization-21: scale[c], bias[c] of each channel */
};

/* InstanceNormalization, LayerNormalization, MeanVarianceNormalization: the elements that share
 * their indices on the axes outside reduce_mask form a group, normalised by the group's own
 * mean and (biased) variance. scale_step/bias_step: 1, or 0 for a one-element scale/bias.
 * GroupNormalization sets num_groups G: X [N, C, D...] is viewed as [N, G, C/G * D...] and
 * reduce_mask names that view's axes (4: the last); its opset-18 scale/bias per group is
 * KILN_NORM_PER_CHANNEL of the view, opset 21's per channel KILN_NORM_GROUP_CHANNEL. */
struct kiln_p_norm {
    uint32_t reduce_mask;
    int32_t affine; /* enum kiln_norm_affine */
    int32_t scale_step, bias_step;
    int32_t eps_after_sqrt; /* MVN: (x - mean) / (sqrt(var) + eps); else / sqrt(var + eps) */
    int32_t num_groups;     /* GroupNormalization's G; 0 for the other ops */
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

/* AffineGrid (opset 20): the output [N, (D,) H, W, 2 or 3] holds theta[n] applied to the
 * normalised coordinates of each output position (align_corners: -1 and 1 are the centres of
 * the corner elements, else their outer edges). */
struct kiln_p_affine_grid {
    int32_t align_corners, reserved;
};

/* Col2Im (opset 18): [N, C * prod(block), L] columns summed into [N, C, image...]; L is the
 * product of blocks[i] block positions per spatial axis i. */
struct kiln_p_col2im {
    int32_t nsp, reserved;
    int64_t block[KILN_MAX_RANK], dilation[KILN_MAX_RANK], pad[KILN_MAX_RANK];
    int64_t stride[KILN_MAX_RANK], blocks[KILN_MAX_RANK];
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

/* ---- losses, TfIdfVectorizer, Unique, signal processing, Det ---- */
enum kiln_loss_reduction { KILN_LOSS_NONE = 0, KILN_LOSS_SUM = 1, KILN_LOSS_MEAN = 2 };

/* NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss: the input viewed as [n, c, d] (d: the
 * product of the dims after C), the target as [n, d]. A target equal to ignore_index (when
 * has_ignore) contributes 0 and, for mean, no weight; so does a run-time target outside
 * [0, c), which the kernels never use as an index. */
struct kiln_p_loss {
    int64_t n, c, d;
    int64_t ignore_index;
    int32_t has_ignore, reduction; /* enum kiln_loss_reduction */
};

enum kiln_tfidf_mode { KILN_TFIDF_TF = 0, KILN_TFIDF_IDF = 1, KILN_TFIDF_TFIDF = 2 };

/* TfIdfVectorizer: the input viewed as [rows, row_len]; n_grams n-grams (pool order), the k-th
 * being pool[start..start+len) with output column col and weight weight (1 without weights).
 * Variable size: after the struct come int64 pool[pool_len], then per n-gram int64 {start,
 * len, col}, then double weight[n_grams] (read with memcpy). */
struct kiln_p_tfidf {
    int32_t mode; /* enum kiln_tfidf_mode */
    int32_t min_len, max_len, max_skip;
    int64_t rows, row_len, cols;
    int64_t pool_len, n_grams;
};

/* Unique: X viewed as [outer, len, inner] with len the axis (flattened: [1, numel, 1]); the
 * unique slices along it, sorted or in order of first occurrence. */
struct kiln_p_unique {
    int64_t outer, len, inner;
    int32_t sorted, axis; /* axis: of Y (0 for the flattened form) */
};

/* DFT: the input viewed as [outer, len, inner, 1 or 2] (len: the axis), zero-padded or cut to
 * n points; bins outputs per transform (n, or n/2+1 onesided). inverse scales by 1/n. */
struct kiln_p_dft {
    int64_t outer, len, inner, n, bins;
    int32_t complex_in, inverse;
};

/* STFT: signal [batch, length, 1 or 2]; frames of frame_length samples every step, times the
 * window (has_window) and transformed into bins points (onesided: frame_length/2+1). */
struct kiln_p_stft {
    int64_t batch, length, frames, step, frame_length, bins;
    int32_t complex_in, has_window;
};

enum kiln_window_kind { KILN_WINDOW_HANN = 0, KILN_WINDOW_HAMMING, KILN_WINDOW_BLACKMAN };

/* HannWindow, HammingWindow, BlackmanWindow: size from the output; periodic divides by size,
 * symmetric by size - 1. */
struct kiln_p_window_fn {
    int32_t kind, periodic; /* enum kiln_window_kind */
};

/* MelWeightMatrix: the (constant) inputs, read at compile time. */
struct kiln_p_mel {
    int64_t num_mel_bins, dft_length, sample_rate;
    double lower_hz, upper_hz;
};

/* ---- kiln's own fused ops (docs/kiln-domain.md) ---- */

/* FusedElementwise: a straight-line program run once per element over float32 tensors of one
 * shape. Registers 0..n_in-1 hold the inputs' elements, the others temporaries; the result is
 * the register the last instruction writes. An operand byte below KILN_FEW_CONST is a register,
 * KILN_FEW_CONST + i is consts[i]. Unary instructions ignore operand b. */
#define KILN_FEW_MAX_CODE 16
#define KILN_FEW_MAX_IN 4
#define KILN_FEW_MAX_REGS 16
#define KILN_FEW_MAX_CONSTS 16
#define KILN_FEW_CONST 0x10

enum kiln_few_op {
    KILN_FEW_ADD = 0,
    KILN_FEW_SUB,
    KILN_FEW_MUL,
    KILN_FEW_DIV,
    KILN_FEW_MAX,
    KILN_FEW_MIN,
    KILN_FEW_POW,
    KILN_FEW_LEAKY_RELU, /* a < 0 ? b * a : a */
    /* unary from here */
    KILN_FEW_NEG,
    KILN_FEW_ABS,
    KILN_FEW_EXP,
    KILN_FEW_LOG,
    KILN_FEW_SQRT,
    KILN_FEW_RECIP,
    KILN_FEW_RELU,
    KILN_FEW_SIGMOID,
    KILN_FEW_TANH,
    KILN_FEW_ERF,
    KILN_FEW_GELU,
    KILN_FEW_FLOOR,
    KILN_FEW_CEIL,
    KILN_FEW_FAST_EXP, /* -O3 approximations */
    KILN_FEW_FAST_SIGMOID,
    KILN_FEW_FAST_TANH,
    KILN_FEW_FAST_GELU,
    KILN_FEW_OP_COUNT
};
#define KILN_FEW_FIRST_UNARY KILN_FEW_NEG

struct kiln_p_fused_elementwise {
    int32_t n_code, n_in;
    uint8_t code[KILN_FEW_MAX_CODE][4]; /* op, dst, a, b */
    float consts[KILN_FEW_MAX_CONSTS];
};

#endif
