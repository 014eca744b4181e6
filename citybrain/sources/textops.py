"""Vectorised string helpers that also behave on empty arrays (numpy's np.char does not always)."""

from __future__ import annotations

import numpy as np


def zpad(values: np.ndarray, width: int) -> np.ndarray:
    """Non-negative integers as zero-padded decimal strings of ``width`` characters (``U`` array)."""
    v = np.asarray(values, dtype=np.int64)
    if v.size == 0:
        return np.empty(0, f"U{width}")
    return np.char.zfill(v.astype(f"U{width}"), width)


def concat(*parts: np.ndarray | str) -> np.ndarray:
    """Element-wise concatenation of string arrays and scalars into an object array."""
    out: np.ndarray | str = ""
    for p in parts:
        out = out + (np.asarray(p).astype(object) if not isinstance(p, str) else p)
    return np.asarray(out, dtype=object)
