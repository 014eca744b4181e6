"""Run the department ingestion DAGs headlessly (dag.test) for one logical date: the demo and bench use it."""

from __future__ import annotations

import logging
import time
from datetime import UTC, date, datetime

from citybrain.ingest import audit
from citybrain.ingest.batches import utcnow

log = logging.getLogger(__name__)


def as_logical_date(value: date | datetime | str) -> datetime:
    """Midnight UTC of a date (or the datetime itself, made UTC-aware)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value) if "T" in value or " " in value else date.fromisoformat(value)
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime(value.year, value.month, value.day, tzinfo=UTC)


def run_ingestion(logical_date: date | datetime | str, departments: list[str] | None = None, *,
                  strict: bool = False, progress=None) -> list[dict]:
    """Run `ingest_<dept>` for each department (all by default); one summary dict per resource.

    ``progress(department, index, total, summaries, seconds)`` is called after each department's run
    (the demo prints a line per department).

    A department whose DAG run fails does not stop the others; its resources without a recorded
    outcome are reported with status `failed` and the error. With strict=True an IngestionFailed
    carrying the results is raised at the end when any department failed.
    """
    from citybrain.catalog import get_catalog
    from citybrain.orchestration.runner import DagRunFailed, run_dag

    catalog = get_catalog()
    when = as_logical_date(logical_date)
    codes = departments or [c for c in catalog.departments if catalog.resources_by_department(c)]
    results, failures = [], []
    for index, code in enumerate(codes, 1):
        resources = catalog.resources_by_department(code)
        started = utcnow()
        clock = time.perf_counter()
        error = None
        try:
            run_dag(f"ingest_{code.lower()}", logical_date=when)
        except DagRunFailed as exc:
            error = str(exc)
            failures.append(error)
            log.error("ingestion of %s failed: %s", code, error)
        rows = [r for r in audit.read_rows(audit.BATCHES_TABLE)
                if r["department"] == code and r["started_at"] and r["started_at"].replace(tzinfo=None) >= started]
        for resource in resources:
            mine = sorted((r for r in rows if r["resource"] == resource.name), key=lambda r: r["finished_at"])
            summary = audit.summarise_resource(resource.name, code, mine)
            if error and not mine:
                summary.update(status="failed", reason=error)
            results.append(summary)
        if progress is not None:
            progress(code, index, len(codes), results[-len(resources):], time.perf_counter() - clock)
    if strict and failures:
        raise IngestionFailed(f"{len(failures)} department DAG run(s) failed: " + " | ".join(failures), results)
    return results


class IngestionFailed(RuntimeError):
    """At least one department DAG run failed; `results` still holds every resource's outcome."""

    def __init__(self, message: str, results: list[dict]):
        super().__init__(message)
        self.results = results
