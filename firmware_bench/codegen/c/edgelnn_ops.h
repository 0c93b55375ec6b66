/* edgelnn_ops.h: the few float32 kernels the generated models are made of.
 *
 * Weights are row-major [rows][cols] (torch's Linear layout). Reductions carry `#pragma omp simd
 * reduction(+:acc)`: with -fopenmp-simd (no OpenMP runtime, no -ffast-math) the compiler may reorder that
 * one sum into vector lanes, which is what makes the host build fast; without the flag the pragma is
 * ignored and the loop runs in order (the Cortex-M builds).
 */
#ifndef EDGELNN_OPS_H
#define EDGELNN_OPS_H

#include <stddef.h>

/* out[r] = (bias ? bias[r] : 0) + sum_c w[r][c] in[c]
 * Four rows at a time: four independent accumulators (no single dependency chain through one sum) and
 * each in[c] loaded once for four rows; the remaining rows one at a time. */
static inline void eln_dense(const float *restrict w, const float *restrict bias, const float *restrict in,
                             int rows, int cols, float *restrict out)
{
    int r = 0;
    for (; r + 4 <= rows; r += 4) {
        const float *restrict w0 = w + (size_t)r * (size_t)cols;
        const float *restrict w1 = w0 + cols;
        const float *restrict w2 = w1 + cols;
        const float *restrict w3 = w2 + cols;
        float a0 = 0.0f, a1 = 0.0f, a2 = 0.0f, a3 = 0.0f;
#pragma omp simd reduction(+:a0, a1, a2, a3)
        for (int c = 0; c < cols; ++c) {
            float v = in[c];
            a0 += w0[c] * v;
            a1 += w1[c] * v;
            a2 += w2[c] * v;
            a3 += w3[c] * v;
        }
        out[r] = bias ? bias[r] + a0 : a0;
        out[r + 1] = bias ? bias[r + 1] + a1 : a1;
        out[r + 2] = bias ? bias[r + 2] + a2 : a2;
        out[r + 3] = bias ? bias[r + 3] + a3 : a3;
    }
    for (; r < rows; ++r) {
        const float *restrict row = w + (size_t)r * (size_t)cols;
        float acc = 0.0f;
#pragma omp simd reduction(+:acc)
        for (int c = 0; c < cols; ++c) {
            acc += row[c] * in[c];
        }
        out[r] = bias ? bias[r] + acc : acc;
    }
}

/* out[r] += sum_c w[r][c] in[c] */
static inline void eln_dense_add(const float *restrict w, const float *restrict in, int rows, int cols,
                                 float *restrict out)
{
    for (int r = 0; r < rows; ++r) {
        const float *restrict row = w + (size_t)r * (size_t)cols;
        float acc = 0.0f;
#pragma omp simd reduction(+:acc)
        for (int c = 0; c < cols; ++c) {
            acc += row[c] * in[c];
        }
        out[r] += acc;
    }
}

static inline void eln_copy(float *restrict dst, const float *restrict src, int n)
{
    for (int i = 0; i < n; ++i) {
        dst[i] = src[i];
    }
}

#endif /* EDGELNN_OPS_H */
