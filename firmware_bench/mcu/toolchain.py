"""Cross-compile C sources for a Cortex-M core with the ``ziglang`` wheel (clang + lld + compiler-rt).

One call builds one linked ELF from a dict of file name -> C text: the functions named in
``entry_symbols`` are the roots that ``--gc-sections`` keeps (the first one is the ELF's entry). The
ELF is written to a temporary name in ``out_dir`` and renamed into place, so a failed build leaves
nothing behind. Zig's caches go to a per-user directory (compiler-rt is built once per core, 4-6 s;
later builds take a fraction of a second) and never into the source tree.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from edgelnn.errors import CompileError, McuToolsMissingError

from .cores import Core, get_core

LINKER_SCRIPT = Path(__file__).with_name("link.ld")
INSTALL_HINT = "pip install 'edgelnn[mcu]'"
# Freestanding C without libc; sections per function/object so the linker drops what no entry reaches;
# -g keeps the symbol table (and costs no flash); no unwind tables (C firmware never unwinds).
COMMON_FLAGS = ("-std=c99", "-g", "-ffreestanding", "-fomit-frame-pointer", "-fno-unwind-tables", "-fno-asynchronous-unwind-tables",
                "-ffunction-sections", "-fdata-sections")
COMPILE_TIMEOUT_S = 600
ERROR_LINES = 20
_FILE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*\.[ch]$")
_SYMBOL = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def zig_cache_dir() -> Path:
    """Zig's cache: ``$EDGELNN_ZIG_CACHE``, else ``~/.cache/edgelnn/zig`` (a temp dir when home is read-only).

    A content-addressed build cache keyed by compiler version and flags, so sharing it between runs and test
    sessions is safe; it is kept apart from ``$EDGELNN_CACHE`` (task data) so that isolated test sessions do
    not rebuild compiler-rt for every core.
    """
    root = os.environ.get("EDGELNN_ZIG_CACHE")
    candidates = [Path(root)] if root else [Path.home() / ".cache" / "edgelnn" / "zig"]
    candidates.append(Path(tempfile.gettempdir()) / f"edgelnn-zig-{os.getuid() if hasattr(os, 'getuid') else 0}")
    for path in candidates:
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError:
            continue
        if os.access(path, os.W_OK):
            return path
    raise CompileError(f"no writable directory for zig's cache (tried {', '.join(map(str, candidates))}); "
                       "set EDGELNN_ZIG_CACHE")


def require_ziglang() -> None:
    """McuToolsMissingError unless the ``ziglang`` wheel is importable."""
    if importlib.util.find_spec("ziglang") is None:
        raise McuToolsMissingError(f"the Cortex-M cross compiler (PyPI package ziglang) is not installed: "
                                   f"{INSTALL_HINT}")


def compile_command(sources: list[Path], core: Core, entry_symbols: list[str], output: Path,
                    opt_level: str = "-O2") -> list[str]:
    """The `zig cc` command line that builds ``output`` from ``sources`` for ``core``."""
    entry, *others = entry_symbols
    return [sys.executable, "-m", "ziglang", "cc", *core.compile_flags, opt_level, *COMMON_FLAGS,
            "-Wl,--gc-sections", f"-Wl,-T,{LINKER_SCRIPT}", f"-Wl,--entry={entry}",
            *(f"-Wl,-u,{sym}" for sym in others), *map(str, sources), "-o", str(output)]


def _check_inputs(c_files: dict[str, str], entry_symbols: list[str], opt_level: str) -> None:
    if not c_files or not any(name.endswith(".c") for name in c_files):
        raise CompileError("no C sources: c_files needs at least one '*.c' entry (name -> C text)")
    bad = [name for name in c_files if not _FILE_NAME.match(name)]
    if bad:
        raise CompileError(f"bad source file names {bad}: plain names ending in .c or .h, no directories")
    if not entry_symbols or not all(_SYMBOL.match(s) for s in entry_symbols):
        raise CompileError(f"entry_symbols {entry_symbols!r}: give one or more C function names")
    if opt_level not in ("-O0", "-O1", "-O2", "-O3", "-Os", "-Oz"):
        raise CompileError(f"opt_level {opt_level!r}: one of -O0 -O1 -O2 -O3 -Os -Oz")


def compile_elf(c_files: dict[str, str], core: Core | str, entry_symbols: list[str] | tuple[str, ...],
                out_dir: str | Path, *, name: str | None = None, opt_level: str = "-O2") -> Path:
    """Build ``out_dir/<name>.elf`` (name defaults to the core's) for ``core`` from ``c_files``.

    ``entry_symbols``: the functions to keep (the first is the ELF entry). Raises CompileError with the
    compiler's first lines when the sources do not compile or link, or when an entry symbol is not defined;
    McuToolsMissingError when ziglang is not installed.
    """
    core = get_core(core)
    entry_symbols = list(entry_symbols)
    _check_inputs(c_files, entry_symbols, opt_level)
    require_ziglang()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    output = out_dir / f"{name or core.name}.elf"
    cache = zig_cache_dir()
    env = {**os.environ, "ZIG_GLOBAL_CACHE_DIR": str(cache), "ZIG_LOCAL_CACHE_DIR": str(cache)}
    with tempfile.TemporaryDirectory(prefix="tmp-build-", dir=out_dir) as tmp:
        build = Path(tmp)
        for file_name, text in c_files.items():
            (build / file_name).write_text(text)
        sources = [build / n for n in c_files if n.endswith(".c")]
        elf_tmp = build / "out.elf"
        cmd = compile_command(sources, core, entry_symbols, elf_tmp, opt_level)
        try:
            proc = subprocess.run(cmd, check=False, cwd=build, env=env, capture_output=True, text=True,
                                  timeout=COMPILE_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            raise CompileError(f"zig cc for {core.name} ran past {COMPILE_TIMEOUT_S} s") from None
        if proc.returncode != 0 or not elf_tmp.exists():
            lines = (proc.stderr or proc.stdout).replace(str(build) + os.sep, "").strip().splitlines()
            head = "\n".join(lines[:ERROR_LINES]) or f"exit status {proc.returncode}"
            raise CompileError(f"C build for {core.name} failed:\n{head}")
        _check_entries(elf_tmp, entry_symbols, core)
        os.replace(elf_tmp, output)
    return output


def _check_entries(elf_path: Path, entry_symbols: list[str], core: Core) -> None:
    """CompileError when an entry symbol is not a function of the linked ELF (lld only warns about it)."""
    from .elf import read_elf

    functions = read_elf(elf_path).functions
    missing = [s for s in entry_symbols if s not in functions]
    if missing:
        raise CompileError(f"C build for {core.name}: entry symbols {missing} are not defined functions in the "
                           "sources")
