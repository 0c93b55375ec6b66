"""The "tflm" backend: TFLite Micro (the tflite-micro host build) running a .tflite step artifact.

TFLM runs float32 and full-integer models (int8, and int8 weights with int16 activations and I/O where it
has the int16 kernels; not hybrid float-I/O int8 ones), batch 1, in one
preallocated tensor arena, as on a microcontroller. The arena is sized from a measurement made in a child
process (a too-small arena can crash TFLM): see :mod:`edgelnn.runtime.tflm_probe`. The result is cached
beside the artifact as ``<artifact file>.tflm.json``, keyed by the file's sha256 and the tflite-micro
version, so later loads do not measure again.

``arena_bytes`` is the smallest arena with which the host interpreter opens and invokes the model; it
includes TFLM's bookkeeping and planning scratch, with 64-bit pointers, so it is an upper bound for a
32-bit microcontroller build. ``recorded_total_bytes`` is what the RecordingMicroAllocator reports as
allocated once the model is prepared.
"""

from __future__ import annotations

import hashlib
import json
import re
import signal
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np

from edgelnn.artifact import INPUT_NAMES, OUTPUT_NAMES, Artifact, TensorSpec
from edgelnn.errors import ArtifactLoadError, RuntimeMissingError, ShapeError
from edgelnn.runtime.ports import QuantizedPort
from edgelnn.utils.atomic import write_json_atomic

PROBE = Path(__file__).with_name("tflm_probe.py")
CACHE_SUFFIX = ".tflm.json"
PROBE_TIMEOUT_S = 300
# (op, output dtype) pairs the tflite-micro host build has no kernel for: the model opens, then invoke fails
# with no message. Measured: DIV with int16 activations (LTC's fused solver in the int8-a16 artifact).
UNSUPPORTED_KERNELS = {("DIV", "INT16")}


def _tflm():
    try:
        from tflite_micro import runtime
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise RuntimeMissingError("the 'tflm' backend needs tflite-micro: pip install 'edgelnn[mcu]'") from err
    return runtime


def tflm_version() -> str:
    try:
        return version("tflite-micro")
    except PackageNotFoundError:  # pragma: no cover
        return "unknown"


@dataclass(frozen=True)
class ArenaRecord:
    """How much tensor arena one model needs in TFLite Micro (measured on this host build)."""

    arena_bytes: int  # smallest arena the interpreter opens and invokes with
    recorded_total_bytes: int  # RecordingMicroAllocator total after preparing the model
    recorded_head_bytes: int | None = None
    recorded_tail_bytes: int | None = None
    breakdown: dict[str, int] = field(default_factory=dict)
    search: str = "complete"  # or "partial": the probe crashed; arena_bytes is the best size known to work
    sha256: str = ""
    tflite_micro: str = ""
    measured: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def arena_cache_path(path: str | Path) -> Path:
    """Where the arena measurement of ``path`` is cached: ``<file>.tflm.json`` beside it."""
    path = Path(path)
    return path.with_name(path.name + CACHE_SUFFIX)


def _read_cache(path: Path, sha256: str) -> ArenaRecord | None:
    cache = arena_cache_path(path)
    try:
        data = json.loads(cache.read_text())
        record = ArenaRecord(**data)
    except (OSError, ValueError, TypeError):
        return None
    if record.sha256 != sha256 or record.tflite_micro != tflm_version() or record.arena_bytes <= 0:
        return None
    return record


def _write_cache(path: Path, record: ArenaRecord) -> None:
    try:
        write_json_atomic(arena_cache_path(path), record.to_dict())
    except OSError:
        pass  # a read-only export directory: measure again next time


def _probe(path: Path) -> tuple[dict[str, Any], bool, str]:
    """Run the probe child: (last record it printed, whether it finished, why it did not)."""
    try:
        proc = subprocess.run([sys.executable, str(PROBE), str(path)], capture_output=True, text=True,
                              timeout=PROBE_TIMEOUT_S, check=False)
        stdout, stderr, code = proc.stdout, proc.stderr, proc.returncode
    except subprocess.TimeoutExpired as exc:  # keep what it printed: the best arena found so far
        out = exc.stdout or ""
        stdout, stderr, code = out.decode() if isinstance(out, bytes) else out, "", None
    records = []
    for line in stdout.splitlines():
        try:
            records.append(json.loads(line))
        except ValueError:
            continue
    if code == 0 and records and records[-1].get("done"):
        return records[-1], True, ""
    if code is None:
        why = f"timed out after {PROBE_TIMEOUT_S} s"
    elif code < 0:
        try:
            why = f"crashed ({signal.Signals(-code).name})"
        except ValueError:
            why = f"crashed (signal {-code})"
    else:
        why = last_error_line(stderr) or f"exit code {code}"
    return (records[-1] if records else {}), False, why


_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt)\b")


def last_error_line(stderr: str) -> str:
    """The child's last exception line (``TypeError: ...``), not its traceback; else its last line."""
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    errors = [ln for ln in lines if _EXCEPTION_LINE.match(ln)]
    return errors[-1] if errors else (lines[-1] if lines else "")


def unsupported_kernels(data: bytes) -> list[str]:
    """The ops of a .tflite that TFLite Micro cannot run (see UNSUPPORTED_KERNELS), as "DIV (int16)"."""
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema_fb

    op_names = {v: k for k, v in vars(schema_fb.BuiltinOperator).items() if not k.startswith("_")}
    type_names = {v: k for k, v in vars(schema_fb.TensorType).items() if not k.startswith("_")}
    model = schema_fb.Model.GetRootAsModel(data, 0)
    found = set()
    for g in range(model.SubgraphsLength()):
        graph = model.Subgraphs(g)
        for i in range(graph.OperatorsLength()):
            op = graph.Operators(i)
            name = op_names.get(model.OperatorCodes(op.OpcodeIndex()).BuiltinCode(), "?")
            for k in range(op.OutputsLength()):
                dtype = type_names.get(graph.Tensors(op.Outputs(k)).Type(), "?")
                if (name, dtype) in UNSUPPORTED_KERNELS:
                    found.add(f"{name} ({dtype.lower()})")
    return sorted(found)


def measure_arena(path: str | Path, data: bytes | None = None, cache: bool = True) -> ArenaRecord:
    """The arena ``path`` needs in TFLite Micro: from the cache when it matches, else measured in a child.

    A model with an op TFLite Micro has no kernel for is refused up front (ArtifactLoadError naming it)."""
    path = Path(path)
    data = path.read_bytes() if data is None else data
    _tflm()
    if missing := unsupported_kernels(data):
        raise ArtifactLoadError(f"{path.name}: TFLite Micro has no kernel for {', '.join(missing)} in this model; "
                                f"run it in LiteRT (backend 'litert'), or use an artifact without it")
    sha256 = hashlib.sha256(data).hexdigest()
    if cache and (record := _read_cache(path, sha256)) is not None:
        return record
    found, finished, why = _probe(path)
    if "arena_bytes" not in found:
        raise ArtifactLoadError(f"{path.name}: TFLite Micro cannot open it: {why}")
    record = ArenaRecord(
        arena_bytes=int(found["arena_bytes"]), recorded_total_bytes=int(found["recorded_total_bytes"]),
        recorded_head_bytes=found.get("recorded_head_bytes"), recorded_tail_bytes=found.get("recorded_tail_bytes"),
        breakdown=dict(found.get("breakdown", {})), search="complete" if finished else f"partial: probe {why}",
        sha256=sha256, tflite_micro=tflm_version(),
        measured=datetime.now(timezone.utc).isoformat(timespec="seconds"))
    if cache:
        _write_cache(path, record)
    return record


def _positions(data: bytes) -> tuple[dict[str, int], dict[str, int]]:
    """Signature name -> interpreter position, for inputs and outputs (positional order as a fallback)."""
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema_fb

    model = schema_fb.Model.GetRootAsModel(data, 0)
    graph = model.Subgraphs(0)
    graph_in, graph_out = list(graph.InputsAsNumpy()), list(graph.OutputsAsNumpy())
    if model.SignatureDefsLength() == 1:
        sig = model.SignatureDefs(0)
        ins = {sig.Inputs(i).Name().decode(): graph_in.index(sig.Inputs(i).TensorIndex())
               for i in range(sig.InputsLength())}
        outs = {sig.Outputs(i).Name().decode(): graph_out.index(sig.Outputs(i).TensorIndex())
                for i in range(sig.OutputsLength())}
        if set(INPUT_NAMES) <= set(ins) and set(OUTPUT_NAMES) <= set(outs):
            return ins, outs
    if len(graph_in) != len(INPUT_NAMES) or len(graph_out) != len(OUTPUT_NAMES):
        raise ShapeError(f"model has {len(graph_in)} inputs and {len(graph_out)} outputs, expected 3 and 2")
    return {n: i for i, n in enumerate(INPUT_NAMES)}, {n: i for i, n in enumerate(OUTPUT_NAMES)}


def _port(name: str, position: int, detail: dict, spec: TensorSpec | None) -> QuantizedPort:
    """Bind one tensor; the manifest's quantization (``spec``) must be the file's."""
    dtype = np.dtype(detail["dtype"])
    shape = tuple(int(d) for d in detail["shape"])
    q = detail.get("quantization_parameters") or {}
    scales, zeros = list(q.get("scales", [])), list(q.get("zero_points", []))
    integer = np.issubdtype(dtype, np.integer)
    if integer and len(scales) != 1:
        raise ShapeError(f"{name}: expected one (per-tensor) quantization scale, found {len(scales)}")
    file_scale = float(scales[0]) if integer else None
    file_zero = int(zeros[0]) if integer else None
    if spec is not None:
        if spec.dtype != dtype.name or (spec.scale is None) != (file_scale is None):
            raise ShapeError(f"{name}: the manifest says {spec.dtype}, the file has {dtype.name}")
        if integer and (spec.zero_point != file_zero or not np.isclose(spec.scale, file_scale, rtol=1e-6)):
            raise ShapeError(f"{name}: the manifest's quantization (scale {spec.scale}, zero point "
                             f"{spec.zero_point}) is not the file's ({file_scale}, {file_zero})")
        file_scale, file_zero = (spec.scale, spec.zero_point) if integer else (None, None)
    if shape[0] != 1:
        raise ShapeError(f"{name}: TFLite Micro runs batch 1; the model's batch is {shape[0]}")
    return QuantizedPort(name, position, dtype, shape, file_scale, file_zero)


class TflmStepRunner:
    """A step model in the TFLite Micro interpreter: float32 ``(x, state, dt) -> (y, state_out)``.

    Integer inputs are quantized (``round(v / scale) + zero_point``, saturated) and integer outputs
    dequantized here, with the scales and zero points the manifest records (checked against the file).
    The model has batch 1; a batch B > 1 is run one row at a time (for evaluation; a device steps one).
    """

    def __init__(self, path: str | Path, artifact: Artifact | None = None, arena: ArenaRecord | None = None) -> None:
        runtime = _tflm()
        self.path = Path(path)
        data = self.path.read_bytes()
        self.arena = arena if arena is not None else measure_arena(self.path, data)
        self.arena_bytes = self.arena.arena_bytes
        self._interp = runtime.Interpreter.from_bytes(data, arena_size=self.arena_bytes)
        ins, outs = _positions(data)
        specs = {s.name: s for s in (*(artifact.inputs if artifact else ()), *(artifact.outputs if artifact else ()))}
        self.inputs = tuple(_port(n, ins[n], self._interp.get_input_details(ins[n]), specs.get(n))
                            for n in INPUT_NAMES)
        self.outputs = tuple(_port(n, outs[n], self._interp.get_output_details(outs[n]), specs.get(n))
                             for n in OUTPUT_NAMES)
        self._widths = tuple(p.shape[1:] for p in self.inputs)

    def _invoke(self, x: np.ndarray, state: np.ndarray, dt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        interp, (px, ps, pd), (py, pso) = self._interp, self.inputs, self.outputs
        interp.set_input(px.encode(x), px.index)
        interp.set_input(ps.encode(state), ps.index)
        interp.set_input(pd.encode(dt), pd.index)
        interp.invoke()
        return py.decode(interp.get_output(py.index)), pso.decode(interp.get_output(pso.index))

    def __call__(self, x: np.ndarray, state: np.ndarray, dt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        batch = x.shape[0] if x.ndim == 2 else -1
        if (x.shape[1:], state.shape[1:], dt.shape[1:]) != self._widths or state.shape[0] != batch \
                or dt.shape[0] != batch:
            expected = ", ".join(f"{n} [B,{','.join(map(str, w))}]" for n, w in zip(INPUT_NAMES, self._widths))
            raise ShapeError(f"expected {expected} with one B, got {[x.shape, state.shape, dt.shape]}")
        if batch == 1:
            return self._invoke(x, state, dt)
        rows = [self._invoke(x[i : i + 1], state[i : i + 1], dt[i : i + 1]) for i in range(batch)]
        return np.concatenate([r[0] for r in rows]), np.concatenate([r[1] for r in rows])
