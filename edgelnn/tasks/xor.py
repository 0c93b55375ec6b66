"""Event-based bit-stream XOR (Hasani et al. 2022, CfC paper; Lechner & Hasani 2020, ODE-LSTM).

A stream of ``n_bits`` bits, one bit per time unit, is compressed into events: one event at the
end of every run of equal bits. The event's input is the run's bit as ``+1``/``-1`` and its
timespan is the run's duration (number of bits). The label is the parity (XOR) of all bits, so a
model must integrate the elapsed time of the ``+1`` events: ``y = (sum of t where x > 0) mod 2``.
"""

from __future__ import annotations

import numpy as np

from .base import Split, Task
from .rng import make_rng
from .sequences import add_noise, feature_stats


def sample_bits(n: int, n_bits: int, stay_prob: float, rng: np.random.Generator) -> np.ndarray:
    """``[n, n_bits]`` bit streams from a two-state Markov chain (``stay_prob=0.5``: i.i.d. fair bits)."""
    bits = np.empty((n, n_bits), dtype=np.int64)
    bits[:, 0] = rng.integers(0, 2, size=n)
    flips = rng.random((n, n_bits - 1)) >= stay_prob
    bits[:, 1:] = (bits[:, :1] + np.cumsum(flips, axis=1)) % 2
    return bits


def encode_events(bits: np.ndarray) -> Split:
    """Run-length event encoding of bit streams ``[N, B]``; label = parity of each stream."""
    n, n_bits = bits.shape
    run_end = np.ones((n, n_bits), dtype=bool)
    run_end[:, :-1] = bits[:, 1:] != bits[:, :-1]
    lengths = run_end.sum(axis=1)
    steps = int(lengths.max())
    x = np.zeros((n, steps, 1), dtype=np.float32)
    t = np.ones((n, steps), dtype=np.float32)
    mask = np.arange(steps)[None, :] < lengths[:, None]
    rows, cols = np.nonzero(run_end)  # row-major: events of a row in time order
    slot = np.arange(len(rows)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    previous_end = np.where(slot > 0, np.roll(cols, 1), -1)
    x[rows, slot, 0] = 2.0 * bits[rows, cols] - 1.0
    t[rows, slot] = cols - previous_end
    y = (bits.sum(axis=1) % 2).astype(np.int64)
    return Split(x=x, t=t, y=y, mask=mask)


def build_xor(
    seed: int = 0,
    n_train: int = 10000,
    n_val: int = 1000,
    n_test: int = 2000,
    n_ood: int = 2000,
    n_bits: int = 32,
    ood_bits: int = 64,
    ood_stay_prob: float = 0.8,
    noise_std: float = 0.2,
) -> Task:
    """Build the event-based XOR task.

    Options: split sizes; ``n_bits`` per stream; ``ood_bits`` for ood-longer; ``ood_stay_prob``
    (probability that the next bit repeats) for ood-timing; ``noise_std`` of ood-noise in units of
    the train feature std.
    """
    if ood_bits <= n_bits:
        raise ValueError(f"ood_bits ({ood_bits}) must exceed n_bits ({n_bits})")

    def make(split: str, n: int, bits: int = n_bits, stay: float = 0.5) -> Split:
        return encode_events(sample_bits(n, bits, stay, make_rng(seed, "xor", split)))

    train = make("train", n_train)
    test = make("test", n_test)
    _, std = feature_stats(train.x, train.mask)
    splits = {
        "train": train,
        "val": make("val", n_val),
        "test": test,
        "ood-longer": make("ood-longer", n_ood, bits=ood_bits),
        "ood-timing": make("ood-timing", n_ood, stay=ood_stay_prob),
        "ood-noise": add_noise(test, noise_std * std, make_rng(seed, "xor", "ood-noise")),
    }
    ood = {
        "ood-longer": f"streams of {ood_bits} bits instead of {n_bits} (longer runs, more events)",
        "ood-timing": (
            f"bits from a sticky Markov chain (repeat probability {ood_stay_prob} instead of 0.5): "
            "fewer events with longer inter-event times"
        ),
        "ood-noise": f"test split + additive gaussian noise on the event value, sigma={noise_std} of train std",
    }
    return Task(
        name="xor",
        kind="classification",
        metric="accuracy",
        input_size=1,
        output_size=2,
        splits=splits,
        ood_descriptions=ood,
        description=f"event-based bit-stream XOR: parity of {n_bits} bits given as run-length events",
        info={"n_bits": n_bits, "time_per_bit": 1.0, "x_std": std.tolist(), "noise_std": noise_std},
    )
