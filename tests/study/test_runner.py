"""Resume (a rerun skips finished cells), failed cells, interruption, shards + collect == one unsharded run."""

from __future__ import annotations

import dataclasses
import json
import shutil

import pytest

from edgelnn.study import cell as cell_module
from edgelnn.study import runner
from edgelnn.study.errors import StudyError
from edgelnn.study.grid import Match
from edgelnn.study.results import read_results, without_timings

from .helpers import assert_same_numbers, tiny_spec


def test_tiny_study_writes_cells_results_and_report(tiny_study):
    out, run = tiny_study
    assert sorted(run.executed) == ["cfc-sine-s0", "gru-sine-s0"]
    for cell_id in run.executed:  # each cell: an ordinary run dir and export dir
        folder = out / "cells" / cell_id
        assert (folder / "run" / "metrics.json").is_file() and (folder / "export" / "manifest.json").is_file()
    doc = read_results(out)  # validated against the schema
    assert doc == run.results and len(doc["cells"]) == 2 and all(c["status"] == "ok" for c in doc["cells"])
    assert (out / "report.md").is_file() and (out / "results.csv").is_file()


def test_rerun_skips_finished_cells(tiny_study, counter, tmp_path):
    out = tmp_path / "study"
    shutil.copytree(tiny_study[0], out)
    before = {p: p.stat().st_mtime_ns for p in (out / "cells").glob("*/cell.json")}
    run = runner.run_study(tiny_spec(), out)
    assert counter.ran == [] and sorted(run.reused) == sorted(tiny_study[1].executed)
    assert {p: p.stat().st_mtime_ns for p in before} == before  # no cell was rewritten
    assert without_timings(read_results(out)) == without_timings(tiny_study[1].results)


def test_a_cell_run_again_reuses_its_bench_documents(tiny_study, counter, monkeypatch, tmp_path):
    import edgelnn.targets.bench as bench_module

    out = tmp_path / "study"
    shutil.copytree(tiny_study[0], out)
    folder = out / "cells" / "gru-sine-s0"
    bench_file = folder / "export" / "bench-cpu.json"
    before = bench_file.stat().st_mtime_ns
    benched = []
    original = bench_module.bench
    monkeypatch.setattr(bench_module, "bench", lambda *a, **k: benched.append(a[0]) or original(*a, **k))
    (folder / "cell.json").unlink()
    runner.run_study(tiny_spec(), out)
    assert counter.ran == ["gru-sine-s0"] and benched == [] and bench_file.stat().st_mtime_ns == before
    assert without_timings(read_results(out)) == without_timings(tiny_study[1].results)
    doc = json.loads(bench_file.read_text())  # measured with other settings: measured again
    doc["settings"]["steps"] += 1
    bench_file.write_text(json.dumps(doc))
    (folder / "cell.json").unlink()
    runner.run_study(tiny_spec(), out)
    assert benched == [folder / "export"] and json.loads(bench_file.read_text())["settings"]["steps"] == 20


def test_interrupt_loses_at_most_the_running_cell(counter, tmp_path):
    out = tmp_path / "study"
    spec = tiny_spec(models=("gru",), seeds=(0, 1))  # gru-sine-s0, gru-sine-s1
    counter.interrupt_at = "gru-sine-s1"
    with pytest.raises(KeyboardInterrupt):
        runner.run_study(spec, out)
    assert counter.ran == ["gru-sine-s0"] and (out / "cells" / "gru-sine-s0" / "cell.json").is_file()
    counter.interrupt_at = None
    run = runner.run_study(spec, out)
    assert counter.ran == ["gru-sine-s0", "gru-sine-s1"]  # only the interrupted cell ran again
    assert run.reused == ["gru-sine-s0"] and run.executed == ["gru-sine-s1"]


def test_a_failed_cell_is_recorded_and_the_others_run(counter, monkeypatch, tmp_path):
    original = cell_module._export

    def export(cell, *args):
        if cell.model == "cfc":
            raise RuntimeError("converter exploded")
        return original(cell, *args)

    monkeypatch.setattr(cell_module, "_export", export)
    out = tmp_path / "study"
    run = runner.run_study(tiny_spec(), out)
    assert run.failed == ["cfc-sine-s0"] and sorted(run.executed) == ["cfc-sine-s0", "gru-sine-s0"]
    cells = {c["cell_id"]: c for c in read_results(out)["cells"]}
    assert cells["cfc-sine-s0"]["status"] == "failed"
    assert cells["cfc-sine-s0"]["error"] == "RuntimeError: converter exploded"
    assert cells["gru-sine-s0"]["status"] == "ok"
    assert "cfc-sine-s0: RuntimeError: converter exploded" in (out / "report.md").read_text()
    monkeypatch.setattr(cell_module, "_export", original)
    rerun = runner.run_study(tiny_spec(), out)  # a failed cell is tried again, a finished one is not
    assert rerun.executed == ["cfc-sine-s0"] and rerun.reused == ["gru-sine-s0"] and not rerun.failed


def test_shards_collected_equal_one_unsharded_run(tiny_study, tmp_path):
    shards = [tmp_path / f"shard{i}" for i in range(2)]
    for i, folder in enumerate(shards):
        run = runner.run_study(tiny_spec(), folder, shard=(i, 2))
        assert len(run.executed) == 1
        (other,) = {"cfc-sine-s0", "gru-sine-s0"} - set(run.executed)  # a shard's report names what it lacks
        assert f"1 of the study's 2 cells have not run yet** (they are not in any table or verdict): {other}." \
            in (folder / "report.md").read_text()
    merged = runner.collect(shards, tmp_path / "merged")
    assert "have not run yet" not in (tmp_path / "merged" / "report.md").read_text()
    assert without_timings(merged.results) == without_timings(tiny_study[1].results)
    assert without_timings(read_results(tmp_path / "merged")) == without_timings(tiny_study[1].results)


def test_collect_refuses_different_studies(tiny_study, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    spec = json.loads((tiny_study[0] / "study.json").read_text())
    spec["seeds"] = [5]
    (other / "study.json").write_text(json.dumps(spec))
    with pytest.raises(StudyError, match="different settings"):
        runner.collect([tiny_study[0], other], tmp_path / "merged")
    with pytest.raises(StudyError, match="not a study directory"):
        runner.collect([tmp_path / "missing"], tmp_path / "merged")


def test_out_dir_of_another_study_is_refused(tiny_study, tmp_path):
    out = tmp_path / "study"
    shutil.copytree(tiny_study[0], out)
    before = (out / "study.json").read_text()
    other_budget = dataclasses.replace(tiny_spec(), train={"sine": dataclasses.replace(
        tiny_spec().train["sine"], epochs=2)})
    with pytest.raises(StudyError, match=r"other settings \(train\[sine\]\)"):
        runner.run_study(other_budget, out)
    with pytest.raises(StudyError, match=r"other settings \(match\)"):
        runner.run_study(dataclasses.replace(tiny_spec(), match=Match("hidden", 7)), out)
    assert (out / "study.json").read_text() == before


def test_cells_recorded_before_the_optimizer_settings_existed_are_still_finished(tiny_study, counter, tmp_path):
    out = tmp_path / "study"
    shutil.copytree(tiny_study[0], out)
    for path in [*(out / "cells").glob("*/cell.json"), out / "study.json"]:  # as an older edgelnn wrote them
        doc = json.loads(path.read_text())
        for train in [doc["train"]] if "cell_id" in doc else doc["train"].values():
            for key in ("optimizer", "lr_decay", "grad_clip"):
                del train[key]
        path.write_text(json.dumps(doc))
    runner.run_study(tiny_spec(), out)
    assert counter.ran == []  # absent settings are the defaults these cells were trained with
    other = tiny_spec()
    other.train["sine"] = dataclasses.replace(other.train["sine"], optimizer="rmsprop")
    with pytest.raises(StudyError, match=r"other settings \(train\[sine\]\)"):
        runner.run_study(other, out)


def _as_recorded_under_baselines_1(record: dict) -> dict:
    """``record`` as an edgelnn before the best-constant baseline wrote it, with its derived figures wrong
    (so a refresh that kept them would be caught)."""
    record = json.loads(json.dumps(record))
    del record["baselines"]
    record["int8"].pop("reference", None)
    record["did_not_train"] = not record["did_not_train"]
    record["splits"]["test"]["normalised_error"] = 7.0
    record["id"]["normalised_error"] = 7.0
    return record


def test_cells_recorded_under_older_baselines_are_recomputed_not_rerun(tiny_study, counter, tmp_path):
    out = tmp_path / "study"
    shutil.copytree(tiny_study[0], out)
    path = out / "cells" / "gru-sine-s0" / "cell.json"
    path.write_text(json.dumps(_as_recorded_under_baselines_1(json.loads(path.read_text()))))
    run = runner.run_study(tiny_spec(), out)
    assert counter.ran == []
    assert_same_numbers(without_timings(run.results), without_timings(tiny_study[1].results))
    assert json.loads(path.read_text())["baselines"] == cell_module.BASELINES_VERSION  # rewritten once


def test_report_only_recomputes_cells_recorded_under_older_baselines(tiny_study, tmp_path):
    out = tmp_path / "study"
    shutil.copytree(tiny_study[0], out)
    shutil.rmtree(out / "cells")  # only results.json: the figures come from each cell's own split metrics
    doc = read_results(out)
    doc["cells"] = [_as_recorded_under_baselines_1(c) for c in doc["cells"]]
    (out / "results.json").write_text(json.dumps(doc))
    runner.report_only(out)
    assert_same_numbers(without_timings(read_results(out)), without_timings(tiny_study[1].results))


def test_a_study_kept_as_results_json_alone_resumes_and_extends(tiny_study, counter, tmp_path):
    """A committed study keeps results.json, not its cell directories: a rerun runs nothing, and a rerun with
    another seed runs only the new cell, its results holding the kept cells too."""
    out = tmp_path / "study"
    shutil.copytree(tiny_study[0], out)
    shutil.rmtree(out / "cells")
    assert without_timings(runner.run_study(tiny_spec(), out).results) == without_timings(tiny_study[1].results)
    assert counter.ran == []
    run = runner.run_study(tiny_spec(models=("gru",), seeds=(0, 1)), out)
    assert counter.ran == ["gru-sine-s1"]
    assert sorted(c["cell_id"] for c in run.results["cells"]) == ["cfc-sine-s0", "gru-sine-s0", "gru-sine-s1"]
    (out / "cells" / "gru-sine-s1" / "cell.json").unlink()  # a cell directory without its record: unfinished
    runner.run_study(tiny_spec(models=("gru",), seeds=(0, 1)), out)
    assert counter.ran == ["gru-sine-s1", "gru-sine-s1"]


def test_collect_brings_in_cells_kept_in_results_json(tiny_study, tmp_path):
    kept = tmp_path / "kept"
    shutil.copytree(tiny_study[0], kept)
    shutil.rmtree(kept / "cells")
    merged = runner.collect([kept], tmp_path / "merged")
    assert without_timings(merged.results) == without_timings(tiny_study[1].results)
    assert sorted(p.parent.name for p in (tmp_path / "merged" / "cells").glob("*/cell.json")) == \
        ["cfc-sine-s0", "gru-sine-s0"]


def test_a_corrupted_results_json_stops_a_rerun_with_one_clear_error(tiny_study, counter, tmp_path):
    out = tmp_path / "study"
    shutil.copytree(tiny_study[0], out)
    (out / "results.json").write_text("{not json")
    with pytest.raises(StudyError, match="results.json is not valid JSON.*restore it, or remove it"):
        runner.run_study(tiny_spec(), out)
    assert counter.ran == []


def test_a_rerun_with_more_seeds_extends_the_study(tiny_study, counter, tmp_path):
    out = tmp_path / "study"
    shutil.copytree(tiny_study[0], out)
    run = runner.run_study(tiny_spec(models=("gru",), seeds=(1,)), out)
    assert counter.ran == ["gru-sine-s1"]  # only the new cell
    recorded = json.loads((out / "study.json").read_text())
    assert recorded["models"] == ["cfc", "gru"] and recorded["seeds"] == [0, 1]
    ids = ["cfc-sine-s0", "gru-sine-s0", "gru-sine-s1"]
    assert sorted(c["cell_id"] for c in run.results["cells"]) == ids  # results cover the whole study
    rerun = runner.run_study(tiny_spec(), out)  # the original grid: nothing to run, the study stays whole
    assert counter.ran == ["gru-sine-s1"] and sorted(c["cell_id"] for c in rerun.results["cells"]) == ids
    assert json.loads((out / "study.json").read_text()) == recorded


def test_jobs_run_cells_in_processes_with_the_same_results(tiny_study, tmp_path):
    run = runner.run_study(tiny_spec(), tmp_path / "jobs", jobs=2)
    assert sorted(run.executed) == sorted(tiny_study[1].executed) and not run.failed
    assert without_timings(run.results) == without_timings(tiny_study[1].results)
