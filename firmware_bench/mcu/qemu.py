"""A second opinion on the emulated golden test: GNU Arm GCC builds it, QEMU runs it (issue 9, item 6).

The default path is PyPI-only (zig's clang + unicorn, see the package docstring). Where Debian's
``arm-none-eabi-gcc`` (with newlib) and ``qemu-system-arm`` are installed, the same golden test is also built
with GCC for a QEMU board of each core and run there, so a compiler or emulator bug on one path shows up as
a disagreement with the other:

    apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm

The board boots from its vector table, copies .data, zeroes .bss, enables the FPU (M4F/M7), calls
``<name>_golden_run`` and prints its result struct through Arm semihosting (``bkpt 0xab``: SYS_WRITE0, then
SYS_EXIT), so QEMU exits by itself; a fault prints ``FAULT`` and exits. memcpy/memset come from newlib-nano,
soft float (M0+) from libgcc. Boards: micro:bit (nRF51, Cortex-M0: the ARMv6-M instruction set of the M0+),
MPS2 AN386 (Cortex-M4 with FPU) and MPS2 AN500 (Cortex-M7, built single-precision like the zig build).
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from edgelnn.errors import CompileError, EmulationFaultError, McuToolsMissingError
from edgelnn.firmware_bench.golden_c import RESULT_BYTES, GoldenResult, golden_symbol

from .cores import get_core
from .toolchain import ERROR_LINES

GCC = "arm-none-eabi-gcc"
QEMU = "qemu-system-arm"
INSTALL_HINT = "apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm"
GCC_FLAGS = ("-std=c99", "-O2", "-ffreestanding", "-ffunction-sections", "-fdata-sections", "-nostartfiles",
             "--specs=nano.specs", "-Wl,--gc-sections")
RESULT_WORDS = RESULT_BYTES // 4  # the golden result struct, printed as 32-bit words
RUN_TIMEOUT_S = 300
_RESULT_LINE = re.compile(rf"^EDGELNN_GOLDEN((?: [0-9a-f]{{8}}){{{RESULT_WORDS}}})$", re.MULTILINE)


@dataclass(frozen=True)
class QemuBoard:
    """The QEMU machine that stands in for one core, and how GCC targets it."""

    core: str  # name in cores.CORES
    machine: str  # qemu-system-arm -M
    gcc_flags: tuple[str, ...]
    flash: tuple[int, int]  # origin, length (code and constants)
    ram: tuple[int, int]  # origin, length (data, bss, stack at the top)


BOARDS: dict[str, QemuBoard] = {
    b.core: b
    for b in (
        QemuBoard("cortex-m0plus", "microbit", ("-mcpu=cortex-m0plus", "-mthumb", "-mfloat-abi=soft"),
                  (0x0, 256 * 1024), (0x20000000, 16 * 1024)),
        QemuBoard("cortex-m4f", "mps2-an386",
                  ("-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"),
                  (0x0, 4 * 1024 * 1024), (0x20000000, 4 * 1024 * 1024)),
        QemuBoard("cortex-m7", "mps2-an500",
                  ("-mcpu=cortex-m7", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv5-sp-d16"),
                  (0x0, 4 * 1024 * 1024), (0x20000000, 4 * 1024 * 1024)),
    )
}

LINKER_SCRIPT = """/* edgelnn golden test on a QEMU board: vector table first in flash, stack at the top of RAM. */
MEMORY
{{
  FLASH (rx)  : ORIGIN = {flash_origin:#x}, LENGTH = {flash_length:#x}
  RAM   (rwx) : ORIGIN = {ram_origin:#x}, LENGTH = {ram_length:#x}
}}
_estack = ORIGIN(RAM) + LENGTH(RAM);
SECTIONS
{{
  .text : ALIGN(4) {{ KEEP(*(.vectors)) *(.text .text.*) }} > FLASH
  .rodata : ALIGN(4) {{ *(.rodata .rodata.*) }} > FLASH
  .ARM.extab : ALIGN(4) {{ *(.ARM.extab .ARM.extab.*) }} > FLASH
  .ARM.exidx : ALIGN(4) {{ __exidx_start = .; *(.ARM.exidx .ARM.exidx.*) __exidx_end = .; }} > FLASH
  .data : ALIGN(4) {{ _sdata = .; *(.data .data.*) . = ALIGN(4); _edata = .; }} > RAM AT > FLASH
  _sidata = LOADADDR(.data);
  .bss (NOLOAD) : ALIGN(4) {{ _sbss = .; *(.bss .bss.*) *(COMMON) . = ALIGN(4); _ebss = .; }} > RAM
  end = .;
}}
"""

STARTUP_C = """/* edgelnn golden test boot code for a QEMU board (generated; see edgelnn.firmware_bench.mcu.qemu). */
#include <stdint.h>

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _estack;
int {symbol}(void *result); /* test_main.c: fills the eight-word result struct */

static int semihost(int op, const void *arg)
{{
    register int r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}}

static void finish(const char *text, int ok)
{{
    semihost(0x04, text);                                            /* SYS_WRITE0 */
    semihost(0x18, (const void *)(uintptr_t)(ok ? 0x20026 : 0x20023)); /* SYS_EXIT: application exit / error */
    for (;;) {{
    }}
}}

static void fault_handler(void)
{{
    finish("FAULT\\n", 0);
}}

static void reset_handler(void)
{{
    uint32_t *src = &_sidata, *dst = &_sdata;
    while (dst < &_edata) *dst++ = *src++;
    for (dst = &_sbss; dst < &_ebss;) *dst++ = 0u;
#if defined(__ARM_FP)
    *(volatile uint32_t *)0xE000ED88u |= 0xFu << 20; /* CPACR: full access to CP10/CP11 (the FPU) */
    __asm__ volatile("dsb\\n\\tisb" ::: "memory");
#endif
    static uint32_t result[{words}];
    static char line[16 + 9 * {words} + 2] = "EDGELNN_GOLDEN";
    static const char hex[] = "0123456789abcdef";
    int status = {symbol}(result);
    char *p = line + 14;
    for (int i = 0; i < {words}; ++i) {{
        *p++ = ' ';
        for (int shift = 28; shift >= 0; shift -= 4) *p++ = hex[(result[i] >> shift) & 0xFu];
    }}
    *p++ = '\\n';
    *p = '\\0';
    finish(line, status == 0);
}}

__attribute__((section(".vectors"), used)) static void (*const vectors[16])(void) = {{
    (void (*)(void))(uintptr_t)&_estack, reset_handler, fault_handler, fault_handler, fault_handler,
    fault_handler, fault_handler, 0, 0, 0, 0, fault_handler, fault_handler, 0, fault_handler, fault_handler,
}};
"""


def qemu_tools() -> tuple[str, str] | None:
    """(gcc, qemu) paths when both Debian tools are installed, else None."""
    gcc, qemu = shutil.which(GCC), shutil.which(QEMU)
    return (gcc, qemu) if gcc and qemu else None


def get_board(core) -> QemuBoard:
    """The board of a core (a Core or its name; UnsupportedCoreError for an unknown one)."""
    return BOARDS[get_core(core).name]


def build_golden_elf(c_files: dict[str, str], name: str, core, out_dir: Path) -> Path:
    """Build the golden test of ``c_files`` (model + test_main.c) with arm-none-eabi-gcc for ``core``'s board."""
    tools = qemu_tools()
    if tools is None:
        raise McuToolsMissingError(f"{GCC} and {QEMU} are needed for the QEMU cross-check: {INSTALL_HINT}")
    board = get_board(core)
    out_dir = Path(out_dir)
    files = {**c_files, "qemu_startup.c": STARTUP_C.format(symbol=golden_symbol(name), words=RESULT_WORDS)}
    for fname, text in files.items():
        (out_dir / fname).write_text(text)
    (out_dir / "qemu.ld").write_text(LINKER_SCRIPT.format(flash_origin=board.flash[0], flash_length=board.flash[1],
                                                         ram_origin=board.ram[0], ram_length=board.ram[1]))
    elf = out_dir / f"{name}-golden-{board.core}-gcc.elf"
    cmd = [tools[0], *board.gcc_flags, *GCC_FLAGS, "-T", str(out_dir / "qemu.ld"), "-I", str(out_dir),
           *(str(out_dir / f) for f in files if f.endswith(".c")), "-o", str(elf)]
    proc = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    if proc.returncode != 0:
        lines = (proc.stderr or proc.stdout).replace(str(out_dir) + os.sep, "").strip().splitlines()
        raise CompileError(f"{GCC} for {board.core} failed:\n" + "\n".join(lines[:ERROR_LINES]))
    return elf


def run_golden_qemu(c_files: dict[str, str], name: str, core, *, timeout_s: float = RUN_TIMEOUT_S):
    """Build the golden test with GCC, run it on ``core``'s QEMU board, and return its GoldenResult.

    McuToolsMissingError without the Debian tools; CompileError when GCC fails; EmulationFaultError when the
    program faults, prints no result, or runs past ``timeout_s``.
    """
    board = get_board(core)
    with tempfile.TemporaryDirectory(prefix="edgelnn-qemu-") as tmp:
        elf = build_golden_elf(c_files, name, core, Path(tmp))
        cmd = [QEMU, "-M", board.machine, "-nodefaults", "-display", "none", "-monitor", "none", "-serial", "none",
               "-semihosting-config", "enable=on,target=native", "-kernel", str(elf)]
        try:
            proc = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=timeout_s)
        except subprocess.TimeoutExpired:
            raise EmulationFaultError(f"the golden test of {name} on QEMU {board.machine} ran past {timeout_s} s")
    output = proc.stdout + proc.stderr
    found = _RESULT_LINE.search(output)
    if found is None:
        head = " | ".join(output.strip().splitlines()[:ERROR_LINES]) or f"exit status {proc.returncode}"
        raise EmulationFaultError(f"the golden test of {name} on QEMU {board.machine} gave no result: {head}")
    words = [int(w, 16) for w in found.group(1).split()]
    return GoldenResult.from_bytes(struct.pack(f"<{RESULT_WORDS}I", *words))
