"""One owner for metrics and rollouts (issue 8, item 12): each metric defined once in edgelnn.tasks.metrics,
one numpy rollout for verification, calibration and bench, and load_task_for with the tasks."""

from __future__ import annotations

import importlib
import subprocess
import sys

import numpy as np
import pytest
import torch

from edgelnn.errors import RunNotFoundError
from edgelnn.export.calibration import rollout_states
from edgelnn.export.rollout import rollout, rollout_split, torch_runner
from edgelnn.export.verify import metric_drop
from edgelnn.export.verify import rollout as verify_rollout
from edgelnn.models.registry import build_model, make_config
from edgelnn.tasks import METRICS, Split, load_task, load_task_for, metric_spec
from edgelnn.tasks.metrics import last_valid
from edgelnn.training import objectives


def test_each_metric_is_defined_once_with_direction_drop_and_worst():
    acc, mse = METRICS["accuracy"], METRICS["mse"]
    assert (acc.higher_is_better, mse.higher_is_better) == (True, False)
    assert acc.drop(0.9, 0.85) == pytest.approx(0.05) and acc.drop(0.5, 0.6) == pytest.approx(-0.1)
    assert mse.drop(0.2, 0.3) == pytest.approx(0.5) and mse.drop(0.2, 0.1) == pytest.approx(-0.5)
    assert acc.worst([0.7, 0.4, 0.9]) == 0.4 and mse.worst([0.7, 0.4, 0.9]) == 0.9
    for spec, (reference, value) in ((acc, (0.9, 0.85)), (mse, (0.2, 0.3)), (mse, (0.2, 0.1))):
        assert spec.reference(value, spec.drop(reference, value)) == pytest.approx(reference, rel=1e-12)
    assert metric_spec("classification") is acc and metric_spec("regression") is mse
    with pytest.raises(ValueError, match="unknown metric"):
        metric_spec("f1")


def test_training_and_export_read_the_registry():
    assert objectives.HIGHER_IS_BETTER == {name: spec.higher_is_better for name, spec in METRICS.items()}
    assert objectives.last_valid is last_valid  # one last_valid, for torch tensors and numpy arrays alike
    for name, spec in METRICS.items():
        assert metric_drop(name, 0.8, 0.6) == spec.drop(0.8, 0.6)


def test_last_valid_keeps_torch_in_the_graph_and_numpy_in_numpy():
    y = torch.arange(12.0).reshape(2, 3, 2).requires_grad_()
    mask = torch.tensor([[True, True, False], [True, True, True]])
    got = last_valid(y, mask)
    assert got.tolist() == [[2.0, 3.0], [10.0, 11.0]] and got.requires_grad
    assert last_valid(y.detach().numpy(), mask.numpy()).tolist() == got.tolist()


def _split(n: int = 5, steps: int = 7, features: int = 2) -> Split:
    rng = np.random.default_rng(0)
    lengths = np.array([7, 3, 5, 1, 7])[:n]
    mask = np.arange(steps)[None] < lengths[:, None]
    x = (rng.standard_normal((n, steps, features)) * mask[..., None]).astype(np.float32)
    t = np.where(mask, rng.uniform(0.1, 1.0, (n, steps)), 1.0).astype(np.float32)
    return Split(x=x, t=t, y=np.zeros(n, np.int64), mask=mask)


def _model():
    return build_model(make_config("cfc", 2, 8, proj_size=3, backbone_units=8)).eval()


def test_one_rollout_serves_verify_and_calibration():
    model, split = _model(), _split()
    shared = rollout_split(torch_runner(model), split, model.state_size, keep_states=True)
    np.testing.assert_array_equal(verify_rollout(torch_runner(model), split, model.state_size).outputs,
                                  shared.outputs)
    np.testing.assert_array_equal(rollout_states(model, split), shared.states)
    # the state is held past each sequence's end: a short row's final state is its state after its last step
    with torch.no_grad():
        state = model.init_state(1)
        for k in range(3):
            _, state = model.step(torch.from_numpy(split.x[1:2, k]), state, torch.from_numpy(split.t[1:2, k : k + 1]))
    bound = 1e-6 + 1e-5 * float(np.abs(state.numpy()).max())
    assert np.abs(shared.final_state[1] - state.numpy()[0]).max() <= bound


def test_rollout_imports_no_torch():
    code = "import sys, edgelnn.export.rollout; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_rollout_holds_the_state_where_the_mask_is_false():
    calls = []

    def count(x, state, dt):  # state + 1 at every step; output = the new state's first column
        calls.append(len(x))
        return state[:, :1] + 1, state + 1

    split = _split(steps=8)  # the longest row has 7 real steps: step 8 is padding everywhere
    got = rollout(count, split.x, split.t, split.mask, state_size=2)
    np.testing.assert_array_equal(got.final_state[:, 0], split.lengths)
    assert len(calls) == 7 and not got.outputs[:, 7].any()  # an all-padding step is not run


def test_load_task_for_lives_with_the_tasks(tmp_path):
    options = {"n_train": 48, "n_val": 16, "n_test": 16, "seq_len": 12}
    task = load_task_for({"task": "sine", "task_options": options, "data_path": None})
    assert task.name == "sine" and len(task.splits["train"]) == 48
    assert len(task.splits["train"]) == len(load_task("sine", **options).splits["train"])
    with pytest.raises(ValueError, match="names no task"):
        load_task_for({"task_options": {}})
    code = ("import sys, edgelnn.targets.bench_tasks; "  # the bench finds a run's task without the trainer
            "print(sorted(m for m in sys.modules if m.startswith('edgelnn.training')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_resolve_source_raises_when_no_run_exists(tmp_path):
    from edgelnn.export import resolve_source

    with pytest.raises(RunNotFoundError, match="no complete run of gru found"):
        resolve_source(model="gru", runs_dir=tmp_path / "runs")
    assert not (tmp_path / "runs").exists()


def test_export_command_trains_first_when_no_run_exists(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from edgelnn.cli import main

    export_command = importlib.import_module("edgelnn.commands.export")  # the module, not the click command
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(export_command, "DEFAULT_TASK", "sine")
    monkeypatch.setattr(export_command, "DEFAULT_TASK_OPTIONS", {"n_train": 32, "n_val": 8, "n_test": 8,
                                                                 "seq_len": 8})
    monkeypatch.setattr(export_command, "DEFAULT_TRAINING", {"hidden_size": 8, "epochs": 1, "batch_size": 16})
    result = CliRunner().invoke(main, ["export", "--model", "gru", "--formats", "onnx", "--quiet"])
    assert result.exit_code == 0, result.output
    assert "no run of gru found: trained one on sine into runs/gru-sine-s0" in result.output
    again = CliRunner().invoke(main, ["export", "--model", "gru", "--formats", "onnx", "--force"])
    assert again.exit_code == 0, again.output
    assert "no run of gru found" not in again.output


def test_error_best_and_better_follow_the_direction():
    acc, mse = metric_spec("accuracy"), metric_spec("mse")
    assert acc.error(0.9) == pytest.approx(0.1) and mse.error(0.25) == 0.25
    assert acc.best([0.5, 0.9, 0.7]) == 0.9 and mse.best([0.5, 0.1, 0.7]) == 0.1
    assert acc.better(0.8, 0.7) and not acc.better(0.7, 0.7) and not acc.better(0.6, 0.7)
    assert mse.better(0.1, 0.2) and not mse.better(0.2, 0.2) and not mse.better(0.3, 0.2)
