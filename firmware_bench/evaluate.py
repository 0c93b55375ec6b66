"""Task metric of the generated C on an export's test sequences: what firmware built from it would score.

The C is compiled for this host (:class:`~edgelnn.firmware_bench.host.CStepRunner`); its fixed-point and float
arithmetic are the same source the microcontroller build compiles, so its metric is the device's metric up to
the host's float rounding. The study uses the int8 figure as its int8 number, beside the Cortex-M4F cost
measured on the same C.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class CMetric:
    """The generated C's test metric at one precision, and its drop from the manifest's PyTorch reference."""

    precision: str
    metric: float
    drop: float
    sequences: int


def c_test_metric(export_dir: str | Path, precision: str, manifest: dict[str, Any] | None = None) -> CMetric:
    """Roll the C (``precision`` "fp32" or "int8") over the test sequences the export scored its PyTorch
    reference and artifacts on (the manifest's verification subset) and score it the same way.

    Raises :class:`~edgelnn.errors.EdgelnnError` subclasses: the generator's (e.g. a model option the int8
    generator does not write), :class:`~edgelnn.errors.CompilerNotFoundError` or
    :class:`~edgelnn.errors.CompileError`; :class:`~edgelnn.errors.DataMismatchError` when the export's task
    cannot be loaded here.
    """
    from edgelnn.errors import DataMismatchError
    from edgelnn.export import read_manifest
    from edgelnn.export.verify import metric_drop, rollout
    from edgelnn.firmware_bench.host import CStepRunner
    from edgelnn.targets.bench_tasks import eval_splits
    from edgelnn.tasks import compute_metric

    manifest = read_manifest(export_dir) if manifest is None else manifest
    doc, splits = eval_splits(manifest, None)
    if "test" not in splits:
        raise DataMismatchError(doc["error"] or f"the export's task {doc['name']!r} has no test split here")
    metric, split = manifest["task"]["metric"], splits["test"]  # eval_splits loaded the task once
    runner = CStepRunner.from_export(export_dir, precision=precision)
    value = float(compute_metric(metric, rollout(runner, split, runner.state_size).outputs, split.y, split.mask))
    reference = manifest["reference_metrics"]["test"]
    return CMetric(precision, value, metric_drop(metric, reference, value), len(split))
