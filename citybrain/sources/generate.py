"""Generate every department source of the catalogue for a simulated city, day by day.

``generate_sources`` is the API the demo, the bench and the tests call; ``citybrain sources
generate`` is its command line. Same scale, seed, days, fault rate and start date give the same
bytes: every random draw comes from a generator seeded by (seed, resource, day), timestamps derive
from the simulated date, rows are written in a fixed order and workbooks carry fixed times.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from citybrain.sources import writers
from citybrain.sources.bindings import build_frame
from citybrain.sources.clock import DEFAULT_START, SimClock, rng_for
from citybrain.sources.faults import DEFAULT_RATE, FaultInjector, FilePlan, row_keys
from citybrain.sources.manifest import FaultRecord, write_manifest
from citybrain.sources.spec import CatalogSpec, ResourceSpec, load_spec
from citybrain.sources.world import World

DEMO_SCALE = 0.01
Progress = Callable[[str, int, int], None]


@dataclass
class GenerationReport:
    """What a generation produced: rows per resource, files, faults by kind, where everything is."""

    sources_dir: str
    scale: float
    seed: int
    days: int
    fault_rate: float
    start_date: str
    db_target: str
    rows: dict[str, int] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    faults_by_kind: dict[str, int] = field(default_factory=dict)
    faults_total: int = 0
    generic_items: dict[str, list[str]] = field(default_factory=dict)
    seconds: float = 0.0
    manifest_dir: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (for --json and the bench)."""
        return asdict(self)


@dataclass
class _Paths:
    sources_dir: Path
    catalog_dir: Path


def _resolve(settings_or_paths: Any) -> _Paths:
    """Accept a Settings object, a dict of paths, a sources folder, or nothing (the process settings)."""
    if settings_or_paths is None:
        try:
            from citybrain.settings import get_settings

            s = get_settings()
            return _Paths(Path(s.sources_dir), Path(s.catalog_dir))
        except ImportError:
            return _Paths(Path("var/sources"), Path("catalog"))
    if isinstance(settings_or_paths, (str, Path)):
        return _Paths(Path(settings_or_paths), _default_catalog())
    if isinstance(settings_or_paths, dict):
        return _Paths(Path(settings_or_paths.get("sources_dir", "var/sources")),
                      Path(settings_or_paths.get("catalog_dir") or _default_catalog()))
    return _Paths(Path(settings_or_paths.sources_dir), Path(settings_or_paths.catalog_dir))


def _default_catalog() -> Path:
    try:
        from citybrain.settings import get_settings

        return Path(get_settings().catalog_dir)
    except ImportError:
        return Path("catalog")


def _emits_empty_file(res: ResourceSpec) -> bool:
    """Daily and real-time drops arrive every day, even without rows; monthly ones only when due."""
    return res.update_cycle in ("每日", "实时")


def _write_file(res: ResourceSpec, frame: pd.DataFrame, path: Path, date: dt.date, fault: str | None,
                rng: np.random.Generator, day: int, rel: str) -> list[FaultRecord]:
    """Write one file drop, damaged when the day's file plan says so; returns the file-fault records."""
    path.parent.mkdir(parents=True, exist_ok=True)
    src = res.source
    records: list[FaultRecord] = []
    iso = date.isoformat()
    if fault == "schema_drift":
        cols = [c for c in frame.columns if c not in res.primary_key]
        old = cols[int(rng.integers(0, len(cols)))]
        new = f"{old}_new"
        frame = frame.rename(columns={old: new})
        frame["remark"] = "系统升级后新增字段"
        records += [FaultRecord(res.name, None, old, "schema_drift", f"renamed to {new}", old, day, iso, rel),
                    FaultRecord(res.name, None, "remark", "schema_drift", "added column remark", None, day, iso, rel)]
    if src.format == "csv":
        if fault == "wrong_delimiter":
            wrong = ";" if src.delimiter != ";" else ","
            writers.write_csv(path, frame, src.encoding, wrong)
            records.append(FaultRecord(res.name, None, None, fault, f"delimiter {wrong!r}", f"delimiter {src.delimiter!r}",
                                       day, iso, rel))
            return records
        data = writers.csv_text(frame if fault != "header_only" else frame.iloc[:0], src.delimiter).encode(src.encoding)
        if fault == "truncated_csv":
            cut = max(1, int(len(data) * 0.6))
            records.append(FaultRecord(res.name, None, None, fault, f"{cut} of {len(data)} bytes", f"{len(data)} bytes",
                                       day, iso, rel))
            data = data[:cut]
        elif fault == "header_only":
            records.append(FaultRecord(res.name, None, None, fault, "0 rows", f"{len(frame)} rows", day, iso, rel))
        elif fault == "empty_file":
            records.append(FaultRecord(res.name, None, None, fault, "0 bytes", f"{len(data)} bytes", day, iso, rel))
            data = b""
        path.write_bytes(data)
    elif src.format == "jsonl":
        if fault == "empty_file":
            path.write_bytes(b"")
            records.append(FaultRecord(res.name, None, None, fault, "0 bytes", f"{len(frame)} rows", day, iso, rel))
        else:
            writers.write_jsonl(path, frame)
    elif src.format == "xlsx":
        writers.write_xlsx(path, frame, date, header_only=fault == "header_only")
    else:
        raise ValueError(f"{res.path}: unknown file format {src.format!r} for {res.name}")
    return records


def generate_sources(settings_or_paths: Any = None, scale: float = DEMO_SCALE, seed: int = 42, days: int = 1,
                     faults: float | str | None = DEFAULT_RATE, start_date: dt.date | str | None = None,
                     db_url: str | None = None, catalog_dir: Path | str | None = None,
                     progress: Progress | None = None) -> GenerationReport:
    """Build every resource's source (databases and file drops) for ``days`` simulated days, with faults.

    ``faults`` is a rate (0.02 = about 2 % of rows) or ``"none"``/0 for clean sources and an empty
    manifest. Existing sources under the folder are replaced.
    """
    t0 = time.perf_counter()
    paths = _resolve(settings_or_paths)
    if catalog_dir:
        paths.catalog_dir = Path(catalog_dir)
    rate = _rate(faults)
    if days < 1:
        raise ValueError(f"days must be at least 1 (day 0 is the initial load), got {days}")
    start = dt.date.fromisoformat(start_date) if isinstance(start_date, str) else (start_date or DEFAULT_START)
    clock = SimClock(start)
    spec: CatalogSpec = load_spec(paths.catalog_dir)
    out = paths.sources_dir
    for sub in ("db", "files", "manifest"):
        shutil.rmtree(out / sub, ignore_errors=True)
    db = writers.DatabaseWriter(out / "db", None) if not db_url else writers.DatabaseWriter(None, db_url)
    files_dir = out / "files"
    world = World(spec, scale, seed, clock)
    injector = FaultInjector(spec, rate, seed, clock, world)
    report = GenerationReport(str(out), scale, seed, days, rate, start.isoformat(),
                              db_url and _safe_url(db_url) or str(out / "db"))
    records: list[FaultRecord] = []
    key_faults: dict[tuple[str, str], list[int]] = {}
    resources = [spec.resources[n] for n in sorted(spec.resources)]
    file_resources = [r for r in resources if r.source.kind == "file"]
    try:
        for day in range(days):
            if day:
                world.advance(day)
            plan: FilePlan = injector.file_plan(day, file_resources)
            date = clock.date(day)
            for res in resources:
                frame, generic = build_frame(res, world, day)
                if generic:
                    report.generic_items[res.name] = generic
                frame, late = injector.late(res, frame, day)
                file_fault = plan.faults.get(res.name)
                rel = None
                if res.source.kind == "file":
                    rel = writers.drop_path(files_dir, res, date).relative_to(out).as_posix()
                true_keys = _true_keys(res, frame) if day > 0 and res.source.kind == "database" else []
                if file_fault:
                    day_records: list[FaultRecord] = []
                else:
                    frame, day_records = injector.rows(res, frame, day, rel)
                for r in late:
                    r.file = rel
                day_records = late + day_records
                if res.source.kind == "database":
                    if day > 0 and res.primary_key:
                        # rows replaced today take earlier faults on the same keys out of the source
                        today = set(row_keys(res, frame))
                        for key in today:
                            for idx in key_faults.pop((res.name, key), []):
                                records[idx].superseded_day = day
                    db.write(res, frame, day, true_keys)
                elif len(frame) or _emits_empty_file(res) or file_fault:
                    path = out / rel
                    day_records += _write_file(res, frame, path, date, file_fault, rng_for(seed, "drift", res.name, day),
                                               day, rel)
                    report.files.append(rel)
                for r in day_records:
                    if r.key is not None and res.source.kind == "database":
                        key_faults.setdefault((res.name, r.key), []).append(len(records))
                    records.append(r)
                report.rows[res.name] = report.rows.get(res.name, 0) + len(frame)
                if progress:
                    progress(res.name, day, len(frame))
                del frame
                _release_memory()
    finally:
        db.dispose()
    meta = {"scale": scale, "seed": seed, "days": days, "fault_rate": rate, "start_date": start.isoformat()}
    summary = write_manifest(records, out / "manifest", meta)
    report.faults_by_kind = {k: v for k, v in summary["by_kind"].items() if v}
    report.faults_total = summary["faults"]
    report.manifest_dir = str(out / "manifest")
    report.seconds = round(time.perf_counter() - t0, 2)
    (out / "manifest" / "generation.json").write_text(
        json.dumps({k: v for k, v in report.to_dict().items() if k not in ("seconds",)}, ensure_ascii=False,
                   indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return report


def _release_memory() -> None:
    """Hand freed heap back to the OS between resources (glibc keeps it otherwise), bounding peak RSS."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _true_keys(res: ResourceSpec, frame: pd.DataFrame) -> list[tuple]:
    if not res.primary_key or not len(frame):
        return []
    return list(zip(*[frame[k].astype(object).where(frame[k].notna(), None).tolist() for k in res.primary_key],
                    strict=True))


def _rate(faults: float | str | None) -> float:
    if faults is None:
        return 0.0
    if isinstance(faults, str):
        if faults.strip().lower() in ("none", "off", "0", ""):
            return 0.0
        faults = float(faults)
    if not 0 <= faults < 0.5:
        raise ValueError(f"fault rate must be in [0, 0.5), got {faults}")
    return float(faults)


def _safe_url(url: str) -> str:
    import sqlalchemy as sa

    return sa.engine.make_url(url).render_as_string(hide_password=True)

