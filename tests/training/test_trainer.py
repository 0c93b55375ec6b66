"""Training: loss goes down for every model, seeds reproduce, resume, interruption, fine-tuning, errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from numeric import RTOL_OP, assert_close
from safetensors.torch import load_file

from edgelnn.models import from_ncps, load_checkpoint, save_checkpoint
from edgelnn.training import TrainConfig, evaluate_run, train
from edgelnn.training import trainer as trainer_module
from edgelnn.training.evaluate import evaluate_model
from edgelnn.training.objectives import last_valid
from edgelnn.training.trainer import build_for_task, load_task_for

TINY_SINE = {"n_train": 48, "n_val": 16, "n_test": 16, "seq_len": 12}


def tiny(model: str = "cfc", **kw) -> TrainConfig:
    options = {"ode_unfolds": 2} if model in ("ltc", "lrc") else {}
    base = {"model": model, "task": "sine", "hidden_size": 8, "epochs": 3, "batch_size": 16, "lr": 1e-2,
            "patience": 0, "model_options": options, "task_options": dict(TINY_SINE)}
    base.update(kw)
    return TrainConfig(**base)


# LRC learns this task far more slowly than the others (after 4 epochs it still predicts ~0); 30 epochs
# (~4 s) bring it clearly below the trivial predictor too.
EPOCHS_TO_LEARN = {"cfc": 4, "ltc": 4, "lrc": 30, "lstm": 4, "gru": 4}


@pytest.mark.parametrize("model", ["cfc", "ltc", "lrc", "lstm", "gru"])
def test_tiny_training_learns_and_reports_the_best_checkpoint(model, tmp_path):
    cfg = tiny(model, epochs=EPOCHS_TO_LEARN[model], lr=3e-2)
    result = train(cfg, tmp_path / "run", progress=False)
    losses = [h["train_loss"] for h in result.history]
    assert losses[-1] < losses[0]
    task = load_task_for(cfg)
    torch.manual_seed(cfg.seed)  # the trainer's own initialisation, untrained
    untrained = evaluate_model(build_for_task(cfg, task), task, ["test"])["test"]
    test_y = task.splits["test"].y.astype(np.float64)
    zero = float((test_y**2).mean())  # MSE of the trivial predictor (always 0; the targets are zero-mean sines)
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    trained = metrics["splits"]["test"]
    # measured: trained/min(untrained, zero) is 0.55-0.8 for these five; an untrained or broken run is ~1
    assert trained < 0.9 * min(untrained, zero), (model, trained, untrained, zero)
    # metrics.json holds the metrics of best.safetensors: a fresh evaluation of the file agrees
    reloaded = load_checkpoint(tmp_path / "run" / "best.safetensors")
    assert reloaded.config.kind == model
    fresh = evaluate_model(reloaded, task)
    assert set(metrics["splits"]) == set(fresh) == {"val", "test", *task.ood_splits()}
    for split, value in fresh.items():
        # the same evaluation code on the same weights and data: equal up to one op's float reordering
        assert_close(metrics["splits"][split], value, rtol=RTOL_OP, what=f"{model} {split} metrics.json vs fresh")


def test_same_seed_reproduces_metrics(tmp_path):
    a = train(tiny(seed=3), tmp_path / "a", progress=False)
    b = train(tiny(seed=3), tmp_path / "b", progress=False)
    c = train(tiny(seed=4), tmp_path / "c", progress=False)
    assert a.metrics == b.metrics
    assert a.metrics != c.metrics


@pytest.mark.parametrize("optimizer,lr_decay", [("adam", 1.0), ("rmsprop", 0.5)])
def test_resume_continues_exactly(tmp_path, optimizer, lr_decay):
    settings = {"optimizer": optimizer, "lr_decay": lr_decay}
    straight = train(tiny(epochs=4, **settings), tmp_path / "straight", progress=False)
    train(tiny(epochs=2, **settings), tmp_path / "resumed", progress=False)
    resumed = train(tiny(epochs=4, **settings), tmp_path / "resumed", resume=True, progress=False)
    assert [h["epoch"] for h in resumed.history] == [0, 1, 2, 3]
    # the schedule is a function of the epoch: the resumed epochs continue it
    assert [h["lr"] for h in resumed.history] == [1e-2 * lr_decay**e for e in range(4)]
    a = load_file(tmp_path / "straight" / "last.safetensors")
    b = load_file(tmp_path / "resumed" / "last.safetensors")
    # exact by construction: the same ops in the same order on the same machine, from the restored weights,
    # optimizer state and RNG; any difference means the resume lost or changed some state
    assert a.keys() == b.keys() and all(torch.equal(a[key], b[key]) for key in a)
    assert straight.metrics == resumed.metrics


def test_interrupted_run_keeps_last_good_checkpoint(tmp_path, monkeypatch):
    calls = {"n": 0}
    real = trainer_module.evaluate_split

    def interrupt_in_second_epoch(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(trainer_module, "evaluate_split", interrupt_in_second_epoch)
    with pytest.raises(KeyboardInterrupt):
        train(tiny(epochs=5), tmp_path / "run", progress=False)
    run = tmp_path / "run"
    assert load_checkpoint(run / "best.safetensors").config.kind == "cfc"
    assert load_checkpoint(run / "last.safetensors").config.kind == "cfc"
    assert not [p for p in run.iterdir() if p.name.startswith((".tmp", "tmp"))]
    assert not (run / "metrics.json").exists()


def test_existing_run_is_not_overwritten(tmp_path):
    train(tiny(epochs=1), tmp_path / "run", progress=False)
    with pytest.raises(FileExistsError, match="already holds a run"):
        train(tiny(epochs=1), tmp_path / "run", progress=False)


def test_optimizer_and_lr_decay_reach_the_trainer(tmp_path):
    def weights(name, **kw):
        train(tiny(**kw), tmp_path / name, progress=False)
        return load_file(tmp_path / name / "last.safetensors")

    def moved(a, b):
        return max(float((a[key] - b[key]).abs().max()) for key in a)

    one = weights("one", epochs=1)
    two = weights("two", epochs=2)
    assert moved(weights("rmsprop", epochs=1, optimizer="rmsprop"), one) > 1e-4  # another optimizer, other weights
    # Adam moves a weight by about lr per step: the second epoch at lr 1e-2 moves them by far more than 1e-4,
    # at lr 1e-2 * 1e-6 (3 steps) by at most a few 1e-8
    assert moved(two, one) > 1e-4
    assert moved(weights("decayed", epochs=2, lr_decay=1e-6), one) < 1e-6


@pytest.mark.parametrize("settings,match", [({"optimizer": "sgd"}, "optimizer='sgd' is not valid"),
                                            ({"lr_decay": 0.0}, "lr_decay=0.0 is not valid"),
                                            ({"lr_decay": 1.5}, "lr_decay=1.5 is not valid")])
def test_bad_optimizer_settings_are_refused(settings, match):
    with pytest.raises(ValueError, match=match):
        tiny(**settings)


def test_bad_settings_write_nothing(tmp_path):
    with pytest.raises(ValueError, match="unknown task 'nope'"):
        train(tiny(task="nope"), tmp_path / "run", progress=False)
    with pytest.raises(ValueError, match="mode"):
        train(tiny(model_options={"mode": "fast"}), tmp_path / "run", progress=False)
    assert not (tmp_path / "run").exists()


def test_fine_tunes_a_model_imported_from_ncps(tmp_path):
    ncps_torch = pytest.importorskip("ncps.torch")
    torch.manual_seed(0)
    imported = from_ncps(ncps_torch.CfC(1, 8, proj_size=1))
    ckpt = save_checkpoint(imported, tmp_path / "imported.safetensors")
    result = train(tiny(epochs=3), tmp_path / "run", init_from=ckpt, progress=False)
    losses = [h["train_loss"] for h in result.history]
    assert losses[-1] < losses[0]
    cfg = json.loads((tmp_path / "run" / "config.json").read_text())
    assert cfg["init_from"] == str(ckpt)
    assert cfg["model"]["hidden_size"] == 8 and cfg["model"]["proj_size"] == 1


def test_evaluate_run_per_split(tmp_path):
    train(tiny(epochs=1), tmp_path / "run", progress=False)
    everything = evaluate_run(tmp_path / "run", "all")
    assert set(everything["splits"]) == {"val", "test", *load_task_for(tiny()).ood_splits()}
    one = evaluate_run(tmp_path / "run", "ood-noise")
    assert one["splits"] == {"ood-noise": everything["splits"]["ood-noise"]}
    with pytest.raises(ValueError, match="split 'ood-nope' does not exist"):
        evaluate_run(tmp_path / "run", "ood-nope")


def test_last_valid_picks_each_rows_last_real_step():
    y = torch.arange(2 * 4 * 1, dtype=torch.float32).reshape(2, 4, 1)
    mask = torch.tensor([[True, True, False, False], [True, True, True, True]])
    assert last_valid(y, mask).flatten().tolist() == [1.0, 7.0]
