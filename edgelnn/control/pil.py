"""Processor-in-the-loop: the generated C policy inside the Cortex-M emulator at every control step.

The export's C (``edgelnn.firmware_bench.codegen``) is cross-compiled for the target profile's core, loaded
into the unicorn emulator once, and each control step writes the observation and ``dt`` into emulated RAM,
calls ``<name>_step_p`` (the state stays in emulated RAM between calls) and reads the action back. Every
call's emulated instructions (exact) and estimated cycles (per-instruction-class model) are kept, so a
closed-loop run says whether each step fits the control period at the target's clock. The arithmetic is the
host C backend's (same source), so the closed-loop return matches it.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np

F32 = 4


class McuPolicy:
    """A policy stepping in the emulated microcontroller: ``reset()``, ``step(x, dt) -> y`` like the runtime."""

    def __init__(self, export_dir: str | Path, target: str = "stm32f4", precision: str = "fp32") -> None:
        from edgelnn.firmware_bench.codegen import generate
        from edgelnn.firmware_bench.mcu import compile_elf, core_for_profile
        from edgelnn.firmware_bench.mcu.cyclemodel import cycle_estimator
        from edgelnn.firmware_bench.mcu.elf import read_elf
        from edgelnn.firmware_bench.mcu.emulator import Emulator
        from edgelnn.targets.profile import load_profile

        self.profile = load_profile(target)
        self.core = core_for_profile(self.profile)
        source = generate(export_dir, precision, name="policy")
        self.symbol = source.step_symbol
        with tempfile.TemporaryDirectory(prefix="edgelnn-pil-") as tmp:
            image = read_elf(compile_elf(source.files, self.core, [self.symbol], tmp, name=f"policy-{self.core.name}"))
        self.emu = Emulator(image, self.core)
        self.estimator = cycle_estimator(image, self.core)
        self.input_size, self.state_size, self.output_size = source.input_size, source.state_size, source.output_size
        self.backend, self.precision = f"mcu-{self.profile.name}", precision
        self.export_dir = Path(export_dir)
        emu = self.emu
        self._x, self._dt = emu.allocate(self.input_size * F32), emu.allocate(F32)
        self._state, self._y = emu.allocate(self.state_size * F32), emu.allocate(self.output_size * F32)
        self.instructions: list[int] = []
        self.cycles: list[int] = []
        self.reset()

    def reset(self) -> None:
        self.emu.write(self._state, np.zeros(self.state_size, np.float32).tobytes())

    def step(self, x: Any, dt: float) -> np.ndarray:
        self.emu.write(self._x, np.ascontiguousarray(x, dtype=np.float32).reshape(self.input_size).tobytes())
        self.emu.write(self._dt, np.float32(dt).tobytes())
        result = self.emu.call(self.symbol, [self._x, self._dt, self._state, self._y])
        self.instructions.append(result.instructions)
        if self.estimator is not None:
            self.cycles.append(self.estimator.estimate(result).cycles)
        return np.frombuffer(self.emu.read(self._y, self.output_size * F32), np.float32).copy()

    def summary(self, period_s: float) -> dict[str, Any]:
        """Per-step instructions and cycles so far, the time at the target's clock, and whether it fits."""
        clock = self.profile.clock_mhz
        out: dict[str, Any] = {"target": self.profile.name, "core": self.core.name, "clock_mhz": clock,
                               "steps": len(self.instructions),
                               "instructions_mean": float(np.mean(self.instructions)) if self.instructions else None,
                               "instructions_max": int(max(self.instructions)) if self.instructions else None,
                               "cycles_mean": float(np.mean(self.cycles)) if self.cycles else None,
                               "cycles_max": int(max(self.cycles)) if self.cycles else None}
        if self.cycles and clock:
            worst_us = max(self.cycles) / clock
            out.update(step_us_max=worst_us, period_us=period_s * 1e6, fits_period=worst_us < period_s * 1e6,
                       fits_100hz=worst_us < 10_000.0)
        return out
