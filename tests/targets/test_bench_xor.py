"""`edgelnn bench` on a classification model (the session's tiny event-based XOR CfC): test accuracy through
the runtime equals the export's PyTorch reference, and metric_drop for accuracy is reference - value (points)."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from numeric import accuracy_slack
from tiny_runs import TINY_XOR, VERIFY_SEQUENCES, evaluated_splits

from edgelnn.models import load_checkpoint
from edgelnn.targets.bench import BenchSettings, bench
from edgelnn.targets.bench_report import validate_bench
from edgelnn.tasks import load_task
from edgelnn.training.objectives import last_valid

FEW = BenchSettings(steps=20, warmup=2, batches=(1,), throughput_seconds=0.01, eval_sequences=VERIFY_SEQUENCES,
                    timeout_s=300)


def _shifted(value: float) -> float:
    """A reference accuracy that differs from ``value`` and from 1, so points and relative drops differ."""
    return value + 0.25 if value <= 0.5 else value - 0.25


def test_bench_accuracy_and_drop_in_points(tiny_xor_export, tmp_path):
    original = json.loads((tiny_xor_export / "manifest.json").read_text())["reference_metrics"]
    copy = shutil.copytree(tiny_xor_export, tmp_path / "export")
    manifest_path = copy / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    # a reference the bench cannot reproduce by accident: the drop must then be exactly reference - value
    manifest["reference_metrics"] = {split: _shifted(value) for split, value in original.items()}
    manifest_path.write_text(json.dumps(manifest))

    result = bench(copy, target="cpu", backends=["onnxruntime"], precision="fp32", settings=FEW)
    validate_bench(result.doc)
    [row] = result.doc["results"]
    assert row["status"] == "ok", row["error"]
    assert result.doc["task"]["metric"] == "accuracy" and set(row["metrics"]) == evaluated_splits("xor")

    task = load_task("xor", **TINY_XOR)
    model = load_checkpoint(copy / "model.safetensors").eval()
    for split, value in row["metrics"].items():
        assert 0.0 <= value <= 1.0, (split, value)
        s = task.splits[split]
        mask = torch.from_numpy(s.mask)
        with torch.no_grad():
            logits = last_valid(model.run(torch.from_numpy(s.x), torch.from_numpy(s.t), mask=mask)[0], mask).numpy()
        # same data, same arithmetic as the export's reference up to float noise: equal unless a logit pair ties
        assert abs(value - original[split]) <= accuracy_slack(logits), (split, value, original[split])
        reference = manifest["reference_metrics"][split]
        assert row["metric_drop"][split] == pytest.approx(reference - value, abs=1e-12), (split, reference, value)
