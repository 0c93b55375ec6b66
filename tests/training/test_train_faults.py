"""Training faults with real processes: two trainings into one --out, and a run whose config.json no longer
describes its checkpoints (eval and export refuse it instead of reporting numbers of the wrong model)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from edgelnn.cli import main
from edgelnn.errors import CheckpointMismatchError
from edgelnn.export import resolve_source
from edgelnn.models.checkpoint import read_checkpoint
from edgelnn.models.registry import make_config
from edgelnn.training import TrainConfig, evaluate_run, train
from edgelnn.utils.locking import exclusive_lock, lock_path_beside

TINY = ["--task", "sine", "--task-option", "n_train=32", "--task-option", "n_val=8",
        "--task-option", "n_test=8", "--epochs", "1", "--quiet", "--device", "cpu"]


def _train_cmd(out: Path, model: str = "cfc", hidden: int = 8) -> list[str]:
    return [sys.executable, "-m", "edgelnn", "train", "--model", model, "--hidden", str(hidden), *TINY,
            "--out", str(out)]


def _env(tmp: Path) -> dict[str, str]:
    return {**os.environ, "EDGELNN_CACHE": str(tmp / "cache"), "OMP_NUM_THREADS": "1"}


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def test_training_into_a_locked_run_directory_is_refused(tmp_path):
    run = tmp_path / "run"
    with exclusive_lock(lock_path_beside(run)):  # as a running training holds it
        proc = subprocess.run(_train_cmd(run), cwd=tmp_path, env=_env(tmp_path), capture_output=True,
                              text=True, timeout=300, check=False)
    assert proc.returncode == 2, proc.stderr
    assert _lines(proc.stderr) == [f"error: run directory {run} is in use by process {os.getpid()}"]
    assert not run.exists()


def test_two_concurrent_trainings_into_one_run_directory(tmp_path):
    run = tmp_path / "run"
    procs = [subprocess.Popen(_train_cmd(run, model, hidden), cwd=tmp_path, env=_env(tmp_path),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for model, hidden in [("gru", 8), ("cfc", 16)]]
    results = [(p.pid, *p.communicate(timeout=300), p.returncode) for p in procs]
    assert sorted(code for *_, code in results) == [0, 2], results
    (winner, *_), (_, _, err, _) = sorted(results, key=lambda r: r[3])
    lines = _lines(err)
    assert len(lines) == 1, err
    # Refused while the other held the lock, or (if the other had already finished) because RUN holds a run.
    assert (lines[0] == f"error: run directory {run} is in use by process {winner}"
            or "already holds a run" in lines[0]), lines
    config = json.loads((run / "config.json").read_text())
    for name in ("best.safetensors", "last.safetensors"):
        assert read_checkpoint(run / name)[0].to_dict() == config["model"]
    assert evaluate_run(run)["splits"]
    assert not lock_path_beside(run).exists()


@pytest.fixture
def altered_run(tmp_path) -> Path:
    """A finished cfc run whose config.json was then rewritten to describe a GRU of another size."""
    cfg = TrainConfig(model="cfc", task="sine", hidden_size=16, epochs=1, batch_size=16, patience=0,
                      task_options={"n_train": 32, "n_val": 8, "n_test": 8})
    run = train(cfg, tmp_path / "run", progress=False).run_dir
    config = json.loads((run / "config.json").read_text())
    config["model"] = make_config("gru", 1, 8, proj_size=1).to_dict()
    (run / "config.json").write_text(json.dumps(config))
    return run


def test_eval_and_export_refuse_a_checkpoint_config_json_does_not_describe(altered_run, tmp_path,
                                                                           monkeypatch):
    expected = (f"checkpoint {altered_run / 'best.safetensors'} holds a cfc model but "
                f"{altered_run / 'config.json'} describes a gru model (")
    detail = "hidden_size: 16 in the checkpoint, 8 in config.json"
    with pytest.raises(CheckpointMismatchError, match=detail) as err:
        evaluate_run(altered_run)
    assert str(err.value).startswith(expected)
    with pytest.raises(CheckpointMismatchError, match="holds a cfc model but"):
        resolve_source(run=altered_run)
    with pytest.raises(CheckpointMismatchError, match="holds a cfc model but"):
        resolve_source(checkpoint=altered_run / "best.safetensors")
    monkeypatch.chdir(tmp_path)
    for args in (["eval", str(altered_run)],
                 ["export", "--run", str(altered_run), "--formats", "onnx", "--out", "out"],
                 ["export", "--checkpoint", str(altered_run / "last.safetensors"), "--formats", "onnx",
                  "--out", "out"]):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 2, result.output
        lines = _lines(result.output)
        assert len(lines) == 1 and lines[0].startswith("error: checkpoint "), result.output
        assert "holds a cfc model but" in lines[0] and "describes a gru model" in lines[0]
    assert not (tmp_path / "out").exists()
