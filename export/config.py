"""Export settings as one small config object with its output tolerance (optimum-exporters style)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from edgelnn.export.input_ranges import DEFAULT_MARGIN, check_range, parse_range

KNOWN_FORMATS = ("onnx", "tflite")
DEFAULT_FORMATS = KNOWN_FORMATS


@dataclass(frozen=True)
class ExportConfig:
    """What to emit and how strictly to check it.

    ``atol``/``rtol``: an fp32 artifact fails the export when, over free-running rollouts on held-out data,
    max |artifact - pytorch| of outputs or states exceeds ``atol + rtol * max|pytorch|``.
    ``max_int8_drop``: fail when an int8 artifact's task metric drops by more than this on the test split
    (accuracy points as a fraction, e.g. 0.005 = 0.5 points; for MSE tasks the relative increase, e.g. 0.05).
    ``calibration_range``: (name, lo, hi) entries that set an input's declared valid range (name ``dt``, ``x``
    for every feature or ``x<i>``; strings ``"dt=0.01:5"`` are accepted); other inputs get the training and
    OOD splits' range widened by ``calibration_margin`` (see :mod:`edgelnn.export.input_ranges`).
    """

    formats: tuple[str, ...] = DEFAULT_FORMATS
    int8: bool = False
    solver: str | None = None
    ode_unfolds: int | None = None
    sequence: bool = False
    atol: float = 1e-4
    rtol: float = 1e-4
    max_int8_drop: float | None = None
    calibration_rows: int = 1024
    calibration_range: tuple[tuple[str, float, float], ...] = ()
    calibration_margin: float = DEFAULT_MARGIN
    verify_sequences: int = 2000
    seed: int = 0

    def __post_init__(self) -> None:
        if not self.formats:
            raise ValueError(f"formats is empty; allowed values: {', '.join(KNOWN_FORMATS)}")
        for name in self.formats:
            if name not in KNOWN_FORMATS:
                raise ValueError(f"unknown format {name!r}; valid formats: {', '.join(KNOWN_FORMATS)}")
        if self.ode_unfolds is not None and (not isinstance(self.ode_unfolds, int) or self.ode_unfolds < 1):
            raise ValueError(f"ode_unfolds={self.ode_unfolds!r} is not valid; it must be an integer >= 1")
        if self.atol < 0 or self.rtol < 0:
            raise ValueError("atol and rtol must be >= 0")
        if self.max_int8_drop is not None and self.max_int8_drop < 0:
            raise ValueError(f"max_int8_drop={self.max_int8_drop!r} is not valid; it must be >= 0")
        entries = []
        for entry in self.calibration_range:
            if isinstance(entry, str):
                entry = parse_range(entry)
            if len(entry) != 3:
                raise ValueError(f"calibration range {entry!r} is not valid; expected (name, lo, hi)")
            name, lo, hi = str(entry[0]), float(entry[1]), float(entry[2])
            check_range(name, lo, hi)
            entries.append((name, lo, hi))
        object.__setattr__(self, "calibration_range", tuple(entries))
        if not (self.calibration_margin >= 0 and self.calibration_margin < float("inf")):
            raise ValueError(f"calibration_margin={self.calibration_margin!r} is not valid; it must be finite and >= 0")
        for name in ("calibration_rows", "verify_sequences"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1")

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["formats"] = list(self.formats)
        out["calibration_range"] = [list(entry) for entry in self.calibration_range]
        return out
