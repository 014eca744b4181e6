"""Portable pipeline stages: the same job gives the same Delta tables on local[*], a cluster or Spark Connect.

A stage is `fn(settings) -> {"tables": [...], ...}` (it reads and writes the lake of `settings` with the
process's session from get_spark). Stages are named here or referenced as "package.module:function",
so later stages (conform, gold) plug into the same runner, job entry point and equivalence tests.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from citybrain.settings import REPO_ROOT, Settings, get_settings

StageFn = Callable[[Settings], dict]

# name -> "module:function"; conform and gold run over a prepared bronze lake (lake_stages).
PORTABLE_STAGES: dict[str, str] = {
    "smoke": "citybrain.spark.stages:smoke_stage",
    "upsert": "citybrain.spark.stages:upsert_stage",
    "conform": "citybrain.spark.lake_stages:conform_stage",
    "gold": "citybrain.spark.lake_stages:gold_stage",
}
JOB = REPO_ROOT / "jobs" / "stages_job.py"
SMOKE_ROWS = 2000
SMOKE_BATCH = "portable"
READINGS_TABLE = "smoke.aq_readings"
DAILY_TABLE = "smoke.aq_daily"


class StageRunFailed(RuntimeError):
    """A stage job in a subprocess failed or timed out: names the master, the stages and the output."""


def resolve_stage(ref: str) -> StageFn:
    """A stage function by registered name ("smoke") or dotted reference ("pkg.mod:function")."""
    target = PORTABLE_STAGES.get(ref, ref)
    module_name, sep, attr = target.partition(":")
    if not sep:
        raise ValueError(f"Unknown stage {ref!r}: use one of {', '.join(PORTABLE_STAGES)} or 'package.module:function'")
    return getattr(importlib.import_module(module_name), attr)


def run_stages(refs: Sequence[str], settings: Settings | None = None) -> dict[str, dict]:
    """Run stages in order in this process (on its session); returns each stage's result by reference."""
    settings = settings or get_settings()
    results = {}
    for ref in refs:
        started = time.perf_counter()
        results[ref] = {**resolve_stage(ref)(settings), "seconds": round(time.perf_counter() - started, 2)}
    return results


def stage_tables(results: dict[str, dict]) -> list[str]:
    """Every table the stages wrote, in order, without repeats."""
    return list(dict.fromkeys(t for result in results.values() for t in result.get("tables", [])))


# --- the foundation's stages -------------------------------------------------------------------


def smoke_stage(settings: Settings) -> dict:
    """The smoke pipeline: Spark writes smoke.numbers, DuckDB reads the batch back and checks it."""
    from citybrain.pipelines.smoke import SMOKE_TABLE, check_smoke, write_smoke

    write_smoke(SMOKE_ROWS, SMOKE_BATCH, settings)
    checked = check_smoke(SMOKE_BATCH, SMOKE_ROWS, settings)
    return {"tables": [SMOKE_TABLE], "rows": checked["rows"]}


def build_readings(spark, day: str, stations: int, *, revision: int = 0):
    """Hourly PM2.5 readings of `stations` stations in 11 districts for one day (pure, deterministic).

    A revision > 0 is the day's corrected re-delivery: every third station's values change and a few
    late stations appear, as a department's re-sent extract would.
    """
    from pyspark.sql import functions as F

    hours = 24
    total = stations + (3 * revision)
    df = spark.range(total * hours).select(
        (F.col("id") / hours).cast("int").alias("station_no"),
        (F.col("id") % hours).cast("int").alias("hour"),
    )
    corrected = (F.col("station_no") % 3 == 0) | (F.col("station_no") >= stations)
    base = (F.col("station_no") * 7 + F.col("hour") * 3) % 150 + 5
    return df.select(
        F.format_string("AQ%04d", F.col("station_no")).alias("station_id"),
        F.concat(F.lit("3706"), F.lpad((F.col("station_no") % 11).cast("string"), 2, "0")).alias("district_code"),
        F.lit(day).cast("date").alias("reading_date"),
        "hour",
        F.when(F.lit(revision > 0) & corrected, base + 10 * revision).otherwise(base).cast("int").alias("pm25"),
        F.lit(revision).alias("revision"),
    )


# 24-hour PM2.5 breakpoints of China's air quality index (HJ 633-2012), µg/m³, upper bounds inclusive.
PM25_BANDS = [(35, "excellent"), (75, "good"), (115, "light"), (150, "moderate"), (250, "heavy")]


def pm25_band(values):
    """AQI band of 24-hour mean PM2.5 values (a pandas Series in, labels out)."""
    import pandas as pd

    edges = [float("-inf")] + [upper for upper, _ in PM25_BANDS] + [float("inf")]
    labels = [label for _, label in PM25_BANDS] + ["severe"]
    return pd.cut(values, bins=edges, labels=labels, right=True).astype(str)


def daily_district_means(readings):
    """Daily PM2.5 mean, maximum and AQI band per district (the shape of a gold indicator; pure).

    The band is a pandas UDF on purpose: it runs in Python on the executors (or the Connect server), so
    the equivalence tests also prove those have the driver's Python and packages.
    """
    from pyspark.sql import functions as F

    band = F.pandas_udf(pm25_band, "string")
    daily = readings.groupBy("district_code", "reading_date").agg(
        F.round(F.avg("pm25"), 3).alias("pm25_mean"),
        F.max("pm25").alias("pm25_max"),
        F.count("*").alias("readings"),
    )
    return daily.withColumn("aqi_band", band("pm25_mean"))


def upsert_stage(settings: Settings) -> dict:
    """A representative transform: partitioned Delta write, a MERGE upsert of corrections, read back, aggregate."""
    from citybrain.lake import spark_io
    from citybrain.spark import get_spark

    spark = get_spark(settings)
    days = ["2026-11-01", "2026-11-02"]
    first = build_readings(spark, days[0], 20).unionByName(build_readings(spark, days[1], 20))
    spark_io.overwrite_partitions(first, READINGS_TABLE, ["reading_date"], settings=settings)
    corrections = build_readings(spark, days[1], 20, revision=1)
    spark_io.merge(corrections, READINGS_TABLE, ["station_id", "reading_date", "hour"], settings=settings)
    readings = spark_io.read_table(spark, READINGS_TABLE, settings=settings)
    spark_io.overwrite(daily_district_means(readings), DAILY_TABLE, settings=settings)
    return {
        "tables": [READINGS_TABLE, DAILY_TABLE],
        "rows": readings.count(),
        "version": spark_io.table_version(spark, READINGS_TABLE, settings),
    }


# --- equivalence: content hashes and subprocess runs ---------------------------------------------


def table_fingerprint(name: str, settings: Settings | None = None) -> str:
    """sha256 of a table's rows read back with deltalake/Arrow (no Spark), columns and rows sorted."""
    from citybrain.lake.arrow_io import read_arrow

    table = read_arrow(name, settings=settings)
    columns = sorted(table.column_names)
    rows = sorted(json.dumps([row[c] for c in columns], default=str) for row in table.select(columns).to_pylist())
    digest = hashlib.sha256(json.dumps(columns).encode())
    for row in rows:
        digest.update(row.encode() + b"\n")
    return f"{digest.hexdigest()} ({table.num_rows} rows)"


_REFERENCE: dict[tuple, dict[str, str]] = {}


def reference_fingerprints(refs: Sequence[str], settings: Settings, *, seed: Path | None = None) -> dict[str, str]:
    """Fingerprints of the stages' tables from a run in this process (the local reference), computed once.

    The lake of the reference run is <var_dir>/reference-lakes/<stages>, a copy of the `seed` lake when
    given (lake_stages.seed_lake); later calls with the same stages, seed and var_dir reuse the result,
    so several equivalence checks share one local run.
    """
    key = (tuple(refs), str(settings.var_dir), str(seed))
    if key not in _REFERENCE:
        lake = Path(settings.var_dir, "reference-lakes", hashlib.sha1("|".join(refs).encode()).hexdigest()[:12])
        shutil.rmtree(lake, ignore_errors=True)
        if seed is not None:
            from citybrain.spark.lake_stages import seed_lake

            seed_lake(seed, lake)
        local = settings.model_copy(update={"lake_uri": str(lake)})
        results = run_stages(refs, local)
        _REFERENCE[key] = {table: table_fingerprint(table, local) for table in stage_tables(results)}
    return dict(_REFERENCE[key])


def run_stages_subprocess(
    refs: Sequence[str],
    *,
    master: str,
    lake_uri: str,
    result_path: Path,
    env: dict[str, str] | None = None,
    timeout: float = 300.0,
) -> dict:
    """Run stages as a separate driver process (jobs/stages_job.py) on `master`; returns the job's results.

    A process of its own keeps this process's session untouched and makes the job a real client of the
    cluster or Connect server; on timeout its whole process group (the driver JVM too) is killed.
    """
    child_env = {**os.environ, **(env or {}), "CITYBRAIN_SPARK_MASTER": master, "CITYBRAIN_LAKE_URI": lake_uri}
    argv = [sys.executable, str(JOB), "--result", str(result_path)]
    for ref in refs:
        argv += ["--stage", ref]
    proc = subprocess.Popen(argv, env=child_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    try:
        output, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        output, _ = proc.communicate(timeout=30)
        raise StageRunFailed(f"stages {list(refs)} on {master} did not finish within {timeout:.0f}s "
                             f"(killed):\n{output[-3000:]}") from None
    log_path = result_path.with_suffix(".log")
    log_path.write_text(output)
    if proc.returncode != 0 or not result_path.exists():
        raise StageRunFailed(f"stages {list(refs)} on {master} failed (exit {proc.returncode}; whole output in "
                             f"{log_path}):\n{_without_jvm_frames(output)[-4000:]}")
    return json.loads(result_path.read_text())


def _without_jvm_frames(output: str) -> str:
    """A job's output without Java stack frames, so the Python traceback and the error message show."""
    return "\n".join(line for line in output.splitlines() if not line.lstrip().startswith(("at ", "... ")))


def describe_session(spark) -> dict:
    """Where a job ran: Connect or classic, and the master the session uses."""
    from citybrain.spark.session import is_connect_session

    if is_connect_session(spark):
        return {"connect": True, "master": get_settings().spark_master}
    return {"connect": False, "master": spark.sparkContext.master}


def main(argv: Sequence[str] | None = None) -> int:
    """Job entry point: run the given stages on the configured master and write their results as JSON."""
    from citybrain.spark import get_spark, stop_spark

    parser = argparse.ArgumentParser(description="Run portable pipeline stages on CITYBRAIN_SPARK_MASTER.")
    parser.add_argument("--stage", action="append", required=True,
                        help=f"a stage ({', '.join(PORTABLE_STAGES)}) or package.module:function; repeatable")
    parser.add_argument("--result", type=Path, help="write the results as JSON here (default: stdout)")
    args = parser.parse_args(argv)
    settings = get_settings()
    try:
        results = run_stages(args.stage, settings)
        payload = {"session": describe_session(get_spark(settings)), "lake_uri": settings.lake_uri,
                   "stages": results, "tables": stage_tables(results)}
    finally:
        stop_spark()
    text = json.dumps(payload, indent=2, default=str)
    if args.result:
        args.result.write_text(text)
    else:
        print(text)
    return 0
