"""Calibration rows: inputs and states the float model really visits, over the declared input ranges.

Rows are (x_t, state_t, dt_t) at real steps of free-running rollouts of the float model (the one rollout
of :mod:`edgelnn.export.rollout`), so state ranges always come from real rollouts. Three sources:

- the training split as it is (about half the rows: what the deployed model mostly sees);
- training sequences re-timed with dt drawn log-uniformly over the declared dt range (inputs clipped into
  the declared x range), and the OOD splits: so the quantizers see every dt the export declares valid;
- four rows with x at the declared per-feature bounds and dt at its bounds, on real rollout states, so the
  input quantizers' ranges reach the declared ranges exactly.
"""

from __future__ import annotations

import numpy as np

from edgelnn.export.formats.base import CalibrationData
from edgelnn.export.input_ranges import InputRanges
from edgelnn.export.rollout import rollout_split, torch_runner
from edgelnn.models.base import StepModel
from edgelnn.tasks import Split, Task

RETIMED_SEQUENCES = 64  # training sequences re-timed over the declared dt range
OOD_SEQUENCES = 256  # sequences of each OOD split rolled out for calibration rows


def rollout_states(model: StepModel, split: Split) -> np.ndarray:
    """States *entering* each step, [N,T,S]: the zero state, then the state after each step."""
    return rollout_split(torch_runner(model), split, model.state_size, keep_states=True).states


def _rows(model: StepModel, split: Split) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x [R,F], state [R,S], dt [R,1]) at the real steps of a rollout over ``split``."""
    states = rollout_states(model, split)
    valid = split.mask.astype(bool)
    return split.x[valid], states[valid], split.t[valid][:, None]


def _pick(rows: tuple[np.ndarray, ...], n: int, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    if len(rows[0]) <= n:
        return rows
    idx = np.sort(rng.choice(len(rows[0]), size=n, replace=False))
    return tuple(a[idx] for a in rows)


def retimed(split: Split, ranges: InputRanges, n: int, rng: np.random.Generator) -> Split:
    """Up to ``n`` sequences of ``split`` with each real step's dt drawn log-uniformly over the declared range
    (the first sequence starts at the lowest dt, the second at the highest) and x clipped into its range."""
    sub = split.subset(slice(0, n))
    t = np.exp(rng.uniform(np.log(ranges.dt_min), np.log(ranges.dt_max), sub.t.shape)).astype(np.float32)
    t[0, 0] = ranges.dt_min
    t[min(1, len(t) - 1), 0] = ranges.dt_max
    real = sub.mask.astype(bool)
    x = np.clip(sub.x, ranges.x_min, ranges.x_max).astype(np.float32) * real[..., None]
    return Split(x=x.astype(np.float32), t=np.where(real, t, np.float32(1.0)).astype(np.float32), y=sub.y,
                 mask=sub.mask)


def _bound_rows(states: np.ndarray, ranges: InputRanges) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Four rows: x at its declared lows/highs with dt at its low/high, on the given real states."""
    lo, hi = ranges.x_min.astype(np.float32), ranges.x_max.astype(np.float32)
    x = np.stack([lo, hi, lo, hi])
    dt = np.array([[ranges.dt_min], [ranges.dt_max], [ranges.dt_max], [ranges.dt_min]], np.float32)
    return x, states[np.arange(4) % len(states)], dt


def calibration_rows(model: StepModel, task: Task, ranges: InputRanges, max_rows: int = 1024,
                     seed: int = 0) -> CalibrationData:
    """Up to ``max_rows`` (+4 bound rows) calibration rows covering ``ranges`` (see the module docstring)."""
    rng = np.random.default_rng(seed)
    train = task.splits["train"]
    base = _pick(_rows(model, train), max(1, max_rows // 2), rng)
    wide_parts = [_rows(model, retimed(train, ranges, RETIMED_SEQUENCES, rng))]
    wide_parts += [_rows(model, task.splits[name].subset(slice(0, OOD_SEQUENCES))) for name in task.ood_splits()]
    wide = tuple(np.concatenate([p[i] for p in wide_parts]) for i in range(3))
    wide = _pick(wide, max(1, max_rows - len(base[0])), rng)
    bounds = _bound_rows(base[1], ranges)
    x, s, dt = (np.concatenate([a, b, c]) for a, b, c in zip(base, wide, bounds))
    return CalibrationData(x=np.ascontiguousarray(x, np.float32), state=np.ascontiguousarray(s, np.float32),
                           dt=np.ascontiguousarray(dt, np.float32))


def calibration_from_rollouts(model: StepModel, split: Split, max_rows: int = 1024, seed: int = 0) -> CalibrationData:
    """Up to ``max_rows`` (x_t, state_t, dt_t) rows at real steps of rollouts over ``split`` alone, sampled
    evenly (no declared ranges: the quantizers see only what ``split`` contains)."""
    x, s, dt = _pick(_rows(model, split), max_rows, np.random.default_rng(seed))
    return CalibrationData(x=np.ascontiguousarray(x, np.float32), state=np.ascontiguousarray(s, np.float32),
                           dt=np.ascontiguousarray(dt, np.float32))
