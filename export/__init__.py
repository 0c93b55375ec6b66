"""Export: step-module extraction with a fixed ODE solver, ONNX/TFLite emission, int8 quantization, manifest.

The artifact contract (Artifact, manifest read/validate) is edgelnn.artifact; the runners are edgelnn.runtime.

    from edgelnn.export import ExportConfig, resolve_source, export_model
    result = export_model(resolve_source(model="cfc"), ExportConfig(int8=True), "artifacts/cfc")
"""

from __future__ import annotations

import importlib
from typing import Any

# Public name -> module defining it. Imported on first use (PEP 562), so that importing edgelnn.export does not
# import torch and the converters. read_manifest lives with the artifact contract (edgelnn.artifact).
_EXPORTS = {
    "ExportConfig": "edgelnn.export.config", "read_manifest": "edgelnn.artifact",
    "ExportResult": "edgelnn.export.pipeline", "export_model": "edgelnn.export.pipeline",
    "Source": "edgelnn.export.source", "resolve_source": "edgelnn.export.source",
    "extract_step_module": "edgelnn.export.step", "SweepResult": "edgelnn.export.sweep",
    "sweep_unfolds": "edgelnn.export.sweep",
}
__all__ = ["ExportConfig", "ExportResult", "Source", "SweepResult", "export_model", "extract_step_module",
           "read_manifest", "resolve_source", "sweep_unfolds"]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
