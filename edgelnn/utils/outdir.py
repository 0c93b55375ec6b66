"""Output directories written whole: one writer at a time, staging beside them, crash leftovers cleaned.

A writer (an export, a solver sweep, a firmware bundle: ``what``) holds ``.NAME.lock`` beside ``NAME`` for
its whole run, builds everything in ``.NAME.edgelnn-<what>-staging-pid<PID>-XXXX`` and renames that into
place at the end. An old output being replaced is first renamed aside to
``.NAME.edgelnn-<what>-replaced-pid<PID>-XXXX``. A process killed meanwhile (even with kill -9) leaves these
behind; the next writer of ``NAME`` removes them once it holds the lock and their owner process is gone (and
puts a replaced output back if the new one never arrived). :func:`staged_output` does all of it.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

from edgelnn.errors import ExportError, OutputInUseError
from edgelnn.utils.atomic import make_temp_dir
from edgelnn.utils.locking import exclusive_lock, lock_path_beside


def tag(what: str, role: str) -> str:
    """``edgelnn-<what>-<role>``: the marker in a leftover's name (role "staging" or "replaced")."""
    return f"edgelnn-{what}-{role}"


def _cannot_write(out_dir: Path, exc: OSError) -> ExportError:
    return ExportError(f"cannot write the output directory {out_dir}: {exc.strerror or exc}")


@contextlib.contextmanager
def output_lock(out_dir: Path) -> Iterator[None]:
    """Hold the lock of ``out_dir`` (``.NAME.lock`` beside it); OutputInUseError if a writer holds it."""
    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        lock = exclusive_lock(lock_path_beside(out_dir), f"output directory {out_dir}", OutputInUseError)
        lock.__enter__()
    except OSError as exc:
        raise _cannot_write(out_dir, exc) from None
    try:
        yield
    finally:
        lock.__exit__(None, None, None)


def _leftover_pattern(out_dir: Path, what: str) -> re.Pattern[str]:
    staging, replaced = tag(what, "staging"), tag(what, "replaced")
    return re.compile(rf"\.{re.escape(out_dir.name)}\.({staging}|{replaced})-pid(\d+)-")


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie, killed but not yet reaped, counts as gone)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state not in ("Z", "X")


def remove_stale(out_dir: Path, what: str = "export") -> list[Path]:
    """Remove staging and replaced directories of ``out_dir`` left by dead writers; call under output_lock.

    A replaced output is renamed back to ``out_dir`` when nothing took its place (the writer that replaced
    it died in between). Returns what was removed or restored.
    """
    pattern, handled = _leftover_pattern(out_dir, what), []
    for entry in sorted(out_dir.parent.iterdir()):
        match = pattern.match(entry.name)
        if match is None:
            continue
        pid = int(match.group(2))
        if pid != os.getpid() and process_alive(pid):
            continue  # we hold the lock, so it is not writing here; but leave a live process's files alone
        if match.group(1) == tag(what, "replaced") and not (out_dir.exists() or out_dir.is_symlink()):
            entry.rename(out_dir)
        else:
            _remove(entry)
        handled.append(entry)
    return handled


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def make_staging(out_dir: Path, what: str = "export") -> Path:
    """A new, empty staging directory beside ``out_dir`` whose name says what it is and who owns it."""
    return make_temp_dir(f".{out_dir.name}.{tag(what, 'staging')}-pid{os.getpid()}-", out_dir.parent)


def publish(staging: Path, out_dir: Path, force: bool, what: str = "export") -> None:
    """Rename the finished ``staging`` to ``out_dir``; call under output_lock.

    Something at ``out_dir`` is replaced only with ``force`` (checked again here: it may have appeared
    since the writer started); the old output is removed only after the new one is in place.
    """
    old = None
    if out_dir.exists() or out_dir.is_symlink():
        if not force:
            raise FileExistsError(f"output directory {out_dir} appeared during the {what}; "
                                  "pass --force to replace it")
        old = out_dir.with_name(f".{out_dir.name}.{tag(what, 'replaced')}-pid{os.getpid()}-"
                                f"{secrets.token_hex(4)}")
        out_dir.rename(old)
    staging.rename(out_dir)
    if old is not None:
        _remove(old)


@contextlib.contextmanager
def staged_output(out_dir: Path, force: bool, what: str = "export") -> Iterator[Path]:
    """Write ``out_dir`` whole: hold its lock, remove dead writers' leftovers, yield a fresh staging
    directory, and rename it into place when the block ends normally (removing it when the block raises).

    FileExistsError when ``out_dir`` exists without ``force``; OutputInUseError when another writer holds it;
    ExportError when the parent directory cannot be written.
    """
    with output_lock(out_dir):
        try:
            remove_stale(out_dir, what)
            if (out_dir.exists() or out_dir.is_symlink()) and not force:
                raise FileExistsError(f"output directory {out_dir} exists; pass --force to replace it")
            if not os.access(out_dir.parent, os.W_OK):
                raise PermissionError(13, "permission denied")
            staging = make_staging(out_dir, what)
        except FileExistsError:
            raise
        except OSError as exc:
            raise _cannot_write(out_dir, exc) from None
        try:
            yield staging
            publish(staging, out_dir, force, what)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
