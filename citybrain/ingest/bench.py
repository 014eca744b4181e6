"""Bench stage `ingest`: every resource at the bench scale for one day through the department DAGs.

Runs in a folder of its own under the bench dir (generated sources + lake), so the demo lake is
untouched. Figures: the whole run (18 dag.test runs, one process, one shared SparkSession), rows,
per-resource task durations (pull, load) from Airflow, a no-op re-run (the fixed cost of a
resource when nothing is new), and what the scheduler adds per task because every task is a new
process: a pure-Python task's start, and a Spark task's JVM start.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from citybrain.bench.harness import stage


@contextmanager
def _lake_and_sources(lake: Path, sources: Path):
    """Point the process settings (which DAG tasks read) at the bench's own lake and sources."""
    from citybrain.settings import reset_settings

    saved = {k: os.environ.get(k) for k in ("CITYBRAIN_LAKE_URI", "CITYBRAIN_SOURCES_DIR")}
    os.environ.update(CITYBRAIN_LAKE_URI=str(lake), CITYBRAIN_SOURCES_DIR=str(sources))
    reset_settings()
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        reset_settings()


def _process_seconds(code: str) -> float:
    """Wall time of a fresh Python process running `code` (what a scheduled task pays before its work)."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    return round(time.perf_counter() - started, 2)


def task_durations(run_ids: set[str]) -> dict[tuple[str, str], float]:
    """(resource, pull|load) -> seconds of the task instances of the given Airflow runs."""
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session

    out = {}
    with create_session() as session:
        for ti in session.query(TaskInstance).filter(TaskInstance.run_id.in_(run_ids)):
            if ti.start_date and ti.end_date and "." in ti.task_id:
                resource, step = ti.task_id.split(".", 1)
                out[(resource, step)] = round((ti.end_date - ti.start_date).total_seconds(), 2)
    return out


def _write_details(rows: list[dict], scale: float, out_dir: Path) -> Path:
    path = out_dir / f"ingest-scale{scale:g}-resources.md"
    lines = [f"# Ingest per resource at scale {scale:g}", "",
             "| resource | dept | status | rows loaded | quarantined | rejected files | pull s | load s | no-op s |",
             "|---|---|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['resource']} | {r['department']} | {r['status']} | {r['rows_loaded']} | "
                     f"{r['rows_quarantined']} | {r['files_rejected']} | {r['pull_s']} | {r['load_s']} | "
                     f"{r['noop_s']} |")
    path.write_text("\n".join(lines) + "\n")
    path.with_suffix(".json").write_text(json.dumps(rows, indent=2, default=str))
    return path


@stage("ingest")
def ingest(scale: float, ctx: dict) -> dict:
    from citybrain.ingest.run import run_ingestion
    from citybrain.orchestration.airflow_env import migrate_db
    from citybrain.sources.generate import generate_sources

    settings = ctx["settings"]
    work = Path(settings.bench_dir) / f"ingest-scale{scale:g}"
    shutil.rmtree(work, ignore_errors=True)
    with _lake_and_sources(work / "lake", work / "sources"):
        from citybrain.settings import get_settings

        started = time.perf_counter()
        report = generate_sources(get_settings(), scale=scale, days=1)
        generate_s = round(time.perf_counter() - started, 1)
        migrate_db()
        started = time.perf_counter()
        results = run_ingestion(report.start_date)
        total_s = round(time.perf_counter() - started, 1)
        # read now: dag.test of the same logical date clears the earlier run's task instances
        durations = task_durations({r["run_id"] for r in results if r["run_id"]})
        started = time.perf_counter()
        noop = run_ingestion(report.start_date)
        noop_s = round(time.perf_counter() - started, 1)
        noop_durations = task_durations({r["run_id"] for r in noop if r["run_id"]})
    rows = []
    for r in results:
        d = {step: durations.get((r["resource"], step)) for step in ("pull", "load")}
        noop_total = sum(noop_durations.get((r["resource"], step)) or 0 for step in ("pull", "load"))
        rows.append({**r, "pull_s": d["pull"], "load_s": d["load"], "noop_s": round(noop_total, 2)})
    details = _write_details(rows, scale, Path(settings.bench_dir))
    loads = sorted((r for r in rows if r["load_s"] is not None), key=lambda r: r["load_s"])
    n = len(rows)
    return {
        "resources": n,
        "total_s": total_s,
        "generate_s": generate_s,
        "rows_loaded": sum(r["rows_loaded"] for r in rows),
        "rows_quarantined": sum(r["rows_quarantined"] for r in rows),
        "files_rejected": sum(r["files_rejected"] for r in rows),
        "per_resource_s": round(total_s / n, 2),
        "median_load_s": loads[len(loads) // 2]["load_s"] if loads else None,
        "slowest_load": f"{loads[-1]['resource']}:{loads[-1]['load_s']}s" if loads else None,
        "noop_rerun_s": noop_s,
        "noop_per_resource_s": round(noop_s / n, 2),
        "task_process_python_s": _process_seconds("import airflow.sdk, citybrain.ingest.pull"),
        "task_process_spark_s": _process_seconds(
            "from citybrain.spark import get_spark; get_spark().range(1).count()"),
        "details": str(details),
    }
