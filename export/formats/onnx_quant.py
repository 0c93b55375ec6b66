"""int8 quantization of a float ONNX step model with onnxruntime's quantizer (dynamic and static QDQ).

Why these settings (measured on an AVX2 CPU without VNNI; tests/export/test_onnx.py checks the errors):
- dynamic: QInt8 weights saturate the u8*s8 pairwise 16-bit accumulation there (trained CfC 5.7% relative
  RMS step error, ~20% on small random CfCs); QUInt8 weights do not (0.82%, per-channel 0.75%).
- static QDQ: U8 activations, S8 weights with reduce_range (7-bit; without it ~20%: the same saturation),
  per-channel weights (trained CfC 1.47% -> 1.36%). MinMax calibration: Entropy gave the same error and
  Percentile(99.999) the same or slightly worse. Calibration rows are rollout rows (inputs and the states
  the model really visits), never random data. ``ops="all"`` quantizes every op the QDQ quantizer knows
  (Add, Mul, Sigmoid, Concat, ... : the integer-target picture); ``ops="matmul"`` only Gemm/MatMul, which
  costs less accuracy (trained LSTM 2.70% -> 0.58%).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import onnx
from onnxruntime.quantization import (
    CalibrationDataReader,
    CalibrationMethod,
    QuantFormat,
    QuantType,
    quant_pre_process,
    quantize_dynamic,
    quantize_static,
)

from edgelnn.errors import ExportError
from edgelnn.export.formats.base import CalibrationData
from edgelnn.export.formats.onnx_graph import quiet

STATIC_OP_SETS: dict[str, tuple[str, ...] | None] = {"all": None, "matmul": ("Gemm", "MatMul")}
CALIBRATION_METHODS = {"min_max": CalibrationMethod.MinMax, "percentile": CalibrationMethod.Percentile,
                       "entropy": CalibrationMethod.Entropy}
_INTEGER_OPS = {"MatMulInteger", "ConvInteger", "DynamicQuantizeMatMul", "MatMulIntegerToFloat", "DynamicQuantizeLSTM"}
_QDQ_OPS = {"QuantizeLinear", "DequantizeLinear"}


@dataclass(frozen=True)
class DynamicRecipe:
    """quantize_dynamic settings: int8 weights, activations quantized at run time."""

    weight_type: str = "QUInt8"
    per_channel: bool = True
    reduce_range: bool = False


@dataclass(frozen=True)
class StaticRecipe:
    """quantize_static settings: QDQ int8 weights and activations with calibrated ranges."""

    calibration_method: str = "min_max"
    activation_type: str = "QUInt8"
    weight_type: str = "QInt8"
    per_channel: bool = True
    reduce_range: bool = True
    ops: str = "all"  # "all": every op type the QDQ quantizer supports; "matmul": Gemm/MatMul only
    preprocess: bool = True
    batch_size: int = 64


class RowsReader(CalibrationDataReader):
    """Feeds calibration rows to the quantizer's calibration session in batches (dynamic batch dim)."""

    def __init__(self, data: CalibrationData, batch_size: int) -> None:
        self._data = data
        self._batch_size = batch_size
        self._it: Iterator[dict] = iter(())
        self.rewind()

    def get_next(self) -> dict | None:
        return next(self._it, None)

    def rewind(self) -> None:
        self._it = iter(list(self._data.batches(self._batch_size)))


def count_quantized_ops(model: onnx.ModelProto) -> int:
    """Ops that run on int8 data: integer kernels (dynamic) or float ops fed by a DequantizeLinear (QDQ)."""
    dq_outputs = {o for n in model.graph.node if n.op_type == "DequantizeLinear" for o in n.output}
    integer = [n for n in model.graph.node if n.op_type in _INTEGER_OPS]
    qdq_fed = [n for n in model.graph.node
               if n.op_type not in _QDQ_OPS | _INTEGER_OPS and any(i in dq_outputs for i in n.input)]
    return len(integer) + len(qdq_fed)


def _with_op_count(settings: dict[str, Any], model: onnx.ModelProto, why_none: str) -> dict[str, Any]:
    """Record how many ops run on int8 data; where none do, say so rather than pass the file off as int8.

    The artifact is still written (same signature, so the pipeline can verify and report it), but its
    settings carry ``effective_precision: "fp32"`` and the reason.
    """
    n = count_quantized_ops(model)
    settings["quantized_ops"] = n
    if n == 0:
        settings["effective_precision"] = "fp32"
        settings["note"] = f"{why_none}: the quantizer left every op in float"
    return settings


def dynamic_int8(src: Path, dst: Path, recipe: DynamicRecipe = DynamicRecipe()) -> dict[str, Any]:
    """Write the dynamic-int8 model of ``src`` to ``dst``; returns its settings (quantized_ops included)."""
    with quiet("root", "onnxruntime"):
        quantize_dynamic(src, dst, weight_type=QuantType[recipe.weight_type], per_channel=recipe.per_channel,
                         reduce_range=recipe.reduce_range, use_external_data_format=False)
    settings = {"quantizer": "onnxruntime.quantization.quantize_dynamic", **asdict(recipe),
                "activations": "float (quantized per call at run time)"}
    return _with_op_count(settings, onnx.load(dst), "no MatMul/Gemm/Conv/Gather op to quantize")


def static_int8(src: Path, dst: Path, calibration: CalibrationData,
                recipe: StaticRecipe = StaticRecipe()) -> dict[str, Any]:
    """Write the static QDQ int8 model of ``src`` to ``dst``, calibrated on ``calibration`` rows."""
    if len(calibration) == 0:
        raise ExportError("static int8 quantization needs calibration rows (rollout states); got none")
    if recipe.calibration_method not in CALIBRATION_METHODS:
        raise ValueError(f"calibration_method={recipe.calibration_method!r} is not valid; allowed values: "
                         f"{', '.join(CALIBRATION_METHODS)}")
    if recipe.ops not in STATIC_OP_SETS:
        raise ValueError(f"ops={recipe.ops!r} is not valid; allowed values: {', '.join(STATIC_OP_SETS)}")
    op_types = STATIC_OP_SETS[recipe.ops]
    with tempfile.TemporaryDirectory(prefix="edgelnn-onnxq-") as tmp, quiet("root", "onnxruntime"):
        model_in = Path(src)
        if recipe.preprocess:
            model_in = Path(tmp) / "pre.onnx"
            quant_pre_process(str(src), str(model_in), skip_symbolic_shape=False)
        quantize_static(model_in, dst, RowsReader(calibration, recipe.batch_size), quant_format=QuantFormat.QDQ,
                        op_types_to_quantize=list(op_types) if op_types else None,
                        per_channel=recipe.per_channel, reduce_range=recipe.reduce_range,
                        activation_type=QuantType[recipe.activation_type],
                        weight_type=QuantType[recipe.weight_type],
                        calibrate_method=CALIBRATION_METHODS[recipe.calibration_method],
                        use_external_data_format=False)
    settings = {"quantizer": "onnxruntime.quantization.quantize_static", "quant_format": "QDQ", **asdict(recipe),
                "op_types": list(op_types) if op_types else "all the QDQ quantizer supports",
                "calibration_rows": len(calibration)}
    return _with_op_count(settings, onnx.load(dst), f"no op of the types {recipe.ops!r} to quantize")
