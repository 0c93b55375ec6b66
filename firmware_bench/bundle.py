"""`edgelnn bundle`: a drop-in C library of an exported model for a firmware project.

    from edgelnn.firmware_bench.bundle import make_bundle
    result = make_bundle("artifacts/cfc", "firmware/cfc")      # fp32

The bundle directory holds the generated model (``<name>.h``, ``<name>.c``, ``edgelnn_math.h``,
``edgelnn_ops.h``), ``test_main.c`` (the export's golden vectors replayed through ``<name>_step``), a
``CMakeLists.txt`` (static library + golden test), a Makefile fragment ``edgelnn_model.mk``,
``control_loop_example.c`` and a ``README.md`` for firmware engineers (API, memory figures, control loop,
measured instruction counts per core).

Before anything is published the golden test is built with the host C compiler and run, and, when the
``mcu`` extra is installed, the step is measured on the emulated Cortex-M0+, M4F and M7 (flash, RAM,
instructions per step). The bundle is written into a temporary directory beside ``out_dir`` and renamed into
place only when all of that passed, so an error never leaves half a bundle.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edgelnn.errors import ArtifactLoadError, CompileError, GoldenTestError, UnsupportedModelError
from edgelnn.firmware_bench.bundle_readme import bundle_readme
from edgelnn.utils.outdir import staged_output

TEMPLATES = Path(__file__).with_name("templates")
BUNDLE_PRECISIONS = ("fp32", "int8")
# The core of each bundle measurement and the target profile whose clock and budgets judge it.
MEASURE_TARGETS = (("cortex-m0plus", "rp2040"), ("cortex-m4f", "stm32f4"), ("cortex-m7", "stm32h7"))
MEASURE_STEPS = 3
RUN_TIMEOUT_S = 120
MCU_MODULES = ("ziglang", "unicorn", "elftools")


@dataclass(frozen=True)
class CoreFigures:
    """One core's emulated measurement of the bundle's step (see McuReport)."""

    core: str
    target: str
    clock_mhz: float | None
    steps: int
    instructions_mean: float
    instructions_max: int
    cycles_mean: float | None
    flash_bytes: int
    ram_bytes: int
    stack_bytes: int
    static_ram_bytes: int
    verdict: str

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class BundleResult:
    """What :func:`make_bundle` wrote and measured."""

    out_dir: Path
    name: str
    precision: str
    files: list[str]
    host_check: str  # the golden test's output line on the host build
    figures: list[CoreFigures] = field(default_factory=list)
    not_measured: str | None = None  # why there are no figures (e.g. the mcu extra is missing)


def mcu_available() -> bool:
    """True when the ``mcu`` extra's packages (ziglang, unicorn, pyelftools) are importable."""
    return all(importlib.util.find_spec(m) is not None for m in MCU_MODULES)


def _render(template: str, values: dict[str, Any]) -> str:
    text = (TEMPLATES / template).read_text()
    for key, value in values.items():
        text = text.replace(f"@{key}@", str(value))
    return text


def _read_manifest(export_dir: Path) -> dict[str, Any]:
    path = export_dir / "manifest.json"
    if not path.is_file():
        raise FileNotFoundError(f"{export_dir} is not an export directory (no manifest.json)")
    try:
        return json.loads(path.read_text())
    except ValueError as err:
        raise ArtifactLoadError(f"{path} is not valid JSON: {err}") from None


def _check_out_dir(out_dir: Path, export_dir: Path, force: bool) -> None:
    if (out_dir.exists() or out_dir.is_symlink()) and not force:
        raise FileExistsError(f"output directory {out_dir} exists; pass --force to replace it")
    if out_dir.exists() and not out_dir.is_dir():
        raise NotADirectoryError(f"{out_dir} exists and is not a directory")
    if out_dir.resolve() == export_dir.resolve() or export_dir.resolve() in out_dir.resolve().parents:
        raise ValueError(f"--out {out_dir} is inside the export directory {export_dir}; choose another place")


def host_golden_check(bundle_dir: Path, name: str, compiler: list[str] | None = None) -> str:
    """Build the bundle's golden test (and the control-loop example) with the host compiler in a temporary
    directory and run it; its output line. CompileError / GoldenTestError when either fails."""
    from edgelnn.firmware_bench.host import ERROR_LINES, find_compiler

    compiler = find_compiler() if compiler is None else compiler
    with tempfile.TemporaryDirectory(prefix="edgelnn-bundle-check-") as tmp:
        exe = Path(tmp, "golden_test")
        builds = [
            [*compiler, "-std=c99", "-O2", "-I", str(bundle_dir), "-o", str(exe), str(bundle_dir / f"{name}.c"),
             str(bundle_dir / "test_main.c")],
            [*compiler, "-std=c99", "-O2", "-I", str(bundle_dir), "-c", "-o", str(Path(tmp, "example.o")),
             str(bundle_dir / "control_loop_example.c")],
        ]
        for cmd in builds:
            try:
                proc = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                raise CompileError(f"{' '.join(compiler)} did not finish within {RUN_TIMEOUT_S} s") from None
            if proc.returncode != 0:
                lines = (proc.stderr or proc.stdout).replace(str(bundle_dir) + os.sep, "").strip().splitlines()
                raise CompileError(f"{' '.join(compiler)} failed (exit {proc.returncode}) on the bundle of {name}:\n"
                                   + "\n".join(lines[:ERROR_LINES]))
        try:
            run = subprocess.run([str(exe)], check=False, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            raise GoldenTestError(f"the golden test of {name} ran past {RUN_TIMEOUT_S} s on this host") from None
    line = (run.stdout.strip().splitlines() or [f"exit status {run.returncode}"])[-1]
    if run.returncode != 0:
        raise GoldenTestError(f"the golden test of {name} failed on the host build: {line}")
    return line


def measure_cores(c_files: dict[str, str], step_symbol: str, golden, state_size: int, output_size: int,
                  steps: int = MEASURE_STEPS) -> list[CoreFigures]:
    """The step measured on each core of MEASURE_TARGETS over the first ``steps`` real steps of the first
    golden sequence (needs the ``mcu`` extra)."""
    from edgelnn.firmware_bench.mcu import measure_c_step

    real = np.flatnonzero(golden.mask[0])[:steps]
    inputs = [(golden.x[0, k], golden.dt[0, k]) for k in real]
    figures = []
    for core, target in MEASURE_TARGETS:
        rep = measure_c_step(c_files, step_symbol, core, inputs, state_size, output_size, target)
        figures.append(CoreFigures(core=core, target=target, clock_mhz=rep.clock_mhz, steps=rep.steps,
                                   instructions_mean=rep.instructions_mean, instructions_max=rep.instructions_max,
                                   cycles_mean=rep.cycles_mean, flash_bytes=rep.flash_bytes, ram_bytes=rep.ram_bytes,
                                   stack_bytes=rep.stack_bytes, static_ram_bytes=rep.static_ram_bytes,
                                   verdict=rep.verdict))
    return figures


def make_bundle(export_dir: str | Path, out_dir: str | Path, precision: str = "fp32", *, force: bool = False,
                measure: bool = True, name: str | None = None) -> BundleResult:
    """Write the C bundle of the model in ``export_dir`` into ``out_dir`` (see the module docstring).

    ``measure``: measure flash/RAM/instructions on the emulated cores when the ``mcu`` extra is installed.
    Raises FileExistsError (``out_dir`` exists, no ``force``), OutputInUseError (another writer holds it),
    ArtifactLoadError (no checkpoint or no golden vectors), UnsupportedModelError (a model option or precision the generator cannot write), CompilerNotFoundError,
    CompileError, GoldenTestError; the errors of the emulator when a measurement faults.
    """
    from edgelnn.firmware_bench.codegen import PRECISIONS
    from edgelnn.firmware_bench.golden_c import golden_sources

    export_dir, out_dir = Path(export_dir), Path(out_dir)
    if precision not in BUNDLE_PRECISIONS:
        raise ValueError(f"precision={precision!r} is not valid; allowed values: {', '.join(BUNDLE_PRECISIONS)}")
    if precision not in PRECISIONS:
        raise UnsupportedModelError(f"precision {precision!r}: the C generator has no {precision} code yet (it "
                                    f"writes {', '.join(PRECISIONS)}); bundle the fp32 model")
    manifest = _read_manifest(export_dir)
    _check_out_dir(out_dir, export_dir, force)
    sources = golden_sources(export_dir, precision, name)
    src, golden, atol, rtol = sources.source, sources.golden, sources.atol, sources.rtol
    real_dt = golden.dt[golden.mask.astype(bool)]
    values = {"name": src.name, "NAME": src.name.upper(), "input_size": src.input_size,
              "output_size": src.output_size, "state_bytes": 4 * src.state_size,
              "period": f"{float(np.median(real_dt)):.6g}"}
    files = {**sources.files,
             "CMakeLists.txt": _render("CMakeLists.txt.in", values),
             "edgelnn_model.mk": _render("edgelnn_model.mk.in", values),
             "control_loop_example.c": _render("control_loop_example.c.in", values)}

    with staged_output(out_dir, force, "bundle") as staging:  # one writer; renamed into place when complete
        for fname, text in files.items():
            (staging / fname).write_text(text)
        host_check = host_golden_check(staging, src.name)
        figures, not_measured = [], None
        if not measure:
            not_measured = "not measured (bundle made without measurement)"
        elif not mcu_available():
            not_measured = "not measured (install the mcu extra: pip install 'edgelnn[mcu]')"
        else:
            figures = measure_cores(src.files, src.step_symbol, golden, src.state_size, src.output_size)
        (staging / "README.md").write_text(bundle_readme(manifest, src, golden, (atol, rtol), host_check, figures,
                                                         not_measured))
    return BundleResult(out_dir, src.name, precision, sorted([*files, "README.md"]), host_check, figures,
                        not_measured)
