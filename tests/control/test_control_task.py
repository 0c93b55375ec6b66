"""The control-<plant> imitation tasks: expert-labelled irregular episodes, OOD physics splits, DAgger data."""

from __future__ import annotations

import numpy as np
import pytest

from edgelnn.control.experts import make_expert
from edgelnn.errors import TaskOptionError
from edgelnn.tasks import load_task

SMALL = {"n_train": 3, "n_val": 1, "n_test": 1, "episode_steps": 30}


def test_task_holds_expert_labels_at_irregular_times():
    task = load_task("control-cartpole", **SMALL)
    assert (task.input_size, task.output_size) == (4, 1)
    assert set(task.ood_splits()) == {"ood-physics-mass-x1.5", "ood-physics-mass-x0.7", "ood-physics-friction",
                                      "ood-noise", "ood-drop"}
    train = task.splits["train"]
    expert = make_expert("cartpole")
    row = train.mask[0]
    x, t, y = train.x[0][row], train.t[0][row], train.y[0][row]
    labels = np.stack([expert(o.astype(np.float64), 0.0) for o in x])[:, 0]
    np.testing.assert_allclose(y[:, 0], labels, atol=1e-6 + 1e-6 * np.abs(labels).max())
    assert t.min() > 0 and t.max() > 1.3 * 0.04  # jitter and dropped frames: not one fixed period
    assert len(np.unique(np.round(t, 6))) > 5
    noisy = task.splits["ood-noise"]
    np.testing.assert_array_equal(noisy.y, task.splits["test"].y)
    assert 0.02 < (noisy.x - task.splits["test"].x)[noisy.mask].std() < 0.08  # sigma 0.05


def test_dagger_data_is_added_to_train_and_a_bad_file_is_named(tmp_path):
    base = load_task("control-pendulum", **SMALL)
    extra = tmp_path / "dagger.npz"
    np.savez(extra, x=base.splits["train"].x[:2], t=base.splits["train"].t[:2], y=base.splits["train"].y[:2],
             mask=base.splits["train"].mask[:2])
    more = load_task("control-pendulum", dagger_data=str(extra), **SMALL)
    assert len(more.splits["train"]) == len(base.splits["train"]) + 2
    np.testing.assert_array_equal(more.splits["test"].x, base.splits["test"].x)
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(TaskOptionError, match="not a DAgger data file"):
        load_task("control-pendulum", dagger_data=str(tmp_path / "bad.npz"), **SMALL)
    with pytest.raises(TaskOptionError, match="jitter"):
        load_task("control-pendulum", jitter=1.5, **SMALL)


def test_train_windows_keep_every_sample_once():
    whole = load_task("control-pendulum", **SMALL)
    cut = load_task("control-pendulum", window_steps=8, **SMALL)
    a, b = whole.splits["train"], cut.splits["train"]
    assert b.x.shape[1] == 8 and len(b) > len(a)
    assert b.mask.sum() == a.mask.sum()
    np.testing.assert_array_equal(np.sort(b.y[b.mask], axis=0), np.sort(a.y[a.mask], axis=0))
    np.testing.assert_array_equal(cut.splits["test"].x, whole.splits["test"].x)  # only train is cut


def test_action_noise_widens_the_visited_states_but_not_the_labels():
    quiet = load_task("control-cartpole", action_noise=0.0, **SMALL).splits["train"]
    noisy = load_task("control-cartpole", action_noise=0.5, **SMALL).splits["train"]
    assert np.abs(noisy.x[noisy.mask][:, 1]).max() > 2 * np.abs(quiet.x[quiet.mask][:, 1]).max()  # pole angle
    expert = make_expert("cartpole")
    labels = np.stack([expert(o.astype(np.float64), 0.0) for o in noisy.x[noisy.mask]])
    np.testing.assert_allclose(noisy.y[noisy.mask], labels, atol=1e-6 + 1e-6 * np.abs(labels).max())
