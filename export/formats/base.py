"""The contract between the export pipeline and the format handlers.

The pipeline builds an :class:`ExportContext` (the float step module with its solver fixed, sizes,
calibration data from rollouts, a temporary output directory, settings) and calls every requested format
handler. A handler writes files into ``ctx.out_dir`` and returns :class:`Artifact` records. To verify an
artifact, the pipeline opens it with the runtime registered for ``artifact.runtime``, which returns a
:class:`StepRunner`: a callable that takes and returns float32 numpy arrays, hiding any integer
quantization of the artifact's inputs and outputs.

Every step artifact has the signature (x [B,F] float, state [B,S] float, dt [B,1] float) ->
(y [B,O], state [B,S]) with a dynamic batch dimension, input names ``x, state, dt`` and output names
``y, state_out``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

if TYPE_CHECKING:  # torch is not needed to run artifacts (edgelnn.runtime)
    from torch import nn

INPUT_NAMES = ("x", "state", "dt")
OUTPUT_NAMES = ("y", "state_out")


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


@dataclass
class TensorSpec:
    """One input or output of an artifact, as the runtime sees it."""

    name: str
    shape: list[int | str]  # "batch" for the dynamic dimension
    dtype: str  # "float32", "int8", ...
    scale: float | None = None  # quantization parameters of integer tensors
    zero_point: int | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "shape": self.shape, "dtype": self.dtype}
        if self.scale is not None:
            out["quantization"] = {"scale": self.scale, "zero_point": self.zero_point}
        return out


@dataclass
class Artifact:
    """One exported file and what is needed to run and describe it."""

    name: str  # unique within an export, e.g. "onnx-fp32", "tflite-int8-full"
    format: str  # "onnx" | "tflite"
    precision: str  # "fp32" | "fp16" | "int8-dynamic" | "int8-static" | "int8-full" | ...
    file: str  # file name relative to the export directory
    runtime: str  # key into RUNTIMES: "onnxruntime" | "litert"
    inputs: list[TensorSpec] = field(default_factory=list)
    outputs: list[TensorSpec] = field(default_factory=list)
    kind: str = "step"  # "step", or "sequence" for a whole-sequence model (inputs x [B,T,F], dt [B,T,1])
    settings: dict[str, Any] = field(default_factory=dict)  # how it was made (quantizer recipe, ...)
    tool_versions: dict[str, str] = field(default_factory=dict)


class StepRunner(Protocol):
    """Runs one artifact: float32 arrays in, float32 arrays out (integer I/O handled inside)."""

    def __call__(self, x: np.ndarray, state: np.ndarray, dt: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...


FormatHandler = Callable[[ExportContext], list[Artifact]]
RuntimeOpener = Callable[[Path, Artifact], StepRunner]

FORMATS: dict[str, FormatHandler] = {}
RUNTIMES: dict[str, RuntimeOpener] = {}


def register_format(name: str):
    """Decorator: register a handler that emits the artifacts of format ``name``."""

    def wrap(fn: FormatHandler) -> FormatHandler:
        FORMATS[name] = fn
        return fn

    return wrap


def register_runtime(name: str):
    """Decorator: register a function that opens an artifact as a StepRunner."""

    def wrap(fn: RuntimeOpener) -> RuntimeOpener:
        RUNTIMES[name] = fn
        return fn

    return wrap
