"""Shared test setup.

- Generated task data goes to one temporary cache per test session.
- One intra-op thread: the tests run tiny tensors, where torch's thread pool only oversubscribes the
  shared 2-core machines (it made some tests ~30x slower under load) and reorders float reductions.
"""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True, scope="session")
def _task_cache(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("EDGELNN_CACHE", str(tmp_path_factory.mktemp("edgelnn-cache")))
    yield
    mp.undo()


@pytest.fixture(autouse=True, scope="session")
def _single_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
