"""The declared valid range of every model input (x per feature, dt), as calibrated, recorded and checked.

int8 artifacts represent each input only over its calibrated range and clip anything outside, silently.
So the range is declared once here: by default the union of the task's training split and every OOD split,
widened by a margin (x: ``margin`` of the span on each side; dt, a positive scale: divided and multiplied by
``1 + margin``), and any input may be set by the user (``--calibration-range dt=0.01:5``, ``x=-3:3`` for
every feature, ``x0=-1:1`` for one). Calibration covers it (:mod:`edgelnn.export.calibration`), the
manifest records it (``input_ranges``), and the runtime counts inputs outside it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

DEFAULT_MARGIN = 0.1
_NAME = re.compile(r"^(dt|x|x(\d+))$")


def parse_range(text: str) -> tuple[str, float, float]:
    """``"dt=0.01:5"`` -> ``("dt", 0.01, 5.0)``; ValueError with the expected form otherwise."""
    name, sep, bounds = str(text).partition("=")
    lo, sep2, hi = bounds.partition(":")
    try:
        if not (sep and sep2):
            raise ValueError
        entry = (name.strip(), float(lo), float(hi))
    except ValueError:
        raise ValueError(f"calibration range {text!r} is not valid; expected NAME=LO:HI with NAME dt, x or x<i> "
                         f"(e.g. dt=0.01:5)") from None
    check_range(*entry)
    return entry


def check_range(name: str, lo: float, hi: float) -> None:
    """ValueError unless ``name`` is dt, x or x<i> and ``lo < hi`` are finite (and ``lo > 0`` for dt)."""
    if not _NAME.match(str(name)):
        raise ValueError(f"calibration range names {name!r}; valid names: dt, x (every feature), x<i> (feature i)")
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ValueError(f"calibration range {name}={lo}:{hi} is not valid; both bounds must be finite")
    if not lo < hi:
        raise ValueError(f"calibration range {name}={lo}:{hi} is not valid; it needs lo < hi")
    if name == "dt" and lo <= 0:
        raise ValueError(f"calibration range dt={lo}:{hi} is not valid; dt (elapsed time) needs lo > 0")


@dataclass(frozen=True)
class InputRanges:
    """Valid input ranges: ``x_min``/``x_max`` per feature ``[F]``, ``dt_min``/``dt_max``, and their source."""

    x_min: np.ndarray
    x_max: np.ndarray
    dt_min: float
    dt_max: float
    source: str

    def to_dict(self) -> dict[str, Any]:
        """The manifest's ``input_ranges`` object."""
        return {"x": {"min": [float(v) for v in self.x_min], "max": [float(v) for v in self.x_max]},
                "dt": {"min": float(self.dt_min), "max": float(self.dt_max)}, "source": self.source}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> InputRanges:
        return cls(np.asarray(data["x"]["min"], np.float32), np.asarray(data["x"]["max"], np.float32),
                   float(data["dt"]["min"]), float(data["dt"]["max"]), str(data.get("source", "")))


def observed_ranges(splits: list[Any]) -> tuple[np.ndarray, np.ndarray, float, float]:
    """(x min [F], x max [F], dt min, dt max) over the real steps of ``splits``."""
    xs = np.concatenate([s.x[s.mask.astype(bool)] for s in splits])
    ts = np.concatenate([s.t[s.mask.astype(bool)] for s in splits])
    return xs.min(axis=0), xs.max(axis=0), float(ts.min()), float(ts.max())


def declared_ranges(task: Any, overrides: tuple[tuple[str, float, float], ...] | list = (),
                    margin: float = DEFAULT_MARGIN) -> InputRanges:
    """The ranges an export declares for ``task``: train + OOD splits widened by ``margin``, then ``overrides``."""
    if margin < 0 or not math.isfinite(margin):
        raise ValueError(f"calibration margin {margin!r} is not valid; it must be a finite number >= 0")
    names = ["train", *task.ood_splits()]
    x_lo, x_hi, dt_lo, dt_hi = observed_ranges([task.splits[n] for n in names])
    span = np.maximum(x_hi - x_lo, 1e-6 * np.maximum(np.abs(x_hi), 1.0))
    x_lo, x_hi = (x_lo - margin * span).astype(np.float32), (x_hi + margin * span).astype(np.float32)
    dt_lo, dt_hi = dt_lo / (1 + margin), dt_hi * (1 + margin)
    if dt_hi <= dt_lo:  # a constant timespan (e.g. data without t) and no margin
        dt_hi = dt_lo * (1 + 1e-3)
    source = f"{'+'.join(['train', 'ood splits'] if len(names) > 1 else names)}, margin {margin:.0%}"
    user = []
    for name, lo, hi in overrides:
        check_range(name, lo, hi)
        if name == "dt":
            dt_lo, dt_hi = float(lo), float(hi)
        elif name == "x":
            x_lo[:], x_hi[:] = lo, hi
        else:
            i = int(name[1:])
            if i >= task.input_size:
                raise ValueError(f"calibration range {name} names feature {i}; the task has {task.input_size} "
                                 f"features (x0..x{task.input_size - 1})")
            x_lo[i], x_hi[i] = lo, hi
        user.append(name)
    if user:
        source += f"; user: {', '.join(user)}"
    return InputRanges(x_lo, x_hi, float(dt_lo), float(dt_hi), source)


def representable_ranges(inputs: list[Any]) -> dict[str, dict[str, float]]:
    """For integer inputs with a scale and zero point: the float range their integer type can hold.

    ``inputs``: TensorSpec-like objects (``name``, ``dtype``, ``scale``, ``zero_point``); float inputs are left out.
    """
    out = {}
    for spec in inputs:
        if spec.scale is None or not str(spec.dtype).startswith(("int", "uint")):
            continue
        info = np.iinfo(np.dtype(spec.dtype))
        zero = int(spec.zero_point or 0)
        out[spec.name] = {"min": float((info.min - zero) * spec.scale), "max": float((info.max - zero) * spec.scale)}
    return out
