"""Shared test setup: generated task data goes to one temporary cache per test session."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True, scope="session")
def _task_cache(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("EDGELNN_CACHE", str(tmp_path_factory.mktemp("edgelnn-cache")))
    yield
    mp.undo()
