"""The bench reads metrics from the one registry, rolls out with the shared rollout through step(), counts
out-of-range inputs per split and shows the manifest's figure (and its runtime) beside its own (issue 8,
items 12, 14d, 16)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edgelnn.export.rollout import rollout_split, torch_runner
from edgelnn.models.registry import build_model, make_config
from edgelnn.runtime import StreamingModel
from edgelnn.targets import bench_child
from edgelnn.targets.bench_report import manifest_differences, table_rows, validate_bench
from edgelnn.tasks import Split


def _result(metrics, recorded=None, runtime="litert", backend="tflm", outside=None):
    return {"backend": backend, "precision": "int8-full", "status": "ok", "load_seconds": 0.1,
            "latency_us": None, "step_over_raw": None, "throughput": [], "peak_rss_bytes": None,
            "artifact_bytes": 1000, "arena_bytes": None, "metrics": metrics, "notes": [],
            "verdict": {"verdict": "unknown", "checks": []},
            "manifest_metrics": None if recorded is None else {"metrics": recorded, "runtime": runtime},
            "out_of_range": outside}


def _doc(metric, results):
    return {"task": {"metric": metric}, "settings": {"batches": [1]}, "results": results}


@pytest.mark.parametrize(("metric", "worst"), [("accuracy", 0.4), ("mse", 0.9)])
def test_worst_ood_follows_the_metric_registry(metric, worst):
    rows = table_rows(_doc(metric, [_result({"test": 0.5, "ood-a": 0.7, "ood-b": 0.4, "ood-c": 0.9})]))
    assert rows[0][f"worst ood {metric}"] == worst


def test_manifest_figure_shown_beside_the_bench_figure_when_they_differ():
    from edgelnn.targets.bench_report import _notes

    differ = _result({"test": 0.5, "ood-noise": 0.4}, {"test": 0.433, "ood-noise": 0.4})
    same = _result({"test": 0.5}, {"test": 0.5}, backend="litert")
    doc = _doc("accuracy", [differ, same])
    doc["task"]["error"] = None
    assert manifest_differences(doc, differ) == {"test": (0.5, 0.433)}
    assert manifest_differences(doc, same) == {}
    rounding = _result({"test": 0.4874150}, {"test": 0.4874151})  # float rounding between runtimes: no note
    assert manifest_differences(_doc("mse", [rounding]), rounding) == {}
    lines = _notes(doc)
    assert ("note (tflm int8-full): accuracy here (tflm) differs from the manifest's (litert): test 0.5 vs 0.433"
            in lines)
    assert not any(line.startswith("note (litert") for line in lines)


def test_out_of_range_counts_become_a_note():
    from edgelnn.targets.bench_report import _notes

    doc = _doc("mse", [_result({"test": 1.0}, outside={"test": {"x": 0, "dt": 0, "steps": 0},
                                                       "ood-timing": {"x": 2, "dt": 30, "steps": 31}})])
    doc["task"]["error"] = None
    assert _notes(doc) == [("note (tflm int8-full): inputs outside the export's declared ranges (int8 clips them): "
                            "ood-timing x 2, dt 30 (31 steps)")]


def test_schema_takes_the_new_fields():
    from edgelnn.targets.bench_report import bench_schema

    result = bench_schema()["$defs"]["result"]["properties"]
    assert {"out_of_range", "manifest_metrics"} <= set(result)
    with pytest.raises(ValueError):
        validate_bench({"schema_version": 1})  # still validated as before (required fields)


def _streaming(model, ranges) -> StreamingModel:
    sig = {"inputs": [{"name": "x", "shape": ["batch", model.input_size]},
                      {"name": "state", "shape": ["batch", model.state_size]}, {"name": "dt", "shape": ["batch", 1]}],
           "outputs": [{"name": "y", "shape": ["batch", model.output_size]},
                       {"name": "state_out", "shape": ["batch", model.state_size]}]}
    return StreamingModel(torch_runner(model), manifest={"signature": sig, "state_layout": [], "input_ranges": ranges},
                          artifact={"name": "torch", "precision": "fp32"}, backend="torch", batch=1,
                          export_dir=Path("."), threads=1)


def test_bench_rollout_is_the_shared_rollout_through_step_and_counts_per_split():
    model = build_model(make_config("cfc", 2, 8, proj_size=3, backbone_units=8)).eval()
    rng = np.random.default_rng(0)
    mask = np.arange(6)[None] < np.array([6, 2, 4])[:, None]
    x = (rng.standard_normal((3, 6, 2)) * mask[..., None]).astype(np.float32)
    t = np.where(mask, 0.5, 1.0).astype(np.float32)
    t[0, 3] = 9.0  # one dt beyond the declared range
    split = Split(x=x, t=t, y=np.zeros(3, np.int64), mask=mask)
    ranges = {"x": {"min": [-10.0, -10.0], "max": [10.0, 10.0]}, "dt": {"min": 0.1, "max": 2.0}, "source": "t"}
    streaming = _streaming(model, ranges)
    with pytest.warns(UserWarning):
        outputs, outside = bench_child._rollout(lambda n: (streaming, 1), {"x": x, "t": t, "mask": mask})
    want = rollout_split(torch_runner(model), split, model.state_size).outputs
    valid = mask.astype(bool)
    bound = 1e-6 + 1e-5 * float(np.abs(want[valid]).max())
    assert np.abs(outputs[valid] - want[valid]).max() <= bound
    assert outside == {"x": 0, "dt": 1, "steps": 1}
    assert not hasattr(bench_child, "_drop")  # drops come from the metric registry


def test_latency_inputs_stay_inside_the_declared_ranges():
    model = build_model(make_config("cfc", 2, 8, proj_size=3, backbone_units=8)).eval()
    ranges = {"x": {"min": [-0.5, 0.0], "max": [0.5, 3.0]}, "dt": {"min": 0.01, "max": 0.2}, "source": "t"}
    streaming = _streaming(model, ranges)
    xs, dt = bench_child._inputs(streaming, np.random.default_rng(0), (200, 1, 2))
    assert dt == 0.2 and (xs[..., 0] >= -0.5).all() and (xs[..., 0] <= 0.5).all() and (xs[..., 1] >= 0).all()
    for x in xs:
        streaming.step(x[0], dt)
    assert streaming.out_of_range == {"x": 0, "dt": 0, "steps": 0}  # the in-range path is what gets timed


def test_a_cut_evaluation_computes_no_drop_and_no_manifest_comparison(tiny_xor_export):
    """--eval-sequences below what the export verified evaluates other sequences than the manifest's figures
    cover: comparing them would report differences (and drops) that are only the subset's (seen in the demo:
    tflm 0.875 'vs' litert 0.970 on 32 of 370 sequences)."""
    from tiny_runs import VERIFY_SEQUENCES

    from edgelnn.targets.bench import BenchSettings, bench

    settings = BenchSettings(steps=20, warmup=2, batches=(1,), throughput_seconds=0.01,
                             eval_sequences=VERIFY_SEQUENCES // 2, timeout_s=300)
    row = bench(tiny_xor_export, target="cpu", backends=["onnxruntime"], settings=settings).doc["results"][0]
    assert row["status"] == "ok" and row["metrics"]
    assert not row["metric_drop"] and row["manifest_metrics"] is None
    assert any(f"first {VERIFY_SEQUENCES // 2} sequences" in note for note in row["notes"])
    full = BenchSettings(steps=20, warmup=2, batches=(1,), throughput_seconds=0.01, timeout_s=300)
    row = bench(tiny_xor_export, target="cpu", backends=["onnxruntime"], settings=full).doc["results"][0]
    assert set(row["metric_drop"]) == set(row["metrics"]) and row["manifest_metrics"]["metrics"]
