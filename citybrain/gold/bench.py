"""Bench stage "gold": a full gold run, an idle re-run and a one-day incremental run over a silver lake.

The silver lake: when the conform stage ran before in the same bench (``citybrain bench -s conform -s gold``)
the process settings point at its lake and gold reads that. Otherwise the stage builds its own under
<bench dir>/gold-scale<S>/: clean sources for two simulated days, written straight to silver by
citybrain.gold.source_lake, golden records included (no ingestion or conform: those have their own stages).
The stage's seconds include that preparation; ``full_s``, ``idle_s`` and ``one_day_s`` are the gold runs alone.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import time
from pathlib import Path

from citybrain.bench.harness import stage

DAYS = 2


def _own_lake(scale: float, ctx: dict) -> tuple[object, dict]:
    """Point the process at <bench>/gold-scale<S>/ and fill its silver from freshly generated sources."""
    from citybrain.catalog import get_catalog
    from citybrain.gold.job import silver_inputs
    from citybrain.gold.source_lake import build_golden, build_source_lake, golden_entities
    from citybrain.settings import get_settings, reset_settings
    from citybrain.sources.generate import generate_sources
    from citybrain.spark import get_spark

    work = Path(ctx["settings"].bench_dir) / f"gold-scale{scale:g}"
    shutil.rmtree(work, ignore_errors=True)
    os.environ.update(CITYBRAIN_LAKE_URI=str(work / "lake"), CITYBRAIN_SOURCES_DIR=str(work / "sources"),
                      CITYBRAIN_SITE_DIR=str(work / "site"))
    reset_settings()
    settings, catalog = get_settings(), get_catalog()
    started = time.perf_counter()
    report = generate_sources(settings, scale=scale, days=DAYS, faults="none")
    generate_s = time.perf_counter() - started
    last = dt.date.fromisoformat(report.start_date) + dt.timedelta(days=DAYS - 1)
    inputs = silver_inputs(catalog)
    entities = golden_entities(inputs)  # their authorities are written too, for the golden records
    names = sorted({n for n in inputs if n in catalog.resources} | {r for e in entities for r in e.authority_resources})
    started = time.perf_counter()
    spark = get_spark(settings)
    rows = build_source_lake(spark, catalog, names, settings, last)
    rows.update(build_golden(spark, entities, settings))
    return settings, {"generate_s": round(generate_s, 1), "silver_s": round(time.perf_counter() - started, 1),
                      "silver_rows": sum(rows.values()), "silver_tables": len(rows)}


def _touch_last_day(settings) -> tuple[str, int]:
    """Rewrite the latest event_date partition of every partitioned silver input (a re-delivered day)."""
    from citybrain.catalog import get_catalog
    from citybrain.gold.job import silver_inputs
    from citybrain.lake import spark_io
    from citybrain.spark import get_spark

    spark = get_spark(settings)
    day, tables = None, 0
    for name in silver_inputs(get_catalog()):
        table = f"silver.{name}"
        if not spark_io.table_exists(spark, table, settings):
            continue
        df = spark_io.read_table(spark, table, settings=settings)
        if "event_date" not in df.columns or "is_current" in df.columns:
            continue
        last = df.agg({"event_date": "max"}).first()[0]
        if last is None:
            continue
        day = max(day, last) if day else last
        rows = df.where(df.event_date == last).localCheckpoint()
        spark_io.overwrite_partitions(rows, table, ["event_date"], settings=settings)
        tables += 1
    return (day.isoformat() if day else "-"), tables


@stage("gold")
def gold(scale: float, ctx: dict) -> dict:
    """Full run, idle re-run (nothing changed), then one re-delivered day (only its periods recomputed)."""
    from citybrain.gold.job import run_gold
    from citybrain.settings import get_settings

    figures: dict = {}
    if "conform_day0" in ctx:  # the conform stage left the process pointed at its lake
        settings = get_settings()
        figures["silver"] = "conform stage"
    else:
        settings, prep = _own_lake(scale, ctx)
        figures.update(silver="sources (citybrain.gold.source_lake)", **prep)

    def timed(**kw) -> tuple[dict, float]:
        started = time.perf_counter()
        out = run_gold(settings, **kw)
        return out, round(time.perf_counter() - started, 2)

    first, full_s = timed(dashboard=True, screenshot=False)
    idle, idle_s = timed(dashboard=False)
    day, touched = _touch_last_day(settings)
    one, one_s = timed(dashboard=False)
    return {**figures,
            "themes": len([t for t in first["tables_built"] if ".theme_" in t]),
            "indicators": len(first["indicators_computed"]), "skipped": len(first["indicators_skipped"]),
            "indicator_rows": first["indicator_rows"], "data_date": first["data_date"],
            "full_s": full_s, "full_periods": first["periods_recomputed"],
            "idle_s": idle_s, "idle_periods": idle["periods_recomputed"],
            "one_day_s": one_s, "one_day": day, "one_day_tables": touched,
            "one_day_indicators": len(one["indicators_computed"]), "one_day_periods": one["periods_recomputed"],
            "one_day_rows_written": one["indicator_rows_written"]}
