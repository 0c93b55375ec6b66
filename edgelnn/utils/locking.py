"""Exclusive, non-blocking locks that say who holds them.

``exclusive_lock(path)`` takes an ``fcntl.flock`` lock on a small lock file and writes the holder's PID into
it. A second process trying the same lock is refused at once with an :class:`~edgelnn.errors.InUseError`
(or the subclass the caller names) that gives the holder's PID. The kernel drops the lock when its holder
exits, also after ``kill -9``, so a crashed holder never blocks anyone; the lock file is removed on release.

``lock_path_beside(target)`` is where the lock of a directory that is created or renamed into place lives:
``.NAME.lock`` in its parent directory.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

from edgelnn.errors import InUseError

_PID_READ_TRIES = 20  # the holder writes its PID right after locking: wait up to ~0.2 s to read it


def lock_path_beside(target: str | Path) -> Path:
    """The lock file of ``target``: ``.NAME.lock`` beside it (absolute: ``x`` and ``./x`` share a lock)."""
    target = Path(os.path.abspath(target))
    return target.with_name(f".{target.name}.lock")


def _read_holder(fd: int) -> int | None:
    for _ in range(_PID_READ_TRIES):
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
        if text.isdigit():
            return int(text)
        time.sleep(0.01)
    return None


def _same_file(fd: int, path: Path) -> bool:
    """Whether ``fd`` is still the file at ``path`` (a releasing holder may have removed it meanwhile)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return False
    own = os.fstat(fd)
    return (st.st_dev, st.st_ino) == (own.st_dev, own.st_ino)


@contextlib.contextmanager
def exclusive_lock(path: str | Path, what: str | None = None,
                   error: type[InUseError] = InUseError) -> Iterator[Path]:
    """Hold an exclusive lock on the lock file ``path`` for the ``with`` block; refuse if someone holds it.

    Raises ``error`` ("WHAT is in use by process PID") when another process (or another open of the same
    file in this process) holds the lock; OSError when the lock file cannot be created.
    """
    path = Path(path)
    what = what or str(path)
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = _read_holder(fd)
            os.close(fd)
            holder = f"process {pid}" if pid is not None else "another process"
            raise error(f"{what} is in use by {holder}", pid) from None
        except BaseException:
            os.close(fd)
            raise
        if _same_file(fd, path):
            break
        os.close(fd)  # we locked a file its last holder had just removed: start again with the current one
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield path
    finally:
        with contextlib.suppress(OSError):
            path.unlink()  # while still locked, so nobody can be holding the file we remove
        os.close(fd)
