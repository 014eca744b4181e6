"""`citybrain demo`: the whole pipeline end to end on embedded defaults."""

from __future__ import annotations

import time
from datetime import date, timedelta

import typer

from citybrain.cli.output import console
from citybrain.cli.params import fault_rate, iso_date, positive, scale_factor


def demo(
    scale: float = typer.Option(0.01, parser=scale_factor, help="city size: 1 = 1,000,000 residents; the demo default is 10,000"),
    days: int = typer.Option(2, parser=positive,
                             help="simulated days: day 0 is the initial load, later days are increments"),
    seed: int = typer.Option(42, help="random seed of the simulated city"),
    faults: str = typer.Option("0.02", parser=fault_rate, help="fault rate injected into the sources, or 'none'"),
    start_date: date = typer.Option("2026-11-01", parser=iso_date, metavar="YYYY-MM-DD",
                                    help="calendar date of day 0"),
    smoke_rows: int = typer.Option(10_000, help="rows in the smoke batch"),
) -> None:
    """Generate the city's sources, then run every stage as headless Airflow DAG runs, day by day."""
    import os

    from citybrain.orchestration.airflow_env import migrate_db
    from citybrain.orchestration.runner import run_dag
    from citybrain.settings import get_settings, reset_settings

    os.environ["CITYBRAIN_DEMO"] = "1"  # a demo run: its releases are marked demo (and may use the built-in key)
    reset_settings()
    started = time.perf_counter()
    migrate_db()

    console.rule("[bold]1. smoke: Airflow → Spark → Delta → DuckDB")
    run = run_dag("citybrain_smoke", conf={"rows": smoke_rows})
    console.print(f"[green]✔[/] citybrain_smoke {run.run_id}: {smoke_rows} rows written by Spark, read by DuckDB")

    console.rule(f"[bold]2. department sources: scale {scale:g}, {days} day(s), faults {faults}")
    from citybrain.sources.generate import generate_sources

    report = generate_sources(scale=scale, seed=seed, days=days, faults=faults, start_date=start_date)
    console.print(
        f"[green]✔[/] {sum(report.rows.values()):,} source rows for {len(report.rows)} resources, "
        f"{report.faults_total} faults injected ({report.seconds:.0f}s) under {report.sources_dir}; "
        f"ground truth in {report.manifest_dir}"
    )

    from citybrain.ingest import run_ingestion
    from citybrain.ingest.report import print_ingestion_report

    first = start_date
    for day in range(days):
        logical = first + timedelta(days=day)
        console.rule(f"[bold]3. ingestion {logical}: every department DAG → bronze")
        print_ingestion_report(run_ingestion(logical, progress=_ingest_progress), title=f"Ingestion {logical}: rows per resource",
                               console=console)
        console.rule(f"[bold]4. conform {logical}: citybrain_conform DAG: bronze → silver, golden records, 多源校核")
        conform_run = run_dag("citybrain_conform")
        _print_conform(_xcom(conform_run, "conform_pending"))

    console.rule("[bold]5. gold: thematic databases, indicators, operations panorama")
    gold_run = run_dag("citybrain_gold")
    summary = _xcom(gold_run, "render_panorama")
    console.print(f"[green]✔[/] citybrain_gold {gold_run.run_id}; operations panorama: "
                  f"{summary.get('dashboard') or get_settings().site_dir / 'dashboard' / 'index.html'}")

    console.rule("[bold]6. quality: Great Expectations gates, GB/T 36344 scorecard and league table")
    quality_run = run_dag("citybrain_quality")
    card = _xcom(quality_run, "scorecard")
    gates = card.get("gates", {})
    console.print(f"[green]✔[/] citybrain_quality {quality_run.run_id}: {gates.get('passed', '?')} of "
                  f"{gates.get('checked', '?')} tables passed their critical expectations; league page "
                  f"{card.get('page') or get_settings().site_dir / 'dashboard' / 'quality.html'}; Data Docs "
                  f"{get_settings().site_dir / 'quality'}")
    for table, why in sorted(gates.get("blocked", {}).items()):
        first = (why.splitlines()[1:] or [why])[0].strip()
        console.print(f"[yellow]blocked[/] {table}: {first}")

    console.rule("[bold]7. open data: gated, de-identified release with DCAT and Frictionless metadata")
    publish_run = run_dag("citybrain_publish")
    release = _xcom(publish_run, "publish")
    console.print(f"[green]✔[/] citybrain_publish {publish_run.run_id}: {len(release.get('datasets', []))} "
                  f"dataset(s) published, {len(release.get('blocked', {}))} blocked, "
                  f"{len(release.get('withheld', []))} withheld (不予开放); release "
                  f"{release.get('release_dir') or get_settings().open_dir}")
    for dataset, why in sorted((release.get("blocked") or {}).items()):
        console.print(f"[yellow]not published[/] {dataset}: {str(why).splitlines()[0]}")

    console.print(f"demo finished in {time.perf_counter() - started:.0f}s; next: `citybrain sql \"SELECT * FROM "
                  "gold.indicator_wide LIMIT 5\"`, `citybrain quality report`, `citybrain corrections DEPT`, "
                  "`citybrain status`, `make airflow`")


def _ingest_progress(department: str, index: int, total: int, summaries: list[dict], seconds: float) -> None:
    rows = sum(int(s.get("rows_loaded") or 0) for s in summaries)
    states = ", ".join(sorted({str(s.get("status")) for s in summaries}))
    console.print(f"  [{index}/{total}] ingest_{department.lower()}: {len(summaries)} resource(s), {rows:,} rows "
                  f"loaded ({states}) in {seconds:.0f}s")


def _xcom(run, task_id: str) -> dict:
    """The return value of one task of a finished headless DAG run ({} when it returned nothing)."""
    return next((ti.xcom_pull(task_ids=task_id) for ti in run.get_task_instances() if ti.task_id == task_id),
                None) or {}


def _print_conform(result: dict) -> None:
    """Rows per resource through conform: in, silver, quarantined, superseded duplicates."""
    from citybrain.cli.output import print_table

    rows = []
    for name, r in sorted(result.get("resources", {}).items()):
        if not isinstance(r, dict) or not any(isinstance(v, int) and v for v in r.values()):
            continue
        rows.append({"resource": name, **{k: v for k, v in r.items() if isinstance(v, int | float | str)}})
    if rows:
        print_table("Conform: rows per resource with new batches", rows)
    console.print(f"conformed in {result.get('seconds', 0):.0f}s; entities refreshed: "
                  f"{', '.join(result.get('entities', {})) or 'none'}")
