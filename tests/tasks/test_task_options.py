"""Task loader options are checked by name, type and range before a loader runs: one TaskOptionError that
names the option (it was a TypeError or numpy's "negative dimensions are not allowed")."""

from __future__ import annotations

import numpy as np
import pytest

from edgelnn.errors import TaskOptionError
from edgelnn.tasks import load_npz_task, load_task
from edgelnn.tasks.registry import check_task_options


@pytest.mark.parametrize(
    ("task", "options", "names"),
    [
        ("sine", {"n_train": "abc"}, ["n_train='abc'", "integer >= 1"]),
        ("sine", {"n_train": -5}, ["n_train=-5", "integer >= 1"]),
        ("sine", {"n_val": 0}, ["n_val=0"]),
        ("sine", {"n_test": 8.0}, ["n_test=8.0", "integer"]),
        ("sine", {"seq_len": True}, ["seq_len=True"]),
        ("sine", {"drop_rate": 1.5}, ["drop_rate=1.5", "[0, 1]"]),
        ("sine", {"grid_dt": 0}, ["grid_dt=0", "> 0"]),
        ("sine", {"noise_std": float("nan")}, ["noise_std=nan"]),
        ("sine", {"amp_range": [2.0, 1.0]}, ["amp_range=[2.0, 1.0]", "low <= high"]),
        ("sine", {"omega_range": 3}, ["omega_range=3", "pair"]),
        ("xor", {"n_ood": -1}, ["n_ood=-1"]),
        ("xor", {"ood_stay_prob": -0.1}, ["ood_stay_prob=-0.1"]),
        ("pendulum", {"drop_range": [0.1, 1.2]}, ["drop_range=[0.1, 1.2]", "[0, 1]"]),
        ("pendulum", {"n_train": "many"}, ["n_train='many'"]),
        ("sine", {"n_trian": 5}, ["unknown option(s) ['n_trian']", "valid options: n_train"]),
    ],
)
def test_bad_task_option_names_the_option(task, options, names):
    with pytest.raises(TaskOptionError) as info:
        load_task(task, **options)
    for name in names:
        assert name in str(info.value)
    assert isinstance(info.value, ValueError)


def test_valid_options_pass_and_keep_the_defaults():
    resolved = check_task_options("pendulum", {"n_val": 4, "drop_range": [0.0, 0.5], "noise_std": 0})
    assert resolved["n_val"] == 4 and resolved["n_train"] == 512 and resolved["drop_range"] == [0.0, 0.5]
    task = load_task("sine", n_train=4, n_val=3, n_test=3, seq_len=5, grid_dt=0.2, drop_rate=0.0)
    assert len(task.splits["train"]) == 4


@pytest.fixture
def npz_file(tmp_path):
    path = tmp_path / "user.npz"
    np.savez(path, x=np.zeros((10, 4, 2), np.float32), y=np.array([0, 1] * 5))
    return path


@pytest.mark.parametrize(
    ("options", "names"),
    [
        ({"val_fraction": 2}, ["val_fraction=2", "[0, 1]"]),
        ({"standardize": "yes"}, ["standardize='yes'", "true or false"]),
        ({"name": 5}, ["name=5", "string"]),
        ({"seq_len": 5}, ["unknown option(s) ['seq_len']"]),
    ],
)
def test_npz_options_are_checked_too(npz_file, options, names):
    with pytest.raises(TaskOptionError) as info:
        check_task_options(str(npz_file), options)  # as load_task and `train --data` check them
    for name in names:
        assert name in str(info.value)


def test_npz_loader_called_directly_checks_values(npz_file):
    with pytest.raises(TaskOptionError, match="noise_std=-1"):
        load_npz_task(npz_file, noise_std=-1)
