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
#include <stdint.h>

#if defined(__ARM_FEATURE_SIMD32)
#include <arm_acle.h> /* __sxtb16, __smlad: Cortex-M4/M7 DSP instructions */
#endif

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

/* int8 path (precision "int8"): weights int8 with one float scale per output row, packed four to a
 * uint32 word as bytes (w0, w2, w1, w3); the input vector is quantized per call to int16 pairs (values in
 * [-127, 127], one float scale) packed in uint32 words; int32 accumulation; the result is float again.
 * With the DSP extension (__ARM_FEATURE_SIMD32) a word is two SXTB16 and two SMLAD; elsewhere plain C. */

/* Quantize in[n] into xq (cols4 / 2 words of two int16, zero padded); returns the scale (max|in| / 127). */
static inline float eln_quantize_q8(const float *restrict in, int n, int cols4, uint32_t *restrict xq)
{
    float peak = 0.0f;
    for (int i = 0; i < n; ++i) {
        float a = in[i] < 0.0f ? -in[i] : in[i];
        peak = a > peak ? a : peak;
    }
    float scale = peak > 0.0f ? peak / 127.0f : 1.0f;
    float inv = 1.0f / scale;
    for (int i = 0; i < cols4; i += 2) {
        float a = i < n ? in[i] * inv : 0.0f;
        float b = i + 1 < n ? in[i + 1] * inv : 0.0f;
        int32_t qa = (int32_t)(a < 0.0f ? a - 0.5f : a + 0.5f);
        int32_t qb = (int32_t)(b < 0.0f ? b - 0.5f : b + 0.5f);
        xq[i / 2] = ((uint32_t)qa & 0xffffu) | ((uint32_t)qb << 16);
    }
    return scale;
}

/* v rotated right by 8 bits, written in plain C: ACLE's __ror is missing from GCC 12's arm_acle.h, and both
 * compilers fold this pattern into SXTB16's rotate operand. */
static inline uint32_t eln_ror8(uint32_t v)
{
    return (v >> 8) | (v << 24);
}

/* acc + the four products of one weight word (w0, w2, w1, w3 bytes) with the input pairs x01, x23. */
static inline int32_t eln_mac_q8(uint32_t v, uint32_t x01, uint32_t x23, int32_t acc)
{
#if defined(__ARM_FEATURE_SIMD32)
    return __smlad(__sxtb16(eln_ror8(v)), x23, __smlad(__sxtb16(v), x01, acc));
#else
    return acc + (int32_t)(int8_t)(v & 0xffu) * (int32_t)(int16_t)(x01 & 0xffffu)
         + (int32_t)(int8_t)((v >> 16) & 0xffu) * (int32_t)(int16_t)(x01 >> 16)
         + (int32_t)(int8_t)((v >> 8) & 0xffu) * (int32_t)(int16_t)(x23 & 0xffffu)
         + (int32_t)(int8_t)(v >> 24) * (int32_t)(int16_t)(x23 >> 16);
#endif
}

/* out[r] (add ? += : =) bias[r] + wscale[r] * xscale * sum_c w[r][c] xq[c], shared by eln_dense_q8 and
 * eln_dense_q8_add. Weight words are laid out by emit.interleave_rows_q8: rows in blocks of four, word g of
 * the block's four rows side by side, then the last rows % 4 rows one after another. Four rows go together,
 * so each pair of input words is loaded once for four rows and one pointer walks the weights (per 16 MACs:
 * 6 loads, 8 SXTB16, 8 SMLAD with the DSP extension). int32 sums are exact: any order gives the same. */
static inline void eln_dense_q8_rows(const uint32_t *restrict w, const float *restrict wscale,
                                     const float *restrict bias, const uint32_t *restrict xq, float xscale,
                                     int rows, int cols4, float *restrict out, int add)
{
    const int words = cols4 / 4;
    const uint32_t *p = w;
    int r = 0;
    for (; r + 4 <= rows; r += 4) {
        int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
        const uint32_t *x = xq;
        for (int g = 0; g < words; ++g, p += 4, x += 2) {
            uint32_t x01 = x[0], x23 = x[1];
            a0 = eln_mac_q8(p[0], x01, x23, a0);
            a1 = eln_mac_q8(p[1], x01, x23, a1);
            a2 = eln_mac_q8(p[2], x01, x23, a2);
            a3 = eln_mac_q8(p[3], x01, x23, a3);
        }
        const int32_t acc[4] = {a0, a1, a2, a3};
        for (int k = 0; k < 4; ++k) {
            float v = wscale[r + k] * xscale * (float)acc[k];
            out[r + k] = (add ? out[r + k] : (bias ? bias[r + k] : 0.0f)) + v;
        }
    }
    for (; r < rows; ++r) {
        int32_t a = 0;
        for (int g = 0; g < words; ++g, ++p) {
            a = eln_mac_q8(*p, xq[2 * g], xq[2 * g + 1], a);
        }
        float v = wscale[r] * xscale * (float)a;
        out[r] = (add ? out[r] : (bias ? bias[r] : 0.0f)) + v;
    }
}

/* out[r] = (bias ? bias[r] : 0) + wscale[r] * xscale * sum_c w[r][c] xq[c] */
static inline void eln_dense_q8(const uint32_t *restrict w, const float *restrict wscale,
                                const float *restrict bias, const uint32_t *restrict xq, float xscale, int rows,
                                int cols4, float *restrict out)
{
    eln_dense_q8_rows(w, wscale, bias, xq, xscale, rows, cols4, out, 0);
}

/* out[r] += wscale[r] * xscale * sum_c w[r][c] xq[c] (bias unused) */
static inline void eln_dense_q8_add(const uint32_t *restrict w, const float *restrict wscale,
                                    const float *restrict bias, const uint32_t *restrict xq, float xscale,
                                    int rows, int cols4, float *restrict out)
{
    (void)bias;
    eln_dense_q8_rows(w, wscale, NULL, xq, xscale, rows, cols4, out, 1);
}

/* Fixed-point sigmoid synapses (LTC/LRC at precision int8; see firmware_bench/codegen/synapses.py). */

/* round(v) clamped to [-lim, lim] (NaN -> -lim). */
static inline int32_t eln_round_q(float v, int32_t lim)
{
    float l = (float)lim;
    if (!(v > -l)) {
        return -lim;
    }
    if (v > l) {
        return lim;
    }
    return (int32_t)(v < 0.0f ? v - 0.5f : v + 0.5f);
}

/* sigmoid(z) in Q14 for t = z in Q12: table[k] = sigmoid(-16 + k / 16), k = 0..512, linear interpolation
 * between entries; saturates outside [-16, 16). Max error 1.5e-4 (interpolation 5e-5, table rounding 3e-5, the truncating
 * shift 6e-5; measured 1.3e-4). */
static inline int32_t eln_sigmoid_q14(const uint16_t *table, int32_t t)
{
    int32_t u = t + 65536;
    if (u <= 0) {
        return table[0];
    }
    if (u >= 131072) {
        return table[512];
    }
    int32_t idx = u >> 8, frac = u & 255;
    int32_t lo = table[idx];
    return lo + (((int32_t)table[idx + 1] - lo) * frac >> 8);
}

static inline void eln_copy(float *restrict dst, const float *restrict src, int n)
{
    for (int i = 0; i < n; ++i) {
        dst[i] = src[i];
    }
}

#endif /* EDGELNN_OPS_H */
