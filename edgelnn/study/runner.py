"""Run the study: plan the grid, run the cells that are not finished, write results and the report.

Resumable: a finished cell (``cells/<id>/cell.json`` with status ok) is never recomputed; a failed cell is
recorded with its error and tried again on the next run; an interrupted cell resumes from its last epoch.
A run with more models, tasks or seeds (same budgets and pipeline) extends the study its directory holds.
``jobs`` > 1 runs cells in that many local processes. ``shard=(i, n)`` runs every n-th cell from the i-th,
so a batch system can spread the grid over machines; :func:`collect` merges their directories.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import json
import multiprocessing
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgelnn.errors import InUseError
from edgelnn.study.cell import (
    CELL_FILE,
    PipelineSettings,
    cell_dir,
    read_cell_record,
    refresh_baselines,
    run_cell,
    stale_baselines,
)
from edgelnn.study.errors import StudyError, StudyResultsError
from edgelnn.study.grid import Cell, Match, TrainSettings, build_grid, shard_cells
from edgelnn.study.presets import PRESETS
from edgelnn.study.results import RESULTS_FILE, build_results, read_results, write_results
from edgelnn.utils.atomic import make_temp_dir, write_json_atomic
from edgelnn.utils.locking import exclusive_lock

SPEC_FILE = "study.json"


@dataclass(frozen=True)
class StudySpec:
    """What to run: the grid, the matching, training per task and the export/bench pipeline."""

    models: tuple[str, ...]
    tasks: tuple[str, ...]
    seeds: tuple[int, ...]
    match: Match
    train: dict[str, TrainSettings]
    pipeline: PipelineSettings
    preset: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"preset": self.preset, "models": list(self.models), "tasks": list(self.tasks),
                "seeds": list(self.seeds), "match": self.match.to_dict(),
                "train": {task: self.train_for(task).to_dict() for task in self.tasks},
                "pipeline": self.pipeline.to_dict()}

    def train_for(self, task: str) -> TrainSettings:
        return self.train.get(task, TrainSettings())

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StudySpec:
        return cls(models=tuple(data["models"]), tasks=tuple(data["tasks"]), seeds=tuple(data["seeds"]),
                   match=Match(**data["match"]), train={k: TrainSettings(**v) for k, v in data["train"].items()},
                   pipeline=PipelineSettings.from_dict(data["pipeline"]), preset=data.get("preset"))

    def cells(self) -> list[Cell]:
        return build_grid(list(self.models), list(self.tasks), list(self.seeds), self.match,
                          {task: self.train_for(task) for task in self.tasks})


def make_spec(preset: str = "demo", models: list[str] | None = None, tasks: list[str] | None = None,
              seeds: list[int] | None = None, match: Match | None = None) -> StudySpec:
    """A preset's spec with its grid overridden where given."""
    if preset not in PRESETS:
        raise StudyError(f"unknown preset {preset!r}; valid presets: {', '.join(PRESETS)}")
    p = PRESETS[preset]
    return StudySpec(models=tuple(models if models is not None else p.models),
                     tasks=tuple(tasks if tasks is not None else p.tasks),
                     seeds=tuple(seeds if seeds is not None else p.seeds), match=match or p.match,
                     train=dict(p.train), pipeline=p.pipeline, preset=preset)


@dataclass
class StudyRun:
    """What one call did: the results document, the report, and which cells ran, were reused or failed."""

    out_dir: Path
    results: dict[str, Any]
    report_path: Path | None
    executed: list[str] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    wall_s: float = 0.0


Progress = Callable[[str], None]


def _union(first: tuple[Any, ...], second: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(first) + tuple(x for x in second if x not in first)


def extend_spec(recorded: StudySpec, spec: StudySpec) -> StudySpec:
    """The study that ``recorded`` becomes when ``spec`` runs in its directory: the union of their models,
    tasks and seeds. StudyError when they are not one study: another matching, pipeline or preset, or another
    training budget for a task both hold (their cells would not be comparable)."""
    differ = [name for name in ("match", "pipeline", "preset") if getattr(recorded, name) != getattr(spec, name)]
    differ += [f"train[{task}]" for task in spec.tasks
               if task in recorded.tasks and recorded.train_for(task) != spec.train_for(task)]
    if differ:
        raise StudyError(f"other settings ({', '.join(differ)})")
    return dataclasses.replace(recorded, models=_union(recorded.models, spec.models),
                               tasks=_union(recorded.tasks, spec.tasks), seeds=_union(recorded.seeds, spec.seeds),
                               train={**{t: recorded.train_for(t) for t in recorded.tasks},
                                      **{t: spec.train_for(t) for t in spec.tasks}})


def _claim_spec(out_dir: Path, spec: StudySpec) -> StudySpec:
    """Record the study in OUT/study.json and return it: ``spec``, or the study OUT already holds extended by
    it (more models, tasks or seeds; see :func:`extend_spec`). StudyError for an OUT holding another study."""
    path = out_dir / SPEC_FILE
    study = spec
    if path.is_file():
        try:
            recorded = StudySpec.from_dict(json.loads(path.read_text()))
        except (ValueError, KeyError, TypeError):
            recorded = None  # unreadable: this run's spec replaces it (cells are checked one by one)
        if recorded is not None:
            try:
                study = extend_spec(recorded, spec)
            except StudyError as exc:
                raise StudyError(f"{out_dir} holds a study with {exc} ({path}); choose another --out or rerun "
                                 "it with the same options") from None
    write_json_atomic(path, json.loads(json.dumps(study.to_dict())))
    return study


def _kept_results(out_dir: Path) -> dict[str, dict[str, Any]]:
    """The cell records OUT/results.json holds, by cell id: a study kept without its cell directories (the
    committed docs/study, say) still knows its finished cells. {} when OUT has no results.json."""
    if not (out_dir / RESULTS_FILE).is_file():
        return {}
    try:
        doc = read_results(out_dir)
    except StudyResultsError as exc:
        raise StudyResultsError(f"{exc} (it lists the cells finished in {out_dir}: restore it, or remove it to "
                                "keep only the cells whose directories are under cells/)") from None
    return {cell["cell_id"]: cell for cell in doc["cells"]}


def _record(cell_id: str, out_dir: Path, kept: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    """A cell's record: its cell.json when the cell has a directory (none there: unfinished, it runs again),
    else the one results.json kept."""
    folder = cell_dir(out_dir, cell_id)
    return read_cell_record(folder) if folder.is_dir() else kept.get(cell_id)


def _finished(cell: Cell, out_dir: Path, kept: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    """The record of a finished ok cell with this cell's settings; StudyError if OUT holds it with others."""
    record = _record(cell.cell_id, out_dir, kept)
    if record is None or record.get("status") != "ok":
        return None
    mine = json.loads(json.dumps(cell.to_dict()))
    theirs = {k: record.get(k) for k in mine}
    if isinstance(theirs["train"], dict):  # a record written before a setting existed holds its default
        theirs["train"] = {**TrainSettings().to_dict(), **theirs["train"]}
    if theirs != mine:
        raise StudyError(f"cell {cell.cell_id} in {out_dir} was run with other settings; choose another --out")
    return record


def _run_locked(cell: Cell, pipeline: PipelineSettings, out_dir: Path) -> dict[str, Any] | None:
    """Run one cell holding its lock; None when another process is running it."""
    folder = cell_dir(out_dir, cell.cell_id)
    folder.parent.mkdir(parents=True, exist_ok=True)
    try:
        with exclusive_lock(folder.parent / f".{cell.cell_id}.lock", f"cell {cell.cell_id}"):
            return run_cell(cell, pipeline, out_dir)
    except InUseError:
        return None


def _worker(cell: Cell, pipeline: PipelineSettings, out_dir: str, threads: int) -> dict[str, Any] | None:
    import torch

    torch.set_num_threads(threads)
    return _run_locked(cell, pipeline, Path(out_dir))


def run_study(spec: StudySpec, out_dir: str | Path, jobs: int = 1, shard: tuple[int, int] | None = None,
              progress: Progress | None = None, report: bool = True) -> StudyRun:
    """Run the cells of ``spec`` (or of one shard) that are not finished in ``out_dir``; write results.json,
    results.csv and (``report``) report.md with plots from every finished cell of the grid there."""
    if not isinstance(jobs, int) or jobs < 1:
        raise StudyError(f"jobs={jobs!r} is not valid; it must be an integer >= 1")
    started = time.perf_counter()
    say = progress or (lambda _: None)
    grid = spec.cells()  # bad names, empty grid, impossible budgets: fail before any work
    todo = shard_cells(grid, *shard) if shard else grid
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    study = _claim_spec(out, spec)
    kept = _kept_results(out)
    run = StudyRun(out, {}, None)
    pending = []
    for cell in todo:
        if _finished(cell, out, kept) is not None:
            run.reused.append(cell.cell_id)
        else:
            pending.append(cell)
    say(f"{len(todo)} cells{f' (shard {shard[0]}/{shard[1]} of {len(grid)})' if shard else ''}: "
        f"{len(run.reused)} finished before, {len(pending)} to run")

    def done(i: int, cell: Cell, record: dict[str, Any] | None) -> None:
        if record is None:
            say(f"[{i}/{len(pending)}] {cell.cell_id}: skipped (another process is running it)")
            return
        run.executed.append(cell.cell_id)
        if record["status"] != "ok":
            run.failed.append(cell.cell_id)
        state = "ok" if record["status"] == "ok" else f"FAILED: {record['error']}"
        if record["status"] == "ok" and record["did_not_train"]:
            state = "ok (did not train: not better than the trivial baseline beyond chance)"
        say(f"[{i}/{len(pending)}] {cell.cell_id}: {state} ({record['timings']['cell_s']:.1f} s)")

    if jobs == 1 or len(pending) <= 1:
        for i, cell in enumerate(pending, 1):
            done(i, cell, _run_locked(cell, spec.pipeline, out))
    else:
        threads = max(1, (os.cpu_count() or 1) // jobs)
        context = multiprocessing.get_context("spawn")
        with concurrent.futures.ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
            futures = {pool.submit(_worker, cell, spec.pipeline, str(out), threads): cell for cell in pending}
            try:
                for i, future in enumerate(concurrent.futures.as_completed(futures), 1):
                    done(i, futures[future], future.result())
            except BaseException:
                pool.shutdown(wait=False, cancel_futures=True)
                raise
    run.wall_s = time.perf_counter() - started
    # results and report cover the whole study held in OUT (a run of some of its cells does not shrink it)
    run.results, run.report_path = _finish(out, study.to_dict(), _records(out, study.cells(), kept), report,
                                           run.wall_s)
    return run


def _records(out_dir: Path, cells: list[Cell], kept: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The finished cells' records (cell.json, else results.json's); one written under older trivial
    predictors is recomputed (and its cell.json rewritten)."""
    found = [r for r in (_record(c.cell_id, out_dir, kept) for c in cells) if r is not None]
    records = refresh_baselines(found)
    for old, new in zip(found, records):
        path = cell_dir(out_dir, new["cell_id"]) / CELL_FILE
        if new is not old and path.is_file():
            write_json_atomic(path, new)
    return records


def _finish(out_dir: Path, study: dict[str, Any], records: list[dict[str, Any]], report: bool,
            wall_s: float | None) -> tuple[dict[str, Any], Path | None]:
    doc = build_results({**study, "wall_s": wall_s}, records)
    write_results(doc, out_dir)
    report_path = None
    if report:
        from edgelnn.study.report import write_report

        report_path = write_report(doc, out_dir)
    return doc, report_path


def collect(shard_dirs: list[str | Path], out_dir: str | Path, report: bool = True) -> StudyRun:
    """Merge the cells of shard directories (one study, run with --shard) into ``out_dir``: cell directories
    are copied in (whole: temporary name, then rename), then results.json and the report cover them all."""
    if not shard_dirs:
        raise StudyError("--collect needs at least one study directory")
    out = Path(out_dir)
    specs = []
    for folder in map(Path, shard_dirs):
        path = folder / SPEC_FILE
        if not path.is_file():
            raise StudyError(f"{folder} is not a study directory (no {SPEC_FILE})")
        specs.append(json.loads(path.read_text()))
    if any(s != specs[0] for s in specs[1:]):
        raise StudyError("the directories to collect hold studies with different settings")
    spec = StudySpec.from_dict(specs[0])
    out.mkdir(parents=True, exist_ok=True)
    study = _claim_spec(out, spec)
    kept = _kept_results(out)
    run = StudyRun(out, {}, None)
    for folder in map(Path, shard_dirs):
        _collect_kept(folder, out, kept, run)
        for source in sorted((folder / "cells").glob(f"*/{CELL_FILE}")):
            target = cell_dir(out, source.parent.name)
            if target.resolve() == source.parent.resolve() or read_cell_record(target) is not None:
                continue
            record = read_cell_record(source.parent)
            if record is None:
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            staging = make_temp_dir(f".{target.name}.tmp-", target.parent) / "cell"
            shutil.copytree(source.parent, staging)
            if target.exists():
                shutil.rmtree(target)  # an unfinished cell of this directory: the shard's is finished
            os.replace(staging, target)
            shutil.rmtree(staging.parent)
            run.reused.append(target.name)
    run.results, run.report_path = _finish(out, study.to_dict(), _records(out, study.cells(), kept), report, None)
    return run


def _collect_kept(folder: Path, out: Path, kept: dict[str, dict[str, Any]], run: StudyRun) -> None:
    """Bring in the cells a directory holds in its results.json alone (no cell directory): each becomes a
    cell directory of OUT holding only its record."""
    if folder.resolve() == out.resolve():
        return
    for cell_id, record in _kept_results(folder).items():
        if (folder / "cells" / cell_id).is_dir() or _record(cell_id, out, kept) is not None:
            continue  # the directory's own cell (copied whole when finished), or OUT has it already
        target = cell_dir(out, cell_id)
        target.mkdir(parents=True, exist_ok=True)
        write_json_atomic(target / CELL_FILE, record)
        run.reused.append(cell_id)


def report_only(out_dir: str | Path) -> Path:
    """Rebuild report.md and its plots from ``out_dir``/results.json (validated; nothing is trained). Cells
    recorded under older trivial predictors are recomputed from their own metrics first, and results.json
    with its aggregates and verdicts is rewritten to match."""
    from edgelnn.study.report import write_report

    doc = read_results(out_dir)
    if any(stale_baselines(cell) for cell in doc["cells"]):
        doc = build_results(doc["study"], refresh_baselines(doc["cells"]))
        write_results(doc, out_dir)
    return write_report(doc, Path(out_dir))


def run_preset(name: str, out_dir: str | Path, jobs: int = 1, progress: bool = True) -> StudyRun:
    """Run preset ``name`` with its own grid (e.g. the demo)."""
    import click

    return run_study(make_spec(name), out_dir, jobs=jobs, progress=(lambda m: click.echo(m, err=True))
                     if progress else None)
