"""Read a linked Cortex-M ELF: its loadable sections, their flash and RAM sizes, and its function symbols.

Sizes follow the usual firmware accounting: flash = text + rodata (incl. unwind index) + the load image of
.data; RAM = .data + .bss (the stack and the buffers the caller owns are added by the measurement).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from edgelnn.errors import ArtifactLoadError, McuToolsMissingError

SHF_WRITE, SHF_ALLOC, SHF_EXECINSTR = 0x1, 0x2, 0x4


@dataclass(frozen=True)
class Section:
    """One allocated section: where it runs (address), where its bytes are stored (load_address), its kind."""

    name: str
    kind: str  # "text" | "rodata" | "data" | "bss"
    address: int
    load_address: int
    size: int
    data: bytes = field(repr=False)  # empty for bss


@dataclass(frozen=True)
class ElfImage:
    """A linked firmware image, as the emulator loads it and as the size report counts it."""

    path: Path
    sections: tuple[Section, ...]
    functions: dict[str, tuple[int, int]]  # name -> (address without the Thumb bit, size in bytes)
    objects: dict[str, tuple[int, int]]  # data objects: name -> (address, size)

    def size_of(self, kind: str) -> int:
        """Total bytes of the sections of one kind ("text", "rodata", "data", "bss")."""
        return sum(s.size for s in self.sections if s.kind == kind)

    @property
    def flash_bytes(self) -> int:
        """text + rodata + the .data load image."""
        return self.size_of("text") + self.size_of("rodata") + self.size_of("data")

    @property
    def static_ram_bytes(self) -> int:
        """.data + .bss."""
        return self.size_of("data") + self.size_of("bss")

    @cached_property
    def _function_index(self) -> tuple[list[int], list[str]]:
        # One name per address: aliases share one (e.g. __aeabi_fadd and compiler_rt.addf3.__aeabi_fadd);
        # prefer the plain name.
        dedup: dict[int, str] = {}
        for name, (start, _size) in sorted(self.functions.items(), key=lambda kv: (kv[0].count("."), kv[0])):
            dedup.setdefault(start, name)
        starts = sorted(dedup)
        return starts, [dedup[s] for s in starts]

    def function_at(self, pc: int) -> str | None:
        """The name of the function whose code holds address ``pc`` (Thumb bit ignored), or None."""
        pc &= ~1
        starts, names = self._function_index
        i = bisect.bisect_right(starts, pc) - 1
        if i < 0:
            return None
        start, size = self.functions[names[i]]
        return names[i] if pc < start + max(size, 2) else None

    def address_of(self, symbol: str) -> int:
        """The address of a function (without the Thumb bit) or data object; KeyError naming the symbol."""
        if symbol in self.functions:
            return self.functions[symbol][0]
        if symbol in self.objects:
            return self.objects[symbol][0]
        raise KeyError(f"symbol {symbol!r} is not in {self.path.name}")


def _kind(flags: int, sh_type: str) -> str:
    if flags & SHF_EXECINSTR:
        return "text"
    if sh_type == "SHT_NOBITS":
        return "bss"
    return "data" if flags & SHF_WRITE else "rodata"


def read_elf(path: str | Path) -> ElfImage:
    """Parse ``path`` (a 32-bit ARM ELF); ArtifactLoadError when it is not one."""
    try:
        from elftools.common.exceptions import ELFError
        from elftools.elf.elffile import ELFFile
    except ImportError:
        raise McuToolsMissingError("reading firmware ELFs needs pyelftools: pip install 'edgelnn[mcu]'") from None
    path = Path(path)
    with open(path, "rb") as f:
        try:
            elf = ELFFile(f)
        except ELFError as err:
            raise ArtifactLoadError(f"{path}: not an ELF file ({err})") from None
        if elf["e_machine"] != "EM_ARM" or elf.elfclass != 32:
            raise ArtifactLoadError(f"{path}: not a 32-bit ARM ELF (machine {elf['e_machine']}, class {elf.elfclass})")
        segments = [(s["p_vaddr"], s["p_paddr"], s["p_filesz"]) for s in elf.iter_segments()
                    if s["p_type"] == "PT_LOAD"]
        sections = []
        for sec in elf.iter_sections():
            flags = sec["sh_flags"]
            if not flags & SHF_ALLOC or sec["sh_size"] == 0:
                continue
            kind = _kind(flags, sec["sh_type"])
            addr = sec["sh_addr"]
            load = next((paddr + addr - vaddr for vaddr, paddr, filesz in segments
                         if vaddr <= addr < vaddr + filesz), addr)
            data = b"" if kind == "bss" else sec.data()
            sections.append(Section(sec.name, kind, addr, load, sec["sh_size"], data))
        functions: dict[str, tuple[int, int]] = {}
        objects: dict[str, tuple[int, int]] = {}
        symtab = elf.get_section_by_name(".symtab")
        for sym in symtab.iter_symbols() if symtab is not None else ():
            kind = sym["st_info"]["type"]
            if not sym.name or sym["st_shndx"] == "SHN_UNDEF":
                continue
            if kind == "STT_FUNC":
                functions[sym.name] = (sym["st_value"] & ~1, sym["st_size"])
            elif kind == "STT_OBJECT":
                objects[sym.name] = (sym["st_value"], sym["st_size"])
    return ElfImage(path, tuple(sections), functions, objects)
