"""UEA multivariate classification sets bundled in the aeon wheel (no download).

Preparation: aeon's TRAIN part is split (seeded, stratified, ~80/20) into train and val; aeon's
TEST part is the test split. Features are standardised with the statistics of the train split.
Labels are mapped to ``0..C-1`` in the (numeric where possible) order of aeon's class names.
Samples are uniform in time, ``dt = 1.0``.
"""

from __future__ import annotations

import numpy as np

from .base import Split, Task
from .rng import make_rng
from .sequences import add_noise, drop_split, feature_stats, pad_sequences, resample_split, standardize
from .splitting import stratified_holdout

# registry name -> (aeon loader function, aeon dataset name, one-line description)
UEA_SETS = {
    "basicmotions": (
        "load_basic_motions",
        "BasicMotions",
        "UEA BasicMotions: 6-channel wrist IMU, 4 activities, length 100",
    ),
    "japanesevowels": (
        "load_japanese_vowels",
        "JapaneseVowels",
        "UEA JapaneseVowels: 12 LPC cepstrum channels, 9 speakers, unequal length 7-29",
    ),
    "pickupgesture": (
        "load_pickup_gesture_wiimoteZ",
        "PickupGestureWiimoteZ",
        "UEA PickupGestureWiimoteZ: 1-channel Wii remote accelerometer, 10 gestures, length 29-361",
    ),
}


def _load_aeon(loader_name: str, part: str) -> tuple[list[np.ndarray], np.ndarray]:
    """Sequences as ``[L, F]`` float arrays and raw labels of one aeon part ("train"/"test")."""
    try:
        import aeon.datasets  # lazy: pulls numba, slow to import
    except ImportError as exc:
        raise ImportError(f"UEA tasks need aeon: pip install 'edgelnn[data]' ({exc})") from exc

    x, y = getattr(aeon.datasets, loader_name)(split=part)
    seqs = [np.ascontiguousarray(np.asarray(a, dtype=np.float64).T) for a in x]  # aeon: [F, L]
    return seqs, np.asarray(y).astype(str)


def _class_order(labels: np.ndarray) -> list[str]:
    names = sorted(set(labels.tolist()))
    try:
        return sorted(names, key=float)
    except ValueError:
        return names


def _to_split(seqs: list[np.ndarray], labels: np.ndarray) -> Split:
    ts = [np.ones(len(a), dtype=np.float32) for a in seqs]
    x, t, mask, _ = pad_sequences(seqs, ts)
    return Split(x=x, t=t, y=labels.astype(np.int64), mask=mask)


def build_uea(
    key: str,
    seed: int = 0,
    val_fraction: float = 0.2,
    noise_std: float = 0.2,
    resample_factor: int = 2,
    drop_rate: float = 0.3,
) -> Task:
    """Build the UEA task ``key`` (a key of :data:`UEA_SETS`).

    Options: ``val_fraction`` of aeon's train part held out for validation; ``noise_std`` of the
    ood-noise split (in units of the train feature std); ``resample_factor`` of ood-resample;
    ``drop_rate`` of ood-drop.
    """
    loader_name, aeon_name, description = UEA_SETS[key]
    train_seqs, train_raw = _load_aeon(loader_name, "train")
    test_seqs, test_raw = _load_aeon(loader_name, "test")
    classes = _class_order(train_raw)
    unknown = sorted(set(test_raw.tolist()) - set(classes))
    if unknown:
        raise ValueError(f"{aeon_name}: test labels {unknown} not in the train labels")
    index = {name: i for i, name in enumerate(classes)}
    train_y = np.array([index[v] for v in train_raw], dtype=np.int64)
    test_y = np.array([index[v] for v in test_raw], dtype=np.int64)

    keep, held = stratified_holdout(train_y, val_fraction, make_rng(seed, key, "val-split"))
    train = _to_split([train_seqs[i] for i in keep], train_y[keep])
    val = _to_split([train_seqs[i] for i in held], train_y[held])
    test = _to_split(test_seqs, test_y)
    mean, std = feature_stats(train.x, train.mask)
    for split in (train, val, test):
        split.x = standardize(split.x, split.mask, mean, std)

    splits = {
        "train": train,
        "val": val,
        "test": test,
        "ood-noise": add_noise(test, np.full(len(mean), noise_std), make_rng(seed, key, "ood-noise")),
        "ood-resample": resample_split(test, resample_factor),
        "ood-drop": drop_split(test, drop_rate, make_rng(seed, key, "ood-drop")),
    }
    ood = {
        "ood-noise": f"test split + additive gaussian sensor noise, sigma={noise_std} of train feature std",
        "ood-resample": (
            f"test split at 1/{resample_factor} of the sampling rate: every {resample_factor}th sample, "
            f"dt={float(resample_factor)}"
        ),
        "ood-drop": (
            f"test split with each sample (but the first) dropped with probability {drop_rate}; "
            "timespans are the true elapsed time"
        ),
    }
    return Task(
        name=key,
        kind="classification",
        metric="accuracy",
        input_size=int(train.x.shape[2]),
        output_size=len(classes),
        splits=splits,
        ood_descriptions=ood,
        description=description,
        info={
            "source": f"aeon bundled UEA dataset {aeon_name}",
            "classes": classes,
            "dt": 1.0,
            "x_mean": mean.tolist(),
            "x_std": std.tolist(),
            "noise_std": noise_std,
        },
    )
