"""Export of a classification model (the session's tiny event-based XOR CfC): the manifest's metrics are
accuracies, they agree with a direct evaluation of the exported model, and int8 drops are accuracy points.

Classification is where the copies of the metric code (export verification, bench, training) have diverged.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from numeric import accuracy_slack, assert_within
from tiny_runs import EXPORT_FORMATS, TINY_XOR, VERIFY_SEQUENCES, evaluated_splits

from edgelnn.export import read_manifest
from edgelnn.models import load_checkpoint
from edgelnn.tasks import load_task
from edgelnn.training.evaluate import evaluate_model
from edgelnn.training.objectives import last_valid


@pytest.fixture(scope="module")
def manifest(tiny_xor_export) -> dict:
    return read_manifest(tiny_xor_export)


@pytest.fixture(scope="module")
def task():
    return load_task("xor", **TINY_XOR)


def final_logits(model_path: Path, task, split: str) -> np.ndarray:
    """PyTorch logits [N, 2] at each sequence's last real event."""
    model = load_checkpoint(model_path).eval()
    s = task.splits[split]
    mask = torch.from_numpy(s.mask)
    with torch.no_grad():
        y, _ = model.run(torch.from_numpy(s.x), torch.from_numpy(s.t), mask=mask)
    return last_valid(y, mask).numpy()


def test_every_artifact_reports_accuracies(manifest):
    assert manifest["task"]["name"] == "xor" and manifest["task"]["metric"] == "accuracy"
    names = {a["name"] for a in manifest["artifacts"]}
    assert {"onnx-fp32", "onnx-int8-dynamic", "onnx-int8-static"} <= names
    if "tflite" in EXPORT_FORMATS:
        assert {"tflite-fp32", "tflite-int8-full"} <= names
    splits = evaluated_splits("xor")
    assert set(manifest["reference_metrics"]) == splits
    for entry in [{"name": "reference", "metrics": manifest["reference_metrics"]}, *manifest["artifacts"]]:
        assert set(entry["metrics"]) == splits, entry["name"]
        for split, value in entry["metrics"].items():
            # a fraction of VERIFY_SEQUENCES sequences: in [0, 1] and a whole number of sequences (not a loss)
            assert 0.0 <= value <= 1.0, (entry["name"], split, value)
            assert value * VERIFY_SEQUENCES == pytest.approx(round(value * VERIFY_SEQUENCES), abs=1e-9)


def test_reference_accuracy_is_a_direct_evaluation_of_the_exported_model(manifest, task, tiny_xor_export):
    assert all(len(task.splits[s]) == VERIFY_SEQUENCES for s in evaluated_splits("xor"))  # the verified rows
    direct = evaluate_model(load_checkpoint(tiny_xor_export / "model.safetensors"), task, sorted(evaluated_splits("xor")))
    for split, value in direct.items():
        # the export steps the model, evaluate_model runs it: the same math, so the same labels except where
        # two logits tie within float noise
        slack = accuracy_slack(final_logits(tiny_xor_export / "model.safetensors", task, split))
        assert abs(manifest["reference_metrics"][split] - value) <= slack, (split, value, slack)


def test_fp32_accuracy_equals_the_reference_and_drops_are_points(manifest, task, tiny_xor_export):
    for entry in manifest["artifacts"]:
        for split, value in entry["metrics"].items():
            reference = manifest["reference_metrics"][split]
            # accuracy: points lost, reference - value (not relative, not the other way round)
            assert entry["metric_drop"][split] == pytest.approx(reference - value, abs=1e-12), (entry["name"], split)
            if entry["precision"] == "fp32":
                slack = accuracy_slack(final_logits(tiny_xor_export / "model.safetensors", task, split))
                assert abs(value - reference) <= slack, (entry["name"], split, value, reference)
        if entry["precision"] == "fp32":  # the logits themselves, within the export's own fp32 bound
            parity, bound = entry["parity"], manifest["verification"]
            assert_within(parity["max_abs_error"], parity["reference_max_abs"], atol=bound["atol"],
                          rtol=bound["rtol"], what=entry["name"])


def test_metric_drop_is_points_for_accuracy_and_relative_for_mse():
    from edgelnn.export.verify import metric_drop

    assert metric_drop("accuracy", 0.75, 0.5) == pytest.approx(0.25)  # relative would be 0.333
    assert metric_drop("accuracy", 0.5, 0.75) == pytest.approx(-0.25)  # better than the reference: negative
    assert metric_drop("mse", 0.5, 0.75) == pytest.approx(0.5)  # MSE: relative increase
