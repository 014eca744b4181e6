"""The ingestion audit: control.batches (row accounting per batch) and control.rejected_files.

Both are append-only logs written and read without Spark (control_io). Accounting must hold for every batch:
rows_pulled = rows_loaded + rows_quarantined + header_rows_dropped, else the load fails. A file's title rows
and repeated header rows hold no record: they are dropped, counted in header_rows_dropped and listed (line and
text) in the batch reason.
"""

from __future__ import annotations

import json
from collections import defaultdict

from citybrain.ingest.batches import LOADED, REJECTED, Batch, utcnow
from citybrain.ingest.control_io import append_rows, read_rows
from citybrain.settings import Settings

BATCHES_TABLE = "control.batches"
REJECTED_FILES_TABLE = "control.rejected_files"
BATCH_COLUMNS = (
    ("resource", "string"), ("department", "string"), ("batch_id", "string"), ("logical_date", "date"),
    ("source", "string"), ("file_name", "string"), ("file_checksum", "string"), ("rows_pulled", "long"),
    ("rows_loaded", "long"), ("rows_quarantined", "long"), ("status", "string"), ("reason", "string"),
    ("drift", "string"), ("started_at", "timestamp"), ("finished_at", "timestamp"), ("run_id", "string"),
    ("watermark_from", "string"), ("watermark_to", "string"), ("header_rows_dropped", "long"),
)
REJECTED_FILE_COLUMNS = (
    ("resource", "string"), ("batch_id", "string"), ("file", "string"), ("moved_to", "string"),
    ("kind", "string"), ("reason", "string"), ("rejected_at", "timestamp"),
)


class AccountingError(RuntimeError):
    """A batch's rows do not add up: pulled != loaded + quarantined + dropped header rows."""


def reconcile(batch: Batch) -> None:
    """Raise unless every pulled row is in bronze, in quarantine or a dropped title/header row."""
    pulled = batch.rows_pulled or 0
    accounted = batch.rows_loaded + batch.rows_quarantined + batch.header_rows_dropped
    if pulled != accounted:
        raise AccountingError(
            f"bronze.{batch.resource} batch {batch.batch_id}: {pulled} rows pulled but {batch.rows_loaded} in "
            f"bronze + {batch.rows_quarantined} in quarantine.rejected_rows + {batch.header_rows_dropped} "
            f"title/header rows dropped = {accounted}; rows were lost or duplicated. The watermark was not "
            f"advanced; inspect the landed extract {batch.landing_path} and re-run the load task")


def batch_row(batch: Batch) -> tuple:
    """The control.batches row of a finished batch."""
    return (
        batch.resource, batch.department, batch.batch_id, batch.batch_date, batch.source, batch.file_name,
        batch.checksum, batch.rows_pulled or 0, batch.rows_loaded, batch.rows_quarantined, batch.status,
        batch.reason, json.dumps(batch.drift, ensure_ascii=False) if batch.drift else None, batch.started_at,
        batch.finished_at, batch.run_id, batch.watermark_from, batch.watermark_to, batch.header_rows_dropped,
    )


def record_batches(batches: list[Batch], settings: Settings | None = None) -> None:
    """Append the outcome of finished batches to control.batches."""
    append_rows(BATCHES_TABLE, BATCH_COLUMNS, [batch_row(b) for b in batches], settings)


def record_rejected_file(batch: Batch, moved_to: str, kind: str, settings: Settings | None = None) -> None:
    """Append a rejected file to control.rejected_files."""
    row = (batch.resource, batch.batch_id, batch.source, moved_to, kind, batch.reason, utcnow())
    append_rows(REJECTED_FILES_TABLE, REJECTED_FILE_COLUMNS, [row], settings)


def handled_sources(resource: str, settings: Settings | None = None) -> dict[str, set[str]]:
    """source -> sha256 of every delivery of it that was loaded or rejected (not to be pulled again)."""
    out: dict[str, set[str]] = defaultdict(set)
    for row in read_rows(BATCHES_TABLE, resource, settings):
        if row["status"] in (LOADED, REJECTED) and row["file_checksum"]:
            out[row["source"]].add(row["file_checksum"])
    return dict(out)


def summarise_resource(resource: str, department: str, rows: list[dict]) -> dict:
    """One line per resource from its control.batches rows of one run: counts, status, rejects, drift."""
    loaded = [r for r in rows if r["status"] == LOADED]
    rejected = [r for r in rows if r["status"] == REJECTED]
    if loaded:
        status = LOADED
    elif rejected:
        status = REJECTED
    else:
        status = rows[-1]["status"] if rows else "not run"
    drift = [json.loads(r["drift"])["summary"] for r in rows if r.get("drift")]
    started = [r["started_at"] for r in rows if r.get("started_at")]
    finished = [r["finished_at"] for r in rows if r.get("finished_at")]
    return {
        "resource": resource,
        "department": department,
        "status": status,
        "batches": len(rows),
        "logical_date": max((r["logical_date"] for r in rows), default=None),
        "rows_pulled": sum(r["rows_pulled"] or 0 for r in rows),
        "rows_loaded": sum(r["rows_loaded"] or 0 for r in rows),
        "rows_quarantined": sum(r["rows_quarantined"] or 0 for r in rows),
        "header_rows_dropped": sum(r.get("header_rows_dropped") or 0 for r in rows),
        "files_rejected": len(rejected),
        "drift": "; ".join(drift) or None,
        "reason": "; ".join(r["reason"] for r in rows if r.get("reason") and r["status"] != LOADED) or None,
        "started_at": min(started, default=None),
        "finished_at": max(finished, default=None),
        "run_id": rows[-1]["run_id"] if rows else None,
    }
