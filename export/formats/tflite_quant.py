"""Quantize a float .tflite step model with ai-edge-quantizer: float16 weights, dynamic int8, full int8.

- float16: :func:`constants_to_fp16` (every float32 constant of >= 64 values stored as float16 behind a
  DEQUANTIZE op). Not the quantizer's FLOAT_CASTING weight-only algorithm: it only rewrites
  FULLY_CONNECTED/conv weights (nothing in LTC; not CfC's elementwise constants) and has no size threshold,
  so it made small models larger (an 8-unit pure CfC: 6.2 KB -> 6.3 KB).
- dynamic int8 (``dynamic_wi8_afp32``): int8 per-channel weights of FULLY_CONNECTED ops, float32 I/O,
  activations quantized on the fly. Not litert-torch's PT2E dynamic path, which saturates weights.
- full int8 (``static_wi8_ai8``): int8 weights and activations, int8 model inputs/outputs where a tensor is
  used, calibrated on rollout rows.
- int8 weights with int16 activations (``static_wi8_ai16``, TFLite's "16x8" mode): full-integer like the
  above, every activation int16 (symmetric, per tensor) and int8 I/O replaced by int16. LTC/LRC run their
  synapse sigmoids, sums and the fused solver's division on rollout states whose int8 requantization every
  unfold is what loses their accuracy; 16 bits of activation fix that for ~2x the activation memory. Calibration keeps the global min/max over all rows
  (``qsv_utils.min_max_update``): the quantizer's default update, an exponential moving average
  (factor 0.95), lets the last rows dominate and gives ranges far too narrow for batch-1 steps. Rows are fed
  one at a time because a batch-1 file cannot be resized (see tflite_convert), and the calibrator's
  profiler-based mode (min/max tracked in C++) is ~15x faster than keeping every tensor in Python.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from collections import Counter
from types import SimpleNamespace
from typing import Any

import numpy as np

from edgelnn.artifact import INPUT_NAMES
from edgelnn.errors import ExportError, RuntimeMissingError
from edgelnn.export.formats.base import CalibrationData
from edgelnn.export.formats.tflite_fp16 import constants_to_fp16

CALIBRATION_METHODS = ("min_max", "moving_average")
# Static (calibrated, full-integer) recipes by name: int8 activations, or int16 activations ("16x8").
STATIC_RECIPE_NAMES = ("static_wi8_ai8", "static_wi8_ai16")


def static_recipe(name: str) -> Any:
    """The ai-edge-quantizer recipe (a list of op configs) of the static recipe called ``name``."""
    if name not in STATIC_RECIPE_NAMES:
        raise ValueError(f"static recipe {name!r} is not valid; allowed values: {', '.join(STATIC_RECIPE_NAMES)}")
    return getattr(_aeq().recipe, name)()


def _aeq() -> SimpleNamespace:
    """The ai-edge-quantizer modules used here (imported on first use)."""
    try:
        from ai_edge_quantizer import calibrator, quantizer, recipe, recipe_manager
        from ai_edge_quantizer.utils import qsv_utils
    except ImportError as err:
        raise RuntimeMissingError("TFLite quantization needs ai-edge-quantizer: pip install 'edgelnn[tflite]'") from err
    return SimpleNamespace(calibrator=calibrator, quantizer=quantizer, recipe=recipe, recipe_manager=recipe_manager,
                           qsv_utils=qsv_utils)


def _quantize(content: bytes, recipe_list: Any, qsvs: dict | None = None) -> bytes:
    q = _aeq().quantizer.Quantizer(bytearray(content), recipe_list)
    try:
        with warnings.catch_warnings():  # its calibration-check interpreter warns about preserving all tensors
            warnings.filterwarnings("ignore", message=".*experimental_preserve_all_tensors.*")
            result = q.quantize(qsvs, enable_progress_report=False)
    except Exception as err:
        raise ExportError(f"ai-edge-quantizer failed: {err}") from err
    return bytes(result.quantized_model)


def model_summary(content: bytes) -> dict[str, Any]:
    """What a .tflite holds: op counts, constant tensors by dtype, float ops (none in an integer-only model)."""
    from ai_edge_litert import schema_py_generated as schema
    from ai_edge_litert.tools import flatbuffer_utils

    model = flatbuffer_utils.read_model_from_bytearray(bytearray(content))
    type_names = {v: k.lower() for k, v in vars(schema.TensorType).items() if not k.startswith("_")}
    subgraph = model.subgraphs[0]
    ops: Counter[str] = Counter()
    float_ops: Counter[str] = Counter()
    constants: Counter[str] = Counter()
    activations: Counter[str] = Counter()  # dtypes of op outputs (the tensors computed at run time)
    for tensor in subgraph.tensors:
        if tensor.buffer and model.buffers[tensor.buffer].data is not None:
            constants[type_names.get(tensor.type, str(tensor.type))] += 1
    for op in subgraph.operators:
        name = flatbuffer_utils.opcode_to_name(model, op.opcodeIndex) or "?"
        ops[name] += 1
        outputs = [subgraph.tensors[i] for i in op.outputs if i >= 0]
        activations.update(type_names.get(t.type, str(t.type)) for t in outputs)
        if name != "DEQUANTIZE" and any(t.type == schema.TensorType.FLOAT32 for t in outputs):
            float_ops[name] += 1
    return {"ops": dict(sorted(ops.items())), "constants_by_dtype": dict(sorted(constants.items())),
            "float_ops": dict(sorted(float_ops.items())), "activation_dtypes": dict(sorted(activations.items()))}


def to_fp16(content: bytes, min_elements: int = 64) -> tuple[bytes, dict[str, Any]]:
    """Float16 weights and constants (float32 compute and I/O) and the settings that describe them."""
    out, converted = constants_to_fp16(content, min_elements=min_elements)
    settings: dict[str, Any] = {"recipe": "float16 constants behind DEQUANTIZE (TFLite float16 weight scheme)",
                                "fp16_min_elements": min_elements, "fp16_constants": converted}
    if converted and len(out) >= len(content):  # tiny models: the DEQUANTIZE bookkeeping outweighs the savings
        out, settings["fp16_constants"] = content, 0
    if not settings["fp16_constants"]:
        settings["note"] = "float16 storage would not make this model smaller: constants kept in float32"
    return out, settings


def to_dynamic_int8(content: bytes) -> tuple[bytes, dict[str, Any]]:
    """int8 weights, float activations quantized at run time (ai-edge-quantizer dynamic_wi8_afp32)."""
    out = _quantize(content, _aeq().recipe.dynamic_wi8_afp32())
    int8_weights = model_summary(out)["constants_by_dtype"].get("int8", 0)
    settings: dict[str, Any] = {"recipe": "dynamic_wi8_afp32", "int8_weight_tensors": int8_weights}
    if not int8_weights:
        settings["note"] = "no op the recipe quantizes (no FULLY_CONNECTED): numerically the fp32 model"
    return out, settings


def _rows(calibration: CalibrationData, max_rows: int | None) -> list[dict[str, np.ndarray]]:
    n = len(calibration)
    if n == 0:
        raise ExportError("full-int8 TFLite export needs calibration rows; the calibration data is empty")
    idx = np.arange(n) if max_rows is None or n <= max_rows else np.linspace(0, n - 1, max_rows).round().astype(int)
    arrays = {"x": calibration.x, "state": calibration.state, "dt": calibration.dt}
    return [{k: np.ascontiguousarray(arrays[k][i : i + 1], np.float32) for k in INPUT_NAMES} for i in idx]


def _state_tensor_names(content: bytes) -> tuple[str, tuple[str, str]]:
    """(signature key, names of the float model's state input and state_out output tensors)."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=content)
    signature = next(iter(interpreter.get_signature_list()))
    runner = interpreter.get_signature_runner(signature)
    return signature, (runner.get_input_details()["state"]["name"], runner.get_output_details()["state_out"]["name"])


def share_range(qsvs: dict, names: tuple[str, ...]) -> None:
    """Give the tensors ``names`` one range, the union of theirs (in place).

    Applied to the state input and the state_out output, so both get the same scale and zero point and a
    device can feed the int8 state_out straight back as the next int8 state, without requantizing.
    """
    present = [qsvs[n] for n in names if qsvs.get(n)]
    if len(present) < 2:
        return
    low = np.minimum.reduce([np.asarray(q["min"]) for q in present])
    high = np.maximum.reduce([np.asarray(q["max"]) for q in present])
    for name in names:
        if qsvs.get(name):
            qsvs[name] = {**qsvs[name], "min": low.copy(), "max": high.copy()}


def calibrate(content: bytes, calibration: CalibrationData, method: str = "min_max",
              max_rows: int | None = None, shared_state_range: bool = True,
              recipe_name: str = "static_wi8_ai8") -> tuple[dict, int]:
    """(tensor name -> {"min", "max"} over the calibration rows, number of rows used).

    ``recipe_name``: the static recipe the ranges are for (it decides which tensors get calibrated)."""
    if method not in CALIBRATION_METHODS:
        raise ValueError(f"calibration method {method!r} is not valid; allowed values: {', '.join(CALIBRATION_METHODS)}")
    aeq = _aeq()
    signature, state_names = _state_tensor_names(content)
    rows = _rows(calibration, max_rows)
    update = aeq.qsv_utils.min_max_update if method == "min_max" else aeq.qsv_utils.moving_average_update
    manager = aeq.recipe_manager.RecipeManager()
    manager.load_quantization_recipe(static_recipe(recipe_name))
    cal = aeq.calibrator.Calibrator(content, num_threads=1, qsv_update_func=update,
                                    mode=aeq.calibrator.CalibrationMode.CALIBRATION_PROFILER_BASED)
    with contextlib.redirect_stderr(io.StringIO()):  # the calibrator's tqdm progress bar
        cal.calibrate({signature: rows}, manager)
    qsvs = cal.get_model_qsvs()
    if shared_state_range:
        share_range(qsvs, state_names)
    return qsvs, len(rows)


def _to_static(content: bytes, calibration: CalibrationData, recipe_name: str, method: str,
               max_rows: int | None, shared_state_range: bool) -> tuple[bytes, dict[str, Any]]:
    """A full-integer model made with the static recipe ``recipe_name``, calibrated on rollout rows."""
    qsvs, used = calibrate(content, calibration, method, max_rows, shared_state_range, recipe_name)
    out = _quantize(content, static_recipe(recipe_name), qsvs)
    summary = model_summary(out)
    return out, {"recipe": recipe_name,
                 "calibration": {"method": method, "rows": used, "rows_available": len(calibration),
                                 "batch": 1, "shared_state_range": shared_state_range},
                 "integer_only": not summary["float_ops"], "float_ops": summary["float_ops"],
                 "activation_dtypes": summary["activation_dtypes"]}


def to_full_int8(content: bytes, calibration: CalibrationData, method: str = "min_max",
                 max_rows: int | None = None, shared_state_range: bool = True) -> tuple[bytes, dict[str, Any]]:
    """Full-integer int8 model (ai-edge-quantizer static_wi8_ai8) calibrated on rollout rows."""
    return _to_static(content, calibration, "static_wi8_ai8", method, max_rows, shared_state_range)


def to_int8_a16(content: bytes, calibration: CalibrationData, method: str = "min_max",
                max_rows: int | None = None, shared_state_range: bool = True) -> tuple[bytes, dict[str, Any]]:
    """Full-integer model with int8 weights and int16 activations and I/O (static_wi8_ai16, TFLite 16x8)."""
    return _to_static(content, calibration, "static_wi8_ai16", method, max_rows, shared_state_range)
