/* edgelnn_math.h: float32 exp, tanh, sigmoid, log1p and softplus without libm.
 *
 * Freestanding Cortex-M targets have no libm, so the generated models bring their own. Every function is
 * static inline, branch-light (selects, no table lookups) so that loops calling it vectorize on hosts, and
 * uses only C99 freestanding headers. No -ffast-math is needed or assumed (round to nearest).
 *
 * Measured accuracy against numpy float64 (tests/firmware_bench/test_mathlib.py measures these on a dense
 * grid of each range and fails if a measured error exceeds the bound recorded here; the table is parsed by
 * firmware_bench/codegen/mathlib.py, keep its format):
 *
 * ERROR-TABLE function    lo       hi      max_rel_error
 * ERROR-TABLE eln_expf    -87.0    88.5    1.5e-07
 * ERROR-TABLE eln_tanhf   -20.0    20.0    2.0e-07
 * ERROR-TABLE eln_sigmoid -80.0    80.0    2.0e-07
 * ERROR-TABLE eln_log1pf  0.0      1.0e6   3.0e-07
 * ERROR-TABLE eln_softplus -80.0   80.0    3.5e-07
 *
 * Measured (x86-64, gcc 12, -O2 -fopenmp-simd, 1M-point grid + log grid near 0): expf 1.18e-7, tanhf 1.71e-7,
 * sigmoid 1.82e-7, log1pf 2.64e-7, softplus 3.12e-7; the bounds above leave a little room for other
 * compilers' contraction and ordering choices.
 * (max_rel_error = max |f(x) - f64(x)| / |f64(x)| over the range; float32 itself rounds at 6e-8.)
 *
 * How the approximations work (coefficients fitted for this file by weighted least squares in float64):
 *   expf:  x = n ln2 + r, |r| <= ln2/2 (n rounded with the 1.5 * 2^23 shifter, ln2 split in an exact
 *          high part and a low part), exp(r) = 1 + r + r^2 P(r) with P of degree 5, times 2^n built in two
 *          halves from the exponent bits (so n = 128 does not overflow the bit pattern). exp(x) = 0 below
 *          -87.3, +inf above 88.72. Written so that gcc if-converts and vectorizes loops calling it
 *          (a variant clamping to [-87.3, 88] with a single 2^n did not vectorize with gcc 12).
 *   tanhf: |x| < 0.55: x + x^3 T(x^2) with T of degree 6; else sign(x) (1 - 2 / (exp(2|x|) + 1)).
 *   logf (helper, u >= 1 finite): u = m 2^e with m in [sqrt(1/2), sqrt(2)), log m = 2 atanh(s),
 *          s = (m - 1) / (m + 1), as s (2 + s^2 Q(s^2)) with Q of degree 3.
 *   log1pf: u = 1 + t; t when u == 1, else log(u) * t / (u - 1) (corrects the rounding of 1 + t). t >= 0.
 *   softplus: x above 20 (torch's threshold), else log1p(exp(x)).
 */
#ifndef EDGELNN_MATH_H
#define EDGELNN_MATH_H

#include <stdint.h>

typedef union { float f; uint32_t u; } eln_bits_t;

static inline float eln_from_bits(uint32_t u) { eln_bits_t b; b.u = u; return b.f; }

static inline uint32_t eln_to_bits(float f) { eln_bits_t b; b.f = f; return b.u; }

/* 2^n for -127 < n < 128 as a normal float. */
static inline float eln_pow2i(int n) { return eln_from_bits((uint32_t)(n + 127) << 23); }

/* exp(r) for |r| <= ln2/2 (the polynomial part of expf). */
static inline float eln_exp_poly(float r)
{
    float p = 1.97912465e-4f;
    p = p * r + 1.39444845e-3f;
    p = p * r + 8.33349489e-3f;
    p = p * r + 4.16662991e-2f;
    p = p * r + 1.66666657e-1f;
    p = p * r + 0.5f;
    return 1.0f + r + r * r * p;
}

/* round(x / ln2) as a float: round to nearest through the 1.5 * 2^23 shifter (|x| < 100). */
static inline float eln_exp_n(float x) { return (x * 1.44269504f + 12582912.0f) - 12582912.0f; }

/* x - n ln2, with ln2 split so that n * ln2_hi is exact (Cody-Waite). */
static inline float eln_exp_r(float x, float nf) { return (x - nf * 0.693359375f) - nf * -2.12194440e-4f; }

static inline float eln_expf(float x)
{
    float xc = x > 88.72283f ? 88.72283f : x;
    xc = xc < -87.3f ? -87.3f : xc;
    float nf = eln_exp_n(xc);
    int n = (int)nf;
    int n1 = n >> 1; /* 2^n in two halves: n = 128 (x near 88.7) has no single normal-float pattern */
    float e = eln_exp_poly(eln_exp_r(xc, nf)) * eln_pow2i(n1) * eln_pow2i(n - n1);
    e = x < -87.3f ? 0.0f : e;
    return x > 88.72283f ? eln_from_bits(0x7f800000u) : e;
}

static inline float eln_sigmoid(float x) { return 1.0f / (1.0f + eln_expf(-x)); }

static inline float eln_tanhf(float x)
{
    float a = x < 0.0f ? -x : x;
    float x2 = x * x;
    float p = -9.14741657e-4f;
    p = p * x2 + 3.35318362e-3f;
    p = p * x2 - 8.80581047e-3f;
    p = p * x2 + 2.18617450e-2f;
    p = p * x2 - 5.39676882e-2f;
    p = p * x2 + 1.33333310e-1f;
    p = p * x2 - 3.33333343e-1f;
    float small = x + x * x2 * p;
    float big = 1.0f - 2.0f / (eln_expf(2.0f * a) + 1.0f);
    big = x < 0.0f ? -big : big;
    return a < 0.55f ? small : big;
}

/* Natural log of u >= 1 (finite). */
static inline float eln_log_ge1(float u)
{
    uint32_t bits = eln_to_bits(u);
    int e = (int)((bits >> 23) & 0xffu) - 127;
    float m = eln_from_bits((bits & 0x007fffffu) | 0x3f800000u);
    int big = m > 1.41421356f;
    m = big ? m * 0.5f : m;
    e = big ? e + 1 : e;
    float s = (m - 1.0f) / (m + 1.0f);
    float s2 = s * s;
    float q = 2.35905424e-1f;
    q = q * s2 + 2.85368145e-1f;
    q = q * s2 + 4.00003433e-1f;
    q = q * s2 + 6.66666627e-1f;
    return (float)e * 0.693147182f + s * (2.0f + s2 * q);
}

/* log(1 + t) for t >= 0. */
static inline float eln_log1pf(float t)
{
    float u = 1.0f + t;
    float d = u - 1.0f;
    return d == 0.0f ? t : eln_log_ge1(u) * (t / (d == 0.0f ? 1.0f : d));
}

/* softplus(x) = log(1 + exp(x)), linear above 20 as in torch.nn.functional.softplus. */
static inline float eln_softplus(float x) { return x > 20.0f ? x : eln_log1pf(eln_expf(x)); }

#endif /* EDGELNN_MATH_H */
