"""The task an export was made for, loaded the way it was trained, and the splits the bench evaluates.

How the task's options and seed are found, first match wins:

1. the manifest's ``task.options`` / ``task.seed`` (when the export records them; ``task.source``, where
   recorded, names a user .npz file to load instead of ``task.name``);
2. the run the checkpoint came from (``source.run``/config.json: its ``train.task``, ``task_options``, seed);
3. the task's defaults (``load_task(name)``), which may differ from the trained data for generated tasks.

The evaluated splits are the test split and every ``ood-*`` split, each cut to the first ``eval_sequences``
sequences (default: as many as the export verified), so the metrics line up with the manifest's.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from edgelnn.tasks import Split, Task, load_task, load_task_for


def _from_run(run: str | None) -> tuple[Task, dict[str, Any], int] | None:
    if not run:
        return None
    path = Path(run) / "config.json"
    if not path.is_file():
        return None
    train = json.loads(path.read_text())["train"]
    task = load_task_for(train)
    return task, dict(train.get("task_options") or {}), int(task.info.get("seed", 0))


def load_manifest_task(manifest: dict[str, Any]) -> tuple[Task, dict[str, Any]]:
    """(task, how it was loaded: name, options, seed, options_from)."""
    entry = manifest["task"]
    if "options" in entry:
        seed = int(entry.get("seed", 0))
        task = load_task(entry.get("source") or entry["name"], seed=seed, **entry["options"])
        return task, {"options": dict(entry["options"]), "seed": seed, "options_from": "manifest"}
    found = _from_run(manifest.get("source", {}).get("run"))
    if found is not None:
        task, options, seed = found
        return task, {"options": options, "seed": seed, "options_from": "run config"}
    task = load_task(entry["name"])
    return task, {"options": {}, "seed": int(task.info.get("seed", 0)), "options_from": "task defaults"}


def eval_splits(manifest: dict[str, Any], eval_sequences: int | None) -> tuple[dict[str, Any], dict[str, Split]]:
    """(the bench JSON's "task" object, split name -> Split) for the test and OOD splits.

    A task that cannot be loaded here (e.g. a user .npz that moved) gives no splits and an ``error``; the
    bench then reports no metrics instead of failing.
    """
    entry = manifest["task"]
    doc: dict[str, Any] = {"name": entry["name"], "metric": entry["metric"], "options": {}, "seed": 0,
                           "options_from": "task defaults", "splits": [], "error": None,
                           "reference_metrics": dict(manifest.get("reference_metrics", {}))}
    try:
        task, how = load_manifest_task(manifest)
    except (OSError, ValueError, KeyError) as exc:
        doc["error"] = f"cannot load task {entry['name']!r}: {exc}"
        return doc, {}
    doc.update(how)
    limit = eval_sequences or manifest.get("verification", {}).get("sequences_per_split")
    splits = {}
    for name in ["test", *task.ood_splits()]:
        split = task.splits[name]
        splits[name] = split if not limit or len(split) <= limit else split.subset(slice(0, limit))
    doc["splits"] = list(splits)
    return doc, splits
