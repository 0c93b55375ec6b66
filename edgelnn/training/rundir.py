"""The layout of a training run directory, the one thing later stages (export, bench) read.

    RUN/config.json        training settings + model config + task summary
    RUN/best.safetensors   best checkpoint on the validation split (edgelnn checkpoint format)
    RUN/last.safetensors   checkpoint after the last finished epoch (for resume)
    RUN/train_state.pt     optimizer state, epoch, RNG state (tensors/numbers only, loaded weights_only)
    RUN/history.json       per-epoch loss, metric, time
    RUN/metrics.json       final metric per split (test and every OOD split) of the best checkpoint
Every file is written to a temporary name and renamed, so an interrupted run leaves its last good files.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgelnn.utils.atomic import write_json_atomic

DEFAULT_RUNS_DIR = Path("runs")

__all__ = ["DEFAULT_RUNS_DIR", "RunDir", "find_latest_run", "write_json_atomic"]


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

    def is_complete(self) -> bool:
        return self.metrics.is_file() and self.best.is_file()


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
