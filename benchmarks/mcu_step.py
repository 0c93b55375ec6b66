"""One model step on emulated Cortex-M targets: instructions (exact), estimated cycles and time, flash, RAM.

The script builds a seeded, untrained CfC (default: 8 inputs, hidden 64, backbone 128; random weights
give the same instruction counts as trained ones up to data-dependent branches in exp/tanh), exports it
with ``edgelnn.export`` (ONNX fp32, verified) into a temporary directory, generates its C with
``edgelnn.firmware_bench.codegen``, and steps the host build for golden vectors. Each target profile then
gets the C cross-compiled for its core (zig), run in unicorn over the same inputs
(``edgelnn.firmware_bench.mcu.measure_c_step``), checked against the golden vectors, and reported:

- instructions per step (mean, max): exact counts of the emulated instructions;
- cycles and microseconds per step at the profile's clock: ESTIMATES from a per-instruction-class model
  (zero-wait memory; the M7 figure is the M4 model without dual issue, an upper estimate);
- flash (text + rodata + data) and RAM (data + bss + stack high-water mark + state + I/O) vs the budgets.

    python benchmarks/mcu_step.py [--model cfc --inputs 8 --hidden 64 --backbone 128 --steps 5
                                   --targets stm32f4,nrf52840,stm32h7,rp2040 --m0-steps 2]

The M0+ (rp2040, no FPU) runs float math in software, ~10M instructions per CfC-64 step, a few seconds of
emulation each: ``--m0-steps`` caps its step count.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import tempfile
import time
from pathlib import Path

import numpy as np


def export_model_dir(args, folder: Path) -> Path:
    """Seeded model -> checkpoint -> ONNX fp32 export directory (quiet)."""
    import torch

    from edgelnn.export import ExportConfig, Source, export_model
    from edgelnn.models import save_checkpoint
    from edgelnn.models.registry import build_model, make_config
    from edgelnn.tasks import load_npz_task

    torch.manual_seed(args.seed)
    options = {"backbone_units": args.backbone} if args.model == "cfc" else {}
    model = build_model(make_config(args.model, args.inputs, args.hidden, **options)).eval()
    rng = np.random.default_rng(args.seed)
    data = folder / "data.npz"
    np.savez(data, x=rng.standard_normal((32, 16, args.inputs)).astype(np.float32),
             y=rng.standard_normal((32, 16, model.output_size)).astype(np.float32),
             t=np.full((32, 16), 0.1, np.float32))
    ckpt = folder / "model.safetensors"
    save_checkpoint(model, ckpt, {"task": str(data)})
    cfg = ExportConfig(formats=("onnx",), int8=False, calibration_rows=64, verify_sequences=16)
    with quiet():
        export_model(Source(model, ckpt, None, load_npz_task(str(data))), cfg, folder / "export")
    return folder / "export"


@contextlib.contextmanager
def quiet():
    """Silence exporter chatter on Python's stdout/stderr."""
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        yield


def golden(src, export: Path, steps: int, seed: int) -> tuple[list, np.ndarray]:
    """Inputs (x, dt) and the host build's outputs [steps, O]."""
    from edgelnn.firmware_bench.host import CStepRunner

    runner = CStepRunner.from_export(export)
    rng = np.random.default_rng(seed + 1)
    inputs = [(rng.standard_normal(src.input_size).astype(np.float32), np.float32(rng.uniform(0.02, 1.0)))
              for _ in range(steps)]
    state, ys = np.zeros((1, src.state_size), np.float32), []
    for x, dt in inputs:
        y, state = runner(x[None], state, np.full((1, 1), dt, np.float32))
        ys.append(y[0])
    return inputs, np.stack(ys)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="cfc", help="model kind (cfc, ltc, lrc, lstm, gru)")
    parser.add_argument("--inputs", type=int, default=8)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--backbone", type=int, default=128, help="CfC backbone units")
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--m0-steps", type=int, default=2, help="step cap for Cortex-M0+ targets (soft float)")
    parser.add_argument("--targets", default="stm32f4,nrf52840,stm32h7,rp2040")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from edgelnn.firmware_bench.codegen import generate
    from edgelnn.firmware_bench.mcu import core_for_profile, measure_c_step
    from edgelnn.targets.profile import load_profile

    with tempfile.TemporaryDirectory(prefix="edgelnn-mcu-bench-") as tmp:
        export = export_model_dir(args, Path(tmp))
        src = generate(export, "fp32")
        inputs, ys = golden(src, export, args.steps, args.seed)
        print(f"{args.model}: {args.inputs} inputs, hidden {args.hidden}"
              f"{f', backbone {args.backbone}' if args.model == 'cfc' else ''}; fp32; {args.steps} steps "
              f"({args.m0_steps} on M0+); host C build as golden vectors")
        header = (f"{'target':<9} {'core':<13} {'steps':>5} {'instr/step':>11} {'max':>11} {'~cycles':>11} "
                  f"{'~us@MHz':>14} {'flash B':>9} {'RAM B':>7} {'stack B':>7} {'rel.err':>8}  verdict")
        print(header)
        for name in args.targets.split(","):
            profile = load_profile(name)
            core = core_for_profile(profile)
            n = min(args.steps, args.m0_steps) if core.float_abi == "soft" else args.steps
            t0 = time.perf_counter()
            rep = measure_c_step(src.files, src.step_symbol, core, inputs[:n], src.state_size, src.output_size,
                                 profile)
            err = float(np.abs(rep.outputs - ys[:n]).max() / max(np.abs(ys[:n]).max(), 1e-30))
            cycles = "-" if rep.cycles_mean is None else f"{rep.cycles_mean:,.0f}"
            us = "-" if rep.time_us_mean is None else f"{rep.time_us_mean:,.0f}@{profile.clock_mhz:g}"
            print(f"{name:<9} {core.name:<13} {n:>5} {rep.instructions_mean:>11,.0f} {rep.instructions_max:>11,} "
                  f"{cycles:>11} {us:>14} {rep.flash_bytes:>9,} {rep.ram_bytes:>7,} {rep.stack_bytes:>7,} "
                  f"{err:>8.1e}  {rep.verdict} [{time.perf_counter() - t0:.1f} s]")
    print("instructions: exact (emulated); cycles and us: estimates (per-class model, zero-wait memory; M7 = M4 "
          "model without dual issue, an upper estimate)")


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    main()
