"""The contract between the export pipeline and the format handlers.

The pipeline builds an :class:`ExportContext` (the float step module with its solver fixed, sizes,
calibration data from rollouts, a temporary output directory, settings) and calls every requested format
handler. A handler writes files into ``ctx.out_dir`` and returns :class:`~edgelnn.artifact.Artifact`
records. To verify an artifact, the pipeline opens it with the runtime backend that runs it
(:func:`edgelnn.runtime.backends.backend_for`), the same code :func:`edgelnn.runtime.load` uses. The
artifact contract itself (signature, Artifact, TensorSpec, StepRunner, manifest) is :mod:`edgelnn.artifact`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from edgelnn.artifact import Artifact

if TYPE_CHECKING:  # torch is imported by the handlers that need it
    from torch import nn


@dataclass(frozen=True)
class CalibrationData:
    """Representative step inputs taken from rollouts of the float model over the training split.

    Rows are (x_t, state_t, dt_t) at real (unmasked) steps, so their ranges are the ones the deployed model
    sees, states included. Arrays: x [N,F], state [N,S], dt [N,1], all float32.
    """

    x: np.ndarray
    state: np.ndarray
    dt: np.ndarray

    def __len__(self) -> int:
        return int(self.x.shape[0])

    def batches(self, batch_size: int = 1):
        """Yield dicts {"x", "state", "dt"} of up to ``batch_size`` rows."""
        for i in range(0, len(self), batch_size):
            yield {"x": self.x[i : i + batch_size], "state": self.state[i : i + batch_size],
                   "dt": self.dt[i : i + batch_size]}


@dataclass
class ExportContext:
    """Everything a format handler needs."""

    step_module: nn.Module  # forward(x, state, dt) -> (y, state_out); float32, eval mode, CPU
    input_size: int
    state_size: int
    output_size: int
    calibration: CalibrationData
    out_dir: Path  # a temporary directory; handlers write their files here
    int8: bool = True  # also produce the int8 artifacts of this format
    options: dict[str, Any] = field(default_factory=dict)  # format-specific settings


FormatHandler = Callable[[ExportContext], list[Artifact]]

FORMATS: dict[str, FormatHandler] = {}


def register_format(name: str):
    """Decorator: register a handler that emits the artifacts of format ``name``."""

    def wrap(fn: FormatHandler) -> FormatHandler:
        FORMATS[name] = fn
        return fn

    return wrap
