/* nms.h - the NonMaxSuppression selection, shared between the compiler (which counts the
 * selected boxes to fix the output shape when every input is constant, and sizes scratch) and
 * the runtime kernel. Kept free of runtime-internal headers so compiler/ops can include it. */
#ifndef KILN_RT_NMS_H
#define KILN_RT_NMS_H

#include <stdint.h>

/* Scratch of kiln_nms_run for n boxes per batch: candidate order plus kept list. */
static inline uint64_t kiln_nms_scratch(int64_t n)
{
    return (uint64_t)(n > 0 ? n : 1) * 2 * sizeof(int64_t);
}

/* Corners (y1, x1, y2, x2) with y1 <= y2 and x1 <= x2 from either box encoding. */
static inline void kiln_nms_corners(const float *b, int center, float *c)
{
    if (center) { /* [x_center, y_center, width, height] */
        c[0] = b[1] - b[3] / 2, c[2] = b[1] + b[3] / 2;
        c[1] = b[0] - b[2] / 2, c[3] = b[0] + b[2] / 2;
        return;
    }
    c[0] = b[0] < b[2] ? b[0] : b[2], c[2] = b[0] < b[2] ? b[2] : b[0];
    c[1] = b[1] < b[3] ? b[1] : b[3], c[3] = b[1] < b[3] ? b[3] : b[1];
}

static inline float kiln_nms_iou(const float *a, const float *b, int center)
{
    float p[4], q[4];
    kiln_nms_corners(a, center, p);
    kiln_nms_corners(b, center, q);
    float h = (p[2] < q[2] ? p[2] : q[2]) - (p[0] > q[0] ? p[0] : q[0]);
    float w = (p[3] < q[3] ? p[3] : q[3]) - (p[1] > q[1] ? p[1] : q[1]);
    if (h <= 0 || w <= 0)
        return 0;
    float inter = h * w;
    float uni = (p[2] - p[0]) * (p[3] - p[1]) + (q[2] - q[0]) * (q[3] - q[1]) - inter;
    return uni > 0 ? inter / uni : 0;
}

/* Candidate a comes before b: higher score first, then lower index (a total order, so the
 * selection does not depend on the sort). */
static inline int kiln_nms_before(const float *s, int64_t a, int64_t b)
{
    return s[a] > s[b] || (s[a] == s[b] && a < b);
}

static inline void kiln_nms_sift(const float *s, int64_t *h, int64_t i, int64_t n)
{
    for (;;) {
        int64_t c = 2 * i + 1;
        if (c >= n)
            return;
        /* a max-heap on "after" so the sorted array runs best-first */
        if (c + 1 < n && kiln_nms_before(s, h[c], h[c + 1]))
            c++;
        if (!kiln_nms_before(s, h[i], h[c]))
            return;
        int64_t t = h[i];
        h[i] = h[c], h[c] = t;
        i = c;
    }
}

/* The boxes kept per class at most: max_output_boxes_per_class (0 when not positive, a NaN
 * included) capped at the n boxes there are. Also what bounds the output at compile time. */
static inline int64_t kiln_nms_per_class(double max_boxes, int64_t n)
{
    return !(max_boxes > 0) ? 0 : max_boxes > (double)n ? n : (int64_t)max_boxes;
}

/* Greedy NMS over boxes [B, N, 4] and scores [B, C, N]. Writes [batch, class, box] triples to
 * out (NULL: only count), at most cap of them, and returns how many were selected (written).
 * A box is a candidate when its score exceeds score_thr (if has_score_thr) and is dropped when
 * its IoU with a kept box exceeds iou_thr; at most max_per_class per class (0 selects none). */
static inline int64_t kiln_nms_run(const float *boxes, const float *scores, int64_t B, int64_t C,
                                   int64_t N, int64_t max_per_class, float iou_thr,
                                   int has_score_thr, float score_thr, int center, int64_t *out,
                                   int64_t cap, void *scratch)
{
    int64_t *order = scratch, *kept = order + (N > 0 ? N : 1), total = 0;
    if (max_per_class <= 0)
        return 0;
    for (int64_t b = 0; b < B; b++)
        for (int64_t c = 0; c < C; c++) {
            const float *s = scores + (b * C + c) * N, *bx = boxes + b * N * 4;
            int64_t n = 0, nk = 0;
            for (int64_t i = 0; i < N; i++)
                if (!has_score_thr || s[i] > score_thr)
                    order[n++] = i;
            for (int64_t i = n / 2 - 1; i >= 0; i--)
                kiln_nms_sift(s, order, i, n);
            for (int64_t e = n - 1; e > 0; e--) { /* heap sort: worst candidates to the back */
                int64_t t = order[0];
                order[0] = order[e], order[e] = t;
                kiln_nms_sift(s, order, 0, e);
            }
            /* the heap was on "after", so order now runs best-first */
            for (int64_t i = 0; i < n && nk < max_per_class; i++) {
                int64_t cand = order[i], keep = 1;
                for (int64_t k = 0; k < nk && keep; k++)
                    keep = !(kiln_nms_iou(bx + cand * 4, bx + kept[k] * 4, center) > iou_thr);
                if (!keep)
                    continue;
                kept[nk++] = cand;
                if (out) {
                    if (total >= cap)
                        return total;
                    out[total * 3] = b, out[total * 3 + 1] = c, out[total * 3 + 2] = cand;
                }
                total++;
            }
        }
    return total;
}

#endif
