"""Ingestion DAGs built from the catalogue: one per provider department, one task group per resource.

Layout of `ingest_<dept>`: for every resource of the department a task group `<resource>` with
  pull  (pure Python, no JVM): land what is new at the source under landing/ with its sha256
  load  (Spark): landed extract -> bronze.<resource> + quarantine, audited; outlet Asset bronze.<resource>
Groups do not depend on each other, so one resource's failure never blocks its siblings; a file
that cannot be read is a data outcome, not a pipeline failure: it is moved to rejected/, recorded
and warned about, and the load task succeeds (retrying would not change the file, and a red run
every day a department sends a bad file would hide real failures). A load task with nothing new
is skipped (no JVM started, no Asset event).

Nothing here does I/O beyond the catalogue (already loaded by the caller): DAG parsing stays fast.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from citybrain.orchestration.policy import BASE_TAGS, DEFAULT_ARGS, SPARK_POOL, START_DATE

if TYPE_CHECKING:
    from airflow.sdk import DAG

    from citybrain.catalog import Catalog, Department, Resource

# Update cycle (更新周期) -> schedule; a department runs as often as its most frequent resource.
CYCLE_SCHEDULES = {
    "实时": "@hourly",  # real-time feeds arrive as drops through the day: look hourly
    "每日": "@daily",
    "每周": "@weekly",
    "每月": "@monthly",
    "每季度": "@quarterly",
    "每年": "@yearly",
    "其他": "@daily",  # irregular deliveries: look for new drops daily
}
_CYCLE_RANK = {cycle: rank for rank, cycle in enumerate(["实时", "每日", "其他", "每周", "每月", "每季度", "每年"])}
MAX_ACTIVE_TASKS = 2  # Spark load tasks are JVMs: two at a time on a small machine


def department_schedule(cycles: list[str]) -> str:
    """The schedule of a department DAG: that of the shortest update cycle among its resources."""
    unknown = [c for c in cycles if c not in CYCLE_SCHEDULES]
    if unknown or not cycles:
        raise ValueError(f"update cycle(s) {unknown or cycles!r} not among {', '.join(CYCLE_SCHEDULES)}")
    return CYCLE_SCHEDULES[min(cycles, key=_CYCLE_RANK.__getitem__)]


def _source_text(resource: Resource) -> str:
    src = resource.source
    if src.kind == "database":
        return f"database `{src.database}.{src.table or 'query'}` by `{resource.incremental_key or 'full pull'}`"
    if src.kind == "file":
        return f"file drop `{src.pattern}` ({src.format}, {src.encoding})"
    return "derived from the catalogue"


def department_doc_md(department: Department, resources: list[Resource], schedule: str) -> str:
    """The DAG's documentation: who provides what, how it is pulled, and how to operate it."""
    rows = "\n".join(
        f"| `{r.name}` | {r.code} | {r.title_zh} ({r.title_en}) | {_source_text(r)} | {r.update_cycle} | "
        f"{r.kind} | {', '.join(r.primary_key)} |"
        for r in resources
    )
    return f"""# Ingestion: {department.name_zh} ({department.name_en}, `{department.code}`)

Source system: {department.system}. Contact: {department.contact or 'n/a'}.
Schedule `{schedule}`: the shortest update cycle (更新周期) of its resources.

| resource | code | title | source | cycle | kind | primary key |
|---|---|---|---|---|---|---|
{rows}

Each resource is a task group: **pull** lands what is new under `landing/` with its sha256 (database
tables by watermark `incremental_key > watermark` up to the end of the logical date; file drops
`<stem>_YYYYMMDD` dated up to the logical date and never loaded), then **load** writes
`bronze.<resource>` (values as pulled + lineage) and `quarantine.rejected_rows`, records
`control.batches` (pulled = loaded + quarantined + dropped header rows, else the task fails): that audit
row is also the watermark's advance. One loader per resource runs at a time (a lease): a second run of the
same date waits and records what the first loaded as skipped. Unreadable files go to `rejected/` with a reason file and
`control.rejected_files`; the task still succeeds with a loud warning. Nothing new: load is skipped.

Operate: re-running a date adds no rows; param `reload=true` re-loads the date's batches from
landing (replacing them); param `batch_date` overrides the logical date. Backfill with
`airflow backfill create --dag-id ingest_{department.code.lower()} --from-date ... --to-date ...`
(one run at a time, oldest first; not `--run-backwards`: the newest date would pull the whole
watermark window). Results: `citybrain status`.
"""


def _pull(resource: str, params=None, logical_date=None, dag_run=None, run_id=None) -> list[dict]:
    """Land the resource's new extracts for the run's logical date (pure Python)."""
    from citybrain.ingest.batches import resolve_batch_date
    from citybrain.ingest.pull import pull_resource

    params = params or {}
    day = resolve_batch_date(logical_date, getattr(dag_run, "run_after", None), params.get("batch_date"))
    batches = pull_resource(resource, day, run_id=run_id, reload=bool(params.get("reload")))
    _log_batches("pull", batches)
    return batches


def _log_batches(step: str, batches: list[dict]) -> None:
    """One INFO line per batch in the task log: what the step did with it, in figures."""
    from citybrain.ingest.report import batch_story

    log = logging.getLogger("citybrain.ingest")
    log.setLevel(logging.INFO)  # the story is INFO even where Airflow's own level is WARNING
    if not batches:
        log.info("%s: no batch (nothing delivered for this date)", step)
    for batch in batches:
        log.info("%s: %s", step, batch_story(batch))


def _load(batches: list[dict], outlet_events=None) -> list[dict]:
    """Load the landed batches into bronze; skipped (no JVM started, no Asset event) when nothing was new."""
    from airflow.sdk.exceptions import AirflowSkipException

    from citybrain.ingest.load import load_resource
    from citybrain.orchestration.assets import lake_asset

    results = load_resource(batches)
    _log_batches("load", results)
    if not any(r["status"] in ("loaded", "rejected") for r in results):
        raise AirflowSkipException("nothing to load: " + "; ".join(f"{r['status']}: {r['reason']}" for r in results))
    loaded = [r for r in results if r["status"] == "loaded"]
    if outlet_events is not None:
        outlet_events[lake_asset(f"bronze.{results[0]['resource']}")].extra = {
            "batches": [r["batch_id"] for r in loaded],
            "rows_loaded": sum(r["rows_loaded"] for r in loaded),
            "rows_quarantined": sum(r["rows_quarantined"] for r in loaded),
            "rejected": [r["source"] for r in results if r["status"] == "rejected"],
        }
    return results


def build_department_dag(department: Department, resources: list[Resource]) -> DAG:
    """The ingestion DAG of one department."""
    from airflow.sdk import DAG, Param, TaskGroup, task

    from citybrain.orchestration.assets import lake_asset

    schedule = department_schedule([r.update_cycle for r in resources])
    with DAG(
        dag_id=f"ingest_{department.code.lower()}",
        description=f"{department.name_zh}: {len(resources)} resource(s) -> bronze",
        schedule=schedule,
        start_date=START_DATE,
        catchup=False,
        max_active_runs=1,  # watermarks advance in date order; backfills run one date at a time
        max_active_tasks=MAX_ACTIVE_TASKS,
        default_args=DEFAULT_ARGS,
        tags=[*BASE_TAGS, "ingest", department.code],
        doc_md=department_doc_md(department, resources, schedule),
        params={
            "batch_date": Param(None, type=["null", "string"], pattern=r"^\d{4}-\d{2}-\d{2}$",
                                description="ingest this day instead of the logical date (YYYY-MM-DD)"),
            "reload": Param(False, type="boolean",
                            description="re-load the day's loaded batches from landing/ (they replace themselves)"),
        },
    ) as dag:
        pull = task(_pull, task_id="pull")
        load = task(_load, task_id="load")
        for resource in resources:
            with TaskGroup(group_id=resource.name, tooltip=f"{resource.title_zh} {resource.code}"):
                pulled = pull.override(doc_md=f"Land new extracts of `{resource.name}` ({_source_text(resource)}).")(
                    resource.name)
                load.override(outlets=[lake_asset(f"bronze.{resource.name}")], pool=SPARK_POOL,
                              doc_md=f"Load landed extracts into `bronze.{resource.name}`.")(pulled)
    return dag


def build_department_dags(catalog: Catalog) -> dict[str, DAG]:
    """dag_id -> DAG for every department that provides at least one resource."""
    dags = {}
    for code, department in catalog.departments.items():
        resources = catalog.resources_by_department(code)
        if resources:
            dag = build_department_dag(department, resources)
            dags[dag.dag_id] = dag
    return dags
