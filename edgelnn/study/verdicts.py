"""Verdicts computed from the cells, never written by hand.

Each claim is a paired comparison over (task, seed): per task the best liquid network (LNN) and the best
RNN are the models with the lowest mean test normalised error over the seeds that trained; a pair is one
seed where both trained. Each pair gives a difference oriented so that > 0 favours the claim (mostly
log ratios, so 0.1 means ~10% better). The effect is the mean difference with a 95% bootstrap confidence
interval (numpy, seeded; a Wilcoxon signed-rank p-value beside it when scipy is installed). Verdict:
"supported" when the interval lies above 0, "not supported" when it lies below 0, "mixed/inconclusive"
otherwise or with fewer than ``MIN_PAIRS`` pairs.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from edgelnn.study.grid import LNN_MODELS, RNN_MODELS

MIN_PAIRS = 3
BOOTSTRAP = 4000
NOISE_IRREGULAR_SPLITS = ("ood-noise", "ood-drop", "ood-resample", "ood-timing")
RNN_STRONG_MARGIN = 1.25  # "RNNs remain strong": best RNN error within 25% of the best LNN's
SUPPORTED, NOT_SUPPORTED, INCONCLUSIVE = "supported", "not supported", "mixed/inconclusive"


def bootstrap_ci(diffs: list[float], seed: int = 0, resamples: int = BOOTSTRAP) -> tuple[float, float]:
    """95% percentile bootstrap interval of the mean of ``diffs``."""
    values = np.asarray(diffs, dtype=np.float64)
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, len(values), (resamples, len(values)))].mean(axis=1)
    return float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def _p_value(diffs: list[float]) -> float | None:
    try:
        from scipy.stats import wilcoxon
    except ImportError:
        return None
    if len(diffs) < 2 or all(d == 0 for d in diffs):
        return None
    return float(wilcoxon(diffs).pvalue)


def decide(claim_id: str, claim: str, comparison: str, pairs: list[dict[str, Any]], uses_timings: bool = False,
           unavailable: str | None = None) -> dict[str, Any]:
    """The verdict of one claim from its pairs (each with a ``diff``, > 0 in the claim's favour)."""
    base = {"claim_id": claim_id, "claim": claim, "comparison": comparison, "n_pairs": len(pairs), "effect": None,
            "ci": None, "p_value": None, "uses_timings": uses_timings, "pairs": pairs}
    if unavailable:
        return {**base, "verdict": INCONCLUSIVE, "reason": unavailable}
    diffs = [p["diff"] for p in pairs]
    if not diffs:
        return {**base, "verdict": INCONCLUSIVE, "reason": "no pairs: no task where both sides trained"}
    effect = float(np.mean(diffs))
    lo, hi = bootstrap_ci(diffs)
    numbers = f"mean difference {effect:+.3f}, 95% CI [{lo:+.3f}, {hi:+.3f}], n={len(diffs)} pairs"
    out = {**base, "effect": effect, "ci": [lo, hi], "p_value": _p_value(diffs)}
    if len(diffs) < MIN_PAIRS:
        return {**out, "verdict": INCONCLUSIVE, "reason": f"{numbers}: fewer than {MIN_PAIRS} pairs"}
    if lo > 0:
        return {**out, "verdict": SUPPORTED, "reason": f"{numbers}: the interval lies above 0"}
    if hi < 0:
        return {**out, "verdict": NOT_SUPPORTED, "reason": f"{numbers}: the interval lies below 0"}
    return {**out, "verdict": INCONCLUSIVE, "reason": f"{numbers}: the interval contains 0"}


def _trained(doc: dict[str, Any]) -> dict[tuple[str, str, int], dict[str, Any]]:
    return {(c["model"], c["task"], c["seed"]): c for c in doc["cells"]
            if c["status"] == "ok" and not c["did_not_train"]}


def _best(doc: dict[str, Any], task: str, models: tuple[str, ...]) -> str | None:
    """The model of ``models`` with the lowest mean test normalised error on ``task`` (trained seeds)."""
    candidates = []
    for agg in doc["aggregates"]:
        stat = agg["stats"].get("id_normalised_error", {})
        if agg["task"] == task and agg["model"] in models and stat.get("mean") is not None:
            candidates.append((stat["mean"], agg["model"]))
    return min(candidates)[1] if candidates else None


def _log_ratio(a: float | None, b: float | None) -> float | None:
    """log(a / b), None when either is missing or not positive."""
    if a is None or b is None or a <= 0 or b <= 0:
        return None
    return math.log(a / b)


def _pairs(doc: dict[str, Any], value: Callable[[dict[str, Any]], float | None],
           diff: Callable[[float, float], float | None], left: tuple[str, ...] = LNN_MODELS,
           right: tuple[str, ...] = RNN_MODELS) -> list[dict[str, Any]]:
    """Per task, best of ``left`` vs best of ``right``, paired over seeds; diff(left value, right value)."""
    trained, pairs = _trained(doc), []
    for task in doc["study"]["tasks"]:
        a_model, b_model = _best(doc, task, left), _best(doc, task, right)
        if a_model is None or b_model is None:
            continue
        for seed in doc["study"]["seeds"]:
            a, b = trained.get((a_model, task, seed)), trained.get((b_model, task, seed))
            if a is None or b is None:
                continue
            va, vb = value(a), value(b)
            d = None if va is None or vb is None else diff(va, vb)
            if d is not None:
                pairs.append({"task": task, "seed": seed, "a_model": a_model, "b_model": b_model, "a": va, "b": vb,
                              "diff": d})
    return pairs


def _mean_over(cell: dict[str, Any], splits: tuple[str, ...] | None) -> float | None:
    values = [v["normalised_error"] for k, v in cell["ood"].items() if splits is None or k in splits]
    return float(np.mean(values)) if values else None


def _ram(cell: dict[str, Any]) -> float | None:
    device = cell["device"]
    return device["ram_bytes"] if device["ram_bytes"] is not None else device["tflm_ram_upper_bytes"]


def _skill_per_kib(cell: dict[str, Any]) -> float | None:
    ram = _ram(cell)
    return None if ram is None else (1.0 - cell["id"]["normalised_error"]) / (ram / 1024)


def compute_verdicts(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Every claim's verdict from ``doc``'s cells and aggregates (a results document without verdicts)."""
    rnn_over_lnn = lambda lnn, rnn: _log_ratio(rnn, lnn)
    verdicts = [
        decide("ood-degradation", "Liquid networks degrade less out of distribution than RNNs",
               "best LNN vs best RNN per task (lowest test normalised error), paired over seeds: "
               "log(RNN / LNN) of the mean OOD degradation (OOD normalised error / test normalised error)",
               _pairs(doc, lambda c: c["ood_degradation_mean"], rnn_over_lnn)),
        decide("ood-absolute", "Liquid networks are more accurate out of distribution than RNNs",
               "best LNN vs best RNN per task, paired over seeds: log(RNN / LNN) of the mean OOD normalised error",
               _pairs(doc, lambda c: _mean_over(c, None), rnn_over_lnn)),
        decide("noise-irregular", "Liquid networks are more accurate on noisy and irregularly sampled data",
               "best LNN vs best RNN per task, paired over seeds: log(RNN / LNN) of the mean normalised error on "
               f"the noise and sampling splits present ({', '.join(NOISE_IRREGULAR_SPLITS)})",
               _pairs(doc, lambda c: _mean_over(c, NOISE_IRREGULAR_SPLITS), rnn_over_lnn)),
        _params_verdict(doc, rnn_over_lnn),
        decide("cfc-faster-than-ltc", "CfC trains faster than LTC",
               "CfC vs LTC per task, paired over seeds: log(LTC / CfC) of seconds per training epoch",
               _model_pairs(doc, "cfc", "ltc", lambda c: c["train_seconds_per_epoch"], rnn_over_lnn),
               uses_timings=True),
        decide("rnn-strong", "RNNs remain strong (best RNN test error within 25% of the best LNN's)",
               f"best RNN vs best LNN per task, paired over seeds: log({RNN_STRONG_MARGIN}) - log(RNN / LNN) "
               "of the test normalised error",
               _pairs(doc, lambda c: c["id"]["normalised_error"],
                      lambda lnn, rnn: None if _log_ratio(rnn, lnn) is None
                      else math.log(RNN_STRONG_MARGIN) - _log_ratio(rnn, lnn))),
        _time_input_verdict(doc),
        _ram_verdict(doc),
        decide("int8-robustness", "Liquid networks lose less to int8 quantization than RNNs",
               "best LNN vs best RNN per task, paired over seeds: RNN minus LNN increase of the test normalised "
               "error from fp32 to int8 (the int8 generated C where evaluated, else the full-integer artifact)",
               _pairs(doc, lambda c: c["int8"]["normalised_error_increase"], lambda lnn, rnn: rnn - lnn)),
    ]
    return verdicts


def _params_verdict(doc: dict[str, Any], diff) -> dict[str, Any]:
    match = doc["study"]["match"]
    claim = "Liquid networks are more parameter-efficient (lower test error at a matched parameter budget)"
    comparison = ("best LNN vs best RNN per task at the same parameter budget, paired over seeds: "
                  "log(RNN / LNN) of the test normalised error")
    if match["by"] != "params":
        return decide("param-efficiency", claim, comparison, [],
                      unavailable=f"models were compared at hidden size {match['value']}, not at a matched "
                                  "parameter budget (use --match params=N)")
    return decide("param-efficiency", claim, comparison, _pairs(doc, lambda c: c["id"]["normalised_error"], diff))


def _model_pairs(doc: dict[str, Any], a_model: str, b_model: str, value, diff) -> list[dict[str, Any]]:
    trained, pairs = _trained(doc), []
    for task in doc["study"]["tasks"]:
        for seed in doc["study"]["seeds"]:
            a, b = trained.get((a_model, task, seed)), trained.get((b_model, task, seed))
            if a is None or b is None or value(a) is None or value(b) is None:
                continue
            d = diff(value(a), value(b))
            if d is not None:
                pairs.append({"task": task, "seed": seed, "a_model": a_model, "b_model": b_model, "a": value(a),
                              "b": value(b), "diff": d})
    return pairs


def _time_input_verdict(doc: dict[str, Any]) -> dict[str, Any]:
    """Does feeding dt help the RNN baselines? (lstm-time vs lstm, gru-time vs gru on test error)."""
    pairs = []
    for plain in ("lstm", "gru"):
        pairs += _model_pairs(doc, f"{plain}-time", plain, lambda c: c["id"]["normalised_error"],
                              lambda timed, untimed: _log_ratio(untimed, timed))
    return decide("time-input-helps-rnn", "Feeding dt to LSTM/GRU lowers their test error",
                  "lstm-time vs lstm and gru-time vs gru per task, paired over seeds: log(plain / time-aware) of "
                  "the test normalised error", pairs)


def _ram_verdict(doc: dict[str, Any]) -> dict[str, Any]:
    claim = "Liquid networks give more accuracy per KiB of device RAM than RNNs"
    comparison = ("best LNN vs best RNN per task, paired over seeds: log(LNN / RNN) of (1 - test normalised "
                  "error) per KiB of device RAM (emulated Cortex-M4F RAM of the generated C, int8 where generated; else the "
                  "TFLite Micro arena + state + I/O upper bound)")
    pairs = _pairs(doc, _skill_per_kib, lambda lnn, rnn: _log_ratio(lnn, rnn))
    trained = list(_trained(doc).values())
    if trained and all(_ram(c) is None for c in trained):
        reason = trained[0]["device"]["tflm_reason"] or trained[0]["device"]["reason"]
        return decide("ram-efficiency", claim, comparison, [], unavailable=f"no device RAM measured: {reason}")
    return decide("ram-efficiency", claim, comparison, pairs)
