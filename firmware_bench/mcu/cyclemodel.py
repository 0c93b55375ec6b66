"""Estimated cycles of an emulated call from a per-instruction-class cost model.

Every figure here is an ESTIMATE; instruction counts are exact. Each executed block is disassembled once
(capstone), its instructions sorted into classes, and the class costs summed; a block left by a taken
branch adds the model's pipeline refill for that branch. Assumed: zero-wait-state memory, no caches, no
dual issue. Flash wait states on fast parts add 20-100 %; instructions an IT block skips are charged as if
they ran. Costs (DESIGN.md, from the Cortex-M4 and M0+ technical reference manuals):

- M4: ALU 1, MUL 1, multiply-accumulate / long multiply 2, SDIV/UDIV 7 (2-12, data dependent), LDR/VLDR 2
  (1 right after another load/store: pipelined), STR/VSTR 1, LDM/STM/PUSH/POP/VLDM/VSTM/VPUSH/VPOP 1+N,
  VADD/VSUB/VMUL/VMOV/VCVT/VCMP 1, VMLA/VMLS/VFMA/VFMS (and negated forms) 3, VDIV/VSQRT 14, a branch 1
  and +2 refill when taken (taken branch 3, within the manual's 2-4).
- M7: the M4 model without dual issue or caches: an upper estimate for a core that often retires two
  instructions per cycle.
- M0+: ALU 1, MUL 1 (single-cycle multiplier, as on the RP2040), LDR/STR 2, LDM/STM/PUSH/POP 1+N, branch 1
  and +1 when taken (2), BL 3, BX/BLX 2, POP {..., pc} 3+N.
"""

from __future__ import annotations

import importlib.util
from collections import Counter
from dataclasses import dataclass, field

from .cores import Core, get_core
from .elf import ElfImage
from .emulator import CallResult

CLASSES = ("alu", "mul", "mac", "div", "load", "store", "multi", "branch", "fp", "fp_mac", "fp_div", "other")

_MUL = {"mul", "muls", "smulbb", "smulbt", "smultb", "smultt", "smulwb", "smulwt", "smmul", "smmulr", "smuad",
        "smuadx", "smusd", "smusdx", "smull", "umull"}
_MAC = {"mla", "mls", "smlal", "umlal", "umaal", "smlabb", "smlabt", "smlatb", "smlatt", "smlawb", "smlawt",
        "smlad", "smladx", "smlsd", "smlsdx", "smlald", "smlaldx", "smlsld", "smlsldx", "smmla", "smmlar",
        "smmls", "smmlsr", "smlalbb", "smlalbt", "smlaltb", "smlaltt", "usada8"}
_DIV = {"sdiv", "udiv"}
_MULTI = {"push", "pop", "ldm", "ldmdb", "ldmia", "stm", "stmdb", "stmia", "vpush", "vpop", "vldmia",
          "vldmdb", "vstmia", "vstmdb"}
_FP_MAC = {"vmla", "vmls", "vnmla", "vnmls", "vfma", "vfms", "vfnma", "vfnms"}
_FP_DIV = {"vdiv", "vsqrt"}
_BRANCH = {"b", "bl", "blx", "bx", "cbz", "cbnz", "tbb", "tbh"}
_OTHER = {"it", "nop", "hint", "dmb", "dsb", "isb", "bkpt", "udf", "svc", "wfi", "wfe", "sev", "yield"}


@dataclass(frozen=True)
class CycleModel:
    """Cycle costs per instruction class, and the refill a taken branch adds."""

    name: str
    description: str
    costs: dict[str, int]
    load_after_load_store: int  # a load right after another load/store (pipelined address phase)
    taken_refill: int  # extra cycles when a branch (B, CBZ, BX, POP pc...) is taken
    call_refill: int  # extra cycles of a BL (always taken)


_M4_COSTS = {"alu": 1, "mul": 1, "mac": 2, "div": 7, "load": 2, "store": 1, "multi": 1, "branch": 1, "fp": 1,
             "fp_mac": 3, "fp_div": 14, "other": 1}
MODELS: dict[str, CycleModel] = {
    "m4": CycleModel("m4", "Cortex-M4 per-class estimate (zero-wait memory)", _M4_COSTS, 1, 2, 2),
    "m7": CycleModel("m7", "Cortex-M4 model applied to the M7 without dual issue or caches: an upper estimate",
                     _M4_COSTS, 1, 2, 2),
    "m0plus": CycleModel("m0plus", "Cortex-M0+ per-class estimate (zero-wait memory, single-cycle multiplier)",
                         {**_M4_COSTS, "load": 2, "store": 2, "mac": 1, "div": 1}, 2, 1, 2),
}


def capstone_available() -> bool:
    """Whether the optional disassembler (PyPI ``capstone``) is installed."""
    return importlib.util.find_spec("capstone") is not None


def instruction_class(name: str) -> str:
    """The cost class of an instruction, by its capstone name (condition and width suffixes stripped)."""
    base = name.split(".")[0]
    if base in _BRANCH:
        return "branch"
    if base in _MULTI:
        return "multi"
    if base in _FP_MAC:
        return "fp_mac"
    if base in _FP_DIV:
        return "fp_div"
    if base == "vldr" or base.startswith("ldr"):
        return "load"
    if base == "vstr" or base.startswith("str"):
        return "store"
    if base in _MUL:
        return "mul"
    if base in _MAC:
        return "mac"
    if base in _DIV:
        return "div"
    if base.startswith(("v", "fconst", "fmstat")):
        return "fp"
    if base in _OTHER:
        return "other"
    return "alu"


@dataclass(frozen=True)
class BlockCost:
    """One block's cycles when it falls through, the extra when it is left by a taken branch, and its
    instruction classes."""

    cycles: int
    taken_extra: int
    classes: Counter = field(repr=False)


@dataclass(frozen=True)
class CycleEstimate:
    """Estimated cycles of one call, and the executed instructions per class."""

    cycles: int
    model: str
    by_class: dict[str, int]


class CycleEstimator:
    """Estimates cycles of calls into one firmware image on one core (blocks are analysed once, cached)."""

    def __init__(self, image: ElfImage, core: Core | str) -> None:
        import capstone

        self.image = image
        self.core = get_core(core)
        self.model = MODELS[self.core.cycle_model]
        self._cs = capstone.Cs(capstone.CS_ARCH_ARM,
                               capstone.CS_MODE_THUMB | capstone.CS_MODE_MCLASS | capstone.CS_MODE_V8)
        self._cs.detail = True
        self._cache: dict[int, BlockCost] = {}

    def _code(self, address: int, size: int) -> bytes:
        for sec in self.image.sections:
            if sec.kind == "text" and sec.address <= address and address + size <= sec.address + sec.size:
                return sec.data[address - sec.address:address - sec.address + size]
        raise ValueError(f"block 0x{address:08x}+{size} is outside the image's code")

    def block_cost(self, address: int, size: int) -> BlockCost:
        """Cycles of the block at ``address`` (``size`` bytes) when it falls through, and its taken refill."""
        key = (address << 16) | size
        if key in self._cache:
            return self._cache[key]
        m = self.model
        classes: Counter = Counter()
        cycles, prev_mem, last, decoded = 0, False, None, 0
        for insn in self._cs.disasm(self._code(address, size), address):
            name = insn.insn_name() or insn.mnemonic
            cls = instruction_class(name)
            classes[cls] += 1
            if cls == "multi":
                registers = len(insn.operands) - (0 if name in ("push", "pop", "vpush", "vpop") else 1)  # less the base
                cycles += m.costs["multi"] + registers
            elif cls == "load" and prev_mem:
                cycles += m.load_after_load_store
            else:
                cycles += m.costs[cls]
            prev_mem = cls in ("load", "store")
            last, decoded = insn, decoded + insn.size
        if decoded < size:  # bytes capstone could not decode (none expected): one cycle per halfword
            classes["other"] += (size - decoded) // 2
            cycles += (size - decoded) // 2
        taken = m.taken_refill
        if last is not None:
            name = last.insn_name() or last.mnemonic
            if name == "bl":
                taken = m.call_refill
            elif name == "pop" and self.core.cycle_model == "m0plus":
                taken = 2  # POP {..., pc}: 3+N on the M0+
        cost = BlockCost(cycles, taken, classes)
        self._cache[key] = cost
        return cost

    def estimate(self, result: CallResult) -> CycleEstimate:
        """Estimated cycles of one emulated call, from its block histogram."""
        cycles = 0
        by_class: Counter = Counter()
        for key, runs in result.blocks.items():
            cost = self.block_cost(CallResult.block_address(key), CallResult.block_size(key))
            cycles += runs * cost.cycles
            for cls, n in cost.classes.items():
                by_class[cls] += runs * n
        for key, runs in result.taken.items():
            cycles += runs * self.block_cost(CallResult.block_address(key), CallResult.block_size(key)).taken_extra
        return CycleEstimate(cycles, self.model.name, dict(by_class))


def cycle_estimator(image: ElfImage, core: Core | str) -> CycleEstimator | None:
    """A CycleEstimator, or None when capstone is not installed (cycles are then reported as None)."""
    return CycleEstimator(image, core) if capstone_available() else None
