"""Helpers of the study tests: a tiny study spec and a counter of the cells a run executes."""

from __future__ import annotations

import pytest

from edgelnn.study import runner
from edgelnn.study.cell import PipelineSettings
from edgelnn.study.grid import Match, TrainSettings
from edgelnn.study.runner import StudySpec

TINY_SINE = {"n_train": 32, "n_val": 16, "n_test": 16, "seq_len": 10}


def tiny_spec(models=("cfc", "gru"), seeds=(0,)) -> StudySpec:
    return StudySpec(models=tuple(models), tasks=("sine",), seeds=tuple(seeds), match=Match("hidden", 6),
                     train={"sine": TrainSettings(epochs=1, batch_size=16, patience=0, task_options=dict(TINY_SINE))},
                     pipeline=PipelineSettings(verify_sequences=8, calibration_rows=32, bench_steps=20,
                                               bench_warmup=2, bench_eval_sequences=4, bench_timeout_s=120),
                     preset=None)


class CellCounter:
    """Wraps runner.run_cell: the ids of the cells it ran, and an optional failure to inject."""

    def __init__(self, mp: pytest.MonkeyPatch) -> None:
        self.ran: list[str] = []
        self.interrupt_at: str | None = None
        original = runner.run_cell

        def counted(cell, pipeline, out_dir):
            if cell.cell_id == self.interrupt_at:
                raise KeyboardInterrupt
            self.ran.append(cell.cell_id)
            return original(cell, pipeline, out_dir)

        mp.setattr(runner, "run_cell", counted)


def assert_same_numbers(got, want, rel: float = 1e-9, where: str = "") -> None:
    """``got == want`` for JSON-like values, with floats equal to ``rel`` (a value recomputed from a
    stored one, e.g. a reference undone from its drop, may differ in the last bits)."""
    if isinstance(want, dict):
        assert isinstance(got, dict) and sorted(got) == sorted(want), f"{where}: keys {sorted(got)} != {sorted(want)}"
        for key in want:
            assert_same_numbers(got[key], want[key], rel, f"{where}/{key}")
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), f"{where}: {got!r} != {want!r}"
        for i, (g, w) in enumerate(zip(got, want)):
            assert_same_numbers(g, w, rel, f"{where}[{i}]")
    elif isinstance(want, float) and not isinstance(got, bool):
        assert got == pytest.approx(want, rel=rel, abs=1e-12), f"{where}: {got!r} != {want!r}"
    else:
        assert got == want, f"{where}: {got!r} != {want!r}"
