"""Model-zoo tests run tiny tensors: one intra-op thread avoids oversubscription on shared machines (it made
these tests ~30x slower under load) and keeps float reductions in one order."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True, scope="package")
def _single_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
