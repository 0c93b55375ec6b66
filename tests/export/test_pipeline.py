"""The export pipeline end to end on a tiny trained model: manifest, verification, atomicity, errors.

The tiny sine CfC run is the session's (tests/conftest.py), shared with the runtime and bench tests.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from numeric import ATOL, RTOL_ROLLOUT, assert_close, assert_within
from tiny_runs import TINY_SINE, evaluated_splits

from edgelnn.artifact import sha256_of, validate_manifest
from edgelnn.cli import main
from edgelnn.errors import (
    CheckpointError,
    ExportError,
    ManifestError,
    MetricDropError,
    OptionConflictError,
    ParityError,
    RunNotFoundError,
)
from edgelnn.export import ExportConfig, export_model, read_manifest, resolve_source, sweep_unfolds
from edgelnn.export import pipeline as pipeline_module
from edgelnn.models.checkpoint import load_checkpoint, save_checkpoint
from edgelnn.training import TrainConfig, train
from edgelnn.utils.outdir import tag


def _train(tmp: Path, model: str = "cfc", **options) -> Path:
    cfg = TrainConfig(model=model, task="sine", hidden_size=8, epochs=1, batch_size=16, patience=0,
                      model_options=options, task_options=dict(TINY_SINE))
    return train(cfg, tmp / f"run-{model}", progress=False).run_dir


@pytest.fixture(scope="module")
def cfc_run(tiny_sine_run) -> Path:
    """The session's tiny sine CfC run (read-only)."""
    return tiny_sine_run


@pytest.fixture(scope="module")
def ltc_run(tmp_path_factory) -> Path:
    return _train(tmp_path_factory.mktemp("runs"), "ltc", ode_unfolds=3)


def _leftovers(parent: Path) -> list[str]:
    """Hidden entries an export may create beside its output (staging, replaced copy, lock file, temp files):
    none may remain once it has finished or failed."""
    return [p.name for p in parent.iterdir()
            if p.name.startswith(".") and (tag("export", "staging") in p.name or tag("export", "replaced") in p.name
                                           or p.name.endswith(".lock") or "tmp-" in p.name)]


def test_export_writes_a_verified_valid_manifest(cfc_run, tmp_path):
    out = tmp_path / "cfc"
    result = export_model(resolve_source(run=cfc_run), ExportConfig(formats=("onnx",), int8=True), out)
    manifest = read_manifest(out)  # validates against the schema
    assert manifest == result.manifest
    names = {a["name"] for a in manifest["artifacts"]}
    assert {"onnx-fp32", "onnx-int8-dynamic", "onnx-int8-static"} <= names
    for art in manifest["artifacts"]:
        path = out / art["file"]
        assert path.is_file() and sha256_of(path) == art["sha256"] and path.stat().st_size == art["size_bytes"]
        assert set(art["metrics"]) == evaluated_splits("sine")
        assert art["tool_versions"]
    fp32 = next(a for a in manifest["artifacts"] if a["name"] == "onnx-fp32")
    parity = fp32["parity"]
    assert fp32["status"] == "passed"
    # 12-step free-running rollouts: a rollout bound, relative to the reference outputs (and states)
    assert_within(parity["max_abs_error"], parity["reference_max_abs"], atol=ATOL, rtol=RTOL_ROLLOUT, what="y")
    assert_within(parity["state_max_abs_error"], parity["reference_state_max_abs"], atol=ATOL, rtol=RTOL_ROLLOUT,
                  what="state")
    # the MSE of outputs that agree to ~RTOL_ROLLOUT moves by ~2x that times |pred| / |pred - y|
    assert_close(fp32["metrics"]["test"], manifest["reference_metrics"]["test"], atol=0, rtol=1e-3,
                 what="fp32 test MSE")
    assert manifest["state_layout"] == [{"name": "h", "offset": 0, "size": 8}]
    assert manifest["task"]["options"]["n_train"] == 48 and "source" not in manifest["task"]  # registered task
    assert [t["name"] for t in manifest["signature"]["inputs"]] == ["x", "state", "dt"]
    assert manifest["source"]["checkpoint_sha256"] == sha256_of(cfc_run / "best.safetensors")
    assert _leftovers(tmp_path) == []


def test_existing_output_needs_force(cfc_run, tmp_path):
    out = tmp_path / "cfc"
    cfg = ExportConfig(formats=("onnx",))
    export_model(resolve_source(run=cfc_run), cfg, out)
    with pytest.raises(FileExistsError, match="--force"):
        export_model(resolve_source(run=cfc_run), cfg, out)
    export_model(resolve_source(run=cfc_run), cfg, out, force=True)
    assert read_manifest(out)["artifacts"] and _leftovers(tmp_path) == []


def test_failed_verification_leaves_nothing(cfc_run, tmp_path, monkeypatch):
    real = pipeline_module.verify_runner

    def off_by_one(*args, **kwargs):
        report = real(*args, **kwargs)
        report.parity["max_abs_error"] += 1.0
        return report

    monkeypatch.setattr(pipeline_module, "verify_runner", off_by_one)
    with pytest.raises(ParityError, match="onnx-fp32: max abs error"):
        export_model(resolve_source(run=cfc_run), ExportConfig(formats=("onnx",)), tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


def test_int8_drop_bound_fails_the_export(cfc_run, tmp_path, monkeypatch):
    real = pipeline_module.verify_runner

    def worse(*args, **kwargs):
        report = real(*args, **kwargs)
        report.metric_drop["test"] = 0.5
        return report

    monkeypatch.setattr(pipeline_module, "verify_runner", worse)
    cfg = ExportConfig(formats=("onnx",), int8=True, max_int8_drop=0.05, atol=1.0)
    with pytest.raises(MetricDropError, match="exceeds --max-int8-drop"):
        export_model(resolve_source(run=cfc_run), cfg, tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


def test_schema_rejects_a_broken_manifest(cfc_run, tmp_path):
    export_model(resolve_source(run=cfc_run), ExportConfig(formats=("onnx",)), tmp_path / "m")
    manifest = json.loads((tmp_path / "m" / "manifest.json").read_text())
    del manifest["artifacts"][0]["sha256"]
    with pytest.raises(ValueError, match="artifacts/0.*sha256"):
        validate_manifest(manifest)
    manifest = json.loads((tmp_path / "m" / "manifest.json").read_text())
    manifest["schema_version"] = 1
    with pytest.raises(ValueError, match="schema_version"):
        validate_manifest(manifest)
    (tmp_path / "m" / "manifest.json").write_text(json.dumps(manifest))  # an export by an older edgelnn
    with pytest.raises(ManifestError, match="schema_version 1; this edgelnn reads version 2: re-export"):
        read_manifest(tmp_path / "m")


def test_solver_is_fixed_at_export(ltc_run, tmp_path):
    result = export_model(resolve_source(run=ltc_run), ExportConfig(formats=("onnx",), ode_unfolds=1, solver="rk4"),
                          tmp_path / "ltc")
    assert result.manifest["solver"] == {"method": "rk4", "ode_unfolds": 1}
    assert result.manifest["model"]["ode_unfolds"] == 1
    assert result.manifest["model"]["solver"] == "rk4"


def test_cfc_has_no_unfolds(cfc_run, tmp_path):
    with pytest.raises(ValueError, match="ode_unfolds applies to ltc, lrc only, not to cfc"):
        export_model(resolve_source(run=cfc_run), ExportConfig(formats=("onnx",), ode_unfolds=2), tmp_path / "x")
    assert list(tmp_path.iterdir()) == []


def test_solver_sweep_writes_one_set_per_setting(ltc_run, tmp_path):
    result = sweep_unfolds(resolve_source(run=ltc_run), ExportConfig(formats=("onnx",)), [1, 2], tmp_path / "sweep")
    assert [r["ode_unfolds"] for r in result.rows] == [1, 2]
    assert all(r["onnx-fp32 us/step"] > 0 and r["pytorch us/step"] > 0 for r in result.rows)
    for k in (1, 2):
        assert read_manifest(tmp_path / "sweep" / f"unfolds-{k}")["solver"]["ode_unfolds"] == k
    assert json.loads((tmp_path / "sweep" / "sweep.json").read_text())["rows"] == result.rows


def test_newest_run_or_run_not_found(tmp_path):
    # Training first when no run exists is the export command's job (tests/tasks/test_metric_specs.py).
    runs = tmp_path / "runs"
    with pytest.raises(RunNotFoundError):
        resolve_source(model="gru", runs_dir=runs)
    trained = _train(runs, "gru")
    again = resolve_source(model="gru", runs_dir=runs)
    assert not again.trained_now and again.run == trained


def test_bad_checkpoints_and_settings(tmp_path, cfc_run):
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes((cfc_run / "best.safetensors").read_bytes()[:100])
    with pytest.raises(CheckpointError, match="unreadable"):
        resolve_source(checkpoint=broken, task="sine")
    with pytest.raises(ValueError, match="unknown format 'coreml'; valid formats: onnx, tflite"):
        ExportConfig(formats=("coreml",))
    with pytest.raises(ValueError, match="ode_unfolds=0"):
        ExportConfig(ode_unfolds=0)
    bare = tmp_path / "bare.safetensors"
    bare.write_bytes((cfc_run / "best.safetensors").read_bytes())
    with pytest.raises(OptionConflictError, match="--task pendulum conflicts with checkpoint .* trained on sine"):
        resolve_source(checkpoint=bare, task="pendulum")
    assert resolve_source(checkpoint=bare).task.name == "sine"  # the trainer wrote the task into the file
    unnamed = tmp_path / "unnamed.safetensors"  # a checkpoint that does not say its task: sizes are checked
    save_checkpoint(load_checkpoint(bare), unnamed)
    with pytest.raises(CheckpointError, match="does not match task pendulum: the model maps 1 inputs"):
        resolve_source(checkpoint=unnamed, task="pendulum")
    (tmp_path / "file").write_text("")
    with pytest.raises(ExportError, match="cannot write the output directory"):
        export_model(resolve_source(run=cfc_run), ExportConfig(formats=("onnx",)), tmp_path / "file" / "out")
    assert not (tmp_path / "x").exists() and not (tmp_path / "file").is_dir()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--model", "transformer"], "unknown model 'transformer'"),
        (["--formats", "onnx,coreml"], "unknown format 'coreml'"),
        (["--ode-unfolds", "0"], "--ode-unfolds=0 is not valid"),
        (["--checkpoint", "missing.safetensors", "--task", "sine"], "does not exist"),
    ],
)
def test_cli_errors_are_one_line(args, message, cfc_run, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["export", "--run", str(cfc_run), *args] if "--model" not in args
                                and "--checkpoint" not in args else ["export", *args])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and message in lines[0], result.output
    assert not (tmp_path / "artifacts").exists()
