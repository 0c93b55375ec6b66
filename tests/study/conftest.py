"""Fixtures: the tiny study (2 models x 1 task x 2 seeds, hidden 6, 1 epoch, a few sequences, a short bench),
run once per session, and a counter of executed cells."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgelnn.study import runner

from .helpers import CellCounter, tiny_spec


@pytest.fixture
def counter(monkeypatch) -> CellCounter:
    return CellCounter(monkeypatch)


@pytest.fixture(scope="session")
def tiny_study(tmp_path_factory) -> tuple[Path, runner.StudyRun]:
    """The tiny study, run once into a session directory (tests that change it copy it first)."""
    out = tmp_path_factory.mktemp("study") / "tiny"
    return out, runner.run_study(tiny_spec(), out)
