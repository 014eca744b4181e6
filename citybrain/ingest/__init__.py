"""Ingestion: department sources -> landing/ (raw extracts, checksummed) -> bronze (Delta, values as pulled).

Importing this package is cheap (DAG files import it at parse time); everything heavy is imported
inside the functions that need it.
"""

from __future__ import annotations

from datetime import date, datetime


def run_ingestion(
    logical_date: date | datetime | str, departments: list[str] | None = None, *, strict: bool = False,
    progress=None,
) -> list[dict]:
    """Run every department's ingestion DAG headlessly for one logical date; one result per resource."""
    from citybrain.ingest.run import run_ingestion as _run

    return _run(logical_date, departments, strict=strict, progress=progress)


__all__ = ["run_ingestion"]
