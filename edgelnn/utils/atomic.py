"""Atomic file writes: write to a temporary file in the same directory, then rename over the target.

Readers see the old file or the new one, never half of one; a crash leaves no temporary file behind.
Files and directories made here get the modes ``open``/``mkdir`` would give them (0644 / 0755 under the
usual umask 022), not tempfile's private 0600 / 0700: run directories and exports are handed to other users
(e.g. a robot's service account).
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

_UMASK_LOCK = threading.Lock()


def current_umask() -> int:
    """This process's umask, read without changing it (Linux: /proc/self/status; else set and restore)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    with _UMASK_LOCK:  # os.umask can only be read by setting it: keep the window short and our own
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def default_file_mode() -> int:
    """The mode ``open(path, "w")`` gives a new file: 0o666 less the umask."""
    return 0o666 & ~current_umask()


def default_dir_mode() -> int:
    """The mode ``mkdir`` gives a new directory: 0o777 less the umask."""
    return 0o777 & ~current_umask()


def make_temp_dir(prefix: str, dir: str | Path) -> Path:
    """``tempfile.mkdtemp`` (unique name, created atomically) with the ordinary directory mode."""
    path = Path(tempfile.mkdtemp(prefix=prefix, dir=dir))
    os.chmod(path, default_dir_mode())
    return path


def atomic_write(path: str | Path, write: Callable[[str], None], suffix: str = ".tmp") -> Path:
    """Call ``write(tmp_path)`` to produce the file, then rename it to ``path``.

    ``suffix`` matters to writers that check the file name (torch.save needs a plain name, safetensors
    none): the temporary name is ``tmp-XXXX<suffix>`` in ``path``'s directory.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix="tmp-", suffix=suffix, dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, default_file_mode())  # mkstemp made it 0600
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_json_atomic(path: str | Path, data: Any) -> Path:
    """Write ``data`` as indented, key-sorted JSON to ``path`` atomically."""

    def write(tmp: str) -> None:
        with open(tmp, "w") as f:
            json.dump(data, f, indent=2, sort_keys=True)
            f.write("\n")

    return atomic_write(path, write, ".json")
