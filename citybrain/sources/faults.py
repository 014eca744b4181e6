"""Fault injection: realistic data defects at a configurable rate, each recorded in the manifest.

Row faults change one cell (or add one row) of a resource's day frame; file faults damage a whole
file drop (schema drift, truncation, header only, empty, wrong delimiter). A faulted row carries at
most one fault so that the manifest states exactly what the pipeline should find. Keys in the
manifest are the row's primary key as it appears in the source (``|``-joined for composite keys).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from citybrain.sources.clock import SimClock, rng_for
from citybrain.sources.manifest import FaultRecord
from citybrain.sources.spec import CatalogSpec, ItemSpec, ResourceSpec
from citybrain.standards.identifiers import (
    CREDIT_ALPHABET,
    credit_code_check_char,
    id_number_check_char,
)

DEFAULT_RATE = 0.02
FILE_FAULT_CYCLE = ("truncated_csv", "header_only", "empty_file", "wrong_delimiter")
SCHEMA_DRIFT_DAY = 1
TEXT_TYPES = ("C", "M")
NUMERIC_TYPES = ("I", "N", "Y", "F", "B")


def mojibake(value: str) -> str:
    """UTF-8 bytes read as GBK: the classic damage of Chinese text between two systems."""
    return value.encode("utf-8").decode("gbk", errors="ignore")


def _s(value) -> str | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (float, np.floating)):
        return repr(round(float(value), 6))
    if isinstance(value, np.integer):
        return str(int(value))
    return str(value)


@dataclass
class FilePlan:
    """File faults of one day: resource name -> fault kind."""

    day: int
    faults: dict[str, str] = field(default_factory=dict)


class FaultInjector:
    """Injects faults into day frames and remembers late rows until they arrive."""

    def __init__(self, spec: CatalogSpec, rate: float, seed: int, clock: SimClock, world=None):
        self.spec = spec
        self.rate = rate
        self.seed = seed
        self.clock = clock
        self.world = world
        self.held: dict[str, list[tuple[int, pd.DataFrame]]] = {}
        self.copies: dict[str, set[str]] = {}
        for _key, _auth, copy, _key_item in spec.copies:
            res, item = copy.split(".", 1)
            self.copies.setdefault(res, set()).add(item)

    # -- planning ----------------------------------------------------------------------------------

    def file_plan(self, day: int, candidates: list[ResourceSpec]) -> FilePlan:
        """Which file drops of ``day`` are damaged: schema drift on day 1, one malformed CSV per later day."""
        plan = FilePlan(day)
        if day == 0 or self.rate <= 0:
            return plan
        rng = rng_for(self.seed, "file_faults", day)
        csvs = sorted(r.name for r in candidates if r.source.format == "csv" and r.update_cycle in ("每日", "实时"))
        if not csvs:
            return plan
        if day == SCHEMA_DRIFT_DAY:
            plan.faults[csvs[int(rng.integers(0, len(csvs)))]] = "schema_drift"
        rest = [c for c in csvs if c not in plan.faults]
        n = max(1, int(round(self.rate * len(candidates) * 2)))
        for i, name in enumerate(rng.choice(rest, min(n, len(rest)), replace=False)):
            plan.faults[str(name)] = FILE_FAULT_CYCLE[(day - 1 + i) % len(FILE_FAULT_CYCLE)]
        return plan

    # -- late arrivals -----------------------------------------------------------------------------

    def late(self, res: ResourceSpec, frame: pd.DataFrame, day: int) -> tuple[pd.DataFrame, list[FaultRecord]]:
        """Hold back some of today's events/readings and release earlier held rows whose day has come."""
        records: list[FaultRecord] = []
        if res.kind not in ("event", "reading") or not res.event_time or self.rate <= 0:
            return frame, records
        rng = rng_for(self.seed, "late", res.name, day)
        out = frame
        keys_today = set(_keys(res, frame)) if res.primary_key else set()
        still: list[tuple[int, pd.DataFrame]] = []
        released = []
        for arrive, rows in self.held.get(res.name, []):
            rk = _keys(res, rows)
            # a row that changes again before it was due simply arrives with today's version
            fresh = np.asarray([k not in keys_today for k in rk], dtype=bool)
            if arrive <= day:
                rows = rows[fresh]
                if res.incremental_key and len(rows):
                    rows = rows.copy()
                    rows[res.incremental_key] = _day_stamp(self.clock, day, rng, len(rows))
                released.append(rows)
                for k, ev in zip(_keys(res, rows), rows[res.event_time].tolist(), strict=True):
                    records.append(FaultRecord(res.name, k, res.event_time, "late_arriving", self.clock.date(day)
                                               .isoformat(), _s(ev), day, self.clock.date(day).isoformat()))
            elif fresh.any():
                still.append((arrive, rows[fresh]))
        if day > 0 and len(frame):
            ev_day = frame[res.event_time].astype(str).str[:10].to_numpy()
            today = self.clock.date(day).isoformat()
            cand = np.flatnonzero(ev_day == today)
            k = min(len(cand), int(rng.binomial(len(cand), self.rate / 2)))
            if k:
                pick = np.sort(rng.choice(cand, k, replace=False))
                delays = rng.integers(1, 4, k)
                for dly in np.unique(delays):
                    still.append((day + int(dly), frame.iloc[pick[delays == dly]].copy()))
                out = frame.drop(index=frame.index[pick])
        self.held[res.name] = still
        if released:
            out = pd.concat([out, *released], ignore_index=True)
        return out.reset_index(drop=True), records

    # -- row faults --------------------------------------------------------------------------------

    def _kinds(self, res: ResourceSpec) -> dict[str, list[ItemSpec]]:
        pk = set(res.primary_key)
        protected = pk | {res.incremental_key, res.event_time}
        items = res.items
        copies = self.copies.get(res.name, set())
        kinds = {
            "invalid_check_char": [i for i in items if i.format in ("id_number", "credit_code")],
            "impossible_date": [i for i in items if i.type in ("D", "T") and i.name not in protected],
            "missing_required": [i for i in items if not i.nullable and i.name not in protected],
            "out_of_range": [i for i in items if i.range and i.name not in protected
                             and (i.type in NUMERIC_TYPES or (i.type == "D" and i.range.get("min")))],
            "code_not_in_list": [i for i in items if i.code_list and i.name not in protected],
            "orphan_reference": [i for i in items if i.references and i.name not in protected],
            "copy_disagreement": [i for i in items if i.name in copies and i.name not in pk],
            "encoding_damage": [i for i in items if i.type in TEXT_TYPES and i.name not in pk and not i.format
                                and not i.code_list and not i.references],
            "exact_duplicate": list(items[:1]),
            "near_duplicate": [i for i in items if i.name not in protected and (i.type in TEXT_TYPES + NUMERIC_TYPES)
                               and not i.code_list and not i.format and not i.references],
        }
        return {k: v for k, v in kinds.items() if v}

    def rows(self, res: ResourceSpec, frame: pd.DataFrame, day: int, file: str | None = None
             ) -> tuple[pd.DataFrame, list[FaultRecord]]:
        """Inject row faults into one day frame; returns the damaged frame and its manifest rows."""
        n = len(frame)
        if n == 0 or self.rate <= 0:
            return frame, []
        rng = rng_for(self.seed, "faults", res.name, day)
        kinds = self._kinds(res)
        names = sorted(kinds)
        k = min(n, int(rng.binomial(n, self.rate)))
        if not k:
            return frame, []
        rows = np.sort(rng.choice(n, k, replace=False))
        chosen = [names[i] for i in rng.integers(0, len(names), k)]
        date = self.clock.date(day).isoformat()
        records: list[FaultRecord] = []
        extra: list[tuple[int, str | None, object]] = []
        cells: dict[str, tuple[list[int], list]] = {}
        cols = {c: frame[c].to_numpy(dtype=object) if frame[c].dtype != object else frame[c].to_numpy()
                for c in frame.columns}
        pk_cols = [cols[k] for k in res.primary_key]
        for row, kind in zip(rows.tolist(), chosen, strict=True):
            cands = kinds[kind] if kind in ("exact_duplicate", "near_duplicate") else [
                i for i in kinds[kind] if _present(cols[i.name][row])]
            if not cands:
                continue
            item = cands[int(rng.integers(0, len(cands)))]
            true = cols[item.name][row]
            key = "|".join(_s(c[row]) or "" for c in pk_cols) if pk_cols else None
            if kind == "exact_duplicate":
                extra.append((row, None, None))
                records.append(FaultRecord(res.name, key, None, kind, None, None, day, date, file))
                continue
            new = self._value(kind, item, true, rng, res, frame, row)
            if new is _SKIP:
                continue
            if kind == "near_duplicate":
                extra.append((row, item.name, new))
            else:
                rows_vals = cells.setdefault(item.name, ([], []))
                rows_vals[0].append(row)
                rows_vals[1].append(new)
                if item.name in res.primary_key:
                    key = "|".join(_s(new if k == item.name else cols[k][row]) or "" for k in res.primary_key)
            records.append(FaultRecord(res.name, key, item.name, kind, _s(new), _s(true), day, date, file))
        if cells:
            frame = frame.copy()
            for col, (idx, vals) in cells.items():
                frame[col] = _assign(frame[col], idx, vals)
        if extra:
            dups = frame.iloc[[r for r, _, _ in extra]].reset_index(drop=True)
            for i, (_, col, val) in enumerate(extra):
                if col is not None:
                    dups[col] = _assign(dups[col], [i], [val])
            frame = pd.concat([frame, dups], ignore_index=True)
        return frame, records

    def _value(self, kind: str, item: ItemSpec, true, rng: np.random.Generator, res: ResourceSpec,
               frame: pd.DataFrame, row: int):
        if kind == "invalid_check_char":
            v = str(true)
            if item.format == "id_number":
                if len(v) != 18 or not v[:17].isdigit():
                    return _SKIP
                right = id_number_check_char(v[:17])
                wrong = [c for c in "0123456789X" if c != right]
            else:
                if len(v) != 18 or any(c not in CREDIT_ALPHABET for c in v[:17]):
                    return _SKIP
                right = credit_code_check_char(v[:17])
                wrong = [c for c in CREDIT_ALPHABET if c != right]
            return v[:17] + wrong[int(rng.integers(0, len(wrong)))]
        if kind == "impossible_date":
            v = str(true)
            bad = f"{v[:4]}-02-{30 + int(rng.integers(0, 2))}" if rng.random() < 0.7 else f"{v[:4]}-13-{v[8:10]}"
            return bad + v[10:]
        if kind == "missing_required":
            return None
        if kind == "out_of_range":
            rg = item.range or {}
            if item.type == "D":
                return "1899-12-31"
            hi, lo = rg.get("max"), rg.get("min")
            if hi is not None and (lo is None or rng.random() < 0.5):
                v = float(hi) + max(1.0, abs(float(hi)) * 0.5)
            else:
                v = float(lo) - max(1.0, abs(float(lo)) * 0.5)
            return int(v) if item.type == "I" else round(v, item.scale or 0)
        if kind == "code_not_in_list":
            codes = set(self.spec.codes(item.code_list))
            width = min(item.length or len(str(true)), max(len(str(true)), 1))
            for c in ("9" * width, "X" * width, "0" * width, "8" * width, "Z" * width):
                if c not in codes and not (item.code_list == "divisions" and c.startswith("3706")):
                    return c
            return _SKIP
        if kind == "orphan_reference":
            v = str(true)
            if item.format == "id_number" or item.references.endswith(".id_number"):
                body = v[:6] + "19010101" + f"{int(rng.integers(0, 1000)):03d}"
                return body + id_number_check_char(body)
            if item.format == "credit_code":
                body = v[:8] + "00" + "".join(str(int(d)) for d in rng.integers(0, 10, 7))
                return body + credit_code_check_char(body)
            tail = "".join(str(int(d)) for d in rng.integers(0, 10, 4))
            return (v[:-6] + "99" + tail) if len(v) >= 6 else v + "99" + tail
        if kind == "copy_disagreement":
            return self._disagree(item, true, rng)
        if kind == "encoding_damage":
            v = str(true)
            if v.isascii():
                return _SKIP
            bad = mojibake(v)
            return bad[: item.length] if item.length else bad
        if kind == "near_duplicate":
            if item.type in NUMERIC_TYPES:
                if not _present(true):
                    return _SKIP
                # a slightly different reading, still valid: a near duplicate tests dedupe, not the range rule
                rg = item.range or {}
                lo, hi = rg.get("min"), rg.get("max")
                for step in (1, -1):
                    v = int(true) + step if item.type == "I" else round(float(true) * (1 + step * 0.01) + step * 0.01,
                                                                          item.scale or 2)
                    if (lo is None or v >= lo) and (hi is None or v <= hi):
                        return v
                return _SKIP
            if not _present(true):
                return _SKIP
            v = str(true)
            limit = item.length or 1000
            if not v.isascii():
                return v[: limit - 1] + "\u3000"  # a full-width space: the same text to a reader
            return v + " " if len(v) < limit else _SKIP
        return _SKIP

    def _disagree(self, item: ItemSpec, true, rng: np.random.Generator):
        v = str(true)
        name = item.name
        w = self.world
        if name.endswith("birth_date"):
            d = np.datetime64(v[:10]) + int(rng.integers(1, 400)) * (1 if rng.random() < 0.5 else -1)
            return str(d)
        if name in ("sex",):
            return "2" if v == "1" else "1"
        if name in ("ethnicity",):
            return "03" if v != "03" else "11"
        if name.endswith("_id") or name == "legal_rep_id":
            if w is not None:
                ids = w.city.persons["id_number"].to_numpy()
                return str(ids[int(rng.integers(0, len(ids)))])
            return _SKIP
        if name in ("district_code",):
            codes = [c for c in (w.city.district_codes() if w is not None else ["370602", "370611"]) if c != v]
            return str(codes[int(rng.integers(0, len(codes)))])
        if name in ("street_code",):
            return v[:6] + f"{(int(v[6:]) % 20) + 1:03d}" if v[6:].isdigit() and len(v) == 9 else _SKIP
        if name in ("industry_code",):
            return "F" if v != "F" else "C"
        if name in ("longitude", "latitude"):
            return round(float(v) + 0.01, 6)
        if name == "phone":
            return v[:-4] + f"{(int(v[-4:]) + 1111) % 10000:04d}" if v[-4:].isdigit() else _SKIP
        if "address" in name:
            for i in range(len(v) - 1, -1, -1):
                if v[i].isdigit():
                    return v[:i] + str((int(v[i]) + 1) % 10) + v[i + 1:]
            return v + "附近"
        if "code" in name:
            return v[:-1] + ("1" if v[-1:] != "1" else "2")
        # names: another given name for the same person or firm
        swap = "伟芳明华军丽强敏"
        last = v[-1:]
        repl = next(c for c in swap if c != last)
        return v[:-1] + repl if len(v) > 1 else v + repl


_SKIP = object()


def _present(v) -> bool:
    return v is not None and not (not isinstance(v, str) and pd.isna(v))


def _assign(series: pd.Series, rows: list[int], values: list) -> pd.Series:
    """Set cells, widening the column to object when a faulty value does not fit its dtype."""
    try:
        if any(isinstance(v, str) for v in values) and series.dtype != object:
            raise TypeError
        out = series.copy()
        if series.dtype.kind == "f":
            values = [np.nan if v is None else v for v in values]
        out.iloc[rows] = values
        return out
    except (TypeError, ValueError):
        out = series.astype(object)
        out.iloc[rows] = values
        return out


def _key(res: ResourceSpec, frame: pd.DataFrame, row: int) -> str | None:
    if not res.primary_key:
        return None
    return "|".join(_s(frame.at[row, k]) or "" for k in res.primary_key)


def _keys(res: ResourceSpec, frame: pd.DataFrame) -> list[str]:
    if not res.primary_key or not len(frame):
        return []
    out = None
    for k in res.primary_key:
        col = frame[k]
        part = col.astype(object).where(col.notna(), "")
        if col.dtype.kind == "f":
            part = part.map(lambda x: _s(x) or "")
        part = part.astype(str)
        out = part if out is None else out + "|" + part
    return out.tolist()


def _day_stamp(clock: SimClock, day: int, rng: np.random.Generator, n: int) -> list[str]:
    base = clock.day_start(day) + rng.integers(1 * 3600, 6 * 3600, n).astype("timedelta64[s]")
    return [str(t).replace("T", " ") for t in base]


def row_keys(res: ResourceSpec, frame: pd.DataFrame) -> list[str]:
    """Manifest-style keys of every row of a frame."""
    return _keys(res, frame)
