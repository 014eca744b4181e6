"""The conform and gold stages as portable stages, over a small prepared bronze lake.

The equivalence runs (local[*], a standalone cluster, Spark Connect) each start from a copy of the same
bronze lake (bronze + control tables, built once by the real ingestion DAGs from simulated sources) and
run the real jobs: `citybrain.conform.job.run_conform` for a few resources, then
`citybrain.gold.job.run_gold`. Conform's processing time is pinned (`CONFORM_NOW`), so its
`quarantined_at`, `detected_at` and `conformed_at` columns are equal between runs, and bronze's own
ingestion columns (`_ingest_time`, `_extract_time`, ...) are equal because every run starts from the same
copy: no column of the compared tables needs to be left out of the fingerprints. Gold's own control table
(`control.gold_inputs`) stamps the wall clock and holds Delta versions, so it is not compared.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import time
from pathlib import Path

from citybrain.settings import Settings

# Two resources covering conform's two write paths and gold's two outputs: an entity with SCD2 history
# (health_hospital) and readings partitioned by event_date (env_air_quality_hourly), feeding a theme and
# two indicators (level-2 EMR hospitals, good-air days). Kept small: each equivalence run conforms them.
SCALEOUT_RESOURCES = ("health_hospital", "env_air_quality_hourly")
SCALEOUT_DEPARTMENTS = ("HEALTH", "EEB")  # the departments sending them (their ingestion DAGs)
CONFORM_WORKERS = 2  # both resources in flight: overlaps driver latency, as conform's own default does
SEED_LAYERS = ("bronze", "control")
SEED_MARKER = ".complete"
CONFORM_NOW = dt.datetime(2026, 11, 2, 6, 0, 0)  # the pinned processing time of every equivalence run
CONFORM_LAYERS = ("silver", "quarantine")


def conform_stage(settings: Settings) -> dict:
    """run_conform over the lake's pending bronze batches of SCALEOUT_RESOURCES, at the pinned time."""
    from citybrain.conform.job import CONFORMED_TABLE, run_conform
    from citybrain.lake.arrow_io import list_tables

    result = run_conform(list(SCALEOUT_RESOURCES), settings=settings, now=CONFORM_NOW,
                         workers=CONFORM_WORKERS)
    tables = [str(t) for t in list_tables(CONFORM_LAYERS, settings)] + [CONFORMED_TABLE]
    rows = {name: r["rows_silver"] for name, r in result["resources"].items()}
    return {"tables": tables, "rows_silver": rows}


def gold_stage(settings: Settings) -> dict:
    """run_gold over the lake's silver (no panorama: it is HTML for people, not a table)."""
    from citybrain.gold.job import run_gold
    from citybrain.lake.arrow_io import list_tables

    summary = run_gold(settings, dashboard=False)
    return {"tables": [str(t) for t in list_tables(("gold",), settings)],
            "indicators_computed": sorted(summary["indicators_computed"]),
            "indicator_rows": summary["indicator_rows"]}


def seed_lake(seed: Path, lake: Path) -> Path:
    """A fresh lake holding a copy of the seed lake's layers (the starting point of one run)."""
    shutil.rmtree(lake, ignore_errors=True)
    for layer in SEED_LAYERS:
        if (seed / layer).is_dir():
            shutil.copytree(seed / layer, lake / layer)
    return lake


def prepare_bronze_lake(seed: Path, day: dt.date | str) -> Path:
    """Ingest `day` of the already generated sources for SCALEOUT_DEPARTMENTS into the lake `seed`.

    The ingestion DAGs read the process settings, so the lake URI is switched for the call and restored
    after it. Needs a migrated Airflow metadata DB and generated sources (`citybrain sources generate`).
    """
    from citybrain.ingest import run_ingestion
    from citybrain.settings import reset_settings

    started = time.perf_counter()
    previous = os.environ.get("CITYBRAIN_LAKE_URI")
    os.environ["CITYBRAIN_LAKE_URI"] = str(seed)
    reset_settings()
    try:
        results = run_ingestion(day, list(SCALEOUT_DEPARTMENTS))
    finally:
        if previous is None:
            os.environ.pop("CITYBRAIN_LAKE_URI", None)
        else:
            os.environ["CITYBRAIN_LAKE_URI"] = previous
        reset_settings()
    missing = [r["resource"] for r in results if r["resource"] in SCALEOUT_RESOURCES and not r.get("rows_loaded")]
    if missing:
        raise RuntimeError(f"bronze lake {seed}: ingestion of {day} loaded no rows for {missing}: {results}")
    print(f"bronze lake {seed}: {day} ingested for {', '.join(SCALEOUT_DEPARTMENTS)} "
          f"in {time.perf_counter() - started:.0f}s", flush=True)
    return seed


def prepared_bronze_lake(settings: Settings, day: dt.date | str) -> Path:
    """The bronze lake of `day` under <var>/scaleout/, built on first use and reused afterwards (a marker
    file says it is complete), so several equivalence tests of one run share one ingestion."""
    seed = Path(settings.var_dir, "scaleout", f"bronze-{day}")
    if (seed / SEED_MARKER).exists():
        return seed
    shutil.rmtree(seed, ignore_errors=True)
    prepare_bronze_lake(seed, day)
    (seed / SEED_MARKER).touch()
    return seed
