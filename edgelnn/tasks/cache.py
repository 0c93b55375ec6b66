"""On-disk cache of built tasks: one ``.npz`` per (task, seed, generator version, options).

Default location: ``$EDGELNN_CACHE/tasks`` if the variable is set, else ``~/.cache/edgelnn/tasks``.
Writes are atomic (temporary file in the same folder, then ``os.replace``), so concurrent
builders never expose a partial file; a corrupt or unreadable entry is treated as a miss.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from edgelnn.utils.atomic import atomic_write

from .base import Split, Task

FORMAT_VERSION = 1
_ARRAYS = ("x", "t", "y", "mask")


def default_cache_dir() -> Path:
    """``$EDGELNN_CACHE/tasks`` or ``~/.cache/edgelnn/tasks``."""
    root = os.environ.get("EDGELNN_CACHE")
    return Path(root) / "tasks" if root else Path.home() / ".cache" / "edgelnn" / "tasks"


def cache_path(
    cache_dir: str | Path | None, name: str, seed: int, version: int, options: dict[str, Any]
) -> Path:
    """File of one cache entry; options enter through a short hash of their canonical JSON."""
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    blob = json.dumps(options, sort_keys=True, default=list).encode("utf-8")
    digest = hashlib.sha256(blob).hexdigest()[:12]
    return folder / f"{name}-seed{seed}-v{version}.{FORMAT_VERSION}-{digest}.npz"


def save_task(task: Task, path: Path) -> None:
    """Write ``task`` to ``path`` atomically."""
    arrays: dict[str, np.ndarray] = {}
    for split_name, split in task.splits.items():
        for field in _ARRAYS:
            arrays[f"{split_name}/{field}"] = getattr(split, field)
    meta = {
        "format": FORMAT_VERSION,
        "name": task.name,
        "kind": task.kind,
        "metric": task.metric,
        "input_size": task.input_size,
        "output_size": task.output_size,
        "splits": list(task.splits),
        "ood_descriptions": task.ood_descriptions,
        "description": task.description,
        "info": task.info,
    }
    arrays["__meta__"] = np.array(json.dumps(meta))

    def write(tmp: str) -> None:
        with open(tmp, "wb") as handle:  # a file object: np.savez would append .npz to a name
            np.savez(handle, **arrays)

    atomic_write(path, write, ".npz.tmp")


def load_cached_task(path: Path) -> Task:
    """Read a task written by :func:`save_task` (raises on a missing or corrupt file)."""
    with np.load(path, allow_pickle=False) as data:
        meta = json.loads(str(data["__meta__"]))
        if meta.get("format") != FORMAT_VERSION:
            raise ValueError(f"{path}: cache format {meta.get('format')} != {FORMAT_VERSION}")
        splits = {
            name: Split(**{field: data[f"{name}/{field}"] for field in _ARRAYS}) for name in meta["splits"]
        }
    return Task(
        name=meta["name"],
        kind=meta["kind"],
        metric=meta["metric"],
        input_size=meta["input_size"],
        output_size=meta["output_size"],
        splits=splits,
        ood_descriptions=meta["ood_descriptions"],
        description=meta["description"],
        info=meta["info"],
    )


def try_load(path: Path) -> Task | None:
    """The cached task at ``path``, or None if it is missing or unreadable."""
    if not path.exists():
        return None
    try:
        return load_cached_task(path)
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, json.JSONDecodeError) as exc:
        warnings.warn(f"ignoring unreadable task cache {path}: {exc}", RuntimeWarning, stacklevel=3)
        return None


def try_save(task: Task, path: Path) -> None:
    """Save ``task`` to ``path``; a failure (e.g. read-only folder) only warns."""
    try:
        save_task(task, path)
    except OSError as exc:
        warnings.warn(f"could not write task cache {path}: {exc}", RuntimeWarning, stacklevel=3)
