"""The layout of a training run directory, the one thing later stages (export, bench) read.

    RUN/config.json        training settings + model config + task summary
    RUN/best.safetensors   best checkpoint on the validation split (edgelnn checkpoint format)
    RUN/last.safetensors   checkpoint after the last finished epoch (for resume)
    RUN/train_state.pt     optimizer state, epoch, RNG state (tensors/numbers only, loaded weights_only)
    RUN/history.json       per-epoch loss, metric, time
    RUN/metrics.json       final metric per split (test and every OOD split) of the best checkpoint
Every file is written to a temporary name and renamed, so an interrupted run leaves its last good files.
While a training writes RUN it holds the lock ``.RUN.lock`` beside it: a second training is refused.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edgelnn.errors import CheckpointMismatchError
from edgelnn.utils.atomic import write_json_atomic
from edgelnn.utils.locking import lock_path_beside

if TYPE_CHECKING:
    from edgelnn.models.base import StepModel

DEFAULT_RUNS_DIR = Path("runs")

__all__ = ["DEFAULT_RUNS_DIR", "RunDir", "check_checkpoint_matches_run", "find_latest_run",
           "write_json_atomic"]


@dataclass(frozen=True)
class RunDir:
    path: Path

    @property
    def config(self) -> Path:
        return self.path / "config.json"

    @property
    def best(self) -> Path:
        return self.path / "best.safetensors"

    @property
    def last(self) -> Path:
        return self.path / "last.safetensors"

    @property
    def train_state(self) -> Path:
        return self.path / "train_state.pt"

    @property
    def history(self) -> Path:
        return self.path / "history.json"

    @property
    def metrics(self) -> Path:
        return self.path / "metrics.json"

    def read_config(self) -> dict[str, Any]:
        if not self.config.is_file():
            raise FileNotFoundError(f"{self.path} is not a training run (no config.json)")
        return json.loads(self.config.read_text())

    @property
    def lock(self) -> Path:
        return lock_path_beside(self.path)

    def is_complete(self) -> bool:
        return self.metrics.is_file() and self.best.is_file()

    def load_model(self, checkpoint: str | Path | None = None) -> StepModel:
        """The model of ``checkpoint`` (default: best.safetensors), refusing one whose embedded model config
        differs from config.json's "model" entry (CheckpointMismatchError): such a run was written by two
        trainings, and its config, metrics and weights no longer describe one model."""
        from edgelnn.models.checkpoint import load_checkpoint

        path = Path(checkpoint) if checkpoint is not None else self.best
        model = load_checkpoint(path)
        check_checkpoint_matches_run(self, path, model.config.to_dict())
        return model


def check_checkpoint_matches_run(run: RunDir, checkpoint: Path, model_config: dict[str, Any]) -> None:
    """Raise CheckpointMismatchError when ``model_config`` (read from ``checkpoint``) is not the model the
    run's config.json describes. A config.json without a "model" entry cannot be checked and passes."""
    expected = run.read_config().get("model")
    if expected is None:
        return
    got = json.loads(json.dumps(model_config))  # tuples -> lists, as config.json holds them
    if got == expected:
        return
    if isinstance(expected, dict):
        keys = sorted(set(got) | set(expected), key=lambda k: (k != "kind", k))
        differences = "; ".join(f"{k}: {got.get(k)!r} in the checkpoint, {expected.get(k)!r} in config.json"
                                for k in keys if got.get(k) != expected.get(k))
        described = f"a {expected.get('kind')} model ({differences})"
    else:
        described = f"{expected!r} as its model"
    raise CheckpointMismatchError(
        f"checkpoint {checkpoint} holds a {got.get('kind')} model but {run.config} describes {described}; "
        "the run directory was written by two trainings: train again into a new --out"
    )


def find_latest_run(model: str | None = None, runs_dir: Path | str = DEFAULT_RUNS_DIR) -> RunDir | None:
    """The newest complete run (by metrics.json time), optionally only of one model kind."""
    runs_dir = Path(runs_dir)
    candidates = []
    for cfg in runs_dir.glob("*/config.json"):
        run = RunDir(cfg.parent)
        if not run.is_complete():
            continue
        if model is not None and json.loads(cfg.read_text()).get("train", {}).get("model") != model:
            continue
        candidates.append((run.metrics.stat().st_mtime, run.path.name, run))
    return max(candidates, key=lambda c: (c[0], c[1]))[2] if candidates else None
