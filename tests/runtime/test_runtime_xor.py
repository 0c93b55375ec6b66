"""edgelnn.runtime on a classification model (the session's tiny event-based XOR CfC): per-sequence logits
and the accuracy through each installed backend match PyTorch on the same variable-length sequences."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from numeric import accuracy_slack, assert_close
from tiny_runs import HAS_TFLITE, TINY_XOR

from edgelnn.models import load_checkpoint
from edgelnn.runtime import list_backends, load
from edgelnn.tasks import compute_metric, load_task
from edgelnn.training.objectives import last_valid

INSTALLED = list_backends()


@pytest.fixture(scope="module")
def test_split():
    return load_task("xor", **TINY_XOR).splits["test"]


@pytest.fixture(scope="module")
def pytorch_logits(tiny_xor_export, test_split) -> np.ndarray:
    """PyTorch logits [N, 2] of the exported float model at each sequence's last real event."""
    model = load_checkpoint(tiny_xor_export / "model.safetensors").eval()
    mask = torch.from_numpy(test_split.mask)
    with torch.no_grad():
        y, _ = model.run(torch.from_numpy(test_split.x), torch.from_numpy(test_split.t), mask=mask)
    return last_valid(y, mask).numpy()


@pytest.mark.parametrize("backend", ["onnxruntime", "litert", "torch"])
def test_accuracy_through_the_runtime_matches_pytorch(tiny_xor_export, test_split, pytorch_logits, backend):
    if not INSTALLED[backend]:
        pytest.skip(f"{backend} not installed")
    if backend == "litert" and not HAS_TFLITE:
        pytest.skip("no TFLite artifacts (converter not installed)")
    model = load(tiny_xor_export, backend=backend)
    lengths = test_split.mask.sum(axis=1)
    logits = np.stack([model.run(test_split.x[n, :k], timespans=test_split.t[n, :k])[-1]  # last real event
                       for n, k in enumerate(lengths)])
    verification = model.manifest["verification"]  # the export's own fp32 bound: atol + rtol * max|ref|
    assert_close(logits, pytorch_logits, atol=verification["atol"], rtol=verification["rtol"],
                 what=f"{backend} final logits")
    accuracy = compute_metric("accuracy", logits, test_split.y, None)
    reference = compute_metric("accuracy", pytorch_logits, test_split.y, None)
    assert abs(accuracy - reference) <= accuracy_slack(pytorch_logits), (backend, accuracy, reference)
    assert accuracy == pytest.approx(model.manifest["reference_metrics"]["test"], abs=accuracy_slack(pytorch_logits))
