"""Bench output: the versioned JSON document (schema in bench.schema.json beside this file) and its table."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edgelnn.tasks.metrics import metric_spec
from edgelnn.utils.atomic import write_json_atomic
from edgelnn.utils.schema import load_schema, validate_document
from edgelnn.utils.table import format_table

SCHEMA_VERSION = 1
SCHEMA_PATH = Path(__file__).with_name("bench.schema.json")


def bench_schema() -> dict[str, Any]:
    """The JSON Schema (2020-12) of a bench result document."""
    return load_schema(SCHEMA_PATH)


def validate_bench(doc: dict[str, Any]) -> None:
    """Raise ValueError naming the first place where ``doc`` breaks the bench schema."""
    validate_document(doc, bench_schema(), "bench result", SCHEMA_VERSION)


def write_bench(doc: dict[str, Any], path: str | Path) -> Path:
    """Validate ``doc`` and write it atomically as JSON to ``path``."""
    validate_bench(doc)
    path = Path(path)
    write_json_atomic(path, doc)
    return path


def _mib(value: int | None) -> float | None:
    return None if value is None else round(value / 2**20, 1)


def _kib(value: int | None) -> float | None:
    return None if value is None else round(value / 2**10, 1)


def _tput(result: dict[str, Any], batch: int) -> float | None:
    for row in result.get("throughput") or []:
        if row["batch"] == batch:
            return None if row["steps_per_s"] is None else round(row["steps_per_s"])
    return None


def table_rows(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per result: the headline numbers of the bench table."""
    metric = doc["task"]["metric"]
    worst = metric_spec(metric).worst
    batches = doc["settings"]["batches"]
    rows = []
    for r in doc["results"]:
        lat = r.get("latency_us") or {}
        metrics = r.get("metrics") or {}
        ood = [v for k, v in metrics.items() if k.startswith("ood-")]
        row: dict[str, Any] = {
            "backend": r["backend"], "precision": r["precision"], "status": r["status"],
            "load s": r["load_seconds"],
            "step p50 us": lat.get("step", {}).get("p50"), "p99 us": lat.get("step", {}).get("p99"),
            "raw p50 us": lat.get("raw", {}).get("p50"), "step/raw": r["step_over_raw"],
        }
        for b in batches:
            row[f"steps/s b{b}"] = _tput(r, b)
        row.update({"RSS MiB": _mib(r["peak_rss_bytes"]), "size KiB": _kib(r["artifact_bytes"]),
                    "arena KiB": _kib(r["arena_bytes"]), f"test {metric}": metrics.get("test"),
                    f"worst ood {metric}": worst(ood) if ood else None,
                    "verdict": r["verdict"]["verdict"]})
        rows.append(row)
    return rows


def _check_text(check: dict[str, Any]) -> str:
    value = "?" if check["bytes"] is None else f"{check['bytes']} B"
    if check["budget_bytes"] is None:
        return f"{check['resource']}: no budget ({check['measured']} = {value})"
    sign = {True: "<=", False: ">", None: "vs"}[check["fits"]]
    return f"{check['resource']}: {check['measured']} = {value} {sign} budget {check['budget_bytes']} B"


def verdict_lines(doc: dict[str, Any]) -> list[str]:
    """One line per result naming the compared numbers; one line in all when the target sets no budget."""
    target = doc["target"]
    if target.get("ram_bytes") is None and target.get("flash_bytes") is None:
        return [f"verdict: unknown for every backend: target {target['name']!r} sets no RAM or flash budget"]
    return [f"{r['backend']} {r['precision']}: {r['verdict']['verdict']} ("
            + "; ".join(_check_text(c) for c in r["verdict"]["checks"]) + ")" for r in doc["results"]]


def _notes(doc: dict[str, Any]) -> list[str]:
    """Distinct notes, each with the rows it applies to."""
    where: dict[str, list[str]] = {}
    for r in doc["results"]:
        for note in r.get("notes", []):
            where.setdefault(note, []).append(f"{r['backend']} {r['precision']}")
    lines = [f"note ({', '.join(rows)}): {note}" for note, rows in where.items()]
    lines += [line for r in doc["results"] for line in (*_manifest_lines(doc, r), *_range_lines(r))]
    if doc["task"].get("error"):
        lines.append(f"note: no task metrics: {doc['task']['error']}")
    return lines


# A relative difference below this is float rounding between runtimes (litert vs tflm kernels), not a finding;
# an accuracy difference is at least 1/N, far above it for any evaluated split.
REPORTED_DIFFERENCE = 1e-4


def manifest_differences(doc: dict[str, Any], result: dict[str, Any]) -> dict[str, tuple[float, float]]:
    """Split -> (this bench's metric, the manifest's) where the two differ (e.g. tflm here, litert at export)."""
    recorded = (result.get("manifest_metrics") or {}).get("metrics") or {}
    ours = result.get("metrics") or {}
    return {name: (ours[name], recorded[name]) for name in ours
            if name in recorded and abs(ours[name] - recorded[name]) > REPORTED_DIFFERENCE * max(abs(recorded[name]),
                                                                                               1e-12)}


def _manifest_lines(doc: dict[str, Any], result: dict[str, Any]) -> list[str]:
    diffs = manifest_differences(doc, result)
    if not diffs:
        return []
    metric = doc["task"]["metric"]
    runtime = (result.get("manifest_metrics") or {}).get("runtime") or "runtime not recorded"
    shown = ", ".join(f"{name} {ours:.6g} vs {theirs:.6g}" for name, (ours, theirs) in diffs.items())
    return [(f"note ({result['backend']} {result['precision']}): {metric} here ({result['backend']}) differs "
             f"from the manifest's ({runtime}): {shown}")]


def _range_lines(result: dict[str, Any]) -> list[str]:
    seen = {name: c for name, c in (result.get("out_of_range") or {}).items() if c["x"] or c["dt"]}
    if not seen:
        return []
    shown = ", ".join(f"{name} x {c['x']}, dt {c['dt']} ({c['steps']} steps)" for name, c in seen.items())
    return [(f"note ({result['backend']} {result['precision']}): inputs outside the export's declared ranges "
             f"(int8 clips them): {shown}")]


def format_report(doc: dict[str, Any]) -> str:
    """The bench table, the verdicts naming what was compared, then failures, skipped backends and notes."""
    target = doc["target"]
    head = f"target {target['name']} ({target['kind']}): "
    if not doc["available"]:
        return head + doc["reason"]
    lines = [head + f"{doc['model']['kind']} hidden {doc['model']['hidden_size']}, task {doc['task']['name']}",
             format_table(table_rows(doc)), "", *verdict_lines(doc)]
    lines += [f"FAILED {r['backend']} {r['precision']}: {r['error']}" for r in doc["results"] if r["status"] != "ok"]
    lines += [f"skipped {s['backend']}: {s['reason']}" for s in doc.get("skipped", [])]
    return "\n".join(lines + _notes(doc))
