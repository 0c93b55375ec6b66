"""Sigmoid synapse sums, the kernel of LTC and LRC: one emitter for both cells and both precisions.

For pre-synaptic values ``pre[P]`` and post-synaptic neurons ``i < Q`` (weights row-major [pre][post], the
models' layout) the emitted helper computes

    a_ji  = sigmoid(sigma_ji * (pre_j - mu_ji))
    sa[i] = sum_j wa_ji a_ji,   sb[i] = sum_j wb_ji a_ji

(LTC: wa = w erev, wb = w; LRC: wa = w, wb = h). It is called once per step for the sensory synapses and
once per ODE unfold (or per solver stage) for the recurrent ones, which is where LTC and LRC spend their time.

Precisions:

- ``float``: float32 weights and ``eln_sigmoid``; loops over the post neurons innermost so a host compiler
  vectorizes them.
- ``fixed`` (the recurrent synapses at precision "int8"): integer arithmetic per synapse, float per neuron.
  ``pre_j`` is quantized once per call to ``p_j = round(pre_j K)`` (int16 range, K = 32767 / range), and per
  synapse ``t = (A_ji (p_j - M_ji)) >> S`` is ``sigma (pre - mu)`` in Q12 (A int16 = sigma 4096 2^S / K,
  M int16 = mu K); ``a`` is a sigmoid table lookup with linear interpolation (Q14, 513 entries over
  [-16, 16), max error 1.5e-4); ``wa``/``wb`` are int8 with one scale per post neuron and the sums int32, scaled
  back to float per neuron. The solver (and its division) stays in float, outside this helper.
  ``range`` must bound |pre| (values beyond it saturate): the caller derives it from the model's parameters.
  Flash: 6 bytes per synapse instead of 16.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edgelnn.errors import UnsupportedModelError
from edgelnn.firmware_bench.codegen.emit import CBuilder

Q_PRE = 32767  # p_j = round(pre_j K) within +-Q_PRE
A_MAX = 16383  # |A| bound: |A (p - M)| <= 16383 * 65534 < 2^31
Z_FRAC = 12  # t = sigma (pre - mu) in Q12
Z_LIMIT = 16.0  # the table covers z in [-16, 16); sigmoid(16) = 1 - 1.1e-7
TABLE_STEP_BITS = 8  # 2^8 Q12 units = 1/16 per table entry
A_FRAC = 14  # sigmoid values in Q14
ACC_BOUND = 2**31 - 1


@dataclass(frozen=True)
class Synapses:
    """One set of sigmoid synapses: float32 arrays [pre, post] (masks already applied to wa and wb)."""

    sigma: np.ndarray
    mu: np.ndarray
    wa: np.ndarray
    wb: np.ndarray

    @property
    def shape(self) -> tuple[int, int]:
        return tuple(np.asarray(self.sigma).shape)  # type: ignore[return-value]


def sigmoid_table() -> np.ndarray:
    """The Q14 sigmoid table: 513 uint16 values at z = -16 + k / 16, k = 0..512."""
    z = -Z_LIMIT + np.arange(2 * int(Z_LIMIT) * 16 + 1, dtype=np.float64) / 16.0
    return np.rint((1 << A_FRAC) / (1.0 + np.exp(-z))).astype(np.uint16)


def emit_synapse_sums(c: CBuilder, label: str, syn: Synapses, fixed_range: float | None = None) -> str:
    """Add ``static void <name>_<label>(const float *pre, float *sa, float *sb)``; returns its name.

    ``fixed_range`` None: float32. A positive number: the fixed-point kernel, with |pre| <= fixed_range.
    """
    if fixed_range is None:
        return _emit_float(c, label, syn)
    return _emit_fixed(c, label, syn, float(fixed_range))


def _emit_float(c: CBuilder, label: str, syn: Synapses) -> str:
    pre, post = syn.shape
    sg, mu = c.const(f"{label}_sigma", syn.sigma), c.const(f"{label}_mu", syn.mu)
    wa, wb = c.const(f"{label}_wa", syn.wa), c.const(f"{label}_wb", syn.wb)
    fn = f"{c.name}_{label}"
    c.helper(f"""
        /* {label} synapses: sa[i] = sum_j wa_ji S_ji(pre_j), sb[i] = sum_j wb_ji S_ji(pre_j),
         * S_ji(v) = sigmoid(sigma_ji (v - mu_ji)); float32. */
        static void {fn}(const float *pre, float *sa, float *sb)
        {{
            for (int i = 0; i < {post}; ++i) {{ sa[i] = 0.0f; sb[i] = 0.0f; }}
            for (int j = 0; j < {pre}; ++j) {{
                const float vj = pre[j];
                const float *sg = {sg} + j * {post}, *mu = {mu} + j * {post};
                const float *wa = {wa} + j * {post}, *wb = {wb} + j * {post};
        #pragma omp simd
                for (int i = 0; i < {post}; ++i) {{
                    float a = eln_sigmoid(sg[i] * (vj - mu[i]));
                    sa[i] += wa[i] * a;
                    sb[i] += wb[i] * a;
                }}
            }}
        }}""")
    return fn


def quantize_columns_q8(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(int8 [pre, post], float64 scale per post column = max|column| / 127) of a float weight [pre, post]."""
    w = np.asarray(w, np.float64)
    peak = np.abs(w).max(axis=0) if w.shape[0] else np.zeros(w.shape[1])
    scale = np.where(peak > 0, peak / 127.0, 1.0)
    return np.clip(np.rint(w / scale), -127, 127).astype(np.int8), scale


def fixed_point_parameters(syn: Synapses, fixed_range: float) -> dict[str, np.ndarray | float | int]:
    """The integer parameters of the fixed-point kernel (also used by tests to model it in numpy)."""
    if not fixed_range > 0 or not np.isfinite(fixed_range):
        raise UnsupportedModelError(f"fixed-point synapses need a finite positive input range, got {fixed_range}")
    pre, _ = syn.shape
    if pre * 127 * (1 << A_FRAC) > ACC_BOUND:
        raise UnsupportedModelError(f"int8 synapses with {pre} pre-synaptic neurons could overflow their int32 "
                                    f"sums (at most {ACC_BOUND // (127 << A_FRAC)})")
    k = Q_PRE / fixed_range
    mu = np.asarray(syn.mu, np.float64)
    if np.abs(mu).max(initial=0.0) > fixed_range:
        raise UnsupportedModelError("a synapse's mu lies beyond the fixed-point input range")
    sigma = np.asarray(syn.sigma, np.float64) * (1 << Z_FRAC) / k  # t = sigma' (p - M) in Q12
    peak = float(np.abs(sigma).max(initial=0.0))
    shift = 0
    while peak > 0 and shift < 30 and peak * 2.0 ** (shift + 1) <= A_MAX:
        shift += 1
    a = np.clip(np.rint(sigma * 2.0**shift), -A_MAX, A_MAX).astype(np.int16)
    m = np.clip(np.rint(mu * k), -Q_PRE, Q_PRE).astype(np.int16)
    wa, scale_a = quantize_columns_q8(syn.wa)
    wb, scale_b = quantize_columns_q8(syn.wb)
    return {"k": k, "shift": shift, "a": a, "m": m, "wa": wa, "wb": wb,
            "scale_a": scale_a / (1 << A_FRAC), "scale_b": scale_b / (1 << A_FRAC)}


def _emit_fixed(c: CBuilder, label: str, syn: Synapses, fixed_range: float) -> str:
    pre, post = syn.shape
    q = fixed_point_parameters(syn, fixed_range)
    # Post-major ([post][pre]) so each neuron's two sums stay in registers over the inner loop.
    a = c.const_ints(f"{label}_a", np.ascontiguousarray(np.asarray(q["a"]).T), "int16_t")
    m = c.const_ints(f"{label}_m", np.ascontiguousarray(np.asarray(q["m"]).T), "int16_t")
    wa = c.const_ints(f"{label}_wa", np.ascontiguousarray(np.asarray(q["wa"]).T), "int8_t")
    wb = c.const_ints(f"{label}_wb", np.ascontiguousarray(np.asarray(q["wb"]).T), "int8_t")
    sa, sb = c.const(f"{label}_scale_a", q["scale_a"]), c.const(f"{label}_scale_b", q["scale_b"])
    table = c.sigmoid_table()
    fn = f"{c.name}_{label}"
    k = f"{np.float32(q['k']):.9g}f"
    c.helper(f"""
        /* {label} synapses in fixed point (see firmware_bench/codegen/synapses.py): p_j = round(pre_j K),
         * t = (A_ij (p_j - M_ij)) >> {q['shift']} = sigma (pre - mu) in Q12, a = sigmoid(t) from the Q14 table,
         * int32 sums of int8 weights, one float scale per post neuron. */
        static void {fn}(const float *pre, float *sa, float *sb)
        {{
            int32_t p[{pre}];
            for (int j = 0; j < {pre}; ++j) {{
                p[j] = eln_round_q(pre[j] * {k}, {Q_PRE});
            }}
            for (int i = 0; i < {post}; ++i) {{
                const int16_t *a = {a} + i * {pre}, *m = {m} + i * {pre};
                const int8_t *wa = {wa} + i * {pre}, *wb = {wb} + i * {pre};
                int32_t acc_a = 0, acc_b = 0;
                for (int j = 0; j < {pre}; ++j) {{
                    int32_t s = eln_sigmoid_q14(({table}), (a[j] * (p[j] - m[j])) >> {q['shift']});
                    acc_a += wa[j] * s;
                    acc_b += wb[j] * s;
                }}
                sa[i] = (float)acc_a * {sa}[i];
                sb[i] = (float)acc_b * {sb}[i];
            }}
        }}""")
    return fn
