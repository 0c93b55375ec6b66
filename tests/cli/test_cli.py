"""The CLI: thin commands over the library, one-line errors with non-zero exit codes."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from edgelnn.cli import main
from edgelnn.demo import training_demo, zoo_demo
from edgelnn.models.catalog import VARIANTS

TINY = ["--task", "sine", "--hidden", "8", "--epochs", "1", "--batch-size", "16", "--quiet",
        "--task-option", "n_train=32", "--task-option", "n_val=8", "--task-option", "n_test=8",
        "--task-option", "seq_len=8"]


def invoke(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_models_lists_every_architecture_with_sizes():
    result = invoke("models", "--input-size", "3", "--hidden", "16", "--json")
    assert result.exit_code == 0
    data = json.loads(result.output)
    kinds = {row["kind"] for row in data["models"]}
    assert kinds == {"cfc", "ltc", "lrc", "lstm", "gru"}
    lstm = next(r for r in data["models"] if r["model"] == "lstm")
    assert lstm["parameters"] == 4 * (16 * (3 + 16) + 2 * 16) and lstm["state_size"] == 32
    assert "solver" in {o["name"] for o in data["options"]["ltc"]}
    table = invoke("models", "--options")
    assert table.exit_code == 0 and "cfc AutoNCP" in table.output and "rk4" in table.output


def test_tasks_lists_the_registry():
    result = invoke("tasks")
    assert result.exit_code == 0
    for name in ("basicmotions", "walker2d", "xor", "sine"):
        assert name in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "--model", "foo"], "error: unknown model 'foo'; valid models: cfc, ltc, lrc, lstm, gru"),
        (["train", "--task", "nope"], "error: unknown task 'nope'; valid tasks:"),
        (["train", "--model-option", "mode=fast", *TINY], "error: mode='fast' is not valid; allowed values:"),
        (["train", "--data", "missing.npz"], "error:"),
        (["eval", "."], "is not a training run"),
    ],
)
def test_bad_input_gives_one_line_and_exit_2(args, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and message in lines[0]
    assert not (tmp_path / "runs").exists()


def test_train_then_eval_then_refuse_overwrite(tmp_path):
    out = str(tmp_path / "run")
    trained = invoke("train", *TINY, "--out", out)
    assert trained.exit_code == 0 and "best epoch 0" in trained.output
    evaluated = invoke("eval", out, "--split", "ood-frequency", "--json")
    data = json.loads(evaluated.output)
    assert data["metric"] == "mse" and set(data["splits"]) == {"ood-frequency"}
    again = CliRunner().invoke(main, ["train", *TINY, "--out", out])
    assert again.exit_code == 2 and "already holds a run" in again.output


def test_resume_needs_out():
    result = CliRunner().invoke(main, ["train", "--resume", *TINY])
    assert result.exit_code == 2 and "--resume needs --out" in result.output


def test_zoo_demo_rows_are_finite():
    rows = zoo_demo(input_size=3, hidden_size=8, steps=5)
    assert len(rows) == len(VARIANTS) and all(r["finite"] for r in rows)


def test_training_demo_replaces_runs_atomically(tmp_path):
    rows = training_demo(tmp_path, models=("gru",), task="sine", progress=False, epochs=1, hidden_size=8,
                         task_options={"n_train": 32, "n_val": 8, "n_test": 8, "seq_len": 8})
    assert rows[0]["model"] == "gru" and {"test", "ood-noise"} <= set(rows[0])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gru"]
    assert (tmp_path / "gru" / "metrics.json").is_file()
