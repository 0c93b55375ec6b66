"""Export settings as one small config object with its output tolerance (optimum-exporters style)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

KNOWN_FORMATS = ("onnx", "tflite")
DEFAULT_FORMATS = KNOWN_FORMATS


@dataclass(frozen=True)
class ExportConfig:
    """What to emit and how strictly to check it.

    ``atol``/``rtol``: an fp32 artifact fails the export when, over free-running rollouts on held-out data,
    max |artifact - pytorch| of outputs or states exceeds ``atol + rtol * max|pytorch|``.
    ``max_int8_drop``: fail when an int8 artifact's task metric drops by more than this on the test split
    (accuracy points as a fraction, e.g. 0.005 = 0.5 points; for MSE tasks the relative increase, e.g. 0.05).
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
        for name in ("calibration_rows", "verify_sequences"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1")

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["formats"] = list(self.formats)
        return out
