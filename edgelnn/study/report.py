"""report.md: the study's tables, verdicts, plots and the published numbers beside ours."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edgelnn.study.grid import cell_id
from edgelnn.study.paper import PAPER_NUMBERS, SETUP_DIFFERENCES
from edgelnn.study.plots import make_plots
from edgelnn.utils.atomic import atomic_write

REPORT_FILE = "report.md"


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)


def _pm(agg: dict[str, Any], key: str, digits: int = 3) -> str:
    stat = agg["stats"].get(key)
    if not stat or stat["mean"] is None:
        return "–"
    if stat["std"] is None:
        return _fmt(stat["mean"], digits)
    return f"{stat['mean']:.{digits}g} ± {stat['std']:.2g}"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def verdict_lines(doc: dict[str, Any]) -> list[str]:
    """One line per claim: the verdict and the numbers that decided it."""
    return [f"{v['claim']}: **{v['verdict']}** ({v['reason']})" for v in doc["verdicts"]]


def _task_section(doc: dict[str, Any], task: str) -> list[str]:
    aggs = [a for a in doc["aggregates"] if a["task"] == task]
    if not aggs:
        return []
    metric = next((a["metric"] for a in aggs if a["metric"]), "metric")
    train = doc["study"]["train"].get(task, {})
    ood_names = sorted({k[: -len("_degradation")] for a in aggs for k in a["stats"]
                        if k.startswith("ood-") and k.endswith("_degradation")})
    header = ["model", "params", "hidden", "state", f"test {metric}", "test norm. err",
              *[f"{n} {metric} (degr.)" for n in ood_names], "mean OOD degr.", "int8 drop", "CPU step us",
              "train s/epoch", "epochs to best", "M4F instr.", "M4F flash", "M4F RAM", "TFLM RAM ≤", "seeds"]
    rows = []
    for agg in aggs:
        seeds = f"trained {agg['trained_seeds']}"
        if agg["did_not_train_seeds"]:
            seeds += f"; **did not train {agg['did_not_train_seeds']}**"
        if agg["failed_seeds"]:
            seeds += f"; failed {agg['failed_seeds']}"
        rows.append([agg["model"], _pm(agg, "parameters", 4), _pm(agg, "hidden_size"), _pm(agg, "state_size"),
                     _pm(agg, "id_metric"), _pm(agg, "id_normalised_error"),
                     *[f"{_pm(agg, f'{n}_metric')} ({_pm(agg, f'{n}_degradation')})" for n in ood_names],
                     _pm(agg, "ood_degradation_mean"), _pm(agg, "int8_drop"), _pm(agg, "latency_us"),
                     _pm(agg, "train_seconds_per_epoch"), _pm(agg, "epochs_to_best"), _pm(agg, "m4f_instructions"),
                     _pm(agg, "m4f_flash_bytes"), _pm(agg, "m4f_ram_bytes"), _pm(agg, "tflm_ram_upper_bytes"), seeds])
    reproduced = train.get("reproduces")
    decay = train.get("lr_decay", 1.0)
    setup = (f"{train.get('epochs')} epochs, batch {train.get('batch_size')}, {train.get('optimizer', 'adam')} at lr "
             f"{train.get('lr')}" + (f" x{decay} per epoch" if decay != 1.0 else "")
             + f", gradient norm clipped at {train.get('grad_clip', 1.0)}, patience {train.get('patience')}, "
             f"task options {train.get('task_options') or 'default'}")
    lines = [f"### {task}", "", f"Training: {setup}. "
             + (f"Reproduces: {reproduced}." if reproduced else "**Not a reproduction of a published setup.**"), ""]
    return lines + _table(header, rows) + [""] + _did_not_train_lines(doc, task)


def _did_not_train(doc: dict[str, Any], task: str, model: str | None = None) -> list[dict[str, Any]]:
    """The finished cells of ``task`` (and ``model``) that did not beat the trivial baseline."""
    return [c for c in doc["cells"] if c["task"] == task and (model is None or c["model"] == model)
            and c["status"] == "ok" and c["did_not_train"]]


def _did_not_train_lines(doc: dict[str, Any], task: str) -> list[str]:
    """The cells of ``task`` that did not beat the trivial baseline, each with its test metric beside the best
    trivial predictor's (they are in no mean above)."""
    cells = _did_not_train(doc, task)
    if not cells:
        return []
    items = [f"{c['cell_id']} {_fmt(c['id']['metric'])} (trivial {_fmt(c['splits']['test']['trivial_best'])})"
             for c in cells]
    return [f"Did not train, test {cells[0]['metric']} (best trivial predictor's): " + "; ".join(items) + ".", ""]


def _failures(doc: dict[str, Any]) -> list[str]:
    failed = [c for c in doc["cells"] if c["status"] != "ok"]
    if not failed:
        return []
    return ["## Failed cells", ""] + [f"- {c['cell_id']}: {c['error']}" for c in failed] + [""]


def _paper_section(doc: dict[str, Any]) -> list[str]:
    cells = {(a["task"], a["model"]): a for a in doc["aggregates"]}
    rows, tasks = [], []
    for entry in PAPER_NUMBERS:
        agg = cells.get((entry["task"], entry["ours"]))
        if entry["metric"] == "minutes per epoch":
            ours = "–" if agg is None else f"{_pm(agg, 'train_seconds_per_epoch')} s/epoch"
        elif agg is not None and not agg["trained_seeds"] and agg["did_not_train_seeds"]:
            values = [c["id"]["metric"] for c in _did_not_train(doc, entry["task"], entry["ours"])]
            ours = (f"did not train (seeds {agg['did_not_train_seeds']}: {agg['metric']} "
                    f"{_fmt(min(values))}-{_fmt(max(values))})")
        else:
            ours = "–" if agg is None else f"{_pm(agg, 'id_metric')} ({agg['metric']})"
        rows.append([entry["task"], entry["metric"], entry["model"], _fmt(entry["value"], 4), entry["ours"], ours,
                     entry["source"]])
        if entry["task"] not in tasks:
            tasks.append(entry["task"])
    note = ("Ours: mean ± std over the seeds that trained, seconds per epoch over every finished seed (– where the "
            "study did not run that model on that task). "
            "Our MSE is on standardised targets and our accuracies are fractions, so values are not on the "
            "papers' scales; compare rankings.")
    lines = ["## Published numbers beside ours", "", note, ""]
    lines += _table(["task", "published metric", "paper model", "paper", "our model", "ours", "source"], rows)
    lines += [""] + [f"- {task}: {SETUP_DIFFERENCES[task]}" for task in tasks if task in SETUP_DIFFERENCES] + [""]
    return lines


def _plots_section(plots: dict[str, dict[str, Any]]) -> list[str]:
    lines = ["## Plots", ""]
    for entry in plots.values():
        if entry["file"]:
            lines += [f"![{entry['caption']}]({entry['file']})", "", f"*{entry['caption']}*", ""]
        else:
            lines += [f"- {entry['caption']}: not drawn ({entry['reason']})", ""]
    return lines


DEFINITIONS = (
    "Definitions: *normalised error* = model error / best trivial predictor's error on the same split (error = "
    "1 - accuracy or MSE; trivial = the training majority class and the best constant class of that split, or "
    "the training mean and persistence): 1 = trivial, 0 = perfect. *Degradation* of an OOD split = its "
    "normalised error / the test split's (> 1: worse out of distribution), so a split whose targets merely "
    "vary less does not look easier. A cell that does not beat the trivial baseline on test (an accuracy: not "
    "beyond chance, one-sided binomial test, p < 0.01) is reported as **did not train** with its seed and left out of the metrics' means (sizes and costs, such as "
    "parameters, latency, seconds per epoch and device figures, are over every finished seed). "
    "int8 drop: test-metric drop of the int8 generated C (the code the M4F figures measure, run on this host; "
    "else the full-integer artifact, see results.json) from the PyTorch model (accuracy points as a fraction; "
    "relative MSE increase). M4F: the export as generated C on the emulated Cortex-M4F "
    "(stm32f4 profile; int8 C where the generator writes it, else fp32, see results.json): instructions per step "
    "(exact count, mean of the first steps of a test sequence), flash (text + rodata + data) and RAM (data + bss + "
    "stack high-water mark + state + I/O buffers). – means not measured (results.json says why).")


def _reproduction_note(study: dict[str, Any]) -> list[str]:
    """Say plainly which tasks the verdicts rest on without reproducing a published setup."""
    missing = [task for task in study["tasks"] if not study["train"].get(task, {}).get("reproduces")]
    if not missing:
        return []
    note = (f"These verdicts rest on tasks trained with this study's budget, not a reproduction of a published "
            f"setup: {', '.join(missing)} (defaults can hide a model's ability; see the settings per task).")
    return [note, ""]


def _not_run(doc: dict[str, Any]) -> list[str]:
    """Name the cells of the study's grid that have no record yet (a partial or sharded run)."""
    study = doc["study"]
    have = {c["cell_id"] for c in doc["cells"]}
    missing = [cell_id(m, t, s) for t in study["tasks"] for m in study["models"] for s in study["seeds"]
               if cell_id(m, t, s) not in have]
    if not missing:
        return []
    return [(f"**{len(missing)} of the study's {len(missing) + len(have)} cells have not run yet** (they are not "
             f"in any table or verdict): {', '.join(missing)}."), ""]


def render_report(doc: dict[str, Any], plots: dict[str, dict[str, Any]]) -> str:
    study = doc["study"]
    cells = doc["cells"]
    ok = sum(c["status"] == "ok" for c in cells)
    dnt = sum(c["status"] == "ok" and c["did_not_train"] for c in cells)
    match = study["match"]
    match_text = (f"each model's hidden size chosen to land within 10% of {match['value']} parameters"
                  if match["by"] == "params" else f"every model at hidden size {match['value']}")
    wall = study.get("wall_s")
    lines = [
        "# edgelnn compare: liquid networks vs RNNs", "",
        f"Preset `{study['preset']}`; models {', '.join(study['models'])}; tasks {', '.join(study['tasks'])}; "
        f"seeds {', '.join(map(str, study['seeds']))}; {match_text}. {len(cells)} cells: {ok} finished "
        f"({dnt} did not beat the trivial baseline), {len(cells) - ok} failed."
        + (f" Wall time of the last run: {wall:.0f} s." if wall else ""), "",
        *_not_run(doc), DEFINITIONS, "",
        "## Verdicts", "", *[f"- {line}" for line in verdict_lines(doc)], "", *_reproduction_note(study),
        "## Results per task", "",
    ]
    for task in study["tasks"]:
        lines += _task_section(doc, task)
    lines += _failures(doc) + _plots_section(plots) + _paper_section(doc)
    return "\n".join(lines) + "\n"


def write_report(doc: dict[str, Any], out_dir: str | Path) -> Path:
    """Draw the plots and write report.md into ``out_dir`` (atomically); returns its path."""
    out_dir = Path(out_dir)
    text = render_report(doc, make_plots(doc, out_dir))
    return atomic_write(out_dir / REPORT_FILE, lambda tmp: Path(tmp).write_text(text), ".md")
