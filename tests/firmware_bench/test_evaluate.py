"""The generated C's task metric on an export's test sequences (firmware_bench/evaluate.py)."""

from __future__ import annotations

import json
import shutil

import pytest

from edgelnn.errors import DataMismatchError
from edgelnn.export import read_manifest
from edgelnn.firmware_bench.evaluate import c_test_metric


def test_fp32_c_scores_the_pytorch_reference(golden_export):
    manifest = read_manifest(golden_export)
    reference = manifest["reference_metrics"]["test"]
    got = c_test_metric(golden_export, "fp32")
    assert got.precision == "fp32" and got.sequences == manifest["verification"]["sequences_per_split"]
    assert abs(got.metric - reference) <= 1e-6 + 1e-4 * abs(reference)  # float C == PyTorch up to rounding
    assert abs(got.drop) <= 1e-4


def test_int8_c_is_scored_from_its_own_outputs(golden_export):
    """int8 weights move the metric (it is not the float model's number) but only a little."""
    reference = read_manifest(golden_export)["reference_metrics"]["test"]
    got = c_test_metric(golden_export, "int8")
    assert got.metric != c_test_metric(golden_export, "fp32").metric
    assert abs(got.metric - reference) <= 0.05 * abs(reference)
    assert got.drop == pytest.approx((got.metric - reference) / reference)  # mse: relative increase


def test_a_task_that_cannot_be_loaded_is_a_data_error(golden_export, tmp_path):
    export = tmp_path / "export"
    shutil.copytree(golden_export, export)
    manifest = json.loads((export / "manifest.json").read_text())
    manifest["task"]["name"] = manifest["task"]["source"] = str(tmp_path / "moved.npz")
    manifest["source"]["run"] = None
    (export / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(DataMismatchError, match="moved.npz"):
        c_test_metric(export, "fp32", manifest)
