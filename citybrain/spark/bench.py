"""Bench stage `connect_overhead`: what one small Airflow-style task costs through Spark Connect vs its own JVM.

Each task is a fresh Python process (as an Airflow task is) that opens a session, writes a tiny Delta
slice idempotently and reads it back. Through Connect the session is a gRPC client of a running server;
locally every task starts its own driver JVM. Run alone: `python -m citybrain.spark.bench TASK_NO`.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from citybrain.bench.harness import stage
from citybrain.settings import Settings, get_settings

PROBE_TABLE = "smoke.connect_probe"
TASKS_PER_SCALE = 5


def probe_task(task_no: int, settings: Settings | None = None) -> dict:
    """One small task: write 100 rows as slice `task = task_no` (replace, never duplicate), read them back."""
    from pyspark.sql import functions as F

    from citybrain.lake import spark_io
    from citybrain.spark import get_spark, stop_spark

    settings = settings or get_settings()
    started = time.perf_counter()
    spark = get_spark(settings)
    session_s = time.perf_counter() - started
    df = spark.range(100).withColumn("task", F.lit(task_no)).withColumn("value", F.col("id") * task_no)
    if spark_io.table_exists(spark, PROBE_TABLE, settings):
        spark_io.replace_where(df, PROBE_TABLE, f"task = {task_no}", settings=settings)
    else:
        spark_io.append(df, PROBE_TABLE, settings=settings)
    rows = spark_io.read_table(spark, PROBE_TABLE, settings=settings).where(F.col("task") == task_no).count()
    work_s = time.perf_counter() - started - session_s
    stop_spark()
    if rows != 100:
        raise RuntimeError(f"{PROBE_TABLE} task {task_no}: read back {rows} rows, wrote 100")
    return {"session_s": round(session_s, 3), "work_s": round(work_s, 3)}


def _run_task(task_no: int, master: str, lake_uri: str, timeout: float = 300.0) -> dict:
    """One task as its own process; wall time includes interpreter start and imports, as in Airflow."""
    env = {**os.environ, "CITYBRAIN_SPARK_MASTER": master, "CITYBRAIN_LAKE_URI": lake_uri}
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "citybrain.spark.bench", str(task_no)], env=env,
                          capture_output=True, text=True, timeout=timeout)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"bench task {task_no} on {master} failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    return {"wall_s": wall, **json.loads(proc.stdout.strip().splitlines()[-1])}


def _summary(prefix: str, runs: list[dict]) -> dict:
    return {
        f"{prefix}_task_s": round(statistics.mean(r["wall_s"] for r in runs), 2),
        f"{prefix}_task_median_s": round(statistics.median(r["wall_s"] for r in runs), 2),
        f"{prefix}_session_s": round(statistics.mean(r["session_s"] for r in runs), 2),
        f"{prefix}_work_s": round(statistics.mean(r["work_s"] for r in runs), 2),
    }


@stage("connect_overhead")
def connect_overhead(scale: float, ctx: dict) -> dict:
    """Per-task seconds through a running Connect server vs a new local session (new JVM) per task."""
    from citybrain.spark.connect_server import connect_url, start_connect_server

    settings: Settings = ctx["settings"]
    tasks = max(3, round(TASKS_PER_SCALE * scale))
    settings.bench_dir.mkdir(parents=True, exist_ok=True)
    base = Path(tempfile.mkdtemp(prefix="connect-overhead-", dir=settings.bench_dir))
    started = time.perf_counter()
    server = start_connect_server(settings, master="local[2]", log_dir=base)
    server_start_s = time.perf_counter() - started
    try:
        connect = [_run_task(i, connect_url(server), str(base / "lake-connect")) for i in range(tasks)]
    finally:
        server.stop()
    local = [_run_task(i, "local[*]", str(base / "lake-local")) for i in range(tasks)]
    figures = {"tasks": tasks, "server_start_s": round(server_start_s, 2),
               **_summary("connect", connect), **_summary("local", local)}
    figures["local_over_connect"] = round(figures["local_task_s"] / figures["connect_task_s"], 2)
    return figures


if __name__ == "__main__":
    print(json.dumps(probe_task(int(sys.argv[1]))))
