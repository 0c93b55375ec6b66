"""Cortex-M measurement with PyPI packages only (extra ``mcu``).

C sources are cross-compiled with ``ziglang`` (clang) for a Cortex-M core, the ELF is loaded with
``pyelftools`` into the ``unicorn`` emulator, and each call is measured: emulated instructions (exact),
estimated cycles from a per-instruction-class model (``capstone``), flash and RAM (with the stack's
high-water mark). :func:`measure_c_step` runs a model's step function over golden inputs and judges the
result against a target profile's budgets.

Heavy packages (unicorn, capstone, pyelftools) are imported inside the functions that need them.
"""

from .cores import CORES, Core, core_for_profile, get_core
from .measure import McuReport, measure_c_step
from .toolchain import compile_elf

__all__ = ["CORES", "Core", "McuReport", "compile_elf", "core_for_profile", "get_core", "measure_c_step"]
