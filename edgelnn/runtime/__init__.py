"""edgelnn.runtime: step an exported model from an application's control loop.

    from edgelnn.runtime import load
    model = load("artifacts/cfc", backend="auto", precision="fp32")
    y = model.step(x, dt=0.05)       # keeps its own state; model.reset() to start over

Backends: "onnxruntime", "litert" (ai-edge-litert), "tflm" (TFLite Micro, batch 1) and "torch" (the
export's float checkpoint). ``list_backends()`` says which are installed here.
"""

from edgelnn.runtime import tflm as _tflm  # noqa: F401 - registers RUNTIMES["tflm"] (tflite_micro loads lazily)
from edgelnn.runtime.backends import AUTO_ORDER, BACKENDS, INT8_ORDER, PRECISIONS, list_backends
from edgelnn.runtime.loader import load
from edgelnn.runtime.streaming import DEFAULT_DT, StreamingModel

__all__ = ["AUTO_ORDER", "BACKENDS", "DEFAULT_DT", "INT8_ORDER", "PRECISIONS", "StreamingModel", "list_backends",
           "load"]
