"""LiteRT (ai-edge-litert) runner for exported step models: float32 in, float32 out.

The runner binds the model's signature inputs and outputs by name (``x, state, dt -> y, state_out``) once,
caches their tensor indices and quantization parameters (:class:`~edgelnn.runtime.ports.QuantizedPort`, shared
with TFLite Micro), and per call only converts arrays, sets tensors, invokes and reads outputs. Integer inputs
are quantized and integer outputs dequantized here, so callers always see float32.

Batch: litert-torch 0.10 cannot convert these step modules with a dynamic batch, and resizing a batch-1
model is silently wrong (SLICE sizes are baked at 1), so a file with a fixed batch of 1 is stepped one row
at a time. A file with a dynamic batch (``shape_signature`` -1) is resized when the batch changes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgelnn.artifact import INPUT_NAMES, OUTPUT_NAMES, Artifact, TensorSpec
from edgelnn.errors import RuntimeMissingError, ShapeError
from edgelnn.runtime.ports import QuantizedPort


def _interpreter_module():
    try:
        from ai_edge_litert import interpreter
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise RuntimeMissingError("the 'litert' runtime needs ai-edge-litert: pip install 'edgelnn[tflite]'") from err
    return interpreter


def _port(name: str, detail: dict) -> QuantizedPort:
    scale, zero_point = detail["quantization"]
    quantized = np.issubdtype(detail["dtype"], np.integer) and scale != 0.0
    return QuantizedPort(name=name, index=int(detail["index"]), dtype=np.dtype(detail["dtype"]),
                         shape=tuple(int(d) for d in detail["shape_signature"]),
                         scale=float(scale) if quantized else None, zero_point=int(zero_point) if quantized else None)


def _bind(details: dict[str, dict], wanted: tuple[str, ...], kind: str) -> tuple[QuantizedPort, ...]:
    """Signature tensors in ``wanted`` order, by name; litert-torch's positional names as a fallback.

    The exporter converts with keyword sample inputs and a dict output, so litert-torch names the signature
    ``x, state, dt -> y, state_out``. A model converted with positional inputs / a tuple output is named
    ``args_0.. -> output_0..`` instead; that order is the forward order, so it maps too. Anything else is an
    error: guessing by shape is ambiguous when sizes coincide.
    """
    if set(wanted) <= set(details):
        return tuple(_port(name, details[name]) for name in wanted)
    prefix = "args_" if kind == "input" else "output_"
    positional = [f"{prefix}{i}" for i in range(len(wanted))]
    if set(positional) <= set(details):
        return tuple(_port(name, details[key]) for name, key in zip(wanted, positional))
    raise ShapeError(f"cannot map the model's signature {kind}s {sorted(details)} to {list(wanted)}")


class LiteRTStepRunner:
    """A step model in a LiteRT interpreter: ``runner(x, state, dt) -> (y, state_out)`` as float32 arrays."""

    def __init__(self, path: str | Path, num_threads: int = 1, use_xnnpack: bool = True) -> None:
        self.path = Path(path)
        self.num_threads = num_threads
        self._open(use_xnnpack)
        if use_xnnpack and not self._outputs_readable():
            # XNNPACK leaves some full-int8 outputs unallocated (measured: LSTM, whose y feeds a requantize
            # inside the delegated partition): run on the builtin kernels instead.
            self._open(False)

    def _open(self, use_xnnpack: bool) -> None:
        interpreter = _interpreter_module()
        resolver = (interpreter.OpResolverType.AUTO if use_xnnpack
                    else interpreter.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
        self._interp = interpreter.Interpreter(model_path=str(self.path), num_threads=self.num_threads,
                                               experimental_op_resolver_type=resolver)
        self.xnnpack = use_xnnpack
        signatures = self._interp.get_signature_list()
        if len(signatures) != 1:
            raise ShapeError(f"{self.path.name}: expected one signature, found {sorted(signatures)}")
        self.signature = next(iter(signatures))
        runner = self._interp.get_signature_runner(self.signature)
        self.inputs = _bind(runner.get_input_details(), INPUT_NAMES, "input")
        self.outputs = _bind(runner.get_output_details(), OUTPUT_NAMES, "output")
        del runner  # it holds a reference to the native interpreter, which makes allocate/invoke refuse to run
        batches = {p.shape[0] for p in self.inputs}
        self.dynamic_batch = -1 in batches
        if not self.dynamic_batch and batches != {1}:
            raise ShapeError(f"{self.path.name}: unsupported fixed input batch {sorted(batches)}")
        self._widths = tuple(p.shape[1:] for p in self.inputs)
        if self.dynamic_batch:
            self._resize(1)
        else:
            self._interp.allocate_tensors()
            self._batch = 1

    def _outputs_readable(self) -> bool:
        """One invoke on ones: can every output be read? (False where a delegate left one unallocated.)

        Ones, not zeros: dt = 0 divides by zero in LTC's ``cm / (dt / K)``, which the int16 DIV kernel refuses
        (int8 zeros happened to dequantize to a nonzero dt; int16 is symmetric, so its 0 is 0.0).
        """
        for port in self.inputs:
            self._interp.set_tensor(port.index, port.encode(np.ones([1, *port.shape[1:]], np.float32)))
        self._interp.invoke()
        try:
            for port in self.outputs:
                self._interp.get_tensor(port.index)
        except ValueError:
            return False
        return True

    @property
    def input_specs(self) -> list[TensorSpec]:
        return [p.spec() for p in self.inputs]

    @property
    def output_specs(self) -> list[TensorSpec]:
        return [p.spec() for p in self.outputs]

    def _resize(self, batch: int) -> None:
        for port in self.inputs:
            self._interp.resize_tensor_input(port.index, [batch, *port.shape[1:]], strict=True)
        self._interp.allocate_tensors()
        self._batch = batch

    def _invoke(self, x: np.ndarray, state: np.ndarray, dt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        interp, (px, ps, pd), (py, pso) = self._interp, self.inputs, self.outputs
        interp.set_tensor(px.index, px.encode(x))
        interp.set_tensor(ps.index, ps.encode(state))
        interp.set_tensor(pd.index, pd.encode(dt))
        interp.invoke()
        return py.decode(interp.get_tensor(py.index)), pso.decode(interp.get_tensor(pso.index))

    def __call__(self, x: np.ndarray, state: np.ndarray, dt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        batch = x.shape[0] if x.ndim else 0
        if (x.shape[1:], state.shape[1:], dt.shape[1:]) != self._widths or state.shape[0] != batch \
                or dt.shape[0] != batch or batch < 1:
            expected = ", ".join(f"{n} [B,{','.join(map(str, w))}]" for n, w in zip(INPUT_NAMES, self._widths))
            raise ShapeError(f"expected {expected} with one B, got {[x.shape, state.shape, dt.shape]}")
        if batch == self._batch:
            return self._invoke(x, state, dt)
        if self.dynamic_batch:
            self._resize(batch)
            return self._invoke(x, state, dt)
        return self._invoke_rows(x, state, dt)

    def _invoke_rows(self, x: np.ndarray, state: np.ndarray, dt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """A batch through a batch-1 model: (de)quantize the whole batch once, invoke row by row."""
        interp, (px, ps, pd), (py, pso) = self._interp, self.inputs, self.outputs
        ex, es, ed = px.encode(x), ps.encode(state), pd.encode(dt)
        batch = ex.shape[0]
        ys = np.empty((batch, *py.shape[1:]), py.dtype)
        ss = np.empty((batch, *pso.shape[1:]), pso.dtype)
        for i in range(batch):
            interp.set_tensor(px.index, ex[i : i + 1])
            interp.set_tensor(ps.index, es[i : i + 1])
            interp.set_tensor(pd.index, ed[i : i + 1])
            interp.invoke()
            ys[i] = interp.get_tensor(py.index)[0]
            ss[i] = interp.get_tensor(pso.index)[0]
        return py.decode(ys), pso.decode(ss)


def open_litert(path: str | Path, artifact: Artifact, threads: int = 1) -> LiteRTStepRunner:
    """Open a TFLite step artifact in ai-edge-litert (XNNPACK where it works).

    Where the artifact records tensor specs, they must be the file's: a manifest that does not describe
    the file (e.g. other quantization parameters) would make the runner quantize with the wrong scales.
    """
    runner = LiteRTStepRunner(path, num_threads=threads)
    for recorded, actual in ((artifact.inputs, runner.input_specs), (artifact.outputs, runner.output_specs)):
        if recorded and [s.to_dict() for s in recorded] != [s.to_dict() for s in actual]:
            raise ShapeError(f"{Path(path).name}: the artifact's tensor specs {[s.to_dict() for s in recorded]} "
                             f"are not the file's {[s.to_dict() for s in actual]}")
    return runner
