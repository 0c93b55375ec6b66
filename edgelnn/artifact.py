"""The artifact contract between exporting and running: what a step artifact is and how it is described.

Every step artifact has the signature (x [B,F] float, state [B,S] float, dt [B,1] float) ->
(y [B,O], state [B,S]) with a dynamic batch dimension, input names ``x, state, dt`` and output names
``y, state_out``. An :class:`Artifact` records one exported file; a :class:`StepRunner` runs one (float32 in
and out, any integer quantization of its inputs and outputs handled inside).

manifest.json lists an export directory's artifacts. Its schema (manifest.schema.json beside this file,
JSON Schema 2020-12) is versioned by ``schema_version``; readers must check it. Later stages (runtime,
targets, firmware bench) read only this file and the artifacts it lists.

Here, not in the exporter, so that running an artifact needs neither torch nor onnx.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from edgelnn.errors import ManifestError
from edgelnn.utils.schema import load_schema, validate_document

INPUT_NAMES = ("x", "state", "dt")
OUTPUT_NAMES = ("y", "state_out")

SCHEMA_VERSION = 2  # 2: solver.method (was solver.solver); input_ranges, golden, metrics_runtime
SCHEMA_PATH = Path(__file__).with_name("manifest.schema.json")


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
    runtime: str  # the runtime backend that verifies it (edgelnn.runtime.backends): "onnxruntime" | "litert"
    inputs: list[TensorSpec] = field(default_factory=list)
    outputs: list[TensorSpec] = field(default_factory=list)
    kind: str = "step"  # "step", or "sequence" for a whole-sequence model (inputs x [B,T,F], dt [B,T,1])
    settings: dict[str, Any] = field(default_factory=dict)  # how it was made (quantizer recipe, ...)
    tool_versions: dict[str, str] = field(default_factory=dict)


class StepRunner(Protocol):
    """Runs one artifact: float32 arrays in, float32 arrays out (integer I/O handled inside)."""

    def __call__(self, x: np.ndarray, state: np.ndarray, dt: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...


def sha256_of(path: Path) -> str:
    """The hex sha256 of a file, read in 1 MiB chunks (artifacts and checkpoints can be large)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def manifest_schema() -> dict[str, Any]:
    """The JSON Schema of manifest.json (version SCHEMA_VERSION)."""
    return load_schema(SCHEMA_PATH)


def validate_manifest(manifest: dict[str, Any]) -> None:
    """Raise ValueError naming the first schema violation."""
    validate_document(manifest, manifest_schema(), "manifest", SCHEMA_VERSION)


def read_manifest(export_dir: str | Path) -> dict[str, Any]:
    """Load and validate ``export_dir/manifest.json``."""
    path = Path(export_dir) / "manifest.json"
    if not path.is_file():
        raise FileNotFoundError(f"{export_dir} is not an export directory (no manifest.json)")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ManifestError(f"{path} is not valid JSON ({exc}); re-export to write it again") from exc
    version = manifest.get("schema_version") if isinstance(manifest, dict) else None
    if version != SCHEMA_VERSION:
        raise ManifestError(f"{path} has schema_version {version!r}; this edgelnn reads version {SCHEMA_VERSION}: "
                            f"re-export the model with this edgelnn")
    validate_manifest(manifest)
    return manifest
