"""User data: build a :class:`Task` from one ``.npz`` file.

File format (``np.savez(path, x=..., y=..., t=..., mask=...)``; no pickled object arrays):

* ``x``    required, ``[N, T, F]`` numeric inputs.
* ``y``    required. Classification: ``[N]`` integer labels ``>= 0`` (``C = max(y) + 1`` classes,
  at least 2). Regression: ``[N, T, O]`` numeric per-step targets.
* ``t``    optional, ``[N, T]`` timespans (time elapsed since the previous sample), ``> 0`` where
  ``mask`` is True. Default: 1.0 everywhere.
* ``mask`` optional, ``[N, T]`` bool (or 0/1), True for real samples. Each row must be a
  non-empty prefix (real samples first, then padding). Default: all True.

Values in the padding (mask False) are ignored and replaced by 0 (``x``, ``y``) and 1.0 (``t``);
NaN/Inf are rejected where mask is True. Sequences are split at random (seeded) into
train/val/test (70/15/15 by default), and an ``ood-noise`` split is the test split plus Gaussian
noise of ``noise_std`` times the train per-feature std. With ``standardize=True`` the inputs
(not the targets) are standardised with train statistics (stored in ``task.info``).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from .base import Split, Task
from .options import check_options
from .rng import make_rng
from .sequences import add_noise, feature_stats
from .splitting import random_partition

_KNOWN = ("x", "y", "t", "mask")
OOD_TIMING_FACTOR = 3.0  # ood-timing: every timespan of the test split times this (beyond the training range)


def _read(path: Path) -> dict[str, np.ndarray]:
    try:
        archive = np.load(path, allow_pickle=False)
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise ValueError(f"{path}: not a readable .npz file ({exc})") from exc
    if getattr(archive, "files", None) is None:  # a plain .npy array
        raise ValueError(f"{path}: expected an .npz archive with arrays x and y, got a single array")
    with archive:
        out = {}
        for name in _KNOWN:
            if name in archive.files:
                try:
                    out[name] = archive[name]
                except ValueError as exc:
                    raise ValueError(
                        f"{name}: cannot be loaded without pickle (object array?): {exc}"
                    ) from exc
    for name in ("x", "y"):
        if name not in out:
            raise ValueError(f"{name}: missing from {path} (required; found {sorted(archive.files)})")
    return out


def _numeric(name: str, a: np.ndarray) -> None:
    if not (np.issubdtype(a.dtype, np.number) or a.dtype == np.bool_):
        raise ValueError(f"{name}: expected a numeric dtype, got {a.dtype}")


def _first_bad(name: str, bad: np.ndarray, problem: str) -> None:
    if bad.any():
        where = np.argwhere(bad)[0]
        raise ValueError(f"{name}: {problem} at index {tuple(int(i) for i in where)}")


def _check_mask(mask: np.ndarray | None, n: int, steps: int) -> np.ndarray:
    if mask is None:
        return np.ones((n, steps), dtype=bool)
    if mask.shape != (n, steps):
        raise ValueError(f"mask: expected shape [N,T]=({n}, {steps}) like x, got {mask.shape}")
    _numeric("mask", mask)
    if mask.dtype != np.bool_:
        if not np.isin(mask, (0, 1)).all():
            raise ValueError("mask: values must be bool or 0/1")
        mask = mask.astype(bool)
    empty = ~mask.any(axis=1)
    if empty.any():
        raise ValueError(
            f"mask: row {int(np.argmax(empty))} has no True value (every sequence needs a sample)"
        )
    not_prefix = (mask[:, 1:] & ~mask[:, :-1]).any(axis=1)
    if not_prefix.any():
        raise ValueError(
            f"mask: row {int(np.argmax(not_prefix))} is not a prefix (True values must come first)"
        )
    return mask


def validate_arrays(
    arrays: dict[str, np.ndarray],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, str]:
    """Check user arrays; return clean ``x, t, y, mask`` and the task kind. Raises one-line ValueErrors."""
    x = arrays["x"]
    _numeric("x", x)
    if x.ndim != 3:
        raise ValueError(f"x: expected 3 dims [N,T,F], got shape {x.shape}")
    n, steps, _ = x.shape
    if n < 3 or steps < 1 or x.shape[2] < 1:
        raise ValueError(f"x: need N >= 3 sequences, T >= 1 and F >= 1, got shape {x.shape}")
    mask = _check_mask(arrays.get("mask"), n, steps)
    _first_bad("x", ~np.isfinite(x) & mask[..., None], "NaN/Inf where mask is True")

    t = arrays.get("t")
    if t is None:
        t = np.ones((n, steps))
    else:
        _numeric("t", t)
        if t.shape != (n, steps):
            raise ValueError(f"t: expected shape [N,T]=({n}, {steps}) like x, got {t.shape}")
        _first_bad("t", ~np.isfinite(t) & mask, "NaN/Inf where mask is True")
        _first_bad("t", (t <= 0) & mask, "non-positive timespan where mask is True")

    y = arrays["y"]
    _numeric("y", y)
    if y.ndim == 1:
        kind = "classification"
        if len(y) != n:
            raise ValueError(f"y: has N={len(y)} labels but x has N={n} sequences")
        if not (np.issubdtype(y.dtype, np.integer) or y.dtype == np.bool_):
            raise ValueError(f"y: classification labels must have an integer dtype, got {y.dtype}")
        y = y.astype(np.int64)
        if (y < 0).any():
            raise ValueError(f"y: labels must be >= 0, got min {int(y.min())}")
        if y.max() < 1:
            raise ValueError("y: classification needs at least 2 classes (labels 0..C-1)")
    elif y.ndim == 3:
        kind = "regression"
        if y.shape[:2] != (n, steps):
            raise ValueError(f"y: shape {y.shape} does not match x's [N,T]=({n}, {steps})")
        _first_bad("y", ~np.isfinite(y) & mask[..., None], "NaN/Inf where mask is True")
        y = np.where(mask[..., None], y, 0).astype(np.float32)
    else:
        raise ValueError(f"y: expected [N] integer labels or [N,T,O] per-step targets, got shape {y.shape}")

    x = np.where(mask[..., None], x, 0).astype(np.float32)
    t = np.where(mask, t, 1.0).astype(np.float32)
    return x, t, y, mask, kind


def read_npz_arrays(path: str | Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, str]:
    """Checked ``x, t, y, mask`` and the task kind of the .npz at ``path`` (no split, no standardisation)."""
    return validate_arrays(_read(Path(path)))


def scale_timespans(split: Split, factor: float) -> Split:
    """A copy of ``split`` whose real timespans are ``factor`` times longer (padding keeps 1.0)."""
    t = np.where(split.mask, split.t * np.float32(factor), np.float32(1.0)).astype(np.float32)
    return Split(x=split.x.copy(), t=t, y=split.y.copy(), mask=split.mask.copy())


def load_npz_task(
    path: str | Path,
    seed: int = 0,
    val_fraction: float = 0.15,
    test_fraction: float = 0.15,
    noise_std: float = 0.2,
    standardize: bool = False,
    name: str | None = None,
) -> Task:
    """Load a user task from ``path`` (format in the module docstring)."""
    path = Path(path)
    check_options(path.name, load_npz_task, {"val_fraction": val_fraction, "test_fraction": test_fraction,
                                             "noise_std": noise_std, "standardize": standardize, "name": name})
    x, t, y, mask, kind = validate_arrays(_read(path))
    parts = random_partition(
        len(x),
        (1.0 - val_fraction - test_fraction, val_fraction, test_fraction),
        make_rng(seed, "npz", "partition"),
    )
    splits = {s: Split(x=x[i], t=t[i], y=y[i], mask=mask[i]) for s, i in zip(("train", "val", "test"), parts)}
    mean, std = feature_stats(splits["train"].x, splits["train"].mask)
    info: dict = {"source": str(path), "standardized": standardize, "noise_std": noise_std}
    if standardize:
        for split in splits.values():
            split.x = np.where(split.mask[..., None], (split.x - mean) / std, 0).astype(np.float32)
        info.update(x_mean=mean.tolist(), x_std=std.tolist())
        std = np.ones_like(std)
    splits["ood-noise"] = add_noise(splits["test"], noise_std * std, make_rng(seed, "npz", "ood-noise"))
    splits["ood-timing"] = scale_timespans(splits["test"], OOD_TIMING_FACTOR)
    output_size = int(y.max()) + 1 if kind == "classification" else int(y.shape[2])
    return Task(
        name=name or path.stem,
        kind=kind,
        metric="accuracy" if kind == "classification" else "mse",
        input_size=int(x.shape[2]),
        output_size=output_size,
        splits=splits,
        ood_descriptions={
            "ood-noise": f"test split + additive gaussian sensor noise, sigma={noise_std} of train feature std",
            "ood-timing": (f"test split with every timespan x{OOD_TIMING_FACTOR:g}, inputs unchanged (the data's "
                           "meaning of time is unknown here): dt beyond the training range"),
        },
        description=f"user data from {path.name} ({kind}, {len(x)} sequences)",
        info=info,
    )
