"""Which periods of an indicator a gold run recomputes, and what the lake holds about each input."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from citybrain.gold.periods import next_period_start, period_start

SCD2_VALIDITY = ("valid_from", "valid_to")
# conform prefixes the validity columns of a resource whose own items use those names (elic_licence)
PREFIXED_VALIDITY = ("_scd_valid_from", "_scd_valid_to")


def validity_columns(columns: list[str]) -> tuple[str, str]:
    """(valid_from, valid_to) of an SCD2 table's record versions, given its columns."""
    return PREFIXED_VALIDITY if PREFIXED_VALIDITY[0] in columns else SCD2_VALIDITY


@dataclass(frozen=True)
class InputFacts:
    """A silver input as read by this run: version, shape and how far back its snapshots go."""

    table: str  # silver.<name>
    version: int
    kind: str  # entity | event | reading | reference | golden
    scd2: bool = False  # has valid_from / valid_to
    partitioned_by_event_date: bool = False
    observed_from: dt.date | None = None  # first day the lake holds a snapshot of it (None: no limit)
    last_day: dt.date | None = None  # latest day it holds data for


@dataclass(frozen=True)
class Scope:
    """Periods to recompute: everything, or the periods holding changed days plus every period ending after
    ``since`` (a change to a snapshot input alters every snapshot taken after it)."""

    full: bool = True
    days: frozenset[dt.date] = field(default_factory=frozenset)
    since: dt.date | None = None

    @classmethod
    def nothing(cls) -> Scope:
        return cls(full=False)

    @property
    def empty(self) -> bool:
        return not self.full and not self.days and self.since is None

    def union(self, other: Scope) -> Scope:
        if self.full or other.full:
            return Scope(full=True)
        since = min((d for d in (self.since, other.since) if d is not None), default=None)
        return Scope(full=False, days=self.days | other.days, since=since)

    def periods(self, period_type: str) -> set[dt.date]:
        """Explicitly affected period starts (from changed days)."""
        return {period_start(d, period_type) for d in self.days}

    def affects(self, period: dt.date, period_type: str) -> bool:
        if self.full:
            return True
        if self.since is not None and period >= period_start(self.since, period_type):
            return True
        return period in self.periods(period_type)

    def date_ranges(self, period_types: list[str]) -> list[tuple[dt.date, dt.date | None]] | None:
        """Merged [start, end) day ranges covering every affected period of the given types (None: all)."""
        if self.full:
            return None
        ranges: list[tuple[dt.date, dt.date | None]] = []
        for pt in period_types:
            ranges += [(p, next_period_start(p, pt)) for p in sorted(self.periods(pt))]
            if self.since is not None:
                ranges.append((period_start(self.since, pt), None))
        ranges.sort(key=lambda r: r[0])
        merged: list[tuple[dt.date, dt.date | None]] = []
        for start, end in ranges:
            if merged and (merged[-1][1] is None or start <= merged[-1][1]):
                last_start, last_end = merged[-1]
                merged[-1] = (last_start, None if end is None or last_end is None else max(last_end, end))
            else:
                merged.append((start, end))
        return merged
