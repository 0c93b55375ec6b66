"""`edgelnn train --resume` continues a run with the run's own settings (config.json), not the CLI's
defaults: resuming an LTC run without `--model ltc` used to fail with a checkpoint mismatch."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

TINY = ["--task", "sine", "--task-option", "n_train=32", "--task-option", "n_val=8", "--task-option", "n_test=8",
        "--task-option", "seq_len=8", "--hidden", "8", "--quiet", "--patience", "0"]


def _edgelnn(args, tmp_path):
    env = {**os.environ, "EDGELNN_CACHE": str(tmp_path / "cache")}
    return subprocess.run([sys.executable, "-m", "edgelnn", *args], capture_output=True, text=True, env=env,
                          timeout=600, check=False)


@pytest.fixture(scope="module")
def ltc_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("resume")
    run = tmp / "run"
    proc = _edgelnn(["train", "--model", "ltc", "--epochs", "1", "--ode-unfolds", "2", *TINY, "--out", str(run)],
                    tmp)
    assert proc.returncode == 0, proc.stderr
    return tmp, run


def test_resume_uses_the_runs_settings(ltc_run):
    tmp, run = ltc_run
    proc = _edgelnn(["train", "--resume", "--out", str(run), "--epochs", "2", "--quiet"], tmp)
    assert proc.returncode == 0, proc.stderr
    history = json.loads((run / "history.json").read_text())
    assert [h["epoch"] for h in history] == [0, 1]
    config = json.loads((run / "config.json").read_text())
    assert config["train"]["model"] == "ltc" and config["model"]["ode_unfolds"] == 2


@pytest.mark.parametrize("args, named", [(["--model", "cfc"], "model"), (["--hidden", "16"], "hidden_size"),
                                         (["--lr", "0.1"], "lr"), (["--ode-unfolds", "3"], "model_options")])
def test_resume_with_other_settings_is_refused(ltc_run, args, named):
    tmp, run = ltc_run
    proc = _edgelnn(["train", "--resume", "--out", str(run), "--epochs", "3", *args], tmp)
    assert proc.returncode == 2, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: --resume:") and named in lines[0], proc.stderr
