"""Simulated time and seeded randomness: every value is a function of (seed, resource, day)."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

import numpy as np

DEFAULT_START = dt.date(2026, 11, 1)


def stable_key(value: object) -> int:
    """A 32-bit integer for a name, stable across processes (unlike ``hash``)."""
    return int.from_bytes(hashlib.blake2b(str(value).encode(), digest_size=4).digest(), "big")


def rng_for(seed: int, *keys: object) -> np.random.Generator:
    """Independent generator for one stream, e.g. ``rng_for(seed, "grid_event", day)``."""
    entropy = [int(seed) & 0xFFFFFFFF] + [k + 1_000_000 if isinstance(k, int) else stable_key(k) for k in keys]
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(entropy)))


@dataclass(frozen=True)
class SimClock:
    """Maps simulation day numbers to calendar dates; day 0 is the initial full load."""

    start: dt.date = DEFAULT_START

    def date(self, day: int) -> dt.date:
        """Calendar date of a simulation day."""
        return self.start + dt.timedelta(days=day)

    def day_start(self, day: int) -> np.datetime64:
        """Midnight at the start of a simulation day (seconds resolution)."""
        return np.datetime64(self.date(day), "s")

    def stamp(self, day: int) -> str:
        """``YYYYMMDD`` of a simulation day, as used in file-drop names."""
        return self.date(day).strftime("%Y%m%d")

    @property
    def epoch_day(self) -> int:
        """Start date as days since 1970-01-01."""
        return int(np.datetime64(self.start, "D").astype(np.int64))


def fmt_dates(days: np.ndarray) -> np.ndarray:
    """ISO ``YYYY-MM-DD`` strings (object array) from datetime64[D] values; NaT gives None."""
    arr = np.asarray(days).astype("datetime64[D]")
    if arr.size == 0:
        return np.empty(0, dtype=object)
    out = np.datetime_as_string(arr, unit="D").astype(object)
    out[np.isnat(arr)] = None
    return out


def fmt_times(ts: np.ndarray) -> np.ndarray:
    """``YYYY-MM-DD HH:MM:SS`` strings (object array) from datetime64 values; NaT gives None."""
    arr = np.asarray(ts).astype("datetime64[s]")
    if arr.size == 0:
        return np.empty(0, dtype=object)
    out = np.char.replace(np.datetime_as_string(arr, unit="s"), "T", " ").astype(object)
    out[np.isnat(arr)] = None
    return out


def stable_uniform(ids: np.ndarray, salt: str) -> np.ndarray:
    """A uniform [0, 1) number per id that never changes (stable per-record attributes without storage)."""
    with np.errstate(over="ignore"):
        x = np.asarray(ids, dtype=np.uint64) + np.uint64(stable_key(salt)) * np.uint64(0x9E3779B97F4A7C15)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        x = x ^ (x >> np.uint64(31))
    return (x >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def stable_choice(ids: np.ndarray, salt: str, options: list | tuple, weights: list | tuple | None = None) -> np.ndarray:
    """A fixed option per id, drawn with the given weights (same id -> same option on every day)."""
    u = stable_uniform(ids, salt)
    w = np.asarray(weights if weights is not None else [1] * len(options), dtype=float)
    idx = np.searchsorted(np.cumsum(w) / w.sum(), u, side="right")
    return np.asarray(options, dtype=object)[np.minimum(idx, len(options) - 1)]
