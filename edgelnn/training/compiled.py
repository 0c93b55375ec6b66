"""Compiled training: torch.compile (inductor) of a model's time loop in fixed-length chunks, for training.

Eager PyTorch spends a recurrent training step dispatching small ops and writing their intermediates: an LTC
step is dozens of elementwise ops per ODE unfold (6 unfolds by default), a CfC/LSTM/GRU step a few small
matmuls and activations per time step. Inductor fuses them into C++ loops. The time loop is compiled in
chunks of a fixed number of steps (one graph per chunk length, whatever the sequence length), so compile time
does not grow with the sequence. Steps per chunk by model kind were chosen with benchmarks/train_step.py:
a CfC chunk of 16 steps (a single compiled step is slower than eager: the compiled graph's call overhead per
time step), an LTC/LRC chunk of 1 step (one step is already a large graph; longer chunks compile for minutes).

Only while gradients are recorded (training) is the compiled roll used; evaluation and export run the eager
loop, so what is exported is exactly the model's own math.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from edgelnn.models.base import StepModel

# Time steps per compiled call, by model kind (see the module docstring).
CHUNK_STEPS = {"cfc": 16, "ltc": 1, "lrc": 1, "lstm": 16, "gru": 16}
RECOMPILE_LIMIT = 64


def compile_training_steps(model: StepModel, steps: int | None = None) -> int:
    """Route ``model``'s training forward passes through a torch.compile'd roll of ``steps`` time steps per
    call (default: :data:`CHUNK_STEPS` of its kind); returns the chunk length. Needs a C++ compiler when the
    first batch runs (inductor); each new chunk length or batch size compiles once more."""
    import torch

    from edgelnn.models.base import roll_steps

    length = steps if steps is not None else CHUNK_STEPS[model.config.kind]
    if length < 1:
        raise ValueError(f"steps={length!r} is not valid; it must be >= 1")
    # Graphs are cached per function (roll_steps), across models: a run needs a few (chunk and tail lengths,
    # a second batch size), a process training many models more. Past the limit fullgraph fails loudly
    # rather than falling back to eager; raise it from torch's default of 8.
    torch._dynamo.config.recompile_limit = max(torch._dynamo.config.recompile_limit, RECOMPILE_LIMIT)
    model.compiled_steps = (torch.compile(roll_steps, fullgraph=True), length)
    return length
