/* signal.c - DFT and STFT (opset 17; DFT's axis input of opset 20 too), the Hann, Hamming and
 * Blackman windows and MelWeightMatrix. Every input that decides an output shape (dft_length,
 * frame_step, frame_length, the window size, the mel parameters) must be constant: kiln
 * compiles static shapes. The windows and the mel matrix therefore always fold. */
#include "ops.h"

static const int sig_dtypes[] = {KILN_DTYPE_F32, KILN_DTYPE_F64, KILN_DTYPE_F16, KILN_DTYPE_BF16,
                                 0};

/* A constant scalar integer input; error if absent (when required) or not one positive value. */
static enum kiln_status const_count(struct kiln_infer_ctx *c, struct kiln_ir_node *n, uint32_t i,
                                    const char *what, int64_t min, int64_t *out)
{
    int64_t *v, cnt;
    enum kiln_status st = kiln_const_ints(c, n, i, what, &v, &cnt);
    if (st)
        return st;
    if (cnt != 1 || v[0] < min)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "%s must be one integer >= %lld", what, (long long)min);
    *out = v[0];
    return KILN_STATUS_OK;
}

/* The signal's last dim: 1 (real) or 2 (complex). */
static enum kiln_status complex_dim(struct kiln_infer_ctx *c, struct kiln_ir_node *n,
                                    const struct kiln_ir_value *x, int min_rank, int32_t *cplx)
{
    if (x->rank < min_rank || (x->dims[x->rank - 1] != 1 && x->dims[x->rank - 1] != 2))
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "input '%s' must have rank >= %d and a last dimension of 1 (real) "
                             "or 2 (complex)",
                             x->name, min_rank);
    *cplx = x->dims[x->rank - 1] == 2;
    return KILN_STATUS_OK;
}

static enum kiln_status infer_dft(struct kiln_infer_ctx *c, struct kiln_ir_node *n)
{
    struct kiln_ir_value *x;
    enum kiln_status st;
    int32_t cplx = 0;
    int64_t axis = 1, inverse, onesided, len;
    if ((st = kiln_need_input_of(c, n, 0, sig_dtypes, &x)) ||
        (st = complex_dim(c, n, x, 2, &cplx)) ||
        (st = kiln_attr_int(c, n, "inverse", 0, &inverse)) ||
        (st = kiln_attr_int(c, n, "onesided", 0, &onesided)))
        return st;
    if (c->g->opset >= 20) {
        axis = -2;
        if (kiln_in(n, 2)) {
            int64_t *v, cnt;
            if ((st = kiln_const_ints(c, n, 2, "axis", &v, &cnt)))
                return st;
            if (cnt != 1)
                return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL, "axis must be a scalar");
            axis = v[0];
        }
    } else if ((st = kiln_attr_int(c, n, "axis", 1, &axis))) {
        return st;
    }
    if (axis < 0)
        axis += x->rank;
    if (axis < 0 || axis > x->rank - 2)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "axis is out of range: the last dimension holds the complex parts");
    if (inverse && onesided)
        return kiln_op_error(c, n, KILN_STATUS_UNSUPPORTED,
                             "inverse with onesided is not supported");
    len = x->dims[axis];
    struct kiln_p_dft *p = kiln_node_params(c, n, sizeof *p);
    if (!p)
        return kiln_op_error(c, n, KILN_STATUS_NO_MEMORY, "out of memory");
    p->n = len;
    if (kiln_in(n, 1) && (st = const_count(c, n, 1, "dft_length", 1, &p->n)))
        return st;
    if (p->n < 1)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL, "the transform has no points");
    p->len = len;
    p->bins = onesided ? p->n / 2 + 1 : p->n;
    p->complex_in = cplx;
    p->inverse = inverse != 0;
    p->outer = p->inner = 1;
    for (int i = 0; i < axis; i++)
        p->outer *= x->dims[i];
    for (int i = (int)axis + 1; i < x->rank - 1; i++)
        p->inner *= x->dims[i];
    n->scratch_size = (uint64_t)(4 * p->n + 2 * p->bins) * sizeof(double);
    int64_t dims[KILN_MAX_RANK];
    for (int i = 0; i < x->rank; i++)
        dims[i] = x->dims[i];
    dims[axis] = p->bins;
    dims[x->rank - 1] = 2;
    return kiln_set_output(c, n, 0, x->dtype, x->rank, dims);
}

static enum kiln_status infer_stft(struct kiln_infer_ctx *c, struct kiln_ir_node *n)
{
    struct kiln_ir_value *x, *w = kiln_in(n, 2);
    enum kiln_status st;
    int32_t cplx = 0;
    int64_t onesided, step, fl = -1;
    if ((st = kiln_need_input_of(c, n, 0, sig_dtypes, &x)) ||
        (st = kiln_check_same_dtype(c, n, 0, 2)) || (st = complex_dim(c, n, x, 3, &cplx)) ||
        (st = kiln_attr_int(c, n, "onesided", 1, &onesided)) ||
        (st = const_count(c, n, 1, "frame_step", 1, &step)))
        return st;
    if (x->rank != 3)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "signal '%s' must be [batch, length, 1 or 2]", x->name);
    if (kiln_in(n, 3) && (st = const_count(c, n, 3, "frame_length", 1, &fl)))
        return st;
    if (w && w->rank != 1)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL, "window '%s' must be 1-D",
                             w->name);
    if (w && fl >= 0 && w->dims[0] != fl)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "window has %lld entries but frame_length is %lld",
                             (long long)w->dims[0], (long long)fl);
    if (fl < 0 && !w)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "needs a window or a frame_length");
    if (fl < 0)
        fl = w->dims[0];
    if (fl < 1 || fl > x->dims[1])
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "frame length %lld does not fit the signal of length %lld",
                             (long long)fl, (long long)x->dims[1]);
    struct kiln_p_stft *p = kiln_node_params(c, n, sizeof *p);
    if (!p)
        return kiln_op_error(c, n, KILN_STATUS_NO_MEMORY, "out of memory");
    p->batch = x->dims[0];
    p->length = x->dims[1];
    p->step = step;
    p->frame_length = fl;
    p->frames = (p->length - fl) / step + 1;
    p->bins = onesided ? fl / 2 + 1 : fl;
    p->complex_in = cplx;
    p->has_window = w != NULL;
    n->scratch_size = (uint64_t)(4 * fl + 2 * p->bins) * sizeof(double);
    int64_t dims[4] = {p->batch, p->frames, p->bins, 2};
    return kiln_set_output(c, n, 0, x->dtype, 4, dims);
}

/* output_datatype: any numeric type (default float). */
static enum kiln_status out_dtype(struct kiln_infer_ctx *c, struct kiln_ir_node *n, int *dt)
{
    int64_t v;
    enum kiln_status st = kiln_attr_int(c, n, "output_datatype", KILN_DTYPE_F32, &v);
    if (st)
        return st;
    for (const int *a = kiln_dtypes_numeric; *a; a++)
        if (*a == v) {
            *dt = (int)v;
            n->kdtype = (int)v;
            return KILN_STATUS_OK;
        }
    return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                         "output_datatype %lld is not a numeric tensor type", (long long)v);
}

static enum kiln_status infer_window(struct kiln_infer_ctx *c, struct kiln_ir_node *n)
{
    enum kiln_status st;
    int64_t size, periodic;
    int dt;
    if ((st = kiln_check_dtype(c, n, 0, kiln_dtypes_index)) ||
        (st = const_count(c, n, 0, "size", 0, &size)) ||
        (st = kiln_attr_int(c, n, "periodic", 1, &periodic)) || (st = out_dtype(c, n, &dt)))
        return st;
    struct kiln_p_window_fn *p = kiln_node_params(c, n, sizeof *p);
    if (!p)
        return kiln_op_error(c, n, KILN_STATUS_NO_MEMORY, "out of memory");
    p->kind = n->op == KILN_OP_HANN_WINDOW      ? KILN_WINDOW_HANN
              : n->op == KILN_OP_HAMMING_WINDOW ? KILN_WINDOW_HAMMING
                                                : KILN_WINDOW_BLACKMAN;
    p->periodic = periodic != 0;
    return kiln_set_output(c, n, 0, dt, 1, &size);
}

static enum kiln_status infer_mel(struct kiln_infer_ctx *c, struct kiln_ir_node *n)
{
    enum kiln_status st;
    int dt;
    struct kiln_p_mel *p = kiln_node_params(c, n, sizeof *p);
    if (!p)
        return kiln_op_error(c, n, KILN_STATUS_NO_MEMORY, "out of memory");
    if ((st = const_count(c, n, 0, "num_mel_bins", 1, &p->num_mel_bins)) ||
        (st = const_count(c, n, 1, "dft_length", 1, &p->dft_length)) ||
        (st = const_count(c, n, 2, "sample_rate", 1, &p->sample_rate)) ||
        (st = kiln_const_scalar(c, n, 3, "lower_edge_hertz", &p->lower_hz)) ||
        (st = kiln_const_scalar(c, n, 4, "upper_edge_hertz", &p->upper_hz)) ||
        (st = out_dtype(c, n, &dt)))
        return st;
    if (!(p->lower_hz >= 0 && p->upper_hz > p->lower_hz))
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "needs 0 <= lower_edge_hertz < upper_edge_hertz (got %g, %g)",
                             p->lower_hz, p->upper_hz);
    int64_t dims[2] = {p->dft_length / 2 + 1, p->num_mel_bins};
    return kiln_set_output(c, n, 0, dt, 2, dims);
}

const struct kiln_op_info kiln_opi_dft = {
    .infer = infer_dft, .dtypes = "float32, float64, float16, bfloat16",
    .notes = "dft_length (and opset 20's axis) must be constant; direct DFT in double; inverse "
             "with onesided unsupported",
    .opsets = {17, 20}};
const struct kiln_op_info kiln_opi_stft = {
    .infer = infer_stft, .dtypes = "float32, float64, float16, bfloat16",
    .notes = "frame_step and frame_length must be constant", .opsets = {17}};
const struct kiln_op_info kiln_opi_hann_window = {
    .infer = infer_window, .dtypes = "size int32, int64; output any numeric",
    .notes = "size must be constant; always folded", .opsets = {17}};
const struct kiln_op_info kiln_opi_hamming_window = {
    .infer = infer_window, .dtypes = "size int32, int64; output any numeric",
    .notes = "size must be constant; always folded (alpha 25/46, beta 21/46)", .opsets = {17}};
const struct kiln_op_info kiln_opi_blackman_window = {
    .infer = infer_window, .dtypes = "size int32, int64; output any numeric",
    .notes = "size must be constant; always folded", .opsets = {17}};
const struct kiln_op_info kiln_opi_mel_weight_matrix = {
    .infer = infer_mel, .dtypes = "int32/int64 and float inputs; output any numeric",
    .notes = "all inputs must be constant; always folded", .opsets = {17}};
