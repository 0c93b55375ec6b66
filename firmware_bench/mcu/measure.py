"""Measure a model's C step function on an emulated Cortex-M core against a target profile's budgets.

The step has a pointer-only signature, ``void step(const float *x, const float *dt, float *state,
float *y)``, so it is called the same way under both float ABIs. The state buffer stays in emulated RAM
between steps, as on the device; each step's outputs come back for the caller to check against golden
vectors. Reported per step: emulated instructions (exact), estimated cycles and microseconds at the
profile's clock (estimates: see cyclemodel), flash, and RAM = .data + .bss + stack high-water mark + state
and I/O buffers.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edgelnn.errors import RuntimeInputError

from .cores import Core, core_for_profile, get_core
from .cyclemodel import MODELS, cycle_estimator
from .elf import read_elf
from .emulator import DEFAULT_INSTRUCTION_BUDGET, DEFAULT_STACK_BYTES, Emulator
from .toolchain import compile_elf

F32 = 4


@dataclass(frozen=True)
class McuReport:
    """One step function measured on one core, judged against one target profile."""

    target: str
    core: str
    step_symbol: str
    steps: int
    instructions: tuple[int, ...]  # exact, per step
    cycles: tuple[int, ...] | None  # estimated, per step (None without capstone)
    cycle_model: str | None
    clock_mhz: float | None
    text_bytes: int
    rodata_bytes: int
    data_bytes: int
    bss_bytes: int
    stack_bytes: int  # high-water mark over all steps
    state_bytes: int
    io_bytes: int  # x, dt and y buffers
    flash_budget: int | None
    ram_budget: int | None
    outputs: np.ndarray = field(repr=False)  # [steps, output_size] float32
    final_state: np.ndarray = field(repr=False)  # [state_size] float32

    @property
    def instructions_mean(self) -> float:
        return float(np.mean(self.instructions))

    @property
    def instructions_max(self) -> int:
        return max(self.instructions)

    @property
    def cycles_mean(self) -> float | None:
        """Estimated cycles per step, mean (an estimate, not a measurement)."""
        return None if self.cycles is None else float(np.mean(self.cycles))

    @property
    def cycles_max(self) -> int | None:
        return None if self.cycles is None else max(self.cycles)

    @property
    def time_us_mean(self) -> float | None:
        """Estimated microseconds per step at the profile's clock (cycles / MHz), mean."""
        return None if self.cycles is None or not self.clock_mhz else self.cycles_mean / self.clock_mhz

    @property
    def time_us_max(self) -> float | None:
        return None if self.cycles is None or not self.clock_mhz else self.cycles_max / self.clock_mhz

    @property
    def flash_bytes(self) -> int:
        """text + rodata + the .data load image."""
        return self.text_bytes + self.rodata_bytes + self.data_bytes

    @property
    def static_ram_bytes(self) -> int:
        return self.data_bytes + self.bss_bytes

    @property
    def ram_bytes(self) -> int:
        """.data + .bss + stack high-water mark + state + I/O buffers."""
        return self.static_ram_bytes + self.stack_bytes + self.state_bytes + self.io_bytes

    @property
    def fits_flash(self) -> bool | None:
        return None if self.flash_budget is None else self.flash_bytes <= self.flash_budget

    @property
    def fits_ram(self) -> bool | None:
        return None if self.ram_budget is None else self.ram_bytes <= self.ram_budget

    @property
    def fits(self) -> bool | None:
        """True when flash and RAM fit the profile's budgets (None when the profile sets neither)."""
        checks = [c for c in (self.fits_flash, self.fits_ram) if c is not None]
        return None if not checks else all(checks)

    @property
    def verdict(self) -> str:
        """One line: fits / does not fit, with the figures that decide it."""
        def part(label: str, used: int, budget: int | None) -> str:
            if budget is None:
                return f"{label} {used:,} B (no budget)"
            return f"{label} {used:,} of {budget:,} B{'' if used <= budget else ' (over)'}"

        head = {True: "fits", False: "does not fit", None: "no budget"}[self.fits]
        return (f"{head} {self.target}: {part('flash', self.flash_bytes, self.flash_budget)}, "
                f"{part('RAM', self.ram_bytes, self.ram_budget)}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (without the output arrays)."""
        return {
            "target": self.target, "core": self.core, "step_symbol": self.step_symbol, "steps": self.steps,
            "instructions_per_step": {"mean": self.instructions_mean, "max": self.instructions_max,
                                      "exact": True},
            "cycles_per_step_estimate": None if self.cycles is None else {
                "mean": self.cycles_mean, "max": self.cycles_max, "model": self.cycle_model,
                "model_description": MODELS[self.cycle_model].description},
            "time_us_per_step_estimate": None if self.time_us_mean is None else {
                "mean": self.time_us_mean, "max": self.time_us_max, "clock_mhz": self.clock_mhz},
            "flash_bytes": self.flash_bytes, "text_bytes": self.text_bytes, "rodata_bytes": self.rodata_bytes,
            "data_bytes": self.data_bytes, "bss_bytes": self.bss_bytes, "stack_high_water_bytes": self.stack_bytes,
            "state_bytes": self.state_bytes, "io_bytes": self.io_bytes, "ram_bytes": self.ram_bytes,
            "flash_budget_bytes": self.flash_budget, "ram_budget_bytes": self.ram_budget,
            "fits_flash": self.fits_flash, "fits_ram": self.fits_ram, "fits": self.fits, "verdict": self.verdict,
        }


def _check_inputs(inputs, state_size: int, output_size: int, initial_state) -> tuple[list, np.ndarray]:
    if state_size <= 0 or output_size <= 0:
        raise RuntimeInputError(f"state_size={state_size}, output_size={output_size}: both must be > 0")
    steps = []
    for i, item in enumerate(inputs):
        try:
            x, dt = item
        except (TypeError, ValueError):
            raise RuntimeInputError(f"inputs[{i}]: expected a pair (x, dt)") from None
        x = np.asarray(x, dtype=np.float32).reshape(-1)
        dt = np.asarray(dt, dtype=np.float32).reshape(-1)
        if dt.size != 1:
            raise RuntimeInputError(f"inputs[{i}]: dt has {dt.size} values; one per step")
        if x.size == 0 or (steps and x.size != steps[0][0].size):
            raise RuntimeInputError(f"inputs[{i}]: x has {x.size} values; every step needs the same, non-zero count")
        if not (np.isfinite(x).all() and np.isfinite(dt).all()) or dt[0] <= 0:
            raise RuntimeInputError(f"inputs[{i}]: x and dt must be finite, and dt > 0")
        steps.append((x, dt))
    if not steps:
        raise RuntimeInputError("inputs: give at least one (x, dt) step")
    state = np.zeros(state_size, np.float32) if initial_state is None else \
        np.asarray(initial_state, dtype=np.float32).reshape(-1)
    if state.size != state_size:
        raise RuntimeInputError(f"initial_state has {state.size} values; state_size is {state_size}")
    return steps, state


def measure_c_step(c_files: dict[str, str], step_symbol: str, core: Core | str | None,
                   inputs, state_size: int, output_size: int, profile, *,
                   initial_state=None, stack_bytes: int = DEFAULT_STACK_BYTES,
                   instruction_budget: int = DEFAULT_INSTRUCTION_BUDGET, opt_level: str = "-O2",
                   build_dir: str | Path | None = None) -> McuReport:
    """Build ``c_files`` for ``core`` (None: the profile's core), run ``step_symbol`` once per ``(x, dt)`` of
    ``inputs`` with the state carried in emulated RAM, and report per-step counts, sizes and the verdict
    against ``profile`` (a TargetProfile or a profile name, e.g. "stm32f4").

    ``build_dir``: where the ELF is kept (default: a temporary directory, removed afterwards).
    Raises CompileError, EmulationFaultError, InstructionBudgetError (``instruction_budget`` per step),
    RuntimeInputError for unusable inputs, McuToolsMissingError without the ``mcu`` extra.
    """
    from edgelnn.targets.profile import load_profile

    profile = load_profile(profile) if isinstance(profile, (str, Path)) else profile
    core = core_for_profile(profile) if core is None else get_core(core)
    steps, state = _check_inputs(inputs, state_size, output_size, initial_state)
    with tempfile.TemporaryDirectory(prefix="edgelnn-mcu-") as tmp:
        out_dir = Path(build_dir) if build_dir is not None else Path(tmp)
        elf_path = compile_elf(c_files, core, [step_symbol], out_dir, name=f"{step_symbol}-{core.name}",
                               opt_level=opt_level)
        image = read_elf(elf_path)
    emu = Emulator(image, core, stack_bytes=stack_bytes)
    estimator = cycle_estimator(image, core)
    n_in = steps[0][0].size
    x_buf, dt_buf = emu.allocate(n_in * F32), emu.allocate(F32)
    state_buf, y_buf = emu.allocate(state_size * F32), emu.allocate(output_size * F32)
    emu.write(state_buf, state.tobytes())
    instructions, cycles, outputs, stack = [], [], [], 0
    for x, dt in steps:
        emu.write(x_buf, x.tobytes())
        emu.write(dt_buf, dt.tobytes())
        result = emu.call(step_symbol, [x_buf, dt_buf, state_buf, y_buf], instruction_budget=instruction_budget)
        instructions.append(result.instructions)
        stack = max(stack, result.stack_bytes)
        if estimator is not None:
            cycles.append(estimator.estimate(result).cycles)
        outputs.append(np.frombuffer(emu.read(y_buf, output_size * F32), np.float32))
    final_state = np.frombuffer(emu.read(state_buf, state_size * F32), np.float32).copy()
    return McuReport(
        target=profile.name, core=core.name, step_symbol=step_symbol, steps=len(steps),
        instructions=tuple(instructions), cycles=tuple(cycles) if estimator is not None else None,
        cycle_model=core.cycle_model if estimator is not None else None, clock_mhz=profile.clock_mhz,
        text_bytes=image.size_of("text"), rodata_bytes=image.size_of("rodata"), data_bytes=image.size_of("data"),
        bss_bytes=image.size_of("bss"), stack_bytes=stack, state_bytes=state_size * F32,
        io_bytes=(n_in + 1 + output_size) * F32, flash_budget=profile.flash_bytes, ram_budget=profile.ram_bytes,
        outputs=np.stack(outputs), final_state=final_state)
