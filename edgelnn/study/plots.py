"""The study's PNG plots (matplotlib, Agg backend): one function per figure, all from results.json."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edgelnn.tasks.metrics import metric_spec
from edgelnn.utils.atomic import atomic_write

PLOTS_DIR = "plots"


def _mean(agg: dict[str, Any], key: str) -> float | None:
    return agg["stats"].get(key, {}).get("mean")


def _std(agg: dict[str, Any], key: str) -> float:
    return agg["stats"].get(key, {}).get("std") or 0.0


def _by_task(doc: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {task: [] for task in doc["study"]["tasks"]}
    for agg in doc["aggregates"]:
        out.setdefault(agg["task"], []).append(agg)
    return out


def pareto_front(points: list[tuple[float, float]], higher_is_better: bool) -> list[int]:
    """Indices of the points no other point beats on both cost (x, lower better) and quality (y)."""
    sign = 1.0 if higher_is_better else -1.0
    front = []
    for i, (x, y) in enumerate(points):
        dominated = any((x2 <= x and sign * y2 >= sign * y) and (x2 < x or sign * y2 > sign * y)
                        for j, (x2, y2) in enumerate(points) if j != i)
        if not dominated:
            front.append(i)
    return front


def _figure(n_panels: int):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = min(n_panels, 4) or 1
    rows = max(1, -(-n_panels // cols))
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.4 * rows), squeeze=False)
    for ax in axes.flat[n_panels:]:
        ax.set_visible(False)
    return plt, fig, list(axes.flat)


def _scatter_panels(doc: dict[str, Any], x_key: str, x_label: str, path: Path, pareto: bool, log_x: bool) -> bool:
    """Per task: ID metric (mean +- std over trained seeds) against ``x_key``; False when nothing to plot."""
    def plotted(aggs: list[dict[str, Any]]) -> list[dict[str, Any]]:  # a cost and a metric (some seed trained)
        return [a for a in aggs if _mean(a, x_key) is not None and _mean(a, "id_metric") is not None]

    tasks = [t for t, aggs in _by_task(doc).items() if plotted(aggs)]
    if not tasks:
        return False
    plt, fig, axes = _figure(len(tasks))
    for ax, task in zip(axes, tasks):
        aggs = plotted(_by_task(doc)[task])
        metric = next((a["metric"] for a in aggs if a["metric"]), "metric")
        points = [(_mean(a, x_key), _mean(a, "id_metric")) for a in aggs]
        for agg, (x, y) in zip(aggs, points):
            color = "tab:blue" if agg["family"] == "lnn" else "tab:orange"
            ax.errorbar(x, y, yerr=_std(agg, "id_metric"), fmt="o", color=color, capsize=3)
            ax.annotate(agg["model"], (x, y), textcoords="offset points", xytext=(4, 4), fontsize=8)
        if pareto and points:
            front = sorted(points[i] for i in pareto_front(points, metric_spec(metric).higher_is_better))
            ax.plot([p[0] for p in front], [p[1] for p in front], "--", color="gray")
            ax.scatter([p[0] for p in front], [p[1] for p in front], s=160, facecolors="none", edgecolors="black",
                       label="Pareto front")
            ax.legend(fontsize=7)
        xs = [p[0] for p in points]
        if log_x and min(xs) > 0 and max(xs) / min(xs) > 10:  # a log axis only where values span decades
            ax.set_xscale("log")
        ax.set_title(task)
        ax.set_xlabel(x_label)
        ax.set_ylabel(f"test {metric}")
    fig.suptitle("blue: LNN, orange: RNN; mean ± std over trained seeds", fontsize=8)
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=100, format="png"), ".png")  # never half a PNG
    plt.close(fig)
    return True


def _bars(doc: dict[str, Any], key: str, ylabel: str, path: Path, log_y: bool = False,
          hline: float | None = None) -> bool:
    """Grouped bars: tasks on x, one bar per model (mean +- std as aggregated: a metric over trained seeds, a
    cost over every finished seed)."""
    tasks = doc["study"]["tasks"]
    models = doc["study"]["models"]
    table = {(a["task"], a["model"]): a for a in doc["aggregates"]}
    if not any(_mean(a, key) is not None for a in doc["aggregates"]):
        return False
    plt, fig, (ax, *_) = _figure(1)
    fig.set_size_inches(max(6.0, 1.2 * len(tasks) * len(models) / 2), 3.8)
    width = 0.8 / max(len(models), 1)
    for m, model in enumerate(models):
        xs, heights, errs = [], [], []
        for t, task in enumerate(tasks):
            agg = table.get((task, model))
            value = None if agg is None else _mean(agg, key)
            if value is not None:
                xs.append(t + (m - (len(models) - 1) / 2) * width)
                heights.append(value)
                errs.append(_std(agg, key))
        ax.bar(xs, heights, width, yerr=errs, capsize=2, label=model)
    if hline is not None:
        ax.axhline(hline, color="gray", linestyle="--", linewidth=1)
    if log_y:
        ax.set_yscale("log")
    ax.set_xticks(range(len(tasks)))
    ax.set_xticklabels(tasks)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=7, ncol=min(len(models), 4))
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=100, format="png"), ".png")  # never half a PNG
    plt.close(fig)
    return True


def make_plots(doc: dict[str, Any], out_dir: str | Path) -> dict[str, dict[str, Any]]:
    """Write every plot into ``out_dir``/plots; per plot its file (relative) or why it is absent."""
    folder = Path(out_dir) / PLOTS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        reason = "matplotlib is not installed (pip install 'edgelnn[plot]')"
        return {name: {"file": None, "caption": caption, "reason": reason} for name, caption in CAPTIONS.items()}
    makers = {
        "id_vs_params": lambda p: _scatter_panels(doc, "parameters", "parameters", p, pareto=False, log_x=False),
        "ood_degradation": lambda p: _bars(doc, "ood_degradation_mean",
                                           "OOD / test normalised error (1 = no degradation)", p, log_y=True,
                                           hline=1.0),
        "accuracy_vs_latency": lambda p: _scatter_panels(doc, "latency_us", "CPU step latency p50 (us)", p,
                                                         pareto=True, log_x=True),
        "accuracy_vs_ram": lambda p: _scatter_panels(doc, "m4f_ram_bytes", "Cortex-M4F RAM (bytes)", p, pareto=True,
                                                     log_x=True)
        or _scatter_panels(doc, "tflm_ram_upper_bytes", "TFLite Micro RAM upper bound (bytes)", p, pareto=True,
                           log_x=True),
        "int8_drop": lambda p: _bars(doc, "int8_normalised_error_increase",
                                     "int8 increase of test normalised error", p, hline=0.0),
        "train_time": lambda p: _bars(doc, "train_seconds_per_epoch", "training seconds per epoch", p, log_y=True),
    }
    out = {}
    for name, make in makers.items():
        path = folder / f"{name}.png"
        made = make(path)
        out[name] = {"file": f"{PLOTS_DIR}/{name}.png" if made else None, "caption": CAPTIONS[name],
                     "reason": None if made else "no cell has this measurement"}
    return out


CAPTIONS = {
    "id_vs_params": "Test metric vs parameters, per task",
    "ood_degradation": "OOD degradation (mean over OOD splits of OOD / test normalised error), per model and task",
    "accuracy_vs_latency": "Test metric vs CPU step latency (fastest benched backend), Pareto front dashed",
    "accuracy_vs_ram": "Test metric vs device RAM, Pareto front dashed",
    "int8_drop": "int8 increase of the test normalised error, per model and task",
    "train_time": "Training seconds per epoch, per model and task",
}
