"""StreamingModel: one exported step model that keeps its own state, for an application's control loop.

    y = model.step(x, dt)        # x [F] or [B,F]; dt a scalar, [B] or [B,1]; returns y [O] or [B,O]

The per-step path is kept close to the raw runner's cost: buffers are preallocated, shapes cached, and
the checks are a few comparisons; x is checked against its declared range in one vectorised test (NaN and
Inf fail it too), and only a failing x takes the path that raises or counts.
A runner that offers ``bind_stream`` (the c backend) is bound to the model's own x, dt, state and y
buffers at load: step() then copies x in, makes one native call that does the range test and the step with
the state updated in place, and copies y out.
Anything unusual (lists, other float dtypes, per-sample dt) takes a slower path that converts and checks
it, or raises :class:`~edgelnn.errors.RuntimeInputError` with one message saying what is wrong.

Threads: a model may be shared between threads. ``step``, ``run``, ``reset`` and the ``state`` property
hold a per-model lock (about 0.1 us when uncontended), so concurrent calls run one at a time and each
returns the output of its own input, never a mix. The state is shared too: two threads stepping one model
interleave their samples in one sequence. For independent streams, load one model per stream.

Input ranges: where the manifest declares ``input_ranges`` (the ranges the export calibrated int8 over),
inputs outside them are counted in :attr:`StreamingModel.out_of_range`, and the first one of each model
emits an :class:`~edgelnn.errors.InputRangeWarning` naming the input, the value and the valid range.
"""

from __future__ import annotations

import math
import threading
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from edgelnn.artifact import StepRunner
from edgelnn.errors import InputRangeWarning, RuntimeInputError

F32 = np.dtype(np.float32)
DEFAULT_DT = 1.0  # ncps's default timespan, and the tasks' default elapsed time between samples
_NAN = float("nan")
# dt must be a normal float32: a subnormal dt is flushed to 0 by runtimes that run with flush-to-zero
# (XNNPACK), where LTC's cm / (dt / K) becomes Inf and the state NaN.
_TINY, _HUGE = float(np.finfo(np.float32).tiny), float(np.finfo(np.float32).max)


def _dt_problem(name: str, value: float) -> str:
    """Why ``value`` is not a usable elapsed time, as one message."""
    if not value > 0 or math.isinf(value):
        return f"{name} must be finite and > 0 (elapsed time since the previous sample); got {value}"
    if value > _HUGE:
        return f"{name} must be finite and > 0; got {value:g}, which is infinite in float32 (max {_HUGE:.4g})"
    return (f"{name}={value:g} is below float32's smallest normal value {_TINY:.4g}: runtimes may flush it "
            f"to 0 (LTC's state then becomes NaN); use a coarser time unit")


def _floats(value: Any, what: str) -> np.ndarray:
    """``value`` as an array of a floating dtype; RuntimeInputError for integers, bools, strings, objects.

    Integers are refused on purpose: integer sensor data is usually raw counts or quantized codes that need
    scaling first, and a silent cast would hide that.
    """
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError) as err:
        raise RuntimeInputError(f"{what} is not a numeric array: {err}") from None
    if arr.dtype.kind != "f":
        raise RuntimeInputError(f"{what} has dtype {arr.dtype}; expected floating-point values "
                                f"(e.g. np.asarray({what}, np.float32), scaled as in training)")
    return arr


def _positive_times(value: Any, what: str) -> np.ndarray:
    """``value`` as float32 time steps, all normal float32 numbers > 0 (integer and float values accepted)."""
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError) as err:
        raise RuntimeInputError(f"{what} is not a numeric array: {err}") from None
    if arr.dtype.kind not in "fiu":
        raise RuntimeInputError(f"{what} has dtype {arr.dtype}; expected numbers (elapsed time > 0)")
    wide = arr.astype(np.float64)
    ok = (wide >= _TINY) & (wide <= _HUGE)
    if not ok.all():
        raise RuntimeInputError(_dt_problem(what, float(wide[~ok].ravel()[0])))
    return arr.astype(np.float32)


class StreamingModel:
    """An exported step model with its own state: ``step``, ``run``, ``reset`` and ``state``.

    Made by :func:`edgelnn.runtime.load`. ``raw`` is the underlying StepRunner, ``raw(x [B,F], state [B,S],
    dt [B,1]) -> (y, state_out)`` on float32 arrays, for measuring the runtime's own cost.
    """

    def __init__(self, runner: StepRunner, *, manifest: dict[str, Any], artifact: dict[str, Any], backend: str,
                 batch: int, export_dir: Path, threads: int) -> None:
        self.raw = runner
        self.manifest = manifest
        self.artifact = artifact
        self.backend = backend
        self.precision: str = artifact["precision"]
        self.export_dir = Path(export_dir)
        self.threads = threads
        sizes = {t["name"]: int(t["shape"][-1]) for t in (*manifest["signature"]["inputs"],
                                                          *manifest["signature"]["outputs"])}
        self.input_size, self.state_size, self.output_size = sizes["x"], sizes["state"], sizes["y"]
        self.batch = batch
        self._shape2 = (batch, self.input_size)
        self._shape1 = (self.input_size,) if batch == 1 else None  # one sample [F] only at batch 1
        self._x = np.zeros(self._shape2, F32)
        self._dt = np.full((batch, 1), DEFAULT_DT, F32)
        self._dt_value = DEFAULT_DT  # the scalar self._dt holds (NaN once it holds per-sample values)
        self._state = np.zeros((batch, self.state_size), F32)
        self._lock = threading.Lock()  # see the module docstring: calls on one model run one at a time
        ranges = manifest.get("input_ranges")  # none in older exports: only NaN/Inf fail the x test
        shape = (batch, self.input_size)  # bounds of x's own shape: comparisons without broadcasting are faster
        self._x_lo = np.broadcast_to(np.asarray(ranges["x"]["min"] if ranges else -_HUGE, F32), shape).copy()
        self._x_hi = np.broadcast_to(np.asarray(ranges["x"]["max"] if ranges else _HUGE, F32), shape).copy()
        self._dt_lo, self._dt_hi = (ranges["dt"]["min"], ranges["dt"]["max"]) if ranges else (0.0, math.inf)
        self._in_lo, self._in_hi = np.empty(shape, bool), np.empty(shape, bool)  # step()'s range-test buffers
        self._dt_outside = 0  # values of the dt buffer outside the declared range
        self._outside = {"x": 0, "dt": 0, "steps": 0}
        self._warned = False
        # A runner that can step our own buffers in place (the c backend) does the range test and the step
        # in one native call: step() then copies only x in and y out. self._state is then never rebound.
        bind = getattr(runner, "bind_stream", None)
        self._y = np.zeros((batch, self.output_size), F32)
        self._stream = None if bind is None else bind(self._x, self._dt, self._state, self._y, self._x_lo,
                                                      self._x_hi)

    # ------------------------------------------------------------------ description
    @property
    def state_layout(self) -> list[dict[str, Any]]:
        """Named slices of the flat state, from the manifest: ``[{"name", "offset", "size"}, ...]``."""
        return [dict(part) for part in self.manifest["state_layout"]]

    @property
    def arena_bytes(self) -> int | None:
        """TFLite Micro tensor arena size (tflm backend only; None elsewhere)."""
        return getattr(self.raw, "arena_bytes", None)

    def __repr__(self) -> str:
        return (f"StreamingModel({self.artifact['name']!r}, backend={self.backend!r}, precision={self.precision!r}, "
                f"batch={self.batch}, x [{self.input_size}] -> y [{self.output_size}], state [{self.state_size}])")

    @property
    def input_ranges(self) -> dict[str, Any] | None:
        """The valid input ranges the export declared (manifest ``input_ranges``), or None for older exports."""
        ranges = self.manifest.get("input_ranges")
        return None if ranges is None else {k: (dict(v) if isinstance(v, dict) else v) for k, v in ranges.items()}

    @property
    def out_of_range(self) -> dict[str, int]:
        """Inputs seen outside the declared ranges since load: ``{"x": values, "dt": values, "steps": steps
        with any}`` (int8 artifacts clip such inputs; fp32 ones extrapolate beyond what was verified)."""
        with self._lock:
            return dict(self._outside)

    def _count_outside(self, xs: np.ndarray, dts: np.ndarray, stacklevel: int = 4) -> None:
        """Count x [T,B,F] and dt [T,B,1] values outside the declared ranges; warn at the first of this model
        (``stacklevel`` points the warning at the caller of step() or run())."""
        x_bad = (xs < self._x_lo) | (xs > self._x_hi)
        dt_bad = (dts < self._dt_lo) | (dts > self._dt_hi)
        n_x, n_dt = int(np.count_nonzero(x_bad)), int(np.count_nonzero(dt_bad))
        self._outside["x"] += n_x
        self._outside["dt"] += n_dt
        self._outside["steps"] += int(np.count_nonzero(x_bad.any(axis=(1, 2)) | dt_bad.any(axis=(1, 2))))
        if self._warned or not (n_x or n_dt):
            return
        self._warned = True
        if n_x:
            t, b, i = (int(v[0]) for v in np.nonzero(x_bad))
            what, value, lo, hi = f"x[{i}]", xs[t, b, i], self._x_lo[b, i], self._x_hi[b, i]
        else:
            t, b, _ = (int(v[0]) for v in np.nonzero(dt_bad))
            what, value, lo, hi = "dt", dts[t, b, 0], self._dt_lo, self._dt_hi
        warnings.warn(InputRangeWarning(
            f"{what} = {float(value):g} is outside the range the export declares valid [{float(lo):g}, "
            f"{float(hi):g}] ({self.manifest['input_ranges'].get('source', 'manifest input_ranges')}); "
            f"{self.precision} results there are unverified (int8 clips such inputs). model.out_of_range counts "
            f"every such input; this warning is given once per model"), stacklevel=stacklevel)

    def _count_step(self, xb: np.ndarray, dtb: np.ndarray, x_outside: int) -> None:
        """Count one step's out-of-range inputs: plain additions once the warning is given (a loop whose dt
        is always outside pays a few additions per step), the locating path before."""
        if not self._warned:
            self._count_outside(xb[None], dtb[None], stacklevel=5)
            return
        self._outside["x"] += x_outside
        self._outside["dt"] += self._dt_outside
        self._outside["steps"] += 1

    # ------------------------------------------------------------------ state
    def reset(self) -> None:
        """Zero the state (the state every sequence starts from in training and export)."""
        with self._lock:
            self._state.fill(0.0)

    @property
    def state(self) -> np.ndarray:
        """A copy of the state, [B,S] float32."""
        with self._lock:
            return self._state.copy()

    @state.setter
    def state(self, value: Any) -> None:
        arr = _floats(value, "state")
        shape = (self.batch, self.state_size)
        if arr.shape == (self.state_size,) and self.batch == 1:
            arr = arr.reshape(shape)
        if arr.shape != shape:
            raise RuntimeInputError(f"state has shape {list(arr.shape)}; expected {list(shape)}")
        if not np.isfinite(arr).all():
            raise RuntimeInputError("state contains NaN or Inf")
        with self._lock:
            np.copyto(self._state, arr, casting="same_kind")

    # ------------------------------------------------------------------ stepping
    def _input_slow(self, x: Any) -> tuple[np.ndarray, bool]:
        """Any accepted x -> (float32 [B,F] array, whether x was one sample [F]); shape and dtype checked."""
        arr = _floats(x, "x")
        if arr.ndim not in (1, 2) or arr.shape[-1] != self.input_size:
            raise RuntimeInputError(f"x has shape {list(arr.shape)}; the model takes {self.input_size} features: "
                                    f"x [{self.input_size}] or [batch, {self.input_size}]")
        rows = 1 if arr.ndim == 1 else arr.shape[0]
        if rows != self.batch:
            raise RuntimeInputError(f"x has batch {rows}; this model was loaded with batch={self.batch} "
                                    f"(load(..., batch={rows}) to step {rows} samples at once)")
        with np.errstate(over="ignore"):  # a float64 beyond float32's range becomes Inf, refused next
            np.copyto(self._x, arr.reshape(self._shape2), casting="same_kind")
        return self._x, arr.ndim == 1

    def _dt_slow(self, dt: Any) -> np.ndarray:
        """Any accepted dt (scalar, [B] or [B,1]) -> the float32 [B,1] buffer, checked finite and > 0."""
        arr = _positive_times(dt, "dt")
        if arr.ndim == 0:
            value = float(arr)
            self._dt.fill(value)
            self._dt_value = value
            self._dt_outside = 0 if self._dt_lo <= value <= self._dt_hi else self.batch
            return self._dt
        if arr.shape not in ((self.batch,), (self.batch, 1)):
            raise RuntimeInputError(f"dt has shape {list(arr.shape)}; expected a scalar, [{self.batch}] or "
                                    f"[{self.batch}, 1]")
        np.copyto(self._dt, arr.reshape(self.batch, 1))
        self._dt_value = _NAN
        self._dt_outside = int(np.count_nonzero((self._dt < self._dt_lo) | (self._dt > self._dt_hi)))
        return self._dt

    def step(self, x: Any, dt: Any = DEFAULT_DT) -> np.ndarray:
        """Advance one step: x [F] or [B,F] (float), dt > 0 (scalar, [B] or [B,1]) -> y [O] or [B,O]."""
        with self._lock:
            return self._step(x, dt)

    def _step(self, x: Any, dt: Any) -> np.ndarray:
        """step() with the lock held."""
        if type(x) is np.ndarray and x.dtype is F32 and x.flags.c_contiguous:  # the fast path: no copy
            shape = x.shape
            if shape == self._shape1:
                one, xb = True, x.reshape(self._shape2)
            elif shape == self._shape2:
                one, xb = False, x
            else:
                xb, one = self._input_slow(x)
        else:
            xb, one = self._input_slow(x)
        if self._stream is not None:
            return self._step_stream(xb, dt, one)
        # Values below lo plus values above hi (a value fails at most one bound; NaN fails both, and is refused
        # next): two comparisons and two counts, the cheapest exact test numpy offers for small arrays.
        outside = 2 * xb.size - np.count_nonzero(np.greater_equal(xb, self._x_lo, out=self._in_lo)) \
            - np.count_nonzero(np.less_equal(xb, self._x_hi, out=self._in_hi))
        if outside and not np.isfinite(xb).all():
            raise RuntimeInputError("x contains NaN or Inf")
        dtb = self._dt if type(dt) is float and dt == self._dt_value else self._dt_buffer(dt)
        if outside or self._dt_outside:
            self._count_step(xb, dtb, int(outside))
        y, state = self.raw(xb, self._state, dtb)
        self._state = state
        return y[0] if one else y

    def _dt_buffer(self, dt: Any) -> np.ndarray:
        """The dt buffer holding ``dt`` (checked); the scalar fast path is a comparison."""
        if type(dt) is float and dt == self._dt_value:
            return self._dt
        if type(dt) is float or type(dt) is int:
            if not _TINY <= dt <= _HUGE:  # a normal float32 > 0 (NaN fails too)
                raise RuntimeInputError(_dt_problem("dt", float(dt)))
            self._dt.fill(dt)
            self._dt_value = dt
            self._dt_outside = 0 if self._dt_lo <= dt <= self._dt_hi else self.batch
            return self._dt
        return self._dt_slow(dt)

    def _step_stream(self, xb: np.ndarray, dt: Any, one: bool) -> np.ndarray:
        """step() through a runner bound to this model's buffers: one native call tests x and steps."""
        dtb = self._dt_buffer(dt)
        if xb is not self._x:
            np.copyto(self._x, xb)
        outside = self._stream()
        if outside < 0:
            raise RuntimeInputError("x contains NaN or Inf")
        if outside or self._dt_outside:
            self._count_step(self._x, dtb, outside)
        return self._y[0].copy() if one else self._y.copy()

    def run(self, seq: Any, timespans: Any = None, reset: bool = True) -> np.ndarray:
        """Step through a whole sequence: seq [T,F] (batch 1) or [B,T,F] -> y [T,O] or [B,T,O].

        ``timespans``: None (every step DEFAULT_DT), [T] (shared by the batch) or [B,T]. Starts from zero
        state unless ``reset=False``; the state after the last step is kept, so streaming can continue.
        Gives exactly what calling ``step`` T times gives.
        """
        arr = _floats(seq, "seq")
        if arr.ndim == 2:
            arr = arr[None]
        if arr.ndim != 3 or arr.shape[-1] != self.input_size:
            raise RuntimeInputError(f"seq has shape {list(np.shape(seq))}; expected [T, {self.input_size}] or "
                                    f"[batch, T, {self.input_size}]")
        if arr.shape[0] != self.batch:
            raise RuntimeInputError(f"seq has batch {arr.shape[0]}; this model was loaded with batch={self.batch}")
        with self._lock:
            return self._run(arr, timespans, reset, np.ndim(seq) == 2)

    def _run(self, arr: np.ndarray, timespans: Any, reset: bool, one: bool) -> np.ndarray:
        """run() with the lock held, on a checked [B,T,F] array."""
        steps = arr.shape[1]
        xs = np.ascontiguousarray(arr.transpose(1, 0, 2), F32)  # [T,B,F]: each step a contiguous [B,F]
        if not np.isfinite(xs).all():
            raise RuntimeInputError("seq contains NaN or Inf")
        dts = self._timespans(timespans, steps)
        self._count_outside(xs, dts)
        if reset:
            self._state.fill(0.0)
        out = np.empty((steps, self.batch, self.output_size), F32)
        state = self._state.copy()
        for t in range(steps):
            y, state = self.raw(xs[t], state, dts[t])
            out[t] = y
            np.copyto(self._state, state)  # in place: a bound runner holds this buffer's address
        out = out.transpose(1, 0, 2)
        return out[0] if one else out

    def _timespans(self, timespans: Any, steps: int) -> np.ndarray:
        """Timespans as float32 [T,B,1], checked finite and > 0."""
        if timespans is None:
            return np.full((steps, self.batch, 1), DEFAULT_DT, F32)
        arr = _positive_times(timespans, "timespans")
        if arr.shape == (steps,):
            arr = arr[:, None]
        elif arr.shape == (self.batch, steps):
            arr = arr.T
        else:
            raise RuntimeInputError(f"timespans has shape {list(arr.shape)}; expected [{steps}] or "
                                    f"[{self.batch}, {steps}]")
        out = np.empty((steps, self.batch, 1), F32)
        out[..., 0] = arr
        return out
