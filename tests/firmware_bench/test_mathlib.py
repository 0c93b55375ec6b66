"""edgelnn_math.h against numpy float64: each function's measured max relative error over its stated range
must stay within the bound recorded in the header's ERROR-TABLE, compiled with the host backend's flags
(vectorized) and with plain -O2 (scalar, as on a microcontroller)."""

from __future__ import annotations

import ctypes
import subprocess

import numpy as np
import pytest

from edgelnn.firmware_bench.codegen.mathlib import error_bounds, support_headers
from edgelnn.firmware_bench.host import FLAGS, NATIVE_FLAGS, find_compiler

POINTS = 1_000_001
FUNCTIONS = ("eln_expf", "eln_tanhf", "eln_sigmoid", "eln_log1pf", "eln_softplus")
REFERENCE = {
    "eln_expf": np.exp,
    "eln_tanhf": np.tanh,
    "eln_sigmoid": lambda x: 1.0 / (1.0 + np.exp(-x)),
    "eln_log1pf": np.log1p,
    "eln_softplus": lambda x: np.logaddexp(0.0, x),
}


BUILDS = {"host": (*FLAGS, *NATIVE_FLAGS), "plain": ("-O2", "-std=c99", "-fPIC", "-shared")}


@pytest.fixture(scope="module", params=sorted(BUILDS))
def mathlib(request, tmp_path_factory):
    """A shared library with ``void map_<fn>(const float *in, float *out, int n)`` for every function."""
    folder = tmp_path_factory.mktemp(f"mathlib-{request.param}")
    for fname, text in support_headers().items():
        (folder / fname).write_text(text)
    wrappers = "\n".join(f"void map_{fn}(const float *in, float *out, int n) "
                         f"{{ for (int i = 0; i < n; ++i) out[i] = {fn}(in[i]); }}" for fn in FUNCTIONS)
    (folder / "harness.c").write_text(f'#include "edgelnn_math.h"\n{wrappers}\n')
    subprocess.run([*find_compiler(), *BUILDS[request.param], "-o", "harness.so", "harness.c"], cwd=folder,
                   check=True)
    return ctypes.CDLL(str(folder / "harness.so"))


def evaluate(lib, fn: str, x: np.ndarray) -> np.ndarray:
    x = np.ascontiguousarray(x, np.float32)
    out = np.empty_like(x)
    getattr(lib, f"map_{fn}")(ctypes.c_void_p(x.ctypes.data), ctypes.c_void_p(out.ctypes.data), ctypes.c_int(x.size))
    return out


def grid(lo: float, hi: float) -> np.ndarray:
    """A dense uniform grid plus a log-spaced one near zero (where relative error is hardest)."""
    pts = [np.linspace(lo, hi, POINTS)]
    for sign in (1.0, -1.0):
        tiny = sign * np.logspace(-12, np.log10(max(abs(lo), abs(hi))), 20_001)
        pts.append(tiny[(tiny >= lo) & (tiny <= hi)])
    return np.unique(np.concatenate(pts).astype(np.float32))


def test_error_table_lists_every_function():
    assert sorted(error_bounds()) == sorted(FUNCTIONS)


@pytest.mark.parametrize("fn", FUNCTIONS)
def test_measured_error_within_recorded_bound(mathlib, fn):
    bound = error_bounds()[fn]
    x = grid(bound.lo, bound.hi)
    got = evaluate(mathlib, fn, x).astype(np.float64)
    ref = REFERENCE[fn](x.astype(np.float64))
    nonzero = ref != 0
    rel = np.abs(got[nonzero] - ref[nonzero]) / np.abs(ref[nonzero])
    assert np.all(got[~nonzero] == 0.0)
    worst = float(rel.max())
    assert worst <= bound.max_rel_error, f"{fn}: max rel error {worst:.3g} at x={x[nonzero][rel.argmax()]!r} " \
                                         f"> recorded {bound.max_rel_error:.3g}"


def test_special_values(mathlib):
    x = np.array([-1000.0, -87.0, 0.0, 88.0, 89.0, 1000.0], np.float32)
    e = evaluate(mathlib, "eln_expf", x)
    assert e[0] == 0.0 and e[2] == 1.0 and np.isinf(e[4]) and np.isinf(e[5])
    assert np.allclose(e[[1, 3]], np.exp(x[[1, 3]].astype(np.float64)), rtol=3e-7, atol=0)
    assert list(evaluate(mathlib, "eln_tanhf", np.array([-1e4, 0.0, 1e4], np.float32))) == [-1.0, 0.0, 1.0]
    assert list(evaluate(mathlib, "eln_sigmoid", np.array([-1e4, 1e4], np.float32))) == [0.0, 1.0]
    assert evaluate(mathlib, "eln_softplus", np.array([1e4], np.float32))[0] == 1e4
