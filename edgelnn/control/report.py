"""Closed-loop results as a versioned JSON document (schema: control.schema.json beside this file), a text
table and PNG plots (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from edgelnn.utils.atomic import atomic_write, write_json_atomic
from edgelnn.utils.schema import load_schema, validate_document
from edgelnn.utils.table import format_table

SCHEMA_VERSION = 1
SCHEMA_PATH = Path(__file__).with_name("control.schema.json")


def control_schema() -> dict[str, Any]:
    """The JSON Schema of a closed-loop result document."""
    return load_schema(SCHEMA_PATH)


def validate_control(doc: dict[str, Any]) -> None:
    """ValueError naming the first place where ``doc`` breaks the schema."""
    validate_document(doc, control_schema(), "control result", SCHEMA_VERSION)


def policy_entry(label: str, info: dict[str, Any], results: list[Any]) -> dict[str, Any]:
    """One policy's part of the document: who it is (``info``) and its per-condition results."""
    rows = [r.to_json() for r in results]
    nominal = [r["normalized_mean"] for r in rows if r["group"] == "nominal"]
    ood = [r["normalized_mean"] for r in rows if r["group"] != "nominal"]
    p99 = [r["latency_us"]["p99"] for r in rows if r["latency_us"]]
    summary = {"nominal": nominal[0] if nominal else None, "ood_mean": float(np.mean(ood)) if ood else None,
               "ood_worst": float(np.min(ood)) if ood else None, "step_p99_us": float(max(p99)) if p99 else None}
    return {"label": label, **info, "summary": summary, "conditions": rows}


def build_document(plant: str, episodes: int, seed: int, conditions: list[Any], policies: list[dict[str, Any]],
                   expert_name: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The closed-loop result document (validated against the schema)."""
    from edgelnn.control.plants import make_plant, plant_spec

    spec = plant_spec(plant)
    p = make_plant(plant)
    period = p.period
    p.close()
    doc = {
        "schema_version": SCHEMA_VERSION,
        "plant": {"name": plant, "env_id": spec.env_id, "obs_size": spec.obs_size, "act_size": spec.act_size,
                  "control_period_s": period, "episode_steps": spec.episode_steps,
                  "has_success": spec.success is not None},
        "expert": expert_name,
        "episodes": episodes,
        "seed": seed,
        "normalisation": "(R - R_zero) / (R_expert - R_zero), expert and zero-action policy under the same "
                         "condition and random draws",
        "conditions": [{"name": c.name, "description": c.description, "group": c.group} for c in conditions],
        "policies": policies,
        **(extra or {}),
    }
    validate_control(doc)
    return doc


def write_document(doc: dict[str, Any], path: str | Path) -> Path:
    validate_control(doc)
    return write_json_atomic(path, doc)


def _fmt(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def format_report(doc: dict[str, Any]) -> str:
    """One table: a row per policy and condition (normalised return, success, latency vs the period)."""
    rows = []
    for pol in doc["policies"]:
        for r in pol["conditions"]:
            lat = r["latency_us"]
            rows.append({
                "policy": pol["label"], "condition": r["condition"],
                "norm mean": _fmt(r["normalized_mean"]), "std": _fmt(r["normalized_std"]),
                "worst": _fmt(r["normalized_worst"]),
                "success": "-" if r["success_rate"] is None else f"{r['success_rate']:.0%}",
                "expert R": f"{r['expert_return']:.1f}", "failed": r["failed"],
                "p50 us": _fmt(lat.get("p50"), 1), "p99 us": _fmt(lat.get("p99"), 1),
                "period ms": f"{r['period_s'] * 1e3:.1f}", "misses": r["deadline_misses"],
            })
    plant = doc["plant"]
    head = (f"closed loop: {plant['name']} ({plant['env_id']}), {doc['episodes']} episodes per condition, "
            f"expert: {doc['expert']}; normalised return: expert = 1, zero action = 0")
    return head + "\n" + format_table(rows)


def _signal(plant: str, obs: np.ndarray) -> tuple[np.ndarray, str]:
    """The one observed quantity a plot shows for ``plant``."""
    if plant == "pendulum":
        return np.arctan2(obs[:, 1], obs[:, 0]), "pole angle (rad, 0 = upright)"
    if plant == "cartpole":
        return obs[:, 1], "pole angle (rad)"
    if plant == "doublependulum":
        return np.arctan2(obs[:, 1], obs[:, 3]), "first pole angle (rad)"
    return obs[:, 8], "forward velocity (m/s)"


def write_plots(doc: dict[str, Any], results: dict[str, list[Any]], out_dir: str | Path) -> list[Path]:
    """``returns.png`` (normalised return per condition per policy) and ``trajectories.png`` (the first policy
    against the expert under nominal and the hardest condition). Each file is written atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir = Path(out_dir)
    written = []
    names = [c["name"] for c in doc["conditions"]]
    fig, ax = plt.subplots(figsize=(max(6.0, 0.9 * len(names) * max(1, len(doc["policies"])) ** 0.5), 4))
    width = 0.8 / max(1, len(doc["policies"]))
    for i, pol in enumerate(doc["policies"]):
        by = {r["condition"]: r for r in pol["conditions"]}
        x = np.arange(len(names)) + i * width
        ax.bar(x, [by[n]["normalized_mean"] for n in names], width, yerr=[by[n]["normalized_std"] for n in names],
               label=pol["label"], capsize=2)
    ax.axhline(1.0, color="k", lw=0.8, ls="--")
    ax.set_xticks(np.arange(len(names)) + 0.4 - width / 2, names, rotation=30, ha="right")
    ax.set_ylabel("normalised return (expert = 1)")
    ax.set_title(f"{doc['plant']['name']}: closed-loop return per condition")
    ax.legend(fontsize=7)
    fig.tight_layout()
    written.append(_save(fig, out_dir / "returns.png"))
    plt.close(fig)

    first = doc["policies"][0]
    rows = {r.condition: r for r in results[first["label"]]}
    hardest = min((r for r in first["conditions"] if r["group"] != "nominal"), key=lambda r: r["normalized_mean"],
                  default=None)
    shown = ["nominal"] + ([hardest["condition"]] if hardest else [])
    fig, axes = plt.subplots(1, len(shown), figsize=(5 * len(shown), 3.5), squeeze=False)
    for ax, name in zip(axes[0], shown):
        traj = rows[name].trajectory
        for who, style in (("expert", "k--"), ("policy", "C0-")):
            t, obs = np.asarray(traj[who]["t"]), np.asarray(traj[who]["obs"])
            value, label = _signal(doc["plant"]["name"], obs)
            ax.plot(t, value, style, label=who if who == "expert" else first["label"], lw=1)
        ax.set_xlabel("time (s)")
        ax.set_ylabel(label)
        ax.set_title(name)
        ax.legend(fontsize=7)
    fig.tight_layout()
    written.append(_save(fig, out_dir / "trajectories.png"))
    plt.close(fig)
    return written


def _save(fig: Any, path: Path) -> Path:
    return atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=100), ".png")
