"""Synthetic cell records with chosen numbers (for verdict and schema tests: no training)."""

from __future__ import annotations

from typing import Any

from edgelnn.study.grid import STUDY_MODELS, family


def fake_cell(model: str, task: str, seed: int, id_error: float, ood_degradation: float, *,
              seconds_per_epoch: float = 1.0, int8_increase: float = 0.0, ram: int | None = None,
              did_not_train: bool = False) -> dict[str, Any]:
    """An ok cell of an MSE task with trivial MSE 1 on every split: normalised error = MSE."""
    kind, options = STUDY_MODELS[model]
    ood_error = id_error * ood_degradation
    split = lambda v: {"metric": v, "trivial": {"mean": 1.0}, "trivial_best": 1.0,
                       "normalised_error": v, "beats_trivial": v < 1.0}
    return {
        "cell_id": f"{model}-{task}-s{seed}", "model": model, "kind": kind, "model_options": options, "task": task,
        "seed": seed, "hidden_size": 8,
        "train": {"epochs": 1, "batch_size": 8, "lr": 0.01, "patience": 0, "task_options": {}, "reproduces": None},
        "family": family(model), "status": "ok", "error": None, "run_dir": "r", "export_dir": "e",
        "timings": {"cell_s": 1.0}, "metric": "mse", "parameters": 100, "state_size": 8, "epochs_run": 1,
        "best_epoch": 0, "epochs_to_best": 1, "train_seconds_per_epoch": seconds_per_epoch,
        "splits": {"test": split(id_error), "ood-noise": split(ood_error)},
        "id": {"metric": id_error, "normalised_error": id_error},
        "ood": {"ood-noise": {"metric": ood_error, "normalised_error": ood_error, "degradation": ood_degradation,
                              "raw_error_ratio": ood_degradation}},
        "ood_degradation_mean": ood_degradation, "did_not_train": did_not_train,
        "int8": {"artifact": "onnx-int8-static", "metric": id_error, "drop": int8_increase,
                 "normalised_error_increase": int8_increase, "drops": {}, "reason": None},
        "latency": {"backend": "onnxruntime", "step_p50_us": 10.0, "by_backend": {"onnxruntime": 10.0}, "reason": None},
        "device": {"core": "cortex-m4f", "instructions_per_step": None, "flash_bytes": None, "ram_bytes": ram,
                   "reason": "pending", "tflm_target": None, "tflm_ram_upper_bytes": None, "tflm_flash_bytes": None,
                   "tflm_reason": "not benched"},
    }


def study(models: list[str], tasks: list[str], seeds: list[int], match_by: str = "params") -> dict[str, Any]:
    return {"preset": None, "models": models, "tasks": tasks, "seeds": seeds, "match": {"by": match_by, "value": 100},
            "train": {}, "pipeline": {}}
