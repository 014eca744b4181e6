"""Lap timing for jobs that report where their time went (a step name -> wall-clock seconds)."""

from __future__ import annotations

import time


class Laps(dict):
    """Seconds per named step: ``lap(name)`` adds the time since the previous lap (or since creation) to name."""

    def __init__(self) -> None:
        super().__init__()
        self._mark = time.perf_counter()

    def lap(self, name: str) -> float:
        now = time.perf_counter()
        seconds = now - self._mark
        self._mark = now
        self[name] = round(self.get(name, 0.0) + seconds, 2)
        return seconds


def summed(parts) -> dict[str, float]:
    """Step seconds added up over several Laps (or plain dicts of them)."""
    out: dict[str, float] = {}
    for part in parts:
        for name, seconds in (part or {}).items():
            out[name] = round(out.get(name, 0.0) + seconds, 2)
    return out
