"""`edgelnn bench`: schema, one child process per backend, crash isolation, GPU skip, tampering, verdicts.

The session's tiny sine CfC export (tests/conftest.py: ONNX + TFLite where installed, with int8) is shared with
the export and runtime tests; every bench here uses few steps. No test asserts a speed: only that the numbers
exist, are positive and land where they should.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner
from numeric import ATOL, assert_close
from tiny_runs import TINY_SINE, VERIFY_SEQUENCES, evaluated_splits

from edgelnn.cli import main
from edgelnn.errors import ArtifactIntegrityError
from edgelnn.targets.bench import BenchSettings, bench
from edgelnn.targets.bench_child import CRASH_ENV
from edgelnn.targets.bench_report import bench_schema, validate_bench
from edgelnn.targets.bench_tasks import eval_splits
from edgelnn.targets.bench_verdict import verdict
from edgelnn.targets.profile import available, load_profile

# the sequences the export verified, so bench metrics compare with the manifest's on the same data
FAST = BenchSettings(steps=40, warmup=5, batches=(1, 4), throughput_seconds=0.02,
                     eval_sequences=VERIFY_SEQUENCES, timeout_s=300)
METRIC_RTOL = 1e-3


def _installed(*names: str) -> list[str]:
    from edgelnn.runtime import list_backends

    have = list_backends()
    return [n for n in names if have.get(n)]


@pytest.fixture(scope="module")
def exported(tiny_sine_export) -> Path:
    """The session's tiny sine export (read-only: tests that damage it work on a copy)."""
    return tiny_sine_export


@pytest.fixture(scope="module")
def cpu_result(exported):
    return bench(exported, target="cpu", backends="all", precision="fp32", settings=FAST)


def test_json_validates_and_has_every_documented_field(cpu_result, tmp_path):
    path = cpu_result.write(tmp_path / "bench.json")
    doc = json.loads(path.read_text())
    validate_bench(doc)
    jsonschema.Draft202012Validator.check_schema(bench_schema())
    schema = bench_schema()
    assert set(schema["properties"]) <= set(doc)
    assert doc["schema_version"] == 1 and doc["available"] is True
    # Every documented field is in every runtime row; "firmware" belongs to firmware rows (test_bench_mcu.py).
    documented = set(schema["$defs"]["result"]["properties"]) - {"firmware"}
    assert {r["backend"] for r in doc["results"]} == set(_installed("litert", "onnxruntime", "torch", "tflm", "c"))
    for row in doc["results"]:
        assert documented <= set(row), documented - set(row)
        assert row["status"] == "ok", row["error"]
        assert row["precision"] == "fp32"
        for part in ("step", "raw"):
            assert row["latency_us"][part]["n"] == FAST.steps
            assert 0 < row["latency_us"][part]["p50"] <= row["latency_us"][part]["p99"]
        assert row["load_seconds"] > 0 and row["artifact_bytes"] > 0
        assert row["peak_rss_bytes"] >= row["rss_before_load_bytes"] >= row["rss_start_bytes"] > 0
        assert [t["batch"] for t in row["throughput"]] == [1, 4]
        assert set(row["metrics"]) == evaluated_splits("sine")
        assert row["verdict"]["verdict"] == "unknown"  # the cpu profile sets no budgets
    assert doc["task"]["options_from"] == "manifest"  # the export records the task's resolved options
    assert {k: doc["task"]["options"][k] for k in TINY_SINE} == TINY_SINE


def test_each_backend_ran_in_its_own_child(cpu_result):
    pids = [r["pid"] for r in cpu_result.doc["results"]]
    assert os.getpid() not in pids and len(set(pids)) == len(pids)


def test_metrics_match_the_export_through_each_runtime(cpu_result, exported):
    manifest = json.loads((exported / "manifest.json").read_text())
    by_name = {a["name"]: a for a in manifest["artifacts"]}
    for row in cpu_result.doc["results"]:
        # torch and c run the export's float checkpoint: their figures are PyTorch's reference metrics
        float_model = row["backend"] in ("torch", "c")
        want = manifest["reference_metrics"] if float_model else by_name[row["artifact"]]["metrics"]
        for split, value in row["metrics"].items():
            # the same data through the same artifact, stepped by the runtime (its own batching): outputs agree
            # to ~RTOL_ROLLOUT, and an MSE moves by ~2x that times |pred| / |pred - y|: a 1e-3 relative bound
            assert_close(value, want[split], atol=ATOL, rtol=METRIC_RTOL, what=f"{row['backend']} {split} metric")


@pytest.mark.skipif(not _installed("tflm"), reason="tflite-micro not installed")
def test_tflm_reports_arena_and_batch_one_only(cpu_result):
    row = next(r for r in cpu_result.doc["results"] if r["backend"] == "tflm")
    assert row["arena_bytes"] > 0
    big = next(t for t in row["throughput"] if t["batch"] == 4)
    assert big["steps_per_s"] is None and "batch 1 only" in big["reason"]
    others = [r for r in cpu_result.doc["results"] if r["backend"] != "tflm"]
    assert all(r["arena_bytes"] is None for r in others)
    assert all(t["steps_per_s"] > 0 for r in others for t in r["throughput"])


def test_a_crashing_child_is_a_failed_row_and_bench_goes_on(exported, monkeypatch):
    monkeypatch.setenv(CRASH_ENV, "onnxruntime")
    result = bench(exported, target="cpu", backends=["onnxruntime", "torch"], settings=FAST)
    rows = {r["backend"]: r for r in result.doc["results"]}
    crashed = rows["onnxruntime"]
    assert crashed["status"] == "failed" and crashed["exit_code"] == -11 and "SIGSEGV" in crashed["error"]
    assert crashed["latency_us"] is None and crashed["verdict"]["verdict"] == "unknown"
    assert rows["torch"]["status"] == "ok"
    validate_bench(result.doc)
    assert "FAILED onnxruntime fp32: child crashed (SIGSEGV)" in result.report()


def test_gpu_target_skips_when_there_is_no_gpu(exported, tmp_path):
    ok, _ = available(load_profile("gpu"))
    if ok:
        pytest.skip("a GPU is present here: the gpu target runs")
    result = bench(exported, target="gpu", settings=FAST)
    assert not result.available and result.doc["results"] == []
    assert result.doc["reason"].startswith("not available here")
    validate_bench(result.doc)
    out = CliRunner().invoke(main, ["bench", str(exported), "--target", "gpu"])
    assert out.exit_code == 0 and "not available here" in out.output
    assert not (exported / "bench-gpu.json").exists()


def test_tampered_artifact_is_refused(exported, tmp_path):
    copy = tmp_path / "art"
    shutil.copytree(exported, copy)
    path = copy / "step_fp32.onnx"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ArtifactIntegrityError, match="sha256"):
        bench(copy, target="cpu", backends=["onnxruntime"], settings=FAST)
    out = CliRunner().invoke(main, ["bench", str(copy), "--backend", "onnxruntime"])
    lines = [line for line in out.output.splitlines() if line.strip()]
    assert out.exit_code == 2 and len(lines) == 1 and "sha256" in lines[0], out.output


def test_task_options_come_from_the_manifest_when_recorded(exported):
    manifest = json.loads((exported / "manifest.json").read_text())
    doc, splits = eval_splits(manifest, 4)
    assert doc["options_from"] == "manifest" and set(splits) == evaluated_splits("sine")
    assert {k: doc["options"][k] for k in TINY_SINE} == TINY_SINE
    assert all(len(split) == 4 for split in splits.values())
    del manifest["task"]["options"]  # an older manifest: fall back to the run's config
    doc, _ = eval_splits(manifest, 4)
    assert doc["options_from"] == "run config" and doc["options"] == TINY_SINE


def _profile(kind: str, ram: int | None, flash: int | None) -> dict[str, Any]:
    return {"name": "test", "kind": kind, "backends": ["tflm", "torch"], "threads": 1, "ram_bytes": ram,
            "flash_bytes": flash}


def test_verdict_flips_with_a_tiny_budget(cpu_result, exported):
    manifest = json.loads((exported / "manifest.json").read_text())
    for row in cpu_result.doc["results"]:
        huge = verdict(row, _profile("cpu", 2**40, 2**40), manifest, None)
        tiny = verdict(row, _profile("cpu", 2**40, 1), manifest, None)
        assert huge["verdict"] == "fits" and tiny["verdict"] == "does not fit"
        assert [c["fits"] for c in tiny["checks"]] == [False, True]
        assert tiny["checks"][1]["bytes"] == row["peak_rss_bytes"]


@pytest.mark.skipif(not _installed("tflm"), reason="tflite-micro not installed")
def test_mcu_target_compares_arena_state_and_io_with_ram(exported):
    result = bench(exported, target="stm32f4", precision="all", settings=FAST)
    manifest = json.loads((exported / "manifest.json").read_text())
    tflm = [r for r in result.doc["results"] if r["backend"] == "tflm"]  # firmware rows: test_bench_mcu.py
    assert {r["precision"] for r in tflm} == {"fp32", "int8-full", "int8-a16"}  # a CfC: TFLM has its int16 kernels
    for row in tflm:
        assert row["status"] == "ok" and row["verdict"]["verdict"] == "fits"  # a tiny model on 128 KiB / 512 KiB
        ram = next(c for c in row["verdict"]["checks"] if c["resource"] == "ram")
        assert ram["bytes"] > row["arena_bytes"] and "arena" in ram["measured"]
        entry = next(a for a in manifest["artifacts"] if a["name"] == row["artifact"])
        tiny = verdict(row, _profile("mcu", ram["bytes"] - 1, 2**30), manifest, entry)
        assert tiny["verdict"] == "does not fit"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--target", "z80"], "unknown target 'z80'"),
        (["--backend", "tensorrt"], "unknown backend 'tensorrt'"),
        (["--target", "stm32f4", "--backend", "onnxruntime"], "does not run backend 'onnxruntime'"),
        (["--precision", "int4"], "unknown precision 'int4'"),
    ],
)
def test_cli_bad_input_is_one_line_exit_2(exported, args, message):
    out = CliRunner().invoke(main, ["bench", str(exported), *args])
    lines = [line for line in out.output.splitlines() if line.strip()]
    assert out.exit_code == 2 and len(lines) == 1 and message in lines[0], out.output


def test_cli_missing_dir_and_a_run(exported, tmp_path):
    out = CliRunner().invoke(main, ["bench", str(tmp_path / "nope")])
    assert out.exit_code == 2 and "does not exist" in out.output
    target = tmp_path / "b.json"
    out = CliRunner().invoke(main, ["bench", str(exported), "--backend", "torch", "--steps", "20", "--warmup", "2",
                                    "--batches", "1", "--eval-sequences", "4", "--out", str(target)])
    assert out.exit_code == 0, out.output
    assert "step p50 us" in out.output and "verdict: unknown for every backend" in out.output
    doc = json.loads(target.read_text())
    validate_bench(doc)
    assert [r["backend"] for r in doc["results"]] == ["torch"]
