"""Trivial predictors, normalised errors (the walker2d trap) and "did not train"."""

from __future__ import annotations

import numpy as np
import pytest

from edgelnn.study.baselines import (
    beats_trivial,
    chance_p_value,
    normalised_error,
    split_sizes,
    trivial_metrics,
)
from edgelnn.study.cell import BASELINES_VERSION, apply_baselines, summarise
from edgelnn.tasks import Split, Task


def _classification_task() -> Task:
    def split(labels):
        n = len(labels)
        return Split(x=np.ones((n, 3, 1), np.float32), t=np.ones((n, 3), np.float32),
                     y=np.asarray(labels, np.int64), mask=np.ones((n, 3), bool))

    splits = {"train": split([2, 2, 2, 0, 1]), "val": split([2, 0]), "test": split([2, 2, 0, 1]),
              "ood-noise": split([0, 0, 0, 2])}
    return Task("toy", "classification", "accuracy", 1, 3, splits, {"ood-noise": "noise"}, "toy")


def _regression_split(scale: float, n: int = 64, steps: int = 8, seed: int = 0) -> Split:
    """x: a random walk; y: the next value, both times ``scale`` (OOD: same dynamics, smaller motion)."""
    rng = np.random.default_rng(seed)
    walk = np.cumsum(rng.standard_normal((n, steps + 1)), axis=1) * scale
    x, y = walk[:, :-1, None].astype(np.float32), walk[:, 1:, None].astype(np.float32)
    return Split(x=x, t=np.ones((n, steps), np.float32), y=y, mask=np.ones((n, steps), bool))


def _regression_task() -> Task:
    splits = {"train": _regression_split(1.0, seed=1), "val": _regression_split(1.0, seed=2),
              "test": _regression_split(1.0, seed=3), "ood-physics": _regression_split(0.5, seed=3)}
    return Task("walk", "regression", "mse", 1, 1, splits, {"ood-physics": "moves less"}, "walk")


def test_majority_class_from_the_training_labels_and_the_best_constant_on_each_split():
    trivial = trivial_metrics(_classification_task())
    assert trivial["test"] == {"majority": 0.5, "best_constant": 0.5}
    assert trivial["ood-noise"] == {"majority": 0.25, "best_constant": 0.75}  # class 0, not the training majority
    assert split_sizes(_classification_task()) == {"train": 5, "val": 2, "test": 4, "ood-noise": 4}


def test_mean_and_persistence_on_each_split():
    task = _regression_task()
    trivial = trivial_metrics(task)
    test = task.splits["test"]
    mean = task.splits["train"].y.mean()
    assert trivial["test"]["mean"] == pytest.approx(float(((test.y - mean) ** 2).mean()), rel=1e-6)
    assert trivial["test"]["persistence"] == pytest.approx(1.0, rel=0.2)  # unit-variance increments
    assert trivial["ood-physics"]["persistence"] == pytest.approx(trivial["test"]["persistence"] / 4, rel=1e-5)


def test_normalised_degradation_does_not_call_a_smaller_target_easier():
    """The OOD split's targets move half as much: a model with the same relative skill has 4x lower raw MSE
    there, a raw ratio of 0.25, but a normalised degradation of 1."""
    trivial = trivial_metrics(_regression_task())
    test_mse = 0.5 * trivial["test"]["persistence"]
    ood_mse = 0.5 * trivial["ood-physics"]["persistence"]
    assert ood_mse / test_mse == pytest.approx(0.25, rel=1e-5)
    degradation = normalised_error("mse", ood_mse, trivial["ood-physics"]) / normalised_error("mse", test_mse,
                                                                                                trivial["test"])
    assert degradation == pytest.approx(1.0, rel=1e-5)


def test_accuracy_normalisation_and_beating_the_baseline():
    trivial = {"majority": 0.5}
    assert normalised_error("accuracy", 0.5, trivial) == pytest.approx(1.0)
    assert normalised_error("accuracy", 0.75, trivial) == pytest.approx(0.5)
    assert not beats_trivial("accuracy", 0.5, trivial, 10**6) and beats_trivial("accuracy", 0.51, trivial, 10**6)
    assert not beats_trivial("mse", 1.0, {"mean": 1.0, "persistence": 2.0}, 10)
    assert beats_trivial("mse", 0.9, {"mean": 1.0}, 10)


@pytest.mark.parametrize(("accuracy", "sequences", "beats"), [
    (0.5035, 2000, False),  # the xor cells of an LRC at chance: 3 more right of 2,000 than "always 1"
    (0.55, 2000, True), (0.75, 4, False),  # 3 of 4 is luck at p=0.5 (p = 5/16)
    (0.35, 40, False), (0.5, 40, True)])  # 4 classes, best constant 0.25: 14/40 is chance, 20/40 is not
def test_an_accuracy_beats_the_trivial_predictor_only_beyond_chance(accuracy, sequences, beats):
    best = 0.502 if sequences == 2000 else (0.5 if sequences == 4 else 0.25)
    assert beats_trivial("accuracy", accuracy, {"best_constant": best}, sequences) is beats


def test_chance_p_value_is_the_exact_binomial_tail():
    assert chance_p_value(0.75, 0.5, 4) == pytest.approx(5 / 16)
    assert chance_p_value(1.0, 0.5, 10) == pytest.approx(0.5**10)
    assert chance_p_value(0.0, 0.5, 10) == 1.0 and chance_p_value(0.6, 1.0, 10) == 1.0


# Sequences per split for summarise: enough that the toy accuracies above chance are beyond it.
SIZES = {"train": 1000, "val": 400, "test": 400, "ood-noise": 400, "ood-long": 400}


def _manifest(reference_test: float, int8_test: float, metric: str = "accuracy") -> dict:
    return {"task": {"metric": metric}, "reference_metrics": {"test": reference_test},
            "signature": {"inputs": [{"name": "x", "shape": ["batch", 1]}, {"name": "state", "shape": ["batch", 4]},
                                     {"name": "dt", "shape": ["batch", 1]}]},
            "artifacts": [{"name": "onnx-int8-static", "precision": "int8-static", "metrics": {"test": int8_test},
                           "metric_drop": {"test": reference_test - int8_test}}]}


def _bench() -> dict:
    return {"results": [{"backend": "onnxruntime", "status": "ok", "latency_us": {"step": {"p50": 12.0}}},
                        {"backend": "litert", "status": "ok", "latency_us": {"step": {"p50": 7.0}}}]}


@pytest.mark.parametrize(("test_accuracy", "did_not_train"), [(0.5, True), (0.25, True), (0.75, False)])
def test_a_cell_that_does_not_beat_the_majority_class_did_not_train(test_accuracy, did_not_train):
    trivial = trivial_metrics(_classification_task())
    metrics = {"metric": "accuracy", "parameters": 40, "best_epoch": 0, "epochs_run": 2,
               "splits": {"val": 0.5, "test": test_accuracy, "ood-noise": 0.25}}
    history = [{"seconds": 1.0}, {"seconds": 3.0}]
    record = summarise(metrics, history, _manifest(test_accuracy, test_accuracy), _bench(), None, trivial, SIZES)
    assert record["did_not_train"] is did_not_train
    assert record["train_seconds_per_epoch"] == 2.0 and record["epochs_to_best"] == 1
    assert record["latency"]["backend"] == "litert" and record["latency"]["step_p50_us"] == 7.0
    assert record["state_size"] == 4 and record["device"]["instructions_per_step"] is None
    assert record["device"]["reason"]  # null with a reason, never a made-up number


def test_a_constant_predictor_never_counts_as_trained():
    """A balanced binary test split where the training majority is the class that is *less* frequent there:
    a model that always answers the other class beats the majority-class predictor, yet learned nothing."""
    def split(labels):
        n = len(labels)
        return Split(x=np.ones((n, 3, 1), np.float32), t=np.ones((n, 3), np.float32),
                     y=np.asarray(labels, np.int64), mask=np.ones((n, 3), bool))

    splits = {"train": split([0, 0, 0, 1, 1]), "val": split([0, 1]), "test": split([1, 1, 1, 0, 0, 0, 0, 1, 1, 1]),
              "ood-long": split([0, 1])}
    trivial = trivial_metrics(Task("bits", "classification", "accuracy", 1, 2, splits, {"ood-long": "longer"}, "bits"))
    constant_one = 0.6  # accuracy of "always 1" on test
    assert trivial["test"] == {"majority": 0.4, "best_constant": constant_one}
    metrics = {"metric": "accuracy", "parameters": 40, "best_epoch": 0, "epochs_run": 1,
               "splits": {"val": 0.5, "test": constant_one, "ood-long": 0.5}}
    record = summarise(metrics, [{"seconds": 1.0}], _manifest(constant_one, constant_one), _bench(), None, trivial, SIZES)
    assert record["did_not_train"] is True and record["id"]["normalised_error"] == pytest.approx(1.0)
    metrics["splits"]["test"] = 0.7
    assert summarise(metrics, [{"seconds": 1.0}], _manifest(0.7, 0.7), _bench(), None, trivial, SIZES)["did_not_train"] is False


def test_an_older_record_is_recomputed_exactly_as_a_new_one_is_summarised():
    task = _classification_task()
    trivial = trivial_metrics(task)
    old_trivial = {name: {"majority": t["majority"]} for name, t in trivial.items()}  # baselines 1
    metrics = {"metric": "accuracy", "parameters": 40, "best_epoch": 0, "epochs_run": 2,
               "splits": {"val": 0.5, "test": 0.75, "ood-noise": 0.5}}
    old = summarise(metrics, [{"seconds": 1.0}], _manifest(0.75, 0.5), _bench(), None, old_trivial, SIZES)
    del old["baselines"], old["int8"]["reference"]
    assert old["splits"]["ood-noise"]["beats_trivial"] is True  # 0.5 > 0.25 majority: but 0.75 of it is class 0
    new = summarise(metrics, [{"seconds": 1.0}], _manifest(0.75, 0.5), _bench(), None, trivial, SIZES)
    assert apply_baselines(old, trivial, SIZES) == new and new["baselines"] == BASELINES_VERSION
    assert new["splits"]["ood-noise"]["beats_trivial"] is False
    assert new["ood"]["ood-noise"]["degradation"] == pytest.approx((0.5 / 0.25) / (0.25 / 0.5))
    assert new["int8"]["normalised_error_increase"] == pytest.approx((0.5 - 0.25) / 0.5)


def test_a_microcontroller_bench_gives_the_tflm_ram_bound():
    trivial = trivial_metrics(_classification_task())
    metrics = {"metric": "accuracy", "parameters": 40, "best_epoch": 0, "epochs_run": 1,
               "splits": {"val": 0.5, "test": 0.75, "ood-noise": 0.5}}
    checks = [{"resource": "flash", "bytes": 5000}, {"resource": "ram", "bytes": 3000}]
    mcu = {"target": {"name": "stm32f4"}, "results": [{"status": "ok", "verdict": {"checks": checks}}]}
    device = summarise(metrics, [{"seconds": 1.0}], _manifest(0.75, 0.75), _bench(), mcu, trivial, SIZES)["device"]
    assert (device["tflm_target"], device["tflm_ram_upper_bytes"], device["tflm_flash_bytes"]) == ("stm32f4", 3000, 5000)
    assert device["tflm_reason"] is None
    failed = {"target": {"name": "stm32f4"}, "results": [{"status": "failed", "error": "arena too small"}]}
    device = summarise(metrics, [{"seconds": 1.0}], _manifest(0.75, 0.75), _bench(), failed, trivial, SIZES)["device"]
    assert device["tflm_ram_upper_bytes"] is None and device["tflm_reason"] == "arena too small"
