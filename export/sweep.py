"""Solver sweep: one artifact set per number of ODE unfolds, and what each costs and saves."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgelnn.export.config import ExportConfig
from edgelnn.export.latency import step_latency_us
from edgelnn.export.pipeline import ExportResult, export_model
from edgelnn.export.source import Source
from edgelnn.export.step import with_solver
from edgelnn.export.verify import torch_runner
from edgelnn.runtime.backends import backend_for
from edgelnn.utils.atomic import write_json_atomic
from edgelnn.utils.outdir import staged_output


@dataclass
class SweepResult:
    out_dir: Path
    rows: list[dict[str, Any]]
    exports: dict[int, ExportResult]


def sweep_unfolds(source: Source, cfg: ExportConfig, unfolds: list[int], out_dir: str | Path,
                  force: bool = False) -> SweepResult:
    """Export once per ``unfolds`` value into ``out_dir/unfolds-K``; rows of metric vs per-step latency."""
    if not unfolds or any(k < 1 for k in unfolds):
        raise ValueError(f"ode_unfolds={unfolds!r} is not valid; each value must be an integer >= 1")
    out_dir = Path(out_dir)
    with staged_output(out_dir, force) as staging:  # the same lock, staging and publish as export_model
        rows, exports = _export_each(source, cfg, unfolds, staging)
        write_json_atomic(staging / "sweep.json", {"metric": source.task.metric, "rows": rows})
    exports = {k: ExportResult(out_dir / f"unfolds-{k}", r.manifest, r.artifacts) for k, r in exports.items()}
    return SweepResult(out_dir, rows, exports)


def _export_each(source: Source, cfg: ExportConfig, unfolds: list[int],
                 staging: Path) -> tuple[list[dict[str, Any]], dict[int, ExportResult]]:
    """One export per unfolds value into ``staging/unfolds-K``, and its row of metrics and latencies."""
    rows, exports = [], {}
    for k in unfolds:
        result = export_model(source, dataclasses.replace(cfg, ode_unfolds=k), staging / f"unfolds-{k}")
        exports[k] = result
        model = with_solver(source.model, cfg.solver, k)
        row: dict[str, Any] = {"ode_unfolds": k, "test (pytorch)": result.manifest["reference_metrics"]["test"],
                               "pytorch us/step": step_latency_us(torch_runner(model), model.input_size,
                                                                  model.state_size)}
        for v in result.artifacts:
            if v.artifact.precision != "fp32" or v.artifact.kind != "step":
                continue
            runner = backend_for(v.artifact).open(result.out_dir / v.artifact.file, v.artifact)
            row[f"{v.artifact.name} test"] = v.report.metrics["test"]
            row[f"{v.artifact.name} us/step"] = step_latency_us(runner, model.input_size, model.state_size)
        rows.append(row)
    return rows, exports
