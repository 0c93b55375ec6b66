"""Array helpers shared by the task builders: padding, standardisation and OOD transforms."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .base import Split


def pad_sequences(
    xs: Sequence[np.ndarray], ts: Sequence[np.ndarray], ys: Sequence[np.ndarray] | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """Stack variable-length ``[L_i, F]`` sequences into ``x [N,T,F]``, ``t [N,T]``, ``mask [N,T]``.

    ``T`` is the longest length. Padding is 0 in ``x`` (and ``y``) and 1.0 in ``t``.
    ``ys`` (optional) are per-step targets ``[L_i, O]``.
    """
    lengths = np.array([len(a) for a in xs], dtype=np.int64)
    if (lengths < 1).any():
        raise ValueError("pad_sequences: every sequence needs at least one sample")
    n, steps, features = len(xs), int(lengths.max()), xs[0].shape[1]
    x = np.zeros((n, steps, features), dtype=np.float32)
    t = np.ones((n, steps), dtype=np.float32)
    mask = np.arange(steps)[None, :] < lengths[:, None]
    y = None if ys is None else np.zeros((n, steps, ys[0].shape[1]), dtype=np.float32)
    for i, length in enumerate(lengths):
        x[i, :length] = xs[i]
        t[i, :length] = ts[i]
        if y is not None:
            y[i, :length] = ys[i]
    return x, t, mask, y


def unpad(split: Split) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Per-sequence ``[L_i, F]`` inputs and ``[L_i]`` timespans of ``split`` (padding removed)."""
    lengths = split.lengths
    xs = [split.x[i, :length] for i, length in enumerate(lengths)]
    ts = [split.t[i, :length] for i, length in enumerate(lengths)]
    return xs, ts


def feature_stats(x: np.ndarray, mask: np.ndarray, min_std: float = 1e-6) -> tuple[np.ndarray, np.ndarray]:
    """Per-feature mean and std ``[F]`` over the real samples; tiny stds are replaced by 1."""
    real = x[mask].astype(np.float64)
    mean = real.mean(axis=0)
    std = real.std(axis=0)
    std[std < min_std] = 1.0
    return mean.astype(np.float32), std.astype(np.float32)


def standardize(x: np.ndarray, mask: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """``(x - mean) / std`` on the real samples, padding kept at zero."""
    out = ((x - mean) / std).astype(np.float32)
    out[~mask] = 0.0
    return out


def add_noise(split: Split, sigma: np.ndarray, rng: np.random.Generator) -> Split:
    """A copy of ``split`` whose inputs carry additive Gaussian noise of per-feature std ``sigma``.

    Only real samples are perturbed; ``t``, ``y`` and ``mask`` are unchanged.
    """
    noise = rng.standard_normal(split.x.shape).astype(np.float32) * np.asarray(sigma, np.float32)
    x = (split.x + noise * split.mask[..., None]).astype(np.float32)
    return Split(x=x, t=split.t.copy(), y=split.y.copy(), mask=split.mask.copy())


def resample_split(split: Split, factor: int) -> Split:
    """Keep every ``factor``-th sample (starting with the first); timespans become ``factor * t``.

    For a classification split only (``y`` is per sequence). With uniform ``t = dt`` the result
    has the true ``dt * factor`` spacing.
    """
    xs, ts = unpad(split)
    new_ts = []
    for tt in ts:
        elapsed = np.cumsum(tt)[::factor]
        first = tt[0] * factor
        new_ts.append(np.concatenate([[first], np.diff(elapsed)]).astype(np.float32))
    x, t, mask, _ = pad_sequences([a[::factor] for a in xs], new_ts)
    return Split(x=x, t=t, y=split.y.copy(), mask=mask)


def drop_keep_mask(length: int, rate: float, rng: np.random.Generator, min_keep: int = 2) -> np.ndarray:
    """Boolean ``[length]`` keep mask: each sample is dropped with probability ``rate``.

    The first sample is always kept, and at least ``min(min_keep, length)`` samples survive.
    """
    keep = rng.random(length) >= rate
    keep[0] = True
    need = min(min_keep, length)
    if keep.sum() < need:
        dropped = np.flatnonzero(~keep)
        keep[rng.choice(dropped, size=need - int(keep.sum()), replace=False)] = True
    return keep


def kept_indices(n_keep: int, rate: float, rng: np.random.Generator) -> np.ndarray:
    """Sorted indices of the first ``n_keep`` kept points of an unbounded grid (index 0 always kept).

    Each grid point after the first is dropped independently with probability ``rate``.
    """
    if not 0.0 <= rate < 1.0:
        raise ValueError(f"drop rate must be in [0, 1), got {rate}")
    candidates = int(np.ceil(n_keep / (1.0 - rate) * 1.5)) + 8
    index = np.flatnonzero(drop_keep_mask(candidates, rate, rng))
    while len(index) < n_keep:  # vanishingly rare: extend the grid
        extra = np.flatnonzero(rng.random(candidates) >= rate) + index[-1] + 1
        index = np.concatenate([index, extra])
    return index[:n_keep]


def drop_split(split: Split, rate: float, rng: np.random.Generator) -> Split:
    """Randomly drop samples (probability ``rate``; the first one is kept) of a classification split.

    The timespan of a kept sample is the true time elapsed since the previous kept sample.
    """
    xs, ts = unpad(split)
    new_xs, new_ts = [], []
    for a, tt in zip(xs, ts):
        keep = drop_keep_mask(len(a), rate, rng)
        elapsed = np.cumsum(tt)[keep]
        new_xs.append(a[keep])
        new_ts.append(np.concatenate([[tt[0]], np.diff(elapsed)]).astype(np.float32))
    x, t, mask, _ = pad_sequences(new_xs, new_ts)
    return Split(x=x, t=t, y=split.y.copy(), mask=mask)
