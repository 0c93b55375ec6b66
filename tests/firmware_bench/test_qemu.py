"""The QEMU cross-check (issue 9, item 6): the golden test built with GNU Arm GCC and run on QEMU boards agrees
with the zig + unicorn path. Runs where Debian's arm-none-eabi-gcc, newlib and qemu-system-arm are installed
(CI installs them); skips otherwise."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from firmware_exports import export_tiny_model

from edgelnn.errors import EmulationFaultError, McuToolsMissingError
from edgelnn.firmware_bench.bundle import mcu_available
from edgelnn.firmware_bench.golden_c import golden_sources, run_golden_emulated
from edgelnn.firmware_bench.mcu import qemu

pytestmark = pytest.mark.skipif(qemu.qemu_tools() is None or not mcu_available(),
                                reason=f"needs {qemu.GCC}, {qemu.QEMU} and the mcu extra ({qemu.INSTALL_HINT})")

CASES = [*((kind, precision, "cortex-m4f") for kind in ("cfc", "ltc", "lrc", "lstm", "gru")
           for precision in ("fp32", "int8")),
         ("cfc", "fp32", "cortex-m7"), ("cfc", "int8", "cortex-m7"), ("cfc", "int8", "cortex-m0plus")]


@pytest.fixture(scope="module")
def exports(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("qemu-exports")
    return {kind: export_tiny_model(root / kind, kind) for kind in ("cfc", "ltc", "lrc", "lstm", "gru")}


def golden_files(export_dir: Path, precision: str, shift_first_output: float = 0.0) -> tuple[str, dict[str, str]]:
    """(model name, the model's C and its golden test) as the bundle writes them; ``shift_first_output``
    corrupts the expected first output of the first real step."""
    from edgelnn.export.golden import read_golden

    golden = read_golden(export_dir)
    if shift_first_output:
        y = golden.y.copy()
        n, k = np.argwhere(golden.mask)[0]
        y[n, k, 0] += shift_first_output
        golden = dataclasses.replace(golden, y=y)
    sources = golden_sources(export_dir, precision, golden=golden)
    return sources.source.name, sources.files


@pytest.mark.parametrize(("kind", "precision", "core"), CASES)
def test_gcc_on_qemu_agrees_with_zig_on_unicorn(exports, kind, precision, core):
    name, files = golden_files(exports[kind], precision)
    on_qemu = qemu.run_golden_qemu(files, name, core)
    on_unicorn = run_golden_emulated(files, name, core)
    assert on_qemu.passed, on_qemu.summary()
    assert on_unicorn.passed, on_unicorn.summary()
    assert on_qemu.checked == on_unicorn.checked
    # Two compilers may round a few float operations differently: the worst errors agree to 1% of the bound.
    assert abs(on_qemu.worst_error - on_unicorn.worst_error) <= 0.01 * on_unicorn.bound
    assert abs(on_qemu.state_worst_error - on_unicorn.state_worst_error) <= 0.01 * on_unicorn.state_bound


def test_a_failing_golden_check_is_reported_not_hidden(exports):
    """A wrong expected value makes the QEMU run report the failure where it is, as the emulator does."""
    name, files = golden_files(exports["cfc"], "fp32", shift_first_output=0.5)
    result = qemu.run_golden_qemu(files, name, "cortex-m4f")
    assert not result.passed and result.failures == 1
    assert result.worst_error >= 0.5 - result.bound


def test_a_fault_is_a_named_error(exports):
    files = {"bad.c": "int bad_golden_run(void *r) { (void)r; return *(volatile int *)0xFFFFFFF0u; }\n"}
    with pytest.raises(EmulationFaultError, match="FAULT"):
        qemu.run_golden_qemu(files, "bad", "cortex-m4f")


def test_missing_tools_name_the_packages(monkeypatch, tmp_path):
    monkeypatch.setattr(qemu.shutil, "which", lambda _: None)
    with pytest.raises(McuToolsMissingError, match="gcc-arm-none-eabi"):
        qemu.build_golden_elf({"x.c": ""}, "x", "cortex-m4f", tmp_path)


def test_every_core_has_a_board():
    from edgelnn.firmware_bench.mcu import CORES

    assert set(qemu.BOARDS) == set(CORES)
