"""Seeded partitions of sequence indices into train/val/test."""

from __future__ import annotations

import numpy as np


def stratified_holdout(
    labels: np.ndarray, fraction: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Split indices into (keep, holdout) with about ``fraction`` of every class held out.

    Each class with at least two members contributes ``max(1, round(fraction * count))`` held-out
    indices (and keeps at least one). Both index arrays are sorted.
    """
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"holdout fraction must be in (0, 1), got {fraction}")
    held = []
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        if len(members) < 2:
            continue
        count = min(max(1, round(fraction * len(members))), len(members) - 1)
        held.append(members[:count])
    holdout = np.sort(np.concatenate(held)) if held else np.zeros(0, dtype=np.int64)
    keep = np.setdiff1d(np.arange(len(labels)), holdout)
    return keep, holdout


def random_partition(n: int, fractions: tuple[float, ...], rng: np.random.Generator) -> list[np.ndarray]:
    """Randomly partition ``range(n)`` into parts of the given fractions (the first takes the rest).

    Every part gets at least one index; requires ``n >= len(fractions)``.
    """
    if n < len(fractions):
        raise ValueError(f"need at least {len(fractions)} sequences to make {len(fractions)} splits, got {n}")
    sizes = [max(1, round(f * n)) for f in fractions[1:]]
    first = n - sum(sizes)
    if first < 1:
        raise ValueError(f"fractions {fractions} leave no sequences for the first split (n={n})")
    order = rng.permutation(n)
    bounds = np.cumsum([first, *sizes])[:-1]
    return [np.sort(part) for part in np.split(order, bounds)]
