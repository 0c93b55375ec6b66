"""Export: step-module extraction with a fixed ODE solver, ONNX/TFLite emission, int8 quantization, manifest.

    from edgelnn.export import ExportConfig, resolve_source, export_model
    result = export_model(resolve_source(model="cfc"), ExportConfig(int8=True), "artifacts/cfc")
"""

from __future__ import annotations

import importlib
from typing import Any

# Public name -> submodule defining it. Imported on first use (PEP 562), so that reading a manifest or opening
# an artifact (edgelnn.runtime) does not import torch and the converters.
_EXPORTS = {
    "ExportConfig": "config", "read_manifest": "manifest", "validate_manifest": "manifest",
    "ExportResult": "pipeline", "export_model": "pipeline", "Source": "source", "resolve_source": "source",
    "extract_step_module": "step", "SweepResult": "sweep", "sweep_unfolds": "sweep",
}
__all__ = ["ExportConfig", "ExportResult", "Source", "SweepResult", "export_model", "extract_step_module",
           "read_manifest", "resolve_source", "sweep_unfolds", "validate_manifest"]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
