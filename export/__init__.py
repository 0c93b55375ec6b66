"""Export: step-module extraction with a fixed ODE solver, ONNX/TFLite emission, int8 quantization, manifest.

    from edgelnn.export import ExportConfig, resolve_source, export_model
    result = export_model(resolve_source(model="cfc"), ExportConfig(int8=True), "artifacts/cfc")
"""

from edgelnn.export.config import ExportConfig
from edgelnn.export.manifest import read_manifest, validate_manifest
from edgelnn.export.pipeline import ExportResult, export_model
from edgelnn.export.source import Source, resolve_source
from edgelnn.export.step import extract_step_module
from edgelnn.export.sweep import SweepResult, sweep_unfolds

__all__ = ["ExportConfig", "ExportResult", "Source", "SweepResult", "export_model", "extract_step_module",
           "read_manifest", "resolve_source", "sweep_unfolds", "validate_manifest"]
