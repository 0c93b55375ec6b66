"""A whole-sequence ONNX model: an ONNX Scan over time whose body is the exported step graph.

Why Scan and not an exported Python loop: tracing a time loop unrolls it and fixes the sequence length
silently; a Scan keeps the length dynamic, so one file runs any T. Signature: x [B,T,F], state [B,S],
dt [B,T,1] -> y [B,T,O], state_out [B,S].
"""

from __future__ import annotations

import onnx
from onnx import TensorProto, helper

from edgelnn.errors import ExportError
from edgelnn.export.formats.onnx_graph import Dim, check_signature

BODY_PREFIX = "step/"


def sequence_signature(input_size: int, state_size: int, output_size: int
                       ) -> tuple[dict[str, list[Dim]], dict[str, list[Dim]]]:
    """(inputs, outputs) name -> dims of the sequence artifact; "batch" and "time" are dynamic."""
    inputs = {"x": ["batch", "time", input_size], "state": ["batch", state_size], "dt": ["batch", "time", 1]}
    outputs = {"y": ["batch", "time", output_size], "state_out": ["batch", state_size]}
    return inputs, outputs


def _rename_graph(graph: onnx.GraphProto, mapping: dict[str, str]) -> None:
    """Rename values in place (nested subgraphs too, where they refer to renamed outer values)."""
    for seq in (graph.input, graph.output, graph.value_info):
        for v in seq:
            v.name = mapping.get(v.name, v.name)
    for init in graph.initializer:
        init.name = mapping.get(init.name, init.name)
    for node in graph.node:
        node.input[:] = [mapping.get(n, n) for n in node.input]
        node.output[:] = [mapping.get(n, n) for n in node.output]
        node.name = BODY_PREFIX + node.name if node.name else node.name
        for attr in node.attribute:
            for sub in ([attr.g] if attr.type == onnx.AttributeProto.GRAPH else list(attr.graphs)):
                _rename_graph(sub, mapping)


def _value_names(graph: onnx.GraphProto) -> set[str]:
    names = {v.name for v in list(graph.input) + list(graph.output) + list(graph.value_info)}
    names |= {i.name for i in graph.initializer}
    for node in graph.node:
        names |= {n for n in list(node.input) + list(node.output) if n}
    return names


def scan_body(step: onnx.ModelProto) -> onnx.GraphProto:
    """The step graph as a Scan body: inputs (state, x, dt), outputs (state_out, y), names prefixed so
    nothing shadows the outer graph."""
    body = onnx.GraphProto()
    body.CopyFrom(step.graph)
    if len(step.functions):
        raise ExportError("the step graph uses local functions; inline them before building a Scan")
    _rename_graph(body, {n: BODY_PREFIX + n for n in _value_names(body)})
    by_name = {v.name: v for v in body.input}
    out_by_name = {v.name: v for v in body.output}
    ins = [by_name[BODY_PREFIX + n] for n in ("state", "x", "dt")]
    outs = [out_by_name[BODY_PREFIX + n] for n in ("state_out", "y")]
    for seq, order in ((body.input, ins), (body.output, outs)):
        copies = [onnx.ValueInfoProto() for _ in order]
        for c, v in zip(copies, order):
            c.CopyFrom(v)
        del seq[:]
        seq.extend(copies)
    body.name = "step_body"
    return body


def sequence_model(step: onnx.ModelProto, input_size: int, state_size: int, output_size: int) -> onnx.ModelProto:
    """Wrap the checked step model ``step`` in a Scan over axis 1 of x and dt; checked before returning."""
    inputs, outputs = sequence_signature(input_size, state_size, output_size)
    scan = helper.make_node("Scan", ["state", "x", "dt"], ["state_out", "y"], name="time_scan",
                            body=scan_body(step), num_scan_inputs=2, scan_input_axes=[1, 1],
                            scan_output_axes=[1])
    graph = helper.make_graph(
        [scan], "sequence",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, d) for n, d in inputs.items()],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, d) for n, d in outputs.items()])
    model = helper.make_model(graph, opset_imports=list(step.opset_import), ir_version=step.ir_version,
                              producer_name="edgelnn", doc_string="Scan over time of the step model")
    onnx.checker.check_model(model, full_check=True)
    check_signature(model, inputs, outputs)
    return model
