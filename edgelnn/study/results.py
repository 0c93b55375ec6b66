"""The study's results: results.json (JSON Schema ``results.schema.json`` beside this file) and results.csv.

results.json holds the study settings, one record per cell (see :mod:`edgelnn.study.cell`), per
(model, task) means and standard deviations of the metrics over the seeds that trained (cells that did not
beat the trivial baseline are listed by seed, not averaged in) and of sizes and costs over every finished
seed, and the computed verdicts.
"""

from __future__ import annotations

import csv
import io
import json
import math
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from edgelnn import __version__
from edgelnn.study.errors import StudyResultsError
from edgelnn.utils.atomic import atomic_write, write_json_atomic

SCHEMA_VERSION = 1
SCHEMA_PATH = Path(__file__).with_name("results.schema.json")
RESULTS_FILE = "results.json"
CSV_FILE = "results.csv"
# Fields of cell_fields() that describe what a model costs, not how well it learned: aggregated over every
# finished seed, trained or not (the metrics only over the seeds that trained).
COST_FIELDS = frozenset({"parameters", "hidden_size", "state_size", "latency_us", "train_seconds_per_epoch",
                         "epochs_run", "m4f_instructions", "m4f_flash_bytes", "m4f_ram_bytes",
                         "tflm_ram_upper_bytes"})
# Keys whose values are wall-clock measurements (differ between two runs of the same study).
TIMING_KEYS = frozenset({"created", "timings", "latency", "latency_us", "train_seconds_per_epoch", "wall_s"})


def results_schema() -> dict[str, Any]:
    from edgelnn.utils.schema import load_schema

    return load_schema(SCHEMA_PATH)


def validate_results(doc: Any) -> None:
    """Raise StudyResultsError naming the first place where ``doc`` breaks the results schema."""
    from edgelnn.utils.schema import validate_document

    if not isinstance(doc, dict):
        raise StudyResultsError(f"results document must be a JSON object, got {type(doc).__name__}")
    try:
        validate_document(doc, results_schema(), "study results", SCHEMA_VERSION)
    except ValueError as exc:
        raise StudyResultsError(str(exc)) from None


def read_results(path: str | Path) -> dict[str, Any]:
    """Load and validate results.json (a directory holding one, or the file); one clear error otherwise."""
    path = Path(path)
    if path.is_dir():
        path = path / RESULTS_FILE
    if not path.is_file():
        raise StudyResultsError(f"{path} does not exist: run the study first (edgelnn compare --out DIR)")
    try:
        doc = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as exc:
        raise StudyResultsError(f"{path} is not valid JSON ({exc}); rerun the study or restore the file") from None
    try:
        validate_results(doc)
    except StudyResultsError as exc:
        raise StudyResultsError(f"{path}: {exc}") from None
    return doc


def _stats(values: list[float]) -> dict[str, Any]:
    values = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    n = len(values)
    if n == 0:
        return {"mean": None, "std": None, "n": 0}
    mean = sum(values) / n
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1)) if n > 1 else None
    return {"mean": mean, "std": std, "n": n}


def cell_fields(cell: dict[str, Any]) -> dict[str, Any]:
    """The flat numbers of one ok cell (the columns of results.csv and the aggregated fields)."""
    device = cell["device"]
    out = {
        "parameters": cell["parameters"], "hidden_size": cell["hidden_size"], "state_size": cell["state_size"],
        "id_metric": cell["id"]["metric"], "id_normalised_error": cell["id"]["normalised_error"],
        "ood_degradation_mean": cell["ood_degradation_mean"],
        "int8_drop": cell["int8"]["drop"], "int8_normalised_error_increase": cell["int8"]["normalised_error_increase"],
        "latency_us": cell["latency"]["step_p50_us"], "train_seconds_per_epoch": cell["train_seconds_per_epoch"],
        "epochs_to_best": cell["epochs_to_best"], "epochs_run": cell["epochs_run"],
        "m4f_instructions": device["instructions_per_step"], "m4f_flash_bytes": device["flash_bytes"],
        "m4f_ram_bytes": device["ram_bytes"], "tflm_ram_upper_bytes": device["tflm_ram_upper_bytes"],
    }
    for name, split in cell["ood"].items():
        out[f"{name}_metric"] = split["metric"]
        out[f"{name}_normalised_error"] = split["normalised_error"]
        out[f"{name}_degradation"] = split["degradation"]
        out[f"{name}_raw_error_ratio"] = split["raw_error_ratio"]
    return out


def aggregate(cells: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per (model, task): seeds by outcome; mean/std of every metric over the seeds that trained, and of every
    size and cost (:data:`COST_FIELDS`) over every finished seed (what a model costs does not depend on
    whether it learned the task)."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for cell in cells:
        groups.setdefault((cell["model"], cell["task"]), []).append(cell)
    out = []
    for (model, task), members in groups.items():
        members = sorted(members, key=lambda c: c["seed"])
        trained = [c for c in members if c["status"] == "ok" and not c["did_not_train"]]
        fields: dict[str, list[float]] = {}
        for cell in (c for c in members if c["status"] == "ok"):
            learned = not cell["did_not_train"]
            for key, value in cell_fields(cell).items():
                if learned or key in COST_FIELDS:
                    fields.setdefault(key, []).append(value)
        out.append({
            "model": model, "task": task, "family": members[0]["family"],
            "metric": next((c["metric"] for c in members if c["status"] == "ok"), None),
            "seeds": [c["seed"] for c in members],
            "trained_seeds": [c["seed"] for c in trained],
            "did_not_train_seeds": [c["seed"] for c in members if c["status"] == "ok" and c["did_not_train"]],
            "failed_seeds": [c["seed"] for c in members if c["status"] != "ok"],
            "stats": {key: _stats(values) for key, values in sorted(fields.items())},
        })
    return sorted(out, key=lambda a: (a["task"], a["model"]))


def build_results(study: dict[str, Any], cells: list[dict[str, Any]]) -> dict[str, Any]:
    """The results document: settings, cells (sorted by id), aggregates and computed verdicts."""
    from edgelnn.study.verdicts import compute_verdicts

    cells = sorted(cells, key=lambda c: (c["task"], c["model"], c["seed"]))
    doc = {"schema_version": SCHEMA_VERSION, "edgelnn_version": __version__,
           "created": datetime.now(timezone.utc).isoformat(timespec="seconds"), "study": study,
           "cells": cells, "aggregates": aggregate(cells)}
    doc["verdicts"] = compute_verdicts(doc)
    doc = json.loads(json.dumps(doc))  # plain JSON types, as a reader gets them back
    validate_results(doc)
    return doc


def write_results(doc: dict[str, Any], out_dir: str | Path) -> Path:
    """Validate and write results.json and results.csv into ``out_dir`` (each atomically)."""
    validate_results(doc)
    out_dir = Path(out_dir)
    path = write_json_atomic(out_dir / RESULTS_FILE, doc)
    text = results_csv(doc)
    atomic_write(out_dir / CSV_FILE, lambda tmp: Path(tmp).write_text(text), ".csv")
    return path


def results_csv(doc: dict[str, Any]) -> str:
    """One row per cell: identity, status and every field of :func:`cell_fields` (empty where unknown)."""
    rows = []
    for cell in doc["cells"]:
        row = {"cell_id": cell["cell_id"], "model": cell["model"], "task": cell["task"], "seed": cell["seed"],
               "status": cell["status"], "did_not_train": cell.get("did_not_train"), "error": cell.get("error")}
        if cell["status"] == "ok":
            row.update(cell_fields(cell))
        rows.append(row)
    columns = list(dict.fromkeys(key for row in rows for key in row))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def without_timings(value: Any) -> Any:
    """``value`` with every wall-clock field removed (recursively), and verdicts that rest on timings
    reduced to their claim: what two runs of one study must agree on."""
    if isinstance(value, dict):
        if value.get("uses_timings") is True:
            return {"claim_id": value.get("claim_id"), "uses_timings": True}
        return {k: without_timings(v) for k, v in value.items()
                if k not in TIMING_KEYS and not k.startswith(("latency", "train_seconds"))}
    if isinstance(value, list):
        return [without_timings(v) for v in value]
    return value
