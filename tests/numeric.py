"""One numeric check for the whole suite: max|actual - reference| <= atol + rtol * max|reference|.

The export verifies its artifacts the same way (edgelnn.export.config: atol + rtol * max|pytorch|). A bound
that scales with the reference holds on every CPU, whatever its vector width (AVX2, AVX-512, with or without
VNNI, NEON on aarch64) does to the order of float32 sums, while staying orders of magnitude below what a real
bug gives (a wrong sign, a missing term or a wrong dt moves values by ~1e-1 of their magnitude).

Tolerances, from what float32 reordering can do (eps = 2**-23 ~ 1.2e-7 per rounding):

- ``RTOL_OP`` (1e-5): one step, or a few steps, of the same math by two code paths (another kernel, batch
  shape, graph runtime or summation order). A dot product of n terms reorders to ~sqrt(n) eps; through the
  2-4 layers of a cell that stays below ~2e-6 relative: 1e-5 leaves a 5x margin.
- ``RTOL_ROLLOUT`` (1e-4): free-running rollouts where each runtime feeds back its own state (tens to a
  hundred steps, times up to 6 ODE unfolds per LTC step). Per-step differences of a few 1e-6 are carried
  and amplified by the recurrence; the largest seen is ltc-euler's ONNX rollout (20 steps of 6 explicit
  Euler unfolds, dt up to 2): 1.57e-5 absolute on a reference of max 4.17, i.e. 3.8e-6 relative (the same
  on AVX2 and AVX-512 hosts; the old absolute bound 1e-5 failed there). 1e-4 leaves a >20x margin and is
  still 1000x below a real bug.
- ``ATOL`` (1e-6): a floor for references that are (nearly) all zero, where a relative bound means nothing;
  negligible next to the unit-scale outputs and states of the models tested.
"""

from __future__ import annotations

from typing import Any

import numpy as np

ATOL = 1e-6
RTOL_OP = 1e-5
RTOL_ROLLOUT = 1e-4


def _array(a: Any) -> np.ndarray:
    if hasattr(a, "detach"):  # a torch tensor, without importing torch here
        a = a.detach().cpu().numpy()
    return np.asarray(a, dtype=np.float64)


def max_abs_error(actual: Any, reference: Any) -> float:
    """max|actual - reference| (NaN when either holds a NaN; 0.0 for empty arrays)."""
    a, r = _array(actual), _array(reference)
    if a.shape != r.shape:
        raise AssertionError(f"shape {a.shape} != reference shape {r.shape}")
    return float(np.abs(a - r).max()) if a.size else 0.0


def assert_close(actual: Any, reference: Any, *, atol: float = ATOL, rtol: float = RTOL_OP, what: str = "") -> float:
    """Assert max|actual - reference| <= atol + rtol * max|reference| (same shapes, nothing NaN).

    Returns the max abs error, so a test can print it. The message names both numbers and the bound's parts.
    """
    a, r = _array(actual), _array(reference)
    if a.shape != r.shape:
        raise AssertionError(f"{what + ': ' if what else ''}shape {a.shape} != reference shape {r.shape}")
    if not a.size:
        return 0.0
    return assert_within(float(np.abs(a - r).max()), float(np.abs(r).max()), atol=atol, rtol=rtol, what=what)


def assert_within(error: float, reference_max_abs: float, *, atol: float = ATOL, rtol: float = RTOL_OP,
                  what: str = "") -> float:
    """The same bound for an error measured elsewhere (e.g. a manifest's parity record): error <= atol + rtol *
    reference_max_abs. Returns the error."""
    bound = atol + rtol * reference_max_abs
    if not error <= bound:  # also catches NaN
        label = f"{what}: " if what else ""
        raise AssertionError(f"{label}max abs error {error:.3g} > bound {bound:.3g} "
                             f"(atol {atol:g} + rtol {rtol:g} * max|reference| {reference_max_abs:.3g})")
    return error


def accuracy_slack(logits: Any, *, atol: float = ATOL, rtol: float = RTOL_ROLLOUT) -> float:
    """How far two float paths' accuracies may honestly differ on the same sequences: the fraction of sequences
    whose top two logits ``[N, C]`` are within atol + rtol * max|logits| of each other (a float-noise tie,
    where reordering may flip the argmax). 0.0 when no sequence is that close: the accuracies must be equal."""
    z = np.sort(_array(logits), axis=1)
    if not z.size:
        return 0.0
    margin = z[:, -1] - z[:, -2]
    return float((margin <= atol + rtol * np.abs(z).max()).mean())
