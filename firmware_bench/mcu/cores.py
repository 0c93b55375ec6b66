"""The Cortex-M cores the firmware bench builds for: compiler target, emulator model, float ABI, cycle model.

Flags measured in DESIGN.md ("Cortex-M with PyPI only"): zig ignores ``-mfpu``/``-mfloat-abi``, so the FPU
is named in ``-mcpu`` (``cortex_m4`` alone silently gives soft float). unicorn has no Cortex-M0+ model: the
M0 model runs the same ARMv6-M instruction set.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from edgelnn.errors import UnsupportedCoreError


@dataclass(frozen=True)
class Core:
    """One Cortex-M core: how to compile for it and how to emulate it."""

    name: str
    description: str
    zig_target: str  # `zig cc -target`
    mcpu: str  # `zig cc -mcpu` (with the FPU feature where there is one)
    unicorn_model: str  # name of the unicorn.arm_const UC_CPU_ARM_* constant
    float_abi: str  # "hard" (FPU, VFP registers) or "soft" (compiler-rt __aeabi_f* calls)
    cycle_model: str  # name in cyclemodel.MODELS

    @property
    def compile_flags(self) -> tuple[str, ...]:
        """The target flags of `zig cc` for this core."""
        return ("-target", self.zig_target, f"-mcpu={self.mcpu}")


CORES: dict[str, Core] = {
    core.name: core
    for core in (
        Core("cortex-m4f", "Cortex-M4 with single-precision FPU (ARMv7E-M, DSP)", "thumb-freestanding-eabihf",
             "cortex_m4+vfp4d16sp", "UC_CPU_ARM_CORTEX_M4", "hard", "m4"),
        Core("cortex-m7", "Cortex-M7 with FPU (ARMv7E-M); built single-precision", "thumb-freestanding-eabihf",
             "cortex_m7+fp_armv8d16sp", "UC_CPU_ARM_CORTEX_M7", "hard", "m7"),
        Core("cortex-m0plus", "Cortex-M0+ (ARMv6-M, no FPU: soft float); emulated with the M0 model",
             "thumb-freestanding-eabi", "cortex_m0plus", "UC_CPU_ARM_CORTEX_M0", "soft", "m0plus"),
    )
}


def get_core(name: str | Core) -> Core:
    """A core by name (``cortex-m4f``, ``cortex-m7``, ``cortex-m0plus``), or the Core given."""
    if isinstance(name, Core):
        return name
    if name not in CORES:
        raise UnsupportedCoreError(f"unknown core {name!r}; valid cores: {', '.join(CORES)}")
    return CORES[name]


_CORE_PATTERNS = (
    (re.compile(r"cortex-m0\+|cortex-m0plus", re.IGNORECASE), "cortex-m0plus"),
    (re.compile(r"cortex-m7\b", re.IGNORECASE), "cortex-m7"),
    (re.compile(r"cortex-m4f\b|cortex-m4\b.*\bfpu\b", re.IGNORECASE), "cortex-m4f"),
)


def core_for_profile(profile) -> Core:
    """The core of an ``mcu`` target profile, read from its ``core`` text (e.g. "ARM Cortex-M4F ...")."""
    if getattr(profile, "kind", None) != "mcu":
        raise UnsupportedCoreError(f"target {getattr(profile, 'name', profile)!r} is not a microcontroller "
                                   f"(kind {getattr(profile, 'kind', None)!r}); Cortex-M builds need an mcu target")
    for pattern, name in _CORE_PATTERNS:
        if pattern.search(profile.core):
            return CORES[name]
    raise UnsupportedCoreError(f"target {profile.name!r}: core {profile.core!r} is none of the supported cores "
                               f"({', '.join(CORES)}); pass core= explicitly")
