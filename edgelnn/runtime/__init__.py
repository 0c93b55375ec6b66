"""edgelnn.runtime: step an exported model from an application's control loop.

    from edgelnn.runtime import load
    model = load("artifacts/cfc", backend="auto", precision="fp32")
    y = model.step(x, dt=0.05)       # keeps its own state; model.reset() to start over

Backends: "onnxruntime", "litert" (ai-edge-litert), "tflm" (TFLite Micro, batch 1) and "torch" (the
export's float checkpoint), each opened by ``BACKENDS[name].open(path, artifact, threads)``; the runners live
here (onnxruntime_runner, litert_runner, tflm, torch_backend; the "c" one in edgelnn.firmware_bench.host).
``list_backends()`` says which are installed here. The artifact contract (Artifact, manifest) is
:mod:`edgelnn.artifact`.
"""

from edgelnn.runtime.backends import AUTO_ORDER, BACKENDS, INT8_ORDER, PRECISIONS, backend_for, list_backends
from edgelnn.runtime.loader import load
from edgelnn.runtime.streaming import DEFAULT_DT, StreamingModel

__all__ = ["AUTO_ORDER", "BACKENDS", "DEFAULT_DT", "INT8_ORDER", "PRECISIONS", "StreamingModel", "backend_for",
           "list_backends", "load"]
