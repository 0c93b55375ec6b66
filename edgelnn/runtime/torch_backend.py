"""The "torch" backend: the export's float model (model.safetensors, solver fixed) stepped in eager PyTorch.

It is the reference the other backends are checked against, and the fallback where no exported runtime
is installed. fp32 only.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from edgelnn.models.checkpoint import load_checkpoint


class TorchStepRunner:
    """StepRunner over a checkpointed StepModel: float32 numpy in and out, no autograd.

    ``threads`` sets torch's intra-op thread count, which is process-wide in PyTorch.
    """

    def __init__(self, path: str | Path, threads: int = 1) -> None:
        self.model = load_checkpoint(path).eval()
        torch.set_num_threads(threads)
        self.threads = threads

    def __call__(self, x: np.ndarray, state: np.ndarray, dt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        with torch.inference_mode():
            y, s = self.model.step(torch.from_numpy(x), torch.from_numpy(state), torch.from_numpy(dt))
        return y.numpy(), s.numpy()
