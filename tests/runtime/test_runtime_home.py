"""The runtime's one home: the artifact contract in edgelnn.artifact, one backend registry that both
edgelnn.runtime.load and the export's verification open artifacts through, and one quantized-port class
shared by the LiteRT and TFLite Micro runners."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import edgelnn.runtime.backends as backends_module
from edgelnn.artifact import SCHEMA_PATH, SCHEMA_VERSION, Artifact, manifest_schema
from edgelnn.errors import RuntimeMissingError
from edgelnn.runtime import BACKENDS, backend_for
from edgelnn.runtime.litert_runner import _port as litert_port
from edgelnn.runtime.ports import QuantizedPort
from edgelnn.runtime.tflm import _port as tflm_port

HEAVY = ("torch", "onnx", "onnxruntime", "ai_edge_litert", "tflite_micro", "litert_torch")


@pytest.mark.parametrize("module", ["edgelnn.runtime", "edgelnn.artifact"])
def test_import_pulls_in_no_runtime_package(module):
    """An app pays for a runtime only when it opens an artifact in it: importing edgelnn.runtime (or the
    artifact contract) imports none of torch, onnx, onnxruntime, ai_edge_litert, tflite_micro."""
    code = f"import sys, {module}; print(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_one_registry_opens_every_backend():
    assert not hasattr(backends_module, "OPENERS")
    from edgelnn.export import formats
    from edgelnn.export.formats import base

    assert not hasattr(base, "RUNTIMES") and not hasattr(base, "register_runtime")
    assert not hasattr(formats, "RUNTIMES")
    assert set(BACKENDS) == {"onnxruntime", "litert", "tflm", "torch", "c"}
    assert all(callable(b.opener) for b in BACKENDS.values())


def test_backend_for_maps_an_artifacts_runtime():
    def artifact(runtime: str, fmt: str) -> Artifact:
        return Artifact(name=f"{fmt}-fp32", format=fmt, precision="fp32", file=f"step_fp32.{fmt}", runtime=runtime)

    assert backend_for(artifact("onnxruntime", "onnx")) is BACKENDS["onnxruntime"]
    assert backend_for(artifact("litert", "tflite")) is BACKENDS["litert"]
    with pytest.raises(RuntimeMissingError, match="no runtime backend runs artifacts of runtime 'nope'"):
        backend_for(artifact("nope", "onnx"))


def test_manifest_schema_beside_the_contract():
    assert SCHEMA_PATH.is_file() and SCHEMA_PATH.parent.name == "edgelnn"
    assert manifest_schema()["properties"]["schema_version"]["const"] == SCHEMA_VERSION


@pytest.mark.parametrize("dtype", [np.int8, np.int16])
def test_port_quantizes_with_saturation(dtype):
    info = np.iinfo(dtype)
    port = QuantizedPort("x", 0, np.dtype(dtype), (1, 4), scale=0.1, zero_point=-3)
    big = float(info.max) * 0.1 * 2
    q = port.encode(np.array([[0.0, 0.5, big, -big]], np.float32))
    assert q.dtype == dtype
    np.testing.assert_array_equal(q, np.array([[-3, 2, info.max, info.min]], dtype))
    np.testing.assert_allclose(port.decode(q[:, :2]), np.array([[0.0, 0.5]], np.float32), atol=1e-6)
    # inside the representable range a round trip is off by at most half a step
    values = np.linspace((info.min + 3) * 0.1, (info.max + 3) * 0.1, 257, dtype=np.float32)[None, :]
    assert np.abs(port.decode(port.encode(values)) - values).max() <= 0.05 + 1e-4 * np.abs(values).max()


def test_port_leaves_float_tensors_alone():
    port = QuantizedPort("state", 1, np.dtype(np.float32), (-1, 8))
    value = np.arange(8, dtype=np.float32)[None, :]
    assert port.encode(value) is value and port.decode(value) is value
    assert port.encode(value.astype(np.float64)).dtype == np.float32
    spec = port.spec()
    assert spec.shape == ["batch", 8] and spec.dtype == "float32" and spec.scale is None


def test_litert_and_tflm_bind_the_same_port():
    """The same int16 tensor as LiteRT and TFLite Micro describe it binds to one QuantizedPort that
    (de)quantizes alike."""
    lite = litert_port("state", {"index": 7, "dtype": np.int16, "shape_signature": np.array([1, 4]),
                                 "quantization": (0.02, 0)})
    micro = tflm_port("state", 1, {"dtype": np.int16, "shape": np.array([1, 4]),
                                   "quantization_parameters": {"scales": [0.02], "zero_points": [0]}}, None)
    assert type(lite) is type(micro) is QuantizedPort
    assert (lite.dtype, lite.shape, lite.scale, lite.zero_point) == (micro.dtype, micro.shape, micro.scale,
                                                                     micro.zero_point)
    values = np.array([[-1000.0, -0.31, 0.0, 655.0]], np.float32)
    np.testing.assert_array_equal(lite.encode(values), micro.encode(values))
    np.testing.assert_array_equal(lite.encode(values), np.array([[-32768, -16, 0, 32750]], np.int16))
