"""The export pipeline: typed stages handed one to the next (ExecuTorch style).

    Source --prepare--> Prepared --emit--> [Artifact] --verify--> [VerifiedArtifact] --write--> ExportResult

Everything is written into a temporary directory beside the destination and renamed into place only when
every artifact passed, so a failed or interrupted export leaves nothing behind.
"""

from __future__ import annotations

import importlib
import os
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from edgelnn import __version__
from edgelnn.artifact import INPUT_NAMES, OUTPUT_NAMES, SCHEMA_VERSION, Artifact, sha256_of, validate_manifest
from edgelnn.errors import MetricDropError, ParityError, RuntimeMissingError
from edgelnn.export.calibration import calibration_rows
from edgelnn.export.config import KNOWN_FORMATS, ExportConfig
from edgelnn.export.formats.base import FORMATS, ExportContext
from edgelnn.export.golden import record_golden, write_golden
from edgelnn.export.input_ranges import InputRanges, declared_ranges, representable_ranges
from edgelnn.export.source import Source
from edgelnn.export.step import FixedSolver, StepModule, extract_step_module, fixed_solver
from edgelnn.export.verify import Reference, VerificationReport, reference_rollouts, verify_runner
from edgelnn.models.checkpoint import save_checkpoint
from edgelnn.runtime.backends import backend_for
from edgelnn.tasks import Split
from edgelnn.utils.atomic import write_json_atomic
from edgelnn.utils.outdir import staged_output
from edgelnn.utils.quiet import captured_output

# Format name -> module that registers its handler (imported lazily: heavy dependencies).
FORMAT_MODULES = {name: f"edgelnn.export.formats.{name}" for name in KNOWN_FORMATS}
FLOAT_PRECISIONS = ("fp32",)
TORCH_CHECKPOINT = "model.safetensors"


def load_format(name: str):
    """The handler of format ``name``; a clear error if it is unknown or its packages are missing."""
    if name not in FORMAT_MODULES:
        raise ValueError(f"unknown format {name!r}; valid formats: {', '.join(FORMAT_MODULES)}")
    try:
        importlib.import_module(FORMAT_MODULES[name])
    except ImportError as exc:
        raise RuntimeMissingError(f"format {name!r} needs a package that is not installed: {exc}") from None
    return FORMATS[name]


@dataclass
class Prepared:
    """Stage 1 output: the fixed-solver step module with its data."""

    source: Source
    step_module: StepModule
    solver: FixedSolver
    ctx: ExportContext
    reference: Reference
    input_ranges: InputRanges  # declared valid range of every input: calibrated over, recorded in the manifest


@dataclass
class VerifiedArtifact:
    artifact: Artifact
    report: VerificationReport
    status: str  # "passed" (checked against a bound) or "reported" (numbers recorded, no bound)
    export_seconds: float
    verify_seconds: float


@dataclass
class ExportResult:
    out_dir: Path
    manifest: dict[str, Any]
    artifacts: list[VerifiedArtifact]

    def summary_rows(self) -> list[dict[str, Any]]:
        metric = self.manifest["task"]["metric"]
        rows = [{"artifact": "pytorch (reference)", "KiB": None, "max_abs_err": None, "rel_rms": None,
                 "state_err": None, f"test {metric}": self.manifest["reference_metrics"].get("test"),
                 "drop": None, "status": ""}]
        for v in self.artifacts:
            a, r = v.artifact, v.report
            rows.append({"artifact": a.name, "KiB": round(os.path.getsize(self.out_dir / a.file) / 1024, 1),
                         "max_abs_err": r.parity["max_abs_error"], "rel_rms": r.parity["rel_rms_error"],
                         "state_err": r.parity["state_max_abs_error"], f"test {metric}": r.metrics.get("test"),
                         "drop": r.metric_drop.get("test"), "status": v.status})
        return rows


def _limit(split: Split, n: int) -> Split:
    return split if len(split) <= n else split.subset(slice(0, n))


def prepare(source: Source, cfg: ExportConfig, out_dir: Path) -> Prepared:
    """Fix the solver, declare the input ranges, collect calibration rows covering them from rollouts, and
    the PyTorch reference."""
    step_module = extract_step_module(source.model, cfg.solver, cfg.ode_unfolds)
    model = step_module.model
    task = source.task
    ranges = declared_ranges(task, cfg.calibration_range, cfg.calibration_margin)
    calibration = calibration_rows(model, task, ranges, cfg.calibration_rows, cfg.seed)
    splits = {name: _limit(task.splits[name], cfg.verify_sequences) for name in ["test", *task.ood_splits()]}
    ctx = ExportContext(step_module=step_module, input_size=model.input_size, state_size=model.state_size,
                        output_size=model.output_size, calibration=calibration, out_dir=out_dir, int8=cfg.int8,
                        options={"sequence": cfg.sequence, "seed": cfg.seed})
    return Prepared(source, step_module, fixed_solver(model), ctx, reference_rollouts(model, task, splits), ranges)


def emit(prepared: Prepared, cfg: ExportConfig) -> list[tuple[Artifact, float]]:
    """Run every requested format handler; (artifact, seconds its format took) pairs."""
    handlers = [(name, load_format(name)) for name in cfg.formats]  # fail on unknown formats before work
    out = []
    for _, handler in handlers:
        started = time.perf_counter()
        with captured_output():  # converters print progress and C++ logs; the report is the manifest
            artifacts = handler(prepared.ctx)
        seconds = time.perf_counter() - started
        out += [(a, seconds) for a in artifacts]
    return out


def verify(prepared: Prepared, artifact: Artifact, cfg: ExportConfig, export_seconds: float) -> VerifiedArtifact:
    """Verify one artifact in its runtime backend (the one ``edgelnn.runtime.load`` opens it with); fail the
    export when a bound is exceeded."""
    started = time.perf_counter()
    runner = backend_for(artifact).open(prepared.ctx.out_dir / artifact.file, artifact)
    if artifact.kind != "step":
        runner = _sequence_as_step(runner)
    report = verify_runner(runner, prepared.reference, prepared.source.task, prepared.ctx.state_size)
    status = "reported"
    if artifact.precision in FLOAT_PRECISIONS:
        p = report.parity
        out_bound = cfg.atol + cfg.rtol * p["reference_max_abs"]
        state_bound = cfg.atol + cfg.rtol * p["reference_state_max_abs"]
        if p["max_abs_error"] > out_bound or p["state_max_abs_error"] > state_bound:
            raise ParityError(
                f"{artifact.name}: max abs error {p['max_abs_error']:.3g} (outputs) / "
                f"{p['state_max_abs_error']:.3g} (state) exceeds the tolerance {out_bound:.3g} / {state_bound:.3g}"
            )
        status = "passed"
    elif artifact.precision.startswith("int8") and cfg.max_int8_drop is not None:
        drop = report.metric_drop["test"]
        if drop > cfg.max_int8_drop:
            raise MetricDropError(f"{artifact.name}: test metric drop {drop:.4g} exceeds --max-int8-drop "
                                 f"{cfg.max_int8_drop:g}")
        status = "passed"
    return VerifiedArtifact(artifact, report, status, export_seconds, time.perf_counter() - started)


def _sequence_as_step(runner):
    """Verify a whole-sequence artifact through the step rollout: feed it one step at a time (T=1)."""

    def step(x, state, dt):
        y, s = runner(x[:, None, :], state, dt[:, None, :])
        return y[:, 0], s

    return step


def build_manifest(prepared: Prepared, cfg: ExportConfig, verified: list[VerifiedArtifact],
                   golden: dict[str, Any] | None = None) -> dict[str, Any]:
    model, source, task = prepared.step_module.model, prepared.source, prepared.source.task
    offset, layout = 0, []
    for name, size in model.state_layout():
        layout.append({"name": name, "offset": offset, "size": size})
        offset += size
    sizes = {"x": [model.input_size], "state": [model.state_size], "dt": [1],
             "y": [model.output_size], "state_out": [model.state_size]}
    signature = {"inputs": [{"name": n, "shape": ["batch", *sizes[n]], "dtype": "float32"} for n in INPUT_NAMES],
                 "outputs": [{"name": n, "shape": ["batch", *sizes[n]], "dtype": "float32"} for n in OUTPUT_NAMES]}
    artifacts = []
    for v in verified:
        a, path = v.artifact, prepared.ctx.out_dir / v.artifact.file
        artifacts.append({
            "name": a.name, "file": a.file, "format": a.format, "precision": a.precision, "kind": a.kind,
            "runtime": a.runtime, "sha256": sha256_of(path), "size_bytes": path.stat().st_size,
            "inputs": [t.to_dict() for t in a.inputs], "outputs": [t.to_dict() for t in a.outputs],
            "settings": a.settings, "tool_versions": a.tool_versions, "parity": v.report.parity,
            "metrics": v.report.metrics, "metric_drop": v.report.metric_drop, "metrics_runtime": a.runtime,
            "status": v.status,
            "export_seconds": round(v.export_seconds, 3), "verify_seconds": round(v.verify_seconds, 3),
        })
        representable = representable_ranges(a.inputs)
        if representable:  # integer inputs: the float range each can hold (values beyond it are clipped)
            artifacts[-1]["representable_input_ranges"] = representable
    return {
        "schema_version": SCHEMA_VERSION, "edgelnn_version": __version__,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "source": {"run": None if source.run is None else str(source.run), "checkpoint": str(source.checkpoint),
                   "checkpoint_sha256": sha256_of(source.checkpoint)},
        "model": model.config.to_dict(),
        "torch_checkpoint": {"file": TORCH_CHECKPOINT, "sha256": sha256_of(prepared.ctx.out_dir / TORCH_CHECKPOINT)},
        "task": {"name": task.name, "kind": task.kind, "metric": task.metric, "input_size": task.input_size,
                 "output_size": task.output_size, "seed": task.info.get("seed", 0),
                 "options": task.info.get("options", {}),
                 **({"source": task.info["source"]} if _is_user_data(task.info) else {})},
        "solver": {"method": prepared.solver.method, "ode_unfolds": prepared.solver.ode_unfolds},
        "signature": signature, "state_layout": layout, "export_config": cfg.to_dict(),
        "verification": {"parity_split": "test", "splits": list(prepared.reference.splits), "atol": cfg.atol,
                         "rtol": cfg.rtol, "max_int8_drop": cfg.max_int8_drop,
                         "sequences_per_split": cfg.verify_sequences,
                         "method": "free-running rollouts of artifact and PyTorch, each feeding back its own state"},
        "reference_metrics": prepared.reference.metrics,
        "input_ranges": prepared.input_ranges.to_dict(),
        "artifacts": artifacts,
        **({"golden": golden} if golden is not None else {}),  # golden vectors for firmware tests
    }


def _is_user_data(info: dict[str, Any]) -> bool:
    """A task loaded from the user's .npz (its ``source`` is the file; registered tasks describe theirs)."""
    return str(info.get("source", "")).endswith(".npz")


def export_model(source: Source, cfg: ExportConfig, out_dir: str | Path, force: bool = False) -> ExportResult:
    """Export ``source`` as ``cfg`` says into ``out_dir`` (atomically); returns the manifest and reports."""
    out_dir = Path(out_dir)
    with staged_output(out_dir, force) as staging:  # one writer per output directory; renamed into place
        prepared = prepare(source, cfg, staging)
        verified = [verify(prepared, a, cfg, secs) for a, secs in emit(prepared, cfg)]
        # The float model (solver fixed as in the artifacts) travels with them: the torch backend and later
        # stages need nothing else.
        save_checkpoint(prepared.step_module.model, staging / TORCH_CHECKPOINT, {"task": source.task.name})
        golden = write_golden(record_golden(prepared.step_module.model, source.task.splits["test"]), staging)
        manifest = build_manifest(prepared, cfg, verified, golden)
        validate_manifest(manifest)
        write_json_atomic(staging / "manifest.json", manifest)
    return ExportResult(out_dir, manifest, verified)
