"""Shared test setup.

- Generated task data goes to one temporary cache per test session.
- One intra-op thread: the tests run tiny tensors, where torch's thread pool only oversubscribes the
  shared 2-core machines (it made some tests ~30x slower under load) and reorders float reductions.
- Tiny trained runs and exports (sine regression, xor classification), built once per session and shared by
  the export, runtime and bench tests (see tests/tiny_runs.py). Read-only: damage a copy.
- Numeric checks: tests/numeric.py (``from numeric import assert_close``); this directory is on sys.path.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from tiny_runs import export_tiny, train_tiny


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


@pytest.fixture(scope="session")
def tiny_sine_run(tmp_path_factory) -> Path:
    """A one-epoch CfC run on tiny sine (regression, MSE)."""
    return train_tiny("sine", tmp_path_factory.mktemp("tiny-sine") / "run")


@pytest.fixture(scope="session")
def tiny_sine_export(tiny_sine_run, tmp_path_factory) -> Path:
    """tiny_sine_run exported: ONNX (+ TFLite where installed), fp32 and int8."""
    return export_tiny(tiny_sine_run, tmp_path_factory.mktemp("tiny-sine-export") / "export")


@pytest.fixture(scope="session")
def tiny_xor_run(tmp_path_factory) -> Path:
    """A one-epoch CfC run on tiny xor (classification, accuracy)."""
    return train_tiny("xor", tmp_path_factory.mktemp("tiny-xor") / "run")


@pytest.fixture(scope="session")
def tiny_xor_export(tiny_xor_run, tmp_path_factory) -> Path:
    """tiny_xor_run exported: ONNX (+ TFLite where installed), fp32 and int8."""
    return export_tiny(tiny_xor_run, tmp_path_factory.mktemp("tiny-xor-export") / "export")
