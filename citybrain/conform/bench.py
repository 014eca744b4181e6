"""Bench stages "conform" (a full run over day 0's bronze) and "conform_incremental" (one more day).

Both run in a folder of their own under the bench dir (sources for two simulated days + a lake), so
the demo lake is untouched. "conform" generates the sources and ingests day 0 first, then times the
full conform run; "conform_incremental" ingests day 1, then times the conform run of that one day.
The stage seconds include that preparation: `conform_s` is the conform run alone, and
`incremental_ratio` = incremental conform_s / full conform_s (the issue's target: <= 0.15 at scale 1).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import time
from pathlib import Path

from citybrain.bench.harness import stage
from citybrain.timing import summed

WORKERS_ENV = "CITYBRAIN_CONFORM_WORKERS"


def _workers() -> int:
    from citybrain.conform.job import DEFAULT_WORKERS

    return int(os.environ.get(WORKERS_ENV, DEFAULT_WORKERS))


def _point_settings_at(work: Path) -> None:
    """Make the process settings (which ingestion DAG tasks read) use the bench's lake and sources."""
    from citybrain.settings import reset_settings

    os.environ.update(CITYBRAIN_LAKE_URI=str(work / "lake"), CITYBRAIN_SOURCES_DIR=str(work / "sources"))
    reset_settings()


def _ingest(day: dt.date) -> dict:
    from citybrain.ingest.run import run_ingestion

    started = time.perf_counter()
    results = run_ingestion(day)
    failed = [r["resource"] for r in results if r.get("status") == "failed"]
    if failed:
        raise RuntimeError(f"conform bench: ingestion of {day} failed for {failed}")
    return {"ingest_s": round(time.perf_counter() - started, 1),
            "rows_loaded": sum(r.get("rows_loaded") or 0 for r in results)}


def _conform(day: dt.date) -> dict:
    from citybrain.conform.job import run_conform
    from citybrain.settings import get_settings

    started = time.perf_counter()
    result = run_conform(until=day, settings=get_settings(), workers=_workers())
    seconds = round(time.perf_counter() - started, 1)
    res = result["resources"].values()
    slowest = max(result["resources"].items(), key=lambda kv: kv[1]["seconds"], default=(None, {"seconds": 0}))
    return {"conform_s": seconds, "resources": len(result["resources"]),
            "rows_in": sum(r["rows_in"] for r in res), "rows_silver": sum(r["rows_silver"] for r in res),
            "rows_quarantined": sum(r["rows_quarantined"] for r in res),
            "rows_upserted": sum(r["rows_upserted"] for r in res),
            "slowest_resource": f"{slowest[0]}:{slowest[1]['seconds']}s",
            "resources_s": result["resources_seconds"], "entities_s": result["entities_seconds"],
            "side_rows_s": result.get("side_rows_seconds"), "evaluation": result.get("evaluation"),
            # where the resource phase went: each step summed over resources, and the five slowest resources
            "resource_steps_s": summed(r.get("steps") for r in res),
            "slowest_resources": {n: r.get("steps") for n, r in sorted(
                result["resources"].items(), key=lambda kv: -kv[1]["seconds"])[:5]},
            "entity_s": {n: e.get("seconds") for n, e in result["entities"].items()}}


@stage("conform")
def conform(scale: float, ctx: dict) -> dict:
    """Sources for two days and day 0's ingestion (preparation), then the full conform run of day 0."""
    from citybrain.orchestration.airflow_env import migrate_db
    from citybrain.settings import get_settings
    from citybrain.sources.generate import generate_sources

    work = Path(ctx["settings"].bench_dir) / f"conform-scale{scale:g}"
    shutil.rmtree(work, ignore_errors=True)
    _point_settings_at(work)
    started = time.perf_counter()
    report = generate_sources(get_settings(), scale=scale, days=2)
    generate_s = round(time.perf_counter() - started, 1)
    migrate_db()
    ingest = _ingest(report.start_date)
    figures = _conform(report.start_date)
    ctx["conform_day0"] = dt.date.fromisoformat(str(report.start_date))
    ctx["conform_full_s"] = figures["conform_s"]
    return {"generate_s": generate_s, **ingest, **figures, "workers": _workers()}


@stage("conform_incremental")
def conform_incremental(scale: float, ctx: dict) -> dict:
    """Day 1's ingestion (preparation), then the conform run of that one day after the full run."""
    if "conform_day0" not in ctx:
        raise RuntimeError("bench stage conform_incremental needs the conform stage first "
                           "(citybrain bench -s conform -s conform_incremental)")
    day = ctx["conform_day0"] + dt.timedelta(days=1)
    ingest = _ingest(day)
    figures = _conform(day)
    full = ctx["conform_full_s"]
    return {**ingest, **figures, "full_conform_s": full,
            "incremental_ratio": round(figures["conform_s"] / full, 3) if full else None, "workers": _workers()}
