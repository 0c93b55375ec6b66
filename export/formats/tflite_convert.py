"""Float TFLite conversion of a step module with litert-torch, with the signature named x/state/dt -> y/state_out.

litert-torch names signature inputs after keyword sample arguments and outputs after the keys of a returned
dict, so the step module is wrapped to take keywords and return ``{"y", "state_out"}``.

Batch: a dynamic batch is tried first (a ``torch.export.Dim`` on dim 0 of every input) and kept only if the
file really has a -1 batch and matches PyTorch at batch 3. With litert-torch 0.10 it fails for every zoo
model tried (cfc, ltc, lstm, gru: its JAX-bridged lowerings see the symbolic batch as a huge negative size and
fail in dot_general / broadcasting), so the fallback converts at batch 1. Resizing that file to another batch is silently wrong (SLICE sizes are baked at 1), which is why the
LiteRT runner steps rows one at a time for a batch-1 file.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import numpy as np
import torch
from torch import nn

from edgelnn.errors import ExportError, RuntimeMissingError
from edgelnn.runtime.litert_runner import LiteRTStepRunner

TOOL_PACKAGES = ("litert-torch", "ai-edge-quantizer", "ai-edge-litert", "torch")
DYNAMIC_CHECK_BATCH = 3
DYNAMIC_CHECK_TOL = 1e-4


class NamedStep(nn.Module):
    """Keyword inputs and a dict output, so the converted signature reads x, state, dt -> y, state_out."""

    def __init__(self, step: nn.Module) -> None:
        super().__init__()
        self.step = step

    def forward(self, x: torch.Tensor, state: torch.Tensor, dt: torch.Tensor) -> dict[str, torch.Tensor]:
        y, state_out = self.step(x, state, dt)
        return {"y": y, "state_out": state_out}


@dataclass
class Converted:
    """A converted float model and how it was made."""

    content: bytes
    dynamic_batch: bool
    seconds: float
    notes: dict[str, Any] = field(default_factory=dict)


def tool_versions() -> dict[str, str]:
    """Installed versions of the packages that make and run TFLite artifacts."""
    versions = {}
    for name in TOOL_PACKAGES:
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[name] = metadata.version(name)
    return versions


def _litert_torch():
    try:
        import litert_torch
    except ImportError as err:
        raise RuntimeMissingError("TFLite export needs litert-torch: pip install 'edgelnn[tflite]'") from err
    return litert_torch


@contextlib.contextmanager
def _quiet_progress() -> Iterator[None]:
    """Turn off litert-torch's progress printing (an environment flag) for the duration."""
    key, old = "LITERT_TORCH_SHOW_PROGRESS", os.environ.get("LITERT_TORCH_SHOW_PROGRESS")
    os.environ[key] = "0"
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = old


def sample_inputs(input_size: int, state_size: int, batch: int, seed: int = 0) -> dict[str, torch.Tensor]:
    """Deterministic sample step inputs (x, state, dt > 0) of a given batch."""
    gen = torch.Generator().manual_seed(seed)
    return {"x": torch.randn(batch, input_size, generator=gen),
            "state": 0.5 * torch.randn(batch, state_size, generator=gen),
            "dt": 0.1 + torch.rand(batch, 1, generator=gen)}


def _convert(module: nn.Module, sample: dict[str, torch.Tensor], dynamic: bool) -> bytes:
    litert_torch = _litert_torch()
    shapes = None
    if dynamic:
        batch = torch.export.Dim("batch", min=1, max=4096)
        shapes = {name: {0: batch} for name in sample}
    with _quiet_progress():
        model = litert_torch.convert(NamedStep(module).eval(), sample_kwargs=sample, dynamic_shapes=shapes)
    return bytes(model.model_content())


def _check_dynamic(content: bytes, module: nn.Module, input_size: int, state_size: int) -> str | None:
    """None if a dynamic-batch file has batch -1 and matches PyTorch at batch 3, else why not."""
    with tempfile.NamedTemporaryFile(suffix=".tflite") as f:
        f.write(content)
        f.flush()
        runner = LiteRTStepRunner(f.name)
        if not runner.dynamic_batch:
            return "the converted file has a fixed batch"
        sample = sample_inputs(input_size, state_size, DYNAMIC_CHECK_BATCH, seed=1)
        got = runner(*(sample[k].numpy() for k in ("x", "state", "dt")))
    with torch.no_grad():
        want = module(sample["x"], sample["state"], sample["dt"])
    err = max(float(np.abs(g - w.numpy()).max()) for g, w in zip(got, want))
    return None if err <= DYNAMIC_CHECK_TOL else f"batch-{DYNAMIC_CHECK_BATCH} outputs differ by {err:.2e}"


def convert_step(module: nn.Module, input_size: int, state_size: int, try_dynamic: bool = True) -> Converted:
    """The float32 .tflite of ``module`` (forward(x, state, dt) -> (y, state_out)), dynamic batch if possible."""
    _litert_torch()  # import outside the timed conversion (several seconds on first use)
    notes: dict[str, Any] = {}
    if try_dynamic:
        start = time.perf_counter()
        try:
            content = _convert(module, sample_inputs(input_size, state_size, 2), dynamic=True)
            problem = _check_dynamic(content, module, input_size, state_size)
        except Exception as err:  # noqa: BLE001 - any converter failure means: fall back to batch 1
            problem = f"{type(err).__name__}: {(str(err).splitlines() or [''])[0][:200]}"
        if problem is None:
            return Converted(content, True, time.perf_counter() - start)
        notes["dynamic_batch_failed"] = problem
        notes["dynamic_attempt_seconds"] = round(time.perf_counter() - start, 3)
    start = time.perf_counter()
    try:
        content = _convert(module, sample_inputs(input_size, state_size, 1), dynamic=False)
    except RuntimeMissingError:
        raise
    except Exception as err:
        raise ExportError(f"litert-torch could not convert the step module: {err}") from err
    return Converted(content, False, time.perf_counter() - start, notes)
