"""Format handlers: one module per artifact format, registered by name (ONNX Runtime quantization style).

A handler turns an :class:`~edgelnn.export.formats.base.ExportContext` into
:class:`~edgelnn.artifact.Artifact` records; the pipeline verifies each one by opening it with its runtime
backend (edgelnn.runtime), where the runners live.
"""

from edgelnn.export.formats.base import FORMATS, CalibrationData, ExportContext, register_format

__all__ = ["FORMATS", "CalibrationData", "ExportContext", "register_format"]
