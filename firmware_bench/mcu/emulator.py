"""Run functions of a Cortex-M firmware ELF in the unicorn emulator and count what they execute.

Set-up (DESIGN.md, "Cortex-M with PyPI only"): ``Uc(ARM, THUMB)`` with the core's model chosen through
``ctl_set_cpu_model`` (``UC_MODE_MCLASS`` would silently force a Cortex-M33). A call puts its pointer
arguments in r0-r3, sets LR to a stop address (|1, Thumb) that holds a BKPT, starts at the function's
address |1, and ends when the PC reaches the stop address.

Memory: the ELF's sections at their addresses (.data as the startup code would have copied it, .bss zero),
then in RAM a stack above a 1 MiB unmapped gap and the caller's buffers, each ending next to an unmapped
page, so a stack overflow (even by one large frame) or a buffer overrun faults instead of corrupting data.
The stack is painted with a pattern before each call; its high-water mark is the deepest word no longer
holding the pattern.

Counting: a block hook adds each translated block's instruction count (decoded once per block and cached);
this is 15-30x faster than a per-instruction hook, and it counts instructions that an IT block skips (they
still take a cycle). The per-block execution histogram feeds the cycle model. A call that runs past its
instruction budget is stopped from the hook (InstructionBudgetError); an emulated fault is an
EmulationFaultError naming the PC and the function.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from edgelnn.errors import (
    EmulationFaultError,
    EmulatorSetupError,
    InstructionBudgetError,
    McuToolsMissingError,
    SymbolNotFoundError,
)

from .cores import Core, get_core
from .elf import ElfImage, read_elf

PAGE = 0x1000
STACK_GUARD = 0x100000  # unmapped below the stack: even a frame of up to 1 MiB overflows into it, not into data
RAM_BASE = 0x20000000
STOP_ADDRESS = 0x0F000000  # its own page, outside flash and RAM; holds a BKPT
BKPT = b"\x00\xbe"
STACK_PAINT = b"\xef\xbe\xad\xde"  # 0xDEADBEEF, little-endian
DEFAULT_STACK_BYTES = 16 * 1024
DEFAULT_INSTRUCTION_BUDGET = 50_000_000
_KEY_SHIFT = 16  # block key = address << 16 | size (a translated block is far below 64 KiB)


def _page_down(x: int) -> int:
    return x & ~(PAGE - 1)


def _page_up(x: int) -> int:
    return (x + PAGE - 1) & ~(PAGE - 1)


def thumb_instruction_count(code: bytes) -> int:
    """Instructions in a run of Thumb code: a halfword whose top five bits are 0b11101/0b11110/0b11111
    starts a 32-bit instruction, any other a 16-bit one."""
    count, i, n = 0, 0, len(code) - 1
    while i < n:
        i += 4 if (code[i + 1] >> 3) >= 0b11101 else 2
        count += 1
    return count


@dataclass(frozen=True)
class CallResult:
    """What one emulated call executed."""

    symbol: str
    instructions: int  # exact count of executed instructions (IT-skipped ones included)
    stack_bytes: int  # stack high-water mark of the call
    blocks: dict[int, int] = field(repr=False)  # block key (address << 16 | size) -> executions
    taken: dict[int, int] = field(repr=False)  # block key -> times it was left by a taken branch
    return_value: int = 0  # r0 at return

    @staticmethod
    def block_address(key: int) -> int:
        return key >> _KEY_SHIFT

    @staticmethod
    def block_size(key: int) -> int:
        return key & ((1 << _KEY_SHIFT) - 1)


def _unicorn():
    try:
        import unicorn
        from unicorn import arm_const
    except ImportError:
        raise McuToolsMissingError("Cortex-M emulation needs the PyPI package unicorn: "
                                   "pip install 'edgelnn[mcu]'") from None
    return unicorn, arm_const


class Emulator:
    """One Cortex-M core with a firmware image loaded; call its functions and measure them."""

    def __init__(self, image: ElfImage | str | Path, core: Core | str, *,
                 stack_bytes: int = DEFAULT_STACK_BYTES) -> None:
        unicorn, arm = _unicorn()
        self._uc_error = unicorn.UcError
        self._errors = unicorn.unicorn_const
        self._arm = arm
        self.image = image if isinstance(image, ElfImage) else read_elf(image)
        self.core = get_core(core)
        if stack_bytes <= 0 or stack_bytes % 8:
            raise EmulatorSetupError(f"stack_bytes={stack_bytes}: a positive multiple of 8")
        uc = unicorn.Uc(unicorn.UC_ARCH_ARM, unicorn.UC_MODE_THUMB)
        uc.ctl_set_cpu_model(getattr(arm, self.core.unicorn_model))
        self.uc = uc
        self._mapped: list[tuple[int, int]] = []
        self._load_image()
        self._map(STOP_ADDRESS, PAGE)
        uc.mem_write(STOP_ADDRESS, BKPT)
        static_end = max([s.address + s.size for s in self.image.sections if s.address >= RAM_BASE] + [RAM_BASE])
        # [static RAM][1 MiB guard][stack, grows down][guard page][buffer][guard page][buffer]...
        self.stack_bytes = stack_bytes
        self.stack_base = _page_up(static_end) + STACK_GUARD
        self.stack_top = self.stack_base + stack_bytes
        self._map(self.stack_base, _page_up(stack_bytes))
        self._next_buffer = self.stack_base + _page_up(stack_bytes) + PAGE
        self.buffer_bytes = 0
        self._ninsn: dict[int, int] = {}
        self._fault_access: tuple[str, int, int] | None = None
        uc.hook_add(unicorn.UC_HOOK_BLOCK, self._on_block)
        uc.hook_add(unicorn.UC_HOOK_MEM_INVALID, self._on_invalid_access)
        self._reset_counters(DEFAULT_INSTRUCTION_BUDGET)

    # --- memory -------------------------------------------------------------------------------------------
    def _map(self, address: int, size: int) -> None:
        start, end = _page_down(address), _page_up(address + size)
        for lo, hi in self._mapped:  # merge with what is already mapped
            if start < hi and lo < end:
                if lo <= start and end <= hi:
                    return
                raise EmulatorSetupError(f"memory range 0x{start:08x}-0x{end:08x} overlaps a mapped one")
        self.uc.mem_map(start, end - start)
        self._mapped.append((start, end))

    def _load_image(self) -> None:
        pages: set[int] = set()
        for sec in self.image.sections:
            for lo, size in ((sec.address, sec.size), (sec.load_address, sec.size)):
                pages.update(range(_page_down(lo), _page_up(lo + size), PAGE))
        for start in sorted(pages):  # map runs of contiguous pages
            if start - PAGE in pages:
                continue
            end = start
            while end in pages:
                end += PAGE
            self.uc.mem_map(start, end - start)
            self._mapped.append((start, end))
        for sec in self.image.sections:
            if sec.kind == "bss":
                self.uc.mem_write(sec.address, bytes(sec.size))
                continue
            self.uc.mem_write(sec.address, sec.data)
            if sec.load_address != sec.address:  # .data: its load image in flash too
                self.uc.mem_write(sec.load_address, sec.data)

    def allocate(self, nbytes: int) -> int:
        """Map a zeroed buffer of ``nbytes`` in RAM (8-byte aligned, ending next to a guard page) and return
        its address; reading or writing past its end faults."""
        if nbytes <= 0:
            raise EmulatorSetupError(f"buffer size {nbytes}: must be > 0")
        region = _page_up(nbytes)
        self._map(self._next_buffer, region)
        address = (self._next_buffer + region - nbytes) & ~7
        self._next_buffer += region + PAGE
        self.buffer_bytes += nbytes
        return address

    def write(self, address: int, data: bytes) -> None:
        """Write bytes into emulated memory."""
        self.uc.mem_write(address, bytes(data))

    def read(self, address: int, nbytes: int) -> bytes:
        """Read bytes from emulated memory."""
        return bytes(self.uc.mem_read(address, nbytes))

    def read_symbol(self, symbol: str) -> bytes:
        """The current bytes of a data object of the firmware (e.g. a static buffer)."""
        if symbol not in self.image.objects:
            raise SymbolNotFoundError(f"data object {symbol!r} is not in {self.image.path.name}")
        address, size = self.image.objects[symbol]
        return self.read(address, size)

    # --- hooks --------------------------------------------------------------------------------------------
    def _reset_counters(self, budget: int) -> None:
        self._blocks: defaultdict[int, int] = defaultdict(int)
        self._taken: defaultdict[int, int] = defaultdict(int)
        self._count = 0
        self._budget = budget
        self._over_budget = False
        self._prev_key = -1
        self._prev_end = -1
        self._fault_access = None

    def _on_block(self, uc, address: int, size: int, _user) -> None:
        key = (address << _KEY_SHIFT) | size
        n = self._ninsn.get(key)
        if n is None:
            n = self._ninsn[key] = thumb_instruction_count(bytes(uc.mem_read(address, size)))
        self._blocks[key] += 1
        if address != self._prev_end:
            self._taken[self._prev_key] += 1
        self._prev_key, self._prev_end = key, address + size
        self._count += n
        if self._count > self._budget:
            self._over_budget = True
            uc.emu_stop()

    def _on_invalid_access(self, uc, access: int, address: int, size: int, value: int, _user) -> bool:
        c = self._errors
        kinds = {c.UC_MEM_READ_UNMAPPED: "read of unmapped", c.UC_MEM_WRITE_UNMAPPED: "write to unmapped",
                 c.UC_MEM_FETCH_UNMAPPED: "instruction fetch from unmapped",
                 c.UC_MEM_READ_PROT: "read of protected", c.UC_MEM_WRITE_PROT: "write to protected",
                 c.UC_MEM_FETCH_PROT: "instruction fetch from protected"}
        self._fault_access = (kinds.get(access, "invalid access to"), address, size)
        return False  # let it fault

    # --- calls --------------------------------------------------------------------------------------------
    def function_address(self, symbol: str) -> int:
        """A function's address (Thumb bit clear); SymbolNotFoundError listing a few defined ones."""
        if symbol not in self.image.functions:
            known = ", ".join(sorted(n for n in self.image.functions if not n.startswith(("__", "compiler_rt")))[:10])
            raise SymbolNotFoundError(f"function {symbol!r} is not in {self.image.path.name} (defined: {known})")
        return self.image.functions[symbol][0]

    def call(self, symbol: str, args: list[int] | tuple[int, ...] = (), *,
             instruction_budget: int = DEFAULT_INSTRUCTION_BUDGET) -> CallResult:
        """Run ``symbol(args...)`` (up to four 32-bit integer/pointer arguments, in r0-r3) to its return."""
        arm = self._arm
        start = self.function_address(symbol)
        if len(args) > 4:
            raise EmulatorSetupError(f"{symbol}: {len(args)} arguments; pass at most 4 (r0-r3), e.g. pointers to buffers")
        if instruction_budget <= 0:
            raise EmulatorSetupError(f"instruction_budget={instruction_budget}: must be > 0")
        uc = self.uc
        regs = [arm.UC_ARM_REG_R0, arm.UC_ARM_REG_R1, arm.UC_ARM_REG_R2, arm.UC_ARM_REG_R3, arm.UC_ARM_REG_R4,
                arm.UC_ARM_REG_R5, arm.UC_ARM_REG_R6, arm.UC_ARM_REG_R7, arm.UC_ARM_REG_R8, arm.UC_ARM_REG_R9,
                arm.UC_ARM_REG_R10, arm.UC_ARM_REG_R11, arm.UC_ARM_REG_R12]
        values = [int(a) & 0xFFFFFFFF for a in args]
        for i, reg in enumerate(regs):  # the same register file on every call: deterministic counts
            uc.reg_write(reg, values[i] if i < len(values) else 0)
        uc.reg_write(arm.UC_ARM_REG_SP, self.stack_top)
        uc.reg_write(arm.UC_ARM_REG_LR, STOP_ADDRESS | 1)
        self.write(self.stack_base, STACK_PAINT * (self.stack_bytes // len(STACK_PAINT)))
        self._reset_counters(instruction_budget)
        try:
            uc.emu_start(start | 1, STOP_ADDRESS)
        except self._uc_error as err:
            raise self._fault(symbol, err) from None
        pc = uc.reg_read(arm.UC_ARM_REG_PC)
        if self._over_budget:
            raise InstructionBudgetError(
                f"{symbol} on {self.core.name} ran past its budget of {instruction_budget:,} instructions "
                f"(stopped at pc 0x{pc:08x} in {self.image.function_at(pc) or 'unknown code'}): a runaway loop, or "
                "raise instruction_budget")
        if pc & ~1 != STOP_ADDRESS:
            raise EmulationFaultError(f"{symbol} on {self.core.name} stopped at pc 0x{pc:08x} "
                                      f"({self.image.function_at(pc) or 'unknown code'}) without returning")
        if self._prev_end != STOP_ADDRESS:  # the return itself is a taken branch
            self._taken[self._prev_key] += 1
        self._taken.pop(-1, None)
        return CallResult(symbol, self._count, self.stack_high_water(), dict(self._blocks), dict(self._taken),
                          uc.reg_read(arm.UC_ARM_REG_R0))

    def stack_high_water(self) -> int:
        """Bytes of stack used by the last call: from the top down to the deepest word not holding the paint."""
        stack = self.read(self.stack_base, self.stack_bytes)
        word = len(STACK_PAINT)
        for offset in range(0, self.stack_bytes, word):
            if stack[offset:offset + word] != STACK_PAINT:
                return self.stack_bytes - offset
        return 0

    def _fault(self, symbol: str, err) -> EmulationFaultError:
        c = self._errors
        pc = self.uc.reg_read(self._arm.UC_ARM_REG_PC)
        where = self.image.function_at(pc) or "unknown code"
        head = f"{symbol} on {self.core.name} faulted at pc 0x{pc:08x} in {where}"
        if self._fault_access is not None:
            what, address, size = self._fault_access
            if self.stack_base - STACK_GUARD <= address < self.stack_base:
                return EmulationFaultError(f"{head}: stack overflow (the {self.stack_bytes}-byte stack ran out; "
                                           "raise stack_bytes)")
            return EmulationFaultError(f"{head}: bad memory access, {what} memory at 0x{address:08x} "
                                       f"({size} bytes)")
        if err.errno == c.UC_ERR_INSN_INVALID:
            return EmulationFaultError(f"{head}: undefined instruction")
        if err.errno == c.UC_ERR_EXCEPTION:
            return EmulationFaultError(f"{head}: hard fault (CPU exception: UDF, BKPT, SVC or a fault the core "
                                       "escalated)")
        if err.errno in (c.UC_ERR_READ_UNALIGNED, c.UC_ERR_WRITE_UNALIGNED, c.UC_ERR_FETCH_UNALIGNED):
            return EmulationFaultError(f"{head}: unaligned memory access ({err})")
        return EmulationFaultError(f"{head}: {err}")
