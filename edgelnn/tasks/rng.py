"""Deterministic random streams: one independent generator per (seed, key, ...) path."""

from __future__ import annotations

import zlib

import numpy as np


def _as_int(key: int | str) -> int:
    if isinstance(key, str):
        return zlib.crc32(key.encode("utf-8"))
    if int(key) < 0:
        raise ValueError(f"rng keys must be non-negative, got {key}")
    return int(key)


def make_rng(seed: int, *keys: int | str) -> np.random.Generator:
    """A generator that depends only on ``seed`` and ``keys`` (strings are hashed with CRC32).

    Distinct key paths give statistically independent streams, so adding a new split or
    option never changes the arrays of existing ones.
    """
    entropy = [_as_int(seed), *(_as_int(k) for k in keys)]
    return np.random.default_rng(np.random.SeedSequence(entropy))
