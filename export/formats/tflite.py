"""The "tflite" format (litert-torch + ai-edge-quantizer); its artifacts run in the "litert" backend
(ai-edge-litert, edgelnn.runtime.litert_runner) and the full-integer ones in "tflm" too.

Artifacts, all with the step signature x, state, dt -> y, state_out:

- ``tflite-fp32``: litert-torch conversion of the step module (exact to ~1e-7).
- ``tflite-fp16``: float16 weights and constants, float32 compute and I/O.
- ``tflite-int8-dynamic`` (when ``ctx.int8``): int8 weights, float I/O (ai-edge-quantizer dynamic_wi8_afp32).
- ``tflite-int8-full`` (when ``ctx.int8``): int8 weights and activations, int8 I/O with recorded scale and
  zero point, calibrated with global min/max on ``ctx.calibration`` rows.
- ``tflite-int8-a16`` (when ``ctx.int8``): full-integer "16x8" model, int8 weights and int16 activations and
  I/O (ai-edge-quantizer static_wi8_ai16), calibrated like int8-full. For LTC and LRC, whose int8-full
  artifact loses a third to half of the regression accuracy; made for every model kind (it never hurts).

Options read from ``ctx.options`` (all optional):

- ``tflite_dynamic_batch`` (bool, default True): try a dynamic batch first (fails with litert-torch 0.10).
- ``tflite_calibration`` ("min_max" default | "moving_average"): how calibration ranges are accumulated.
- ``tflite_calibration_rows`` (int): use at most this many calibration rows (evenly spaced).
- ``tflite_shared_state_range`` (bool, default True): one integer scale for state and state_out.
- ``tflite_a16`` (bool, default True): also make the int8-a16 artifact (with ``ctx.int8``).

Heavy packages (litert-torch pulls in JAX) are imported only when a handler runs, so registering the format
costs nothing.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from edgelnn.artifact import Artifact
from edgelnn.errors import ShapeError
from edgelnn.export.formats.base import ExportContext, register_format
from edgelnn.runtime.litert_runner import LiteRTStepRunner

FILES = {"fp32": "step_fp32.tflite", "fp16": "step_fp16.tflite", "int8-dynamic": "step_int8_dynamic.tflite",
         "int8-full": "step_int8_full.tflite", "int8-a16": "step_int8_a16.tflite"}


def _describe(path: Path, precision: str, settings: dict[str, Any], versions: dict[str, str]) -> Artifact:
    """An Artifact whose tensor specs are read back from the written file by the runtime that will run it."""
    runner = LiteRTStepRunner(path)
    inputs, outputs = runner.input_specs, runner.output_specs
    settings = {**settings, "signature": runner.signature, "xnnpack": runner.xnnpack,
                "batch": "dynamic" if runner.dynamic_batch else "fixed at 1; the litert runner steps rows"}
    quantized_state = inputs[1].scale is not None and outputs[1].scale is not None
    if quantized_state:
        settings["state_scale_shared"] = (inputs[1].scale, inputs[1].zero_point) == (outputs[1].scale,
                                                                                     outputs[1].zero_point)
    return Artifact(name=f"tflite-{precision}", format="tflite", precision=precision, file=path.name,
                    runtime="litert", inputs=inputs, outputs=outputs, settings=settings, tool_versions=versions)


def _check_widths(artifact: Artifact, ctx: ExportContext) -> None:
    """The file's feature widths must be the step module's: x F, state S, dt 1 -> y O, state_out S."""
    want = [ctx.input_size, ctx.state_size, 1, ctx.output_size, ctx.state_size]
    got = [spec.shape[-1] for spec in (*artifact.inputs, *artifact.outputs)]
    if got != want:
        raise ShapeError(f"{artifact.name}: tensor widths {got} (x, state, dt, y, state_out) differ from the "
                         f"step module's {want}")


@register_format("tflite")
def export_tflite(ctx: ExportContext) -> list[Artifact]:
    """Write the fp32 and fp16 (and, with ``ctx.int8``, dynamic, full int8 and int8-a16) step models to
    ``ctx.out_dir``."""
    from edgelnn.export.formats import tflite_quant
    from edgelnn.export.formats.tflite_convert import convert_step, tool_versions

    opts = ctx.options
    versions = tool_versions()
    out_dir = Path(ctx.out_dir)
    converted = convert_step(ctx.step_module, ctx.input_size, ctx.state_size,
                             try_dynamic=bool(opts.get("tflite_dynamic_batch", True)))
    base = {"converter": "litert_torch.convert", "conversion_seconds": round(converted.seconds, 3),
            **converted.notes}
    built: list[tuple[str, bytes, dict[str, Any]]] = [("fp32", converted.content, {})]

    def add(precision: str, make) -> None:
        start = time.perf_counter()
        content, settings = make()
        built.append((precision, content, {**settings, "quantization_seconds": round(time.perf_counter() - start, 3)}))

    add("fp16", lambda: tflite_quant.to_fp16(converted.content))
    if ctx.int8:
        add("int8-dynamic", lambda: tflite_quant.to_dynamic_int8(converted.content))
        static = {"method": opts.get("tflite_calibration", "min_max"), "max_rows": opts.get("tflite_calibration_rows"),
                  "shared_state_range": bool(opts.get("tflite_shared_state_range", True))}
        add("int8-full", lambda: tflite_quant.to_full_int8(converted.content, ctx.calibration, **static))
        if opts.get("tflite_a16", True):
            add("int8-a16", lambda: tflite_quant.to_int8_a16(converted.content, ctx.calibration, **static))

    artifacts = []
    for precision, content, settings in built:
        path = out_dir / FILES[precision]
        path.write_bytes(content)
        artifacts.append(_describe(path, precision, {**base, **settings}, versions))
        _check_widths(artifacts[-1], ctx)
    return artifacts
