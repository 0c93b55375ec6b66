"""ONNX artifacts of a step module (fp32, int8 dynamic, int8 static QDQ, optional whole-sequence Scan).

They run in the "onnxruntime" backend (edgelnn.runtime.onnxruntime_runner).

Why the exporter settings: ``torch.onnx.export(dynamo=True)`` is exact here; a batch-1 trace sample fixes
the batch dimension silently, so the trace uses batch 2 and every graph's signature is checked afterwards
(``ShapeError`` if the batch dim got fixed). ``dt`` stays an input of every artifact, also for LSTM/GRU.

ctx.options read here: ``sequence`` (bool, also emit "onnx-fp32-sequence"), ``onnx_opset`` (int), and for
the static int8 artifact ``onnx_static_calibration`` ("min_max" | "percentile" | "entropy"),
``onnx_per_channel`` (bool) and ``onnx_static_ops`` ("all" | "matmul").
"""

from __future__ import annotations

from pathlib import Path

import onnx
import onnxruntime as ort
import torch
from torch import nn

from edgelnn.artifact import INPUT_NAMES, OUTPUT_NAMES, Artifact
from edgelnn.errors import ExportError
from edgelnn.export.formats.base import ExportContext, register_format
from edgelnn.export.formats.onnx_graph import Dim, check_signature, ensure_input, quiet, tensor_specs
from edgelnn.export.formats.onnx_quant import DynamicRecipe, StaticRecipe, dynamic_int8, static_int8
from edgelnn.export.formats.onnx_scan import sequence_model, sequence_signature

OPSET = 20  # torch 2.13's default target (torchlib is written at 18 and converted up); onnxruntime 1.32 runs it
TRACE_BATCH = 2  # >= 2, or torch.export specializes the batch dimension to the sample's size


def step_signature(input_size: int, state_size: int, output_size: int
                   ) -> tuple[dict[str, list[Dim]], dict[str, list[Dim]]]:
    """(inputs, outputs) name -> dims of every step artifact; "batch" marks the dynamic dimension."""
    inputs = {"x": ["batch", input_size], "state": ["batch", state_size], "dt": ["batch", 1]}
    outputs = {"y": ["batch", output_size], "state_out": ["batch", state_size]}
    return inputs, outputs


def export_step_model(step_module: nn.Module, input_size: int, state_size: int, output_size: int,
                      opset: int = OPSET, trace_batch: int = TRACE_BATCH) -> onnx.ModelProto:
    """The checked fp32 ONNX model of ``step_module`` with a dynamic batch dimension."""
    if trace_batch < 2:
        raise ValueError("trace_batch must be >= 2: a batch-1 sample fixes the batch dimension at 1")
    gen = torch.Generator().manual_seed(0)
    sample = (torch.randn(trace_batch, input_size, generator=gen),
              torch.randn(trace_batch, state_size, generator=gen) * 0.1,
              torch.ones(trace_batch, 1))
    batch = torch.export.Dim("batch")
    try:
        with quiet("torch.onnx", "torch.export"), torch.no_grad():
            program = torch.onnx.export(step_module.eval(), sample, dynamo=True, input_names=list(INPUT_NAMES),
                                        output_names=list(OUTPUT_NAMES), opset_version=opset,
                                        dynamic_shapes=({0: batch}, {0: batch}, {0: batch}),
                                        external_data=False, optimize=True, verbose=False)
    except Exception as err:  # the exporter raises many types; one clear error for the pipeline
        raise ExportError(f"torch.onnx.export (dynamo) failed: {err}") from err
    model = program.model_proto
    inputs, outputs = step_signature(input_size, state_size, output_size)
    ensure_input(model, "dt", inputs["dt"], position=2)  # kept by the dynamo exporter today; never lose it
    check_signature(model, inputs, outputs)
    onnx.checker.check_model(model, full_check=True)
    return model


def tool_versions() -> dict[str, str]:
    import onnxscript

    return {"torch": torch.__version__, "onnx": onnx.__version__, "onnxruntime": ort.__version__,
            "onnxscript": onnxscript.__version__}


def _artifact(name: str, precision: str, path: Path, signature: tuple[dict, dict], kind: str = "step",
              **settings) -> Artifact:
    """The record of the file at ``path``, after checking its signature again (quantizers rewrite graphs)."""
    model = onnx.load(path)
    inputs, outputs = signature
    check_signature(model, inputs, outputs)
    return Artifact(name=name, format="onnx", precision=precision, file=path.name, runtime="onnxruntime",
                    inputs=tensor_specs(model.graph.input, inputs), outputs=tensor_specs(model.graph.output, outputs),
                    kind=kind, settings=settings, tool_versions=tool_versions())


@register_format("onnx")
def export_onnx(ctx: ExportContext) -> list[Artifact]:
    """fp32 step artifact, its int8 dynamic and static QDQ variants (ctx.int8), and optionally a Scan sequence."""
    opset = int(ctx.options.get("onnx_opset", OPSET))
    out = Path(ctx.out_dir)
    sizes = (ctx.input_size, ctx.state_size, ctx.output_size)
    model = export_step_model(ctx.step_module, *sizes, opset=opset)
    fp32_path = out / "step_fp32.onnx"
    onnx.save(model, fp32_path)
    common = {"opset": opset, "exporter": "torch.onnx.export(dynamo=True)", "trace_batch": TRACE_BATCH}
    step_sig = step_signature(*sizes)
    artifacts = [_artifact("onnx-fp32", "fp32", fp32_path, step_sig, **common)]
    if ctx.int8:
        dyn_path = out / "step_int8_dynamic.onnx"
        settings = dynamic_int8(fp32_path, dyn_path, DynamicRecipe())
        artifacts.append(_artifact("onnx-int8-dynamic", "int8-dynamic", dyn_path, step_sig, **common, **settings))
        defaults = StaticRecipe()
        recipe = StaticRecipe(
            calibration_method=ctx.options.get("onnx_static_calibration", defaults.calibration_method),
            per_channel=bool(ctx.options.get("onnx_per_channel", defaults.per_channel)),
            ops=ctx.options.get("onnx_static_ops", defaults.ops))
        static_path = out / "step_int8_static.onnx"
        settings = static_int8(fp32_path, static_path, ctx.calibration, recipe)
        artifacts.append(_artifact("onnx-int8-static", "int8-static", static_path, step_sig, **common, **settings))
    if ctx.options.get("sequence"):
        seq_path = out / "sequence_fp32.onnx"
        onnx.save(sequence_model(model, *sizes), seq_path)
        artifacts.append(_artifact("onnx-fp32-sequence", "fp32", seq_path, sequence_signature(*sizes),
                                   kind="sequence", **common, loop="ONNX Scan over axis 1 (time), step graph as body"))
    return artifacts
