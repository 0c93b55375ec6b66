"""`edgelnn bench --target stm32f4|...`: the firmware row (the export's C on the emulated Cortex-M core) with
instructions, estimated cycles and time, flash, RAM, a verdict and the golden check; the JSON validates."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from firmware_exports import export_tiny_model

from edgelnn.artifact import sha256_of
from edgelnn.firmware_bench.bundle import mcu_available
from edgelnn.targets import bench_mcu
from edgelnn.targets.bench import BenchSettings, bench
from edgelnn.targets.bench_report import validate_bench

SETTINGS = BenchSettings(steps=5, warmup=1, batches=(1,), throughput_seconds=0.05, eval_sequences=4, timeout_s=300)
needs_mcu = pytest.mark.skipif(not mcu_available(), reason="mcu extra not installed (pip install 'edgelnn[mcu]')")


@pytest.fixture(scope="module")
def export(tmp_path_factory) -> Path:
    return export_tiny_model(tmp_path_factory.mktemp("bench-mcu"), "cfc", backbone_units=16)


def _firmware_rows(result) -> list[dict]:
    return [r for r in result.doc["results"] if r["backend"] == "firmware"]


@needs_mcu
def test_stm32f4_bench_has_a_firmware_row(export, tmp_path):
    result = bench(export, target="stm32f4", settings=SETTINGS)
    (row,) = _firmware_rows(result)
    assert row["status"] == "ok" and row["precision"] == "fp32", row["error"]
    fw = row["firmware"]
    assert fw["core"] == "cortex-m4f"
    assert fw["instructions_per_step"]["mean"] > 0 and fw["instructions_per_step"]["max"] >= 1
    assert fw["cycles_per_step_estimate"]["mean"] > 0
    assert fw["time_us_per_step_estimate"]["clock_mhz"] == 180
    assert fw["flash_bytes"] > 0 and fw["ram_bytes"] >= fw["stack_high_water_bytes"] > 0
    assert fw["golden_check"]["status"] == "passed" and fw["golden_check"]["steps"] > 0
    assert fw["golden_check"]["max_abs_error"] <= fw["golden_check"]["bound"]
    assert row["verdict"]["verdict"] == "fits"
    assert {c["resource"]: c["bytes"] for c in row["verdict"]["checks"]} == {"flash": fw["flash_bytes"],
                                                                              "ram": fw["ram_bytes"]}
    assert result.succeeded and "firmware" in result.doc["settings"]["backends"]
    validate_bench(result.doc)
    path = result.write(tmp_path / "bench.json")
    validate_bench(json.loads(path.read_text()))
    report = result.report()
    assert "emulated firmware" in report and "cortex-m4f" in report and "passed" in report


@needs_mcu
def test_firmware_row_over_budget_does_not_fit(export, tmp_path):
    profile = json.loads((Path(bench_mcu.__file__).parent / "profiles" / "stm32f4.json").read_text())
    profile.update(name="tiny-m4", ram_bytes=64)
    path = tmp_path / "tiny-m4.json"
    path.write_text(json.dumps(profile))
    (row,) = _firmware_rows(bench(export, target=str(path), backends=["firmware"], settings=SETTINGS,
                                  out=tmp_path / "b.json"))
    assert row["status"] == "ok" and row["verdict"]["verdict"] == "does not fit"
    ram = next(c for c in row["verdict"]["checks"] if c["resource"] == "ram")
    assert ram["fits"] is False and ram["bytes"] > 64


@needs_mcu
def test_failed_golden_check_fails_the_row(export, tmp_path):
    copy = Path(shutil.copytree(export, tmp_path / "export"))
    with np.load(copy / "golden.npz") as data:
        arrays = dict(data)
    arrays["y"][0] += np.float32(1.0)
    np.savez(copy / "golden.npz", **arrays)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["golden"]["sha256"] = sha256_of(copy / "golden.npz")
    (copy / "manifest.json").write_text(json.dumps(manifest))
    result = bench(copy, target="stm32f4", backends=["firmware"], settings=SETTINGS)
    (row,) = _firmware_rows(result)
    assert row["status"] == "failed" and "golden check failed" in row["error"]
    assert row["verdict"]["verdict"] == "unknown" and not result.succeeded
    validate_bench(result.doc)


@needs_mcu
def test_firmware_child_timeout_is_a_failed_row(export):
    settings = BenchSettings(steps=5, warmup=1, batches=(1,), eval_sequences=4, timeout_s=0.05)
    (row,) = _firmware_rows(bench(export, target="stm32f4", backends=["firmware"], settings=settings))
    assert row["status"] == "failed" and "timed out" in row["error"]


def test_firmware_skipped_without_the_mcu_extra_or_golden_vectors(export, tmp_path, monkeypatch):
    manifest = json.loads((export / "manifest.json").read_text())
    wanted, skipped = bench_mcu.plan_firmware(export, {k: v for k, v in manifest.items() if k != "golden"}, "fp32")
    assert wanted == [] and "no golden vectors" in skipped[0]["reason"]
    from edgelnn.firmware_bench import bundle

    monkeypatch.setattr(bundle, "mcu_available", lambda: False)
    wanted, skipped = bench_mcu.plan_firmware(export, manifest, "fp32")
    assert wanted == [] and "edgelnn[mcu]" in skipped[0]["reason"]
    result = bench(export, target="stm32f4", settings=SETTINGS, backends=["firmware"])
    assert result.doc["results"] == [] and result.doc["skipped"][0]["backend"] == "firmware"


def test_firmware_backend_selection():
    assert bench_mcu.split_firmware("all", {"name": "stm32f4", "kind": "mcu"}) == ("all", True)
    assert bench_mcu.split_firmware("all", {"name": "cpu", "kind": "cpu"}) == ("all", False)
    assert bench_mcu.split_firmware(["tflm", "firmware"], {"name": "stm32f4", "kind": "mcu"}) == (["tflm"], True)
    assert bench_mcu.split_firmware(["tflm"], {"name": "stm32f4", "kind": "mcu"}) == (["tflm"], False)
    with pytest.raises(ValueError, match="Cortex-M"):
        bench_mcu.split_firmware(["firmware"], {"name": "cpu", "kind": "cpu"})
    assert bench_mcu.firmware_precisions("fp32") == ["fp32"]
    from edgelnn.firmware_bench.codegen import PRECISIONS

    assert bench_mcu.firmware_precisions("int8-full") == (["int8"] if "int8" in PRECISIONS else [])


@needs_mcu
def test_precision_all_gives_a_firmware_row_per_generated_precision(export):
    from edgelnn.firmware_bench.codegen import PRECISIONS

    result = bench(export, target="rp2040", backends=["firmware"], precision="all", settings=SETTINGS)
    rows = _firmware_rows(result)
    assert [r["precision"] for r in rows] == list(PRECISIONS)  # a CfC: every precision the generator writes
    for row in rows:
        assert row["status"] == "ok", row["error"]
        assert row["firmware"]["core"] == "cortex-m0plus" and row["firmware"]["golden_check"]["status"] == "passed"
    validate_bench(result.doc)
