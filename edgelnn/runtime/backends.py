"""The runtime backends: which package each needs, which artifacts it runs, and how to open one.

``BACKENDS[name].open(path, artifact, threads)`` opens one artifact of an export directory as a StepRunner
(float32 ``x, state, dt -> y, state_out``; integer quantization handled inside). It is the one way
artifacts are opened: :func:`edgelnn.runtime.load` and the export's verification (``backend_for``) both
use it. Packages are imported only when a backend is opened, so listing backends costs nothing.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgelnn.artifact import Artifact, StepRunner
from edgelnn.errors import RuntimeMissingError

# Order "auto" tries installed backends in (tflm is never picked automatically: it emulates a device).
AUTO_ORDER = ("litert", "onnxruntime", "torch")
# What "int8" means per backend, in order of preference: float-I/O int8 first (closest to the float model on
# CPUs), full-integer last. TFLite Micro runs only full-integer models (no hybrid float/int8 kernels).
INT8_ORDER = ("int8-dynamic", "int8-static", "int8-full")
# Full-integer with int8 weights and int16 activations and I/O (TFLite 16x8). Never picked by "int8": its
# activations, I/O and arena are 16-bit, so asking for int8 on a microcontroller keeps int8 memory and kernels;
# name it to get it (LTC/LRC on integer-only targets: int8-full loses them a third to half of their accuracy).
A16 = "int8-a16"
PRECISIONS = ("fp32", "fp16", "int8", *INT8_ORDER, A16)


def _has_c_compiler() -> bool:
    """Whether the "c" backend finds a host C compiler (cc, gcc or the ziglang package)."""
    from edgelnn.errors import CompilerNotFoundError
    from edgelnn.firmware_bench.host import find_compiler

    try:
        find_compiler()
    except CompilerNotFoundError:
        return False
    return True


def _open_onnxruntime(path: Path, artifact: Artifact, threads: int | None) -> StepRunner:
    """ONNX in onnxruntime's CPU provider; threads None: $EDGELNN_ORT_THREADS, else 1."""
    from edgelnn.runtime.onnxruntime_runner import OnnxStepRunner

    return OnnxStepRunner(path, artifact, threads=threads)


def _open_litert(path: Path, artifact: Artifact, threads: int | None) -> StepRunner:
    """TFLite in ai-edge-litert, the artifact's recorded tensor specs checked against the file."""
    from edgelnn.runtime.litert_runner import open_litert

    return open_litert(path, artifact, threads=threads or 1)


def _open_tflm(path: Path, artifact: Artifact, threads: int | None) -> StepRunner:
    """TFLite in TFLite Micro (one thread, batch 1), its arena sized from a recording."""
    from edgelnn.runtime.tflm import TflmStepRunner

    return TflmStepRunner(path, artifact)


def _open_torch(path: Path, artifact: Artifact, threads: int | None) -> StepRunner:
    """The export's float checkpoint in eager PyTorch."""
    from edgelnn.runtime.torch_backend import TorchStepRunner

    return TorchStepRunner(path, threads=threads or 1)


def _open_c(path: Path, artifact: Artifact, threads: int | None) -> StepRunner:
    """Generate C from the export directory, compile it (cached beside the export) and load it; 1 thread.
    int8-dynamic: int8 weights (per-row scales), inputs quantized per call, int32 sums, float activations;
    LTC/LRC recurrent synapses in fixed point (Q15 state, Q14 sigmoid table, int8 per-column weights)."""
    from edgelnn.firmware_bench.host import CStepRunner

    return CStepRunner.from_export(path.parent, precision="int8" if artifact.precision == "int8-dynamic" else "fp32")


@dataclass(frozen=True)
class Backend:
    """One runtime: its import name, how to install it, and which manifest artifacts it runs."""

    name: str
    module: str  # import name whose presence means "installed"
    install: str  # what to pip install when it is missing
    runtime: str | None  # manifest artifact "runtime" it runs (None: matched by format, or the checkpoint)
    format: str | None  # manifest artifact "format" it runs
    precisions: tuple[str, ...]  # the precisions it can run, in the order "int8" prefers them
    # (path, Artifact, threads) -> StepRunner; imports the runtime's package only when called
    opener: Callable[[Path, Artifact, int | None], StepRunner]
    batched: bool = True  # False: batch 1 only
    checkpoint: bool = False  # True: runs the export's float checkpoint (model.safetensors), not an artifact
    probe: Callable[[], bool] | None = None  # a further check that it can run here (e.g. a compiler exists)

    def installed(self) -> bool:
        if importlib.util.find_spec(self.module) is None:
            return False
        return self.probe() if self.probe is not None else True

    def require(self) -> None:
        """Raise RuntimeMissingError (with the pip command) when the backend's package is absent."""
        if not self.installed():
            raise RuntimeMissingError(f"backend {self.name!r} needs the {self.module!r} package: {self.install}")

    def open(self, path: Path, artifact: Artifact, threads: int | None = None) -> StepRunner:
        """Open the file ``path`` (described by ``artifact``) as a StepRunner with ``threads`` intra-op
        threads (None: the runtime's default, 1 unless configured; tflm and c: always 1)."""
        return self.opener(Path(path), artifact, threads)

    def runs(self, artifact: dict[str, Any]) -> bool:
        """Whether this backend can run manifest entry ``artifact`` (a step model of a precision it supports)."""
        if artifact["kind"] != "step" or artifact["precision"] not in self.precisions:
            return False
        if self.runtime is not None:
            return artifact["runtime"] == self.runtime
        return self.format is not None and artifact["format"] == self.format

    def expand(self, precision: str) -> tuple[str, ...]:
        """The artifact precisions that satisfy a requested ``precision``, most preferred first."""
        if precision == "int8":
            return tuple(p for p in INT8_ORDER if p in self.precisions)
        return (precision,) if precision in self.precisions else ()


BACKENDS: dict[str, Backend] = {
    "onnxruntime": Backend("onnxruntime", "onnxruntime", "pip install onnxruntime (a core dependency of edgelnn)",
                           runtime="onnxruntime", format="onnx", precisions=("fp32", *INT8_ORDER),
                           opener=_open_onnxruntime),
    "litert": Backend("litert", "ai_edge_litert", "pip install 'edgelnn[tflite]'", runtime="litert",
                      format="tflite", precisions=("fp32", "fp16", *INT8_ORDER, A16), opener=_open_litert),
    "tflm": Backend("tflm", "tflite_micro", "pip install 'edgelnn[mcu]'", runtime=None, format="tflite",
                    precisions=("fp32", "int8-full", A16), batched=False, opener=_open_tflm),
    "torch": Backend("torch", "torch", "pip install torch", runtime=None, format=None, precisions=("fp32",),
                     checkpoint=True, opener=_open_torch),
    "c": Backend("c", "edgelnn.firmware_bench.host", "install a C compiler (cc/gcc) or pip install ziglang",
                 runtime=None, format=None, precisions=("fp32", "int8-dynamic"), checkpoint=True,
                 probe=_has_c_compiler,
                 opener=_open_c),
}


def list_backends() -> dict[str, bool]:
    """Backend name -> whether its package is installed here."""
    return {name: backend.installed() for name, backend in BACKENDS.items()}


def backend_for(artifact: Artifact) -> Backend:
    """The backend that runs an exported artifact (by its ``runtime``): what the export verifies it with."""
    for backend in BACKENDS.values():
        if backend.runtime is not None and backend.runtime == artifact.runtime:
            return backend
    raise RuntimeMissingError(f"{artifact.name}: no runtime backend runs artifacts of runtime {artifact.runtime!r}; "
                              f"known: {', '.join(b.runtime for b in BACKENDS.values() if b.runtime)}")
