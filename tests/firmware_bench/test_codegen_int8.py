"""int8 generation (every kind): the weight packing, the int8 matrix kernel and the fixed-point sigmoid
synapses (LTC/LRC) against exact numpy emulations, whole-model rollouts against PyTorch within a
quantization bound, and the DSP path for Cortex-M4."""

from __future__ import annotations

import ctypes
import importlib.util
import subprocess
import sys

import numpy as np
import pytest
from firmware_exports import write_minimal_export
from test_codegen import rollout, tiny_model

from edgelnn.firmware_bench.codegen import generate
from edgelnn.firmware_bench.codegen.emit import CBuilder, interleave_rows_q8, quantize_rows_q8
from edgelnn.firmware_bench.codegen.mathlib import support_headers
from edgelnn.firmware_bench.codegen.synapses import (
    Synapses,
    emit_synapse_sums,
    fixed_point_parameters,
    sigmoid_table,
)
from edgelnn.firmware_bench.host import FLAGS, NATIVE_FLAGS, CStepRunner, find_compiler

# Quantization error bound of a whole 50-step rollout, relative to the output range: int8 weights and
# inputs keep ~2 significant digits per product; the recurrent state carries errors forward.
INT8_RTOL = 0.05
CONFIGS = {
    "cfc": ("cfc", {"backbone_units": 16}),
    "cfc_mixed_memory_pure": ("cfc", {"backbone_units": 16, "mixed_memory": True, "mode": "pure"}),
    "lstm": ("lstm", {}),
    "gru": ("gru", {"time_input": True}),
    "ltc": ("ltc", {"ode_unfolds": 3}),
    "ltc_rk4_mixed_memory": ("ltc", {"ode_unfolds": 6, "solver": "rk4", "mixed_memory": True}),
    "lrc": ("lrc", {"ode_unfolds": 2}),
    "lrc_hybrid_symmetric": ("lrc", {"update": "hybrid", "elastance": "symmetric"}),
}


def unpack(words: np.ndarray) -> np.ndarray:
    """int8 [rows, cols4] from packed words (inverse of the (w0, w2, w1, w3) byte order)."""
    b = words[..., None].astype(np.uint32) >> np.array([0, 8, 16, 24], np.uint32) & 0xFF
    grouped = b.astype(np.uint8).view(np.int8)[..., [0, 2, 1, 3]]
    return grouped.reshape(words.shape[0], -1)


def test_packing_round_trips_within_half_a_step():
    rng = np.random.default_rng(0)
    w = rng.standard_normal((5, 11)).astype(np.float32)
    w[3] = 0.0  # an all-zero row keeps scale 1 and zeros
    words, scales = quantize_rows_q8(w)
    q = unpack(words)
    assert words.shape == (5, 3) and q.shape == (5, 12) and np.all(q[:, 11:] == 0)
    assert np.abs(q).max() == 127 and scales[3] == 1.0
    assert np.all(np.abs(q[:, :11] * scales[:, None] - w) <= scales[:, None] / 2 + 1e-7)


@pytest.fixture(scope="module")
def kernel(tmp_path_factory):
    folder = tmp_path_factory.mktemp("q8")
    for fname, text in support_headers().items():
        (folder / fname).write_text(text)
    (folder / "k.c").write_text('#include "edgelnn_ops.h"\n'
                                "float quant(const float *in, int n, int cols4, uint32_t *xq) "
                                "{ return eln_quantize_q8(in, n, cols4, xq); }\n"
                                "void dense(const uint32_t *w, const float *ws, const float *b, const uint32_t *xq, "
                                "float xs, int rows, int cols4, float *out) "
                                "{ eln_dense_q8(w, ws, b, xq, xs, rows, cols4, out); }\n")
    subprocess.run([*find_compiler(), *FLAGS, *NATIVE_FLAGS, "-o", "k.so", "k.c"], cwd=folder, check=True)
    lib = ctypes.CDLL(str(folder / "k.so"))
    lib.quant.restype = ctypes.c_float
    return lib


def test_int8_kernel_matches_exact_emulation(kernel):
    rng = np.random.default_rng(1)
    rows, cols = 7, 13
    w = rng.standard_normal((rows, cols)).astype(np.float32)
    bias = rng.standard_normal(rows).astype(np.float32)
    x = (3.0 * rng.standard_normal(cols)).astype(np.float32)
    words, scales = quantize_rows_q8(w)
    cols4 = words.shape[1] * 4
    xq = np.zeros(cols4 // 2, np.uint32)
    p = ctypes.c_void_p
    xs = kernel.quant(p(x.ctypes.data), cols, cols4, p(xq.ctypes.data))
    assert xs == pytest.approx(np.abs(x).max() / 127, rel=1e-6)
    qx = xq.view(np.int16)  # little-endian pairs
    assert np.array_equal(qx[:cols], np.round(x / np.float32(xs)).astype(np.int16)) and np.all(qx[cols:] == 0)
    out = np.zeros(rows, np.float32)
    laid_out = interleave_rows_q8(words)  # 7 rows: one block of four, then three rows one by one
    kernel.dense(p(laid_out.ctypes.data), p(scales.ctypes.data), p(bias.ctypes.data), p(xq.ctypes.data),
                 ctypes.c_float(xs), rows, cols4, p(out.ctypes.data))
    acc = unpack(words).astype(np.int64) @ qx.astype(np.int64)  # exact integer sums
    expected = bias + scales * np.float32(xs) * acc.astype(np.float32)
    assert np.allclose(out, expected, rtol=1e-6, atol=1e-6)
    assert np.abs(out - (w @ x + bias)).max() <= 0.05 * np.abs(w @ x + bias).max()  # close to the float layer


@pytest.fixture(scope="module", params=sorted(CONFIGS))
def compiled_int8(request, tmp_path_factory):
    kind, options = CONFIGS[request.param]
    model = tiny_model(kind, options)
    folder = write_minimal_export(model, tmp_path_factory.mktemp(request.param) / "export")
    return model, CStepRunner.from_export(folder, precision="int8"), CStepRunner.from_export(folder)


def test_int8_rollout_close_to_torch(compiled_int8):
    model, int8, fp32 = compiled_int8
    yt, yq, _, _ = rollout(model, int8)
    _, yf, _, _ = rollout(model, fp32)
    err, bound = float(np.abs(yq - yt).max()), INT8_RTOL * float(np.abs(yt).max())
    assert err <= bound, f"int8 outputs: max abs error {err:.3g} > {bound:.3g}"
    assert err > 10 * float(np.abs(yf - yt).max())  # the int8 build really quantizes
    text = int8.source.files[f"{int8.source.name}.c"]
    assert "uint32_t" in text
    if model.config.kind in ("ltc", "lrc"):
        assert "eln_sigmoid_q14" in text and "static const int8_t" in text


@pytest.mark.skipif(importlib.util.find_spec("ziglang") is None, reason="ziglang not installed")
def test_int8_uses_smlad_on_cortex_m4(tmp_path):
    """The DSP path compiles cleanly for a freestanding M4 and really emits SXTB16 + SMLAD."""
    folder = write_minimal_export(tiny_model("cfc", {"backbone_units": 16}), tmp_path / "export")
    src = generate(folder, precision="int8").write(tmp_path / "src")
    cmd = [sys.executable, "-m", "ziglang", "cc", "-target", "thumb-freestanding-eabihf", "-mcpu=cortex_m4+vfp4d16sp",
           "-O2", "-std=c99", "-pedantic", "-Wall", "-Wextra", "-Werror", "-Wno-unused-command-line-argument",
           "-ffreestanding", "-S", "-o", "cfc.s", "cfc.c"]
    subprocess.run(cmd, cwd=src, capture_output=True, check=True)
    asm = (src / "cfc.s").read_bytes().lower()
    assert b"smlad" in asm and b"sxtb16" in asm


def _synapses(pre: int, post: int, seed: int) -> Synapses:
    rng = np.random.default_rng(seed)
    mask = rng.random((pre, post)) < 0.7
    return Synapses(sigma=rng.uniform(0.5, 8.0, (pre, post)).astype(np.float32),
                    mu=rng.uniform(-0.5, 0.9, (pre, post)).astype(np.float32),
                    wa=(rng.uniform(-1.0, 1.0, (pre, post)) * mask).astype(np.float32),
                    wb=(rng.uniform(0.0, 1.0, (pre, post)) * mask).astype(np.float32))


def _emulate_fixed(syn: Synapses, fixed_range: float, pre_values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The fixed-point kernel in exact integer numpy (C's arithmetic shifts are floor shifts)."""
    q = fixed_point_parameters(syn, fixed_range)
    p = np.clip(np.round(pre_values.astype(np.float32) * np.float32(q["k"])), -32767, 32767).astype(np.int64)
    t = (q["a"].astype(np.int64) * (p[:, None] - q["m"].astype(np.int64))) >> q["shift"]
    u = t + 65536
    table = sigmoid_table().astype(np.int64)
    idx = np.clip(u >> 8, 0, 511)
    lo, hi = table[idx], table[idx + 1]
    a = np.where(u <= 0, table[0], np.where(u >= 131072, table[512], lo + (((hi - lo) * (u & 255)) >> 8)))
    acc_a = (q["wa"].astype(np.int64) * a).sum(axis=0)
    acc_b = (q["wb"].astype(np.int64) * a).sum(axis=0)
    return (acc_a.astype(np.float32) * np.float32(q["scale_a"]).astype(np.float32),
            acc_b.astype(np.float32) * q["scale_b"].astype(np.float32))


def test_fixed_point_synapses_match_exact_emulation_and_float(tmp_path):
    pre, post, fixed_range = 11, 7, 4.0
    syn = _synapses(pre, post, 0)
    c = CBuilder("k", "int8")
    fixed = emit_synapse_sums(c, "fix", syn, fixed_range)
    flt = emit_synapse_sums(c, "flt", syn)
    text = "\n\n".join(['#include "edgelnn_math.h"', '#include "edgelnn_ops.h"', *c.arrays, *c.helpers,
                        f"void run_fix(const float *p, float *a, float *b) {{ {fixed}(p, a, b); }}",
                        f"void run_flt(const float *p, float *a, float *b) {{ {flt}(p, a, b); }}"])
    for fname, body in support_headers().items():
        (tmp_path / fname).write_text(body)
    (tmp_path / "k.c").write_text(text)
    flags = [f for f in FLAGS if f != "-shared"]
    subprocess.run([*find_compiler(), *flags, "-shared", "-Wall", "-Werror", "-o", "k.so", "k.c"], cwd=tmp_path,
                   check=True)
    lib = ctypes.CDLL(str(tmp_path / "k.so"))
    rng = np.random.default_rng(3)
    ptr = ctypes.c_void_p
    for values in (rng.uniform(-1.5, 1.5, pre), np.array([-4.0, 4.0, 9.0, -9.0, 0.0, *rng.uniform(-1, 1, pre - 5)])):
        values = values.astype(np.float32)
        outs = [np.zeros(post, np.float32) for _ in range(4)]
        lib.run_fix(ptr(values.ctypes.data), ptr(outs[0].ctypes.data), ptr(outs[1].ctypes.data))
        lib.run_flt(ptr(values.ctypes.data), ptr(outs[2].ctypes.data), ptr(outs[3].ctypes.data))
        ea, eb = _emulate_fixed(syn, fixed_range, values)
        assert np.array_equal(outs[0], ea) and np.array_equal(outs[1], eb)  # integer sums, one float scale
        clipped = np.clip(values, -fixed_range, fixed_range).astype(np.float64)
        act = 1.0 / (1.0 + np.exp(-syn.sigma * (clipped[:, None] - syn.mu)))
        for got, w in ((outs[0], syn.wa), (outs[1], syn.wb)):
            ref = (w * act).sum(axis=0)
            # int8 weights (half a step of max|column| / 127 each) and the 1.5e-4 table: ~1% of the sums' size
            assert np.abs(got - ref).max() <= 0.01 * np.abs(ref).max() + 1e-6
        for got, w in ((outs[2], syn.wa), (outs[3], syn.wb)):  # the float kernel within float rounding
            full = (w * (1.0 / (1.0 + np.exp(-syn.sigma * (values.astype(np.float64)[:, None] - syn.mu))))).sum(0)
            assert np.abs(got - full).max() <= 1e-5 * np.abs(full).max() + 1e-6


def test_sigmoid_table_error_is_within_its_documented_bound():
    table = sigmoid_table().astype(np.float64)
    t = np.arange(-70000, 70000, 7)
    u = t + 65536
    idx = np.clip(u >> 8, 0, 511)
    interp = np.where(u <= 0, table[0], np.where(u >= 131072, table[512],
                                                 table[idx] + (((table[idx + 1] - table[idx]) * (u & 255)) // 256)))
    exact = 1.0 / (1.0 + np.exp(-t / 4096.0))
    assert np.abs(interp / 16384 - exact).max() <= 1.5e-4


def test_fixed_point_refuses_what_would_overflow_or_saturate():
    from edgelnn.errors import UnsupportedModelError

    with pytest.raises(UnsupportedModelError, match="overflow"):
        fixed_point_parameters(_synapses(1100, 2, 0), 4.0)
    with pytest.raises(UnsupportedModelError, match="mu"):
        fixed_point_parameters(_synapses(4, 2, 0), 0.5)
