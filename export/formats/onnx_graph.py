"""Checks and small edits of exported ONNX graphs: signatures, dynamic dimensions, required inputs.

Why: the exporters fail silently in ways that only show up on a device (a batch dimension fixed at the
trace batch, an unused ``dt`` input dropped), so every artifact's signature is checked here before it is
recorded, and a mismatch raises :class:`~edgelnn.errors.ShapeError` instead.
"""

from __future__ import annotations

import contextlib
import io
import logging
import warnings
from collections.abc import Iterator, Mapping, Sequence

import onnx
from onnx import TensorProto

from edgelnn.artifact import TensorSpec
from edgelnn.errors import ShapeError

Dim = int | str  # a fixed size, or the name of a dynamic dimension ("batch", "time")

_DTYPES = {TensorProto.FLOAT: "float32", TensorProto.FLOAT16: "float16", TensorProto.INT8: "int8",
           TensorProto.UINT8: "uint8", TensorProto.INT32: "int32", TensorProto.INT64: "int64"}


def value_dims(value: onnx.ValueInfoProto) -> list[int | str | None]:
    """Dims of a graph input/output: an int if fixed, the symbol if named, None if unknown."""
    out: list[int | str | None] = []
    for d in value.type.tensor_type.shape.dim:
        if d.HasField("dim_value"):
            out.append(int(d.dim_value))
        elif d.HasField("dim_param") and d.dim_param:
            out.append(d.dim_param)
        else:
            out.append(None)
    return out


def value_dtype(value: onnx.ValueInfoProto) -> str:
    elem = value.type.tensor_type.elem_type
    return _DTYPES.get(elem, TensorProto.DataType.Name(elem).lower())


def _check_dims(where: str, name: str, got: list[int | str | None], want: Sequence[Dim]) -> None:
    if len(got) != len(want):
        raise ShapeError(f"{where} {name!r} has rank {len(got)} {got}, expected rank {len(want)} {list(want)}")
    for axis, (g, w) in enumerate(zip(got, want)):
        if isinstance(w, str) and isinstance(g, int):
            raise ShapeError(f"{where} {name!r} dim {axis} ({w}) is fixed at {g}; it must be dynamic "
                             f"(was the model traced with a size-{g} sample?)")
        if isinstance(w, int) and isinstance(g, int) and g != w:
            raise ShapeError(f"{where} {name!r} dim {axis} is {g}, expected {w}")


def check_signature(model: onnx.ModelProto, inputs: Mapping[str, Sequence[Dim]],
                    outputs: Mapping[str, Sequence[Dim]]) -> None:
    """Raise ShapeError unless the graph's inputs and outputs are exactly the named ones with these dims.

    A str in ``inputs``/``outputs`` marks a dimension that must be dynamic (not a fixed int); an int marks a
    fixed size, which must match where the graph fixes it.
    """
    g = model.graph
    for where, values, want in (("input", g.input, inputs), ("output", g.output, outputs)):
        names = [v.name for v in values]
        if names != list(want):
            raise ShapeError(f"graph {where}s are {names}, expected {list(want)}")
        for v in values:
            _check_dims(where, v.name, value_dims(v), want[v.name])


def ensure_input(model: onnx.ModelProto, name: str, dims: Sequence[Dim], position: int | None = None) -> bool:
    """Add graph input ``name`` (float32, ``dims``) if an exporter dropped it as unused; True if added.

    An unused graph input is valid ONNX and onnxruntime keeps it, so every artifact keeps one signature.
    """
    if any(v.name == name for v in model.graph.input):
        return False
    value = onnx.helper.make_tensor_value_info(name, TensorProto.FLOAT, list(dims))
    pos = len(model.graph.input) if position is None else position
    model.graph.input.insert(pos, value)
    return True


def tensor_specs(values: Sequence[onnx.ValueInfoProto], dims: Mapping[str, Sequence[Dim]]) -> list[TensorSpec]:
    """TensorSpec records of checked graph inputs or outputs: dtypes from the graph, shapes from ``dims``
    (so the dynamic dims read "batch"/"time" whatever symbol the exporter chose)."""
    return [TensorSpec(name=v.name, shape=list(dims[v.name]), dtype=value_dtype(v)) for v in values]


@contextlib.contextmanager
def quiet(*logger_names: str) -> Iterator[None]:
    """Silence progress prints, Python warnings and the named loggers below ERROR (errors still raise).

    The exporter and the quantizer print advice and progress on every call; artifacts are checked
    numerically instead, so their chatter only hides the pipeline's own report.
    """
    loggers = [logging.getLogger(n) for n in logger_names]
    levels = [log.level for log in loggers]
    for log in loggers:
        log.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        for log, level in zip(loggers, levels):
            log.setLevel(level)
