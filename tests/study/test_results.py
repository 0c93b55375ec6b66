"""results.json against its schema, results.csv, --report-only, and a corrupted results.json."""

from __future__ import annotations

import csv
import json
import shutil

import pytest
from click.testing import CliRunner

from edgelnn.cli import main
from edgelnn.study.cell import int8_figure
from edgelnn.study.errors import StudyResultsError
from edgelnn.study.report import verdict_lines
from edgelnn.study.results import read_results, results_schema, validate_results, without_timings

from .synthetic import fake_cell, study


def test_results_of_a_real_study_match_the_schema(tiny_study):
    out = tiny_study[0]
    doc = json.loads((out / "results.json").read_text())
    validate_results(doc)
    assert results_schema()["properties"]["schema_version"]["const"] == doc["schema_version"] == 1
    cell = doc["cells"][0]
    assert set(cell["ood"]) == {"ood-noise", "ood-frequency", "ood-drop", "ood-timing"}
    assert cell["latency"]["backend"] == "onnxruntime" and cell["latency"]["step_p50_us"] > 0
    from edgelnn.firmware_bench.evaluate import c_test_metric

    for cell in doc["cells"]:  # the study's int8 figure: the int8 generated C, beside every int8 artifact's drop
        int8 = cell["int8"]
        assert int8["artifact"] == "c-int8-dynamic" and int8["c_reason"] is None
        assert set(int8["drops"]) == {"c-int8-dynamic", "onnx-int8-dynamic", "onnx-int8-static"}
        assert int8["metric"] == c_test_metric(out / cell["export_dir"], "int8").metric
    from edgelnn.firmware_bench.bundle import mcu_available

    for cell in doc["cells"]:  # cfc and gru: int8 C on the emulated Cortex-M4F, or null with the reason
        device = cell["device"]
        if mcu_available():
            assert device["precision"] == "int8" and device["reason"] is None
            assert device["instructions_per_step"] > 0 and device["flash_bytes"] > 0 and device["ram_bytes"] > 0
        else:
            assert device["instructions_per_step"] is None and device["reason"].startswith("not measured")
    agg = next(a for a in doc["aggregates"] if a["model"] == "cfc")
    assert agg["seeds"] == [0] and agg["trained_seeds"] + agg["did_not_train_seeds"] == [0]
    assert agg["stats"].get("id_metric", {"n": 0})["n"] == len(agg["trained_seeds"])  # one seed: no std
    with (out / "results.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert [r["cell_id"] for r in rows] == [c["cell_id"] for c in doc["cells"]]


@pytest.mark.parametrize("breakage", ["status", "missing_verdicts", "negative_seed", "ok_without_numbers"])
def test_schema_rejects_broken_documents(tiny_study, breakage):
    doc = json.loads((tiny_study[0] / "results.json").read_text())
    if breakage == "status":
        doc["cells"][0]["status"] = "done"
    elif breakage == "missing_verdicts":
        del doc["verdicts"]
    elif breakage == "negative_seed":
        doc["study"]["seeds"] = [-1]
    else:
        del doc["cells"][0]["id"]
    with pytest.raises(StudyResultsError, match="does not match schema"):
        validate_results(doc)


def test_failed_cells_need_an_error_message():
    cell = {**fake_cell("gru", "t1", 0, 0.2, 1.0), "status": "failed", "error": None}
    doc = {"schema_version": 1, "edgelnn_version": "x", "created": "now", "study": study(["gru"], ["t1"], [0]),
           "cells": [cell], "aggregates": [], "verdicts": []}
    with pytest.raises(StudyResultsError):
        validate_results(doc)
    cell["error"] = "RuntimeError: boom"
    validate_results(doc)


def test_report_only_rebuilds_report_from_results(tiny_study, tmp_path):
    out = tmp_path / "study"
    shutil.copytree(tiny_study[0], out)
    shutil.rmtree(out / "cells")  # nothing to rerun from: the report comes from results.json alone
    (out / "report.md").unlink()
    shutil.rmtree(out / "plots")
    doc = read_results(out)
    result = CliRunner().invoke(main, ["compare", "--report-only", "--out", str(out)])
    assert result.exit_code == 0, result.output
    report = (out / "report.md").read_text()
    for line in verdict_lines(doc):
        assert line in report
    assert "### sine" in report and "| cfc |" in report and "| gru |" in report
    from edgelnn.firmware_bench.bundle import mcu_available

    names = ["id_vs_params", "ood_degradation", "accuracy_vs_latency", "int8_drop", "train_time"]
    if mcu_available():
        names.append("accuracy_vs_ram")  # emulated Cortex-M4F RAM
    else:
        assert "Test metric vs device RAM, Pareto front dashed: not drawn" in report
    for name in names:
        assert (out / "plots" / f"{name}.png").read_bytes()[:4] == b"\x89PNG"
        assert f"(plots/{name}.png)" in report
    assert without_timings(read_results(out)) == without_timings(doc)  # --report-only changes no results


@pytest.mark.parametrize("content", ["{not json", '{"schema_version": 1}', "[]"])
def test_a_corrupted_results_json_is_one_clear_error(tmp_path, content):
    (tmp_path / "results.json").write_text(content)
    with pytest.raises(StudyResultsError, match="results.json"):
        read_results(tmp_path)
    result = CliRunner().invoke(main, ["compare", "--report-only", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert result.output.startswith("error: ") and result.output.count("\n") == 1 and "Traceback" not in result.output
    assert not (tmp_path / "report.md").exists()


def test_int8_figure_falls_back_to_the_full_integer_artifact_without_the_c():
    manifest = {"task": {"metric": "accuracy"}, "reference_metrics": {"test": 0.9},
                "artifacts": [{"name": "onnx-fp32", "precision": "fp32", "metrics": {"test": 0.9}, "metric_drop": {}},
                              {"name": "onnx-int8-static", "precision": "int8-static", "metrics": {"test": 0.85},
                               "metric_drop": {"test": 0.05}},
                              {"name": "tflite-int8-full", "precision": "int8-full", "metrics": {"test": 0.8},
                               "metric_drop": {"test": 0.1}}]}
    trivial = {"majority": 0.5}
    with_c = int8_figure(manifest, trivial, 0.88)
    assert with_c["artifact"] == "c-int8-dynamic" and with_c["metric"] == 0.88
    assert with_c["drop"] == pytest.approx(0.02) and with_c["c_reason"] is None
    assert with_c["normalised_error_increase"] == pytest.approx((0.12 - 0.1) / 0.5)
    without = int8_figure(manifest, trivial, "int8 C not evaluated: CompilerNotFoundError: no compiler")
    assert without["artifact"] == "tflite-int8-full" and without["drop"] == 0.1
    assert without["c_reason"].startswith("int8 C not evaluated") and "c-int8-dynamic" not in without["drops"]
