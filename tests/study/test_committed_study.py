"""The study committed under docs/study: its results validate against the schema, its verdicts are the ones
the verdict code computes from its own cells (nobody edited them by hand), and its report embeds plots that
exist beside it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from edgelnn.study.grid import cell_id
from edgelnn.study.results import read_results
from edgelnn.study.verdicts import compute_verdicts

STUDY = Path(__file__).resolve().parents[2] / "docs" / "study"

pytestmark = pytest.mark.skipif(not (STUDY / "results.json").is_file(),
                                reason="no committed study under docs/study")


@pytest.fixture(scope="module")
def doc() -> dict:
    return read_results(STUDY)  # validates against the results schema


def test_committed_results_validate_and_hold_finished_cells(doc):
    assert doc["cells"], "an empty study"
    study = doc["study"]
    grid = {cell_id(m, t, s) for m in study["models"] for t in study["tasks"] for s in study["seeds"]}
    ids = [c["cell_id"] for c in doc["cells"]]
    assert len(ids) == len(set(ids)) and set(ids) <= grid and all(c["status"] == "ok" for c in doc["cells"])
    assert {c["task"] for c in doc["cells"]} == set(study["tasks"])
    missing = sorted(grid - set(ids))  # cells not run (yet) are named in the report, never silently dropped
    report = (STUDY / "report.md").read_text()
    assert ("have not run yet" in report) == bool(missing) and all(m in report for m in missing)


def test_committed_verdicts_are_recomputed_from_the_cells(doc):
    def strip(verdicts):
        return [{k: v for k, v in item.items() if k not in ("pairs",)} for item in verdicts]

    assert strip(compute_verdicts(doc)) == strip(doc["verdicts"])
    for verdict in doc["verdicts"]:
        assert verdict["verdict"] in ("supported", "not supported", "mixed/inconclusive")


def test_committed_report_embeds_plots_that_exist():
    report = (STUDY / "report.md").read_text()
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", report)
    assert images, "the report embeds no plot"
    for image in images:
        assert not Path(image).is_absolute() and (STUDY / image).is_file(), image
    assert (STUDY / "results.csv").is_file()
