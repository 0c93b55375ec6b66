"""Format handlers: one module per artifact format, registered by name (ONNX Runtime quantization style).

A handler turns an :class:`~edgelnn.export.formats.base.ExportContext` into artifacts; a runtime opens one
artifact as a :class:`~edgelnn.export.formats.base.StepRunner` so the pipeline can verify it.
"""

from edgelnn.export.formats.base import (
    FORMATS,
    RUNTIMES,
    Artifact,
    CalibrationData,
    ExportContext,
    StepRunner,
    register_format,
    register_runtime,
)

__all__ = ["FORMATS", "RUNTIMES", "Artifact", "CalibrationData", "ExportContext", "StepRunner",
           "register_format", "register_runtime"]
