"""The load task of a resource: landed extracts -> bronze.<resource> and quarantine, audited and reconciled.

Per pending batch: verify the landing checksum, parse (readers), detect drift, split rows by the
ingest rules, replace the batch's slice of quarantine and bronze, read the counts back, reconcile,
record control.batches, then advance the watermark. An unreadable file is moved to rejected/ and
recorded; it does not fail the task (see dag_factory for why).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from citybrain.ingest import audit, bronze, quarantine
from citybrain.ingest.batches import FAILED, LOADED, PENDING, REJECTED, Batch, utcnow
from citybrain.ingest.drift import Drift, detect_drift, safe_column_name
from citybrain.ingest.landing import move_to_rejected, verify_checksum
from citybrain.ingest.readers import PARSE_COLUMNS, Extract, UnreadableFile, read_extract
from citybrain.settings import Settings, get_settings

if TYPE_CHECKING:
    import pyarrow as pa
    from pyspark.sql import DataFrame

    from citybrain.catalog import Department, Resource

log = logging.getLogger(__name__)
ROWS_PER_FILE = 1_000_000


def load_resource(batches: list[dict], settings: Settings | None = None) -> list[dict]:
    """Load the pulled batches of one resource; returns every batch with its outcome (for XCom and reports)."""
    from citybrain.catalog import get_catalog

    settings = settings or get_settings()
    catalog = get_catalog()
    results = []
    for data in batches:
        batch = Batch.from_dict(data)
        resource = catalog.resource(batch.resource)
        if batch.status == PENDING:
            try:
                load_batch(batch, resource, catalog.departments[resource.provider], settings)
            except UnreadableFile as exc:
                reject_batch(batch, exc, settings)
        else:  # skipped / empty: nothing to load, the outcome is still audited
            batch.finished_at = utcnow()
            audit.record_batches([batch], settings)
        results.append(batch.to_dict())
    return results


def required_items(resource: Resource) -> list[str]:
    """Items without which a delivery cannot be loaded: the primary key (and the watermark column)."""
    keys = list(resource.primary_key)
    if resource.source.kind == "database" and resource.incremental_key:
        keys.append(resource.incremental_key)
    return keys


def missing_required_reason(resource: Resource, drift: Drift) -> str | None:
    """Why a delivery lacking required items is unreadable (naming likely renames), or None."""
    absent = [i for i in required_items(resource) if i in drift.absent_items]
    if not absent:
        return None
    renames = {r.missing: r for r in drift.renamed}
    hints = [f"{renames[i].found!r} looks like a rename of {i} ({renames[i].evidence})" for i in absent
             if i in renames]
    return (f"required column(s) {', '.join(absent)} of bronze.{resource.name} (primary key"
            f"{' / watermark' if resource.incremental_key in absent else ''}) are missing"
            + (f"; {'; '.join(hints)}" if hints else "")
            + ": rows could not be identified; ask the department to deliver the catalogue's column names")


def align(extract: Extract, resource: Resource) -> tuple[pa.Table, list[str]]:
    """The extract as catalogue items (absent ones null) then extra source columns; returns (table, data columns)."""
    import pyarrow as pa

    items = resource.item_names
    n = extract.rows
    columns, arrays = [], []
    for item in items:
        columns.append(item)
        arrays.append(extract.table[item] if item in extract.columns else pa.nulls(n, pa.string()))
    taken = set(items) | set(bronze.LINEAGE_COLUMNS)
    for col in extract.columns:
        if col not in items:
            name = safe_column_name(col, taken)
            taken.add(name)
            columns.append(name)
            arrays.append(extract.table[col])
    data_columns = list(columns)
    for key in PARSE_COLUMNS:
        columns.append(key)
        arrays.append(extract.table[key])
    return pa.Table.from_arrays(arrays, names=columns), data_columns


def load_batch(batch: Batch, resource: Resource, department: Department, settings: Settings) -> None:
    """Parse, split, write and reconcile one landed batch (idempotent: its slices are replaced)."""
    from citybrain.spark import get_spark

    verify_checksum(batch)
    src = resource.source
    fmt = "parquet" if batch.file_name.endswith(".parquet") else src.format
    extract = read_extract(Path(batch.landing_path), fmt, encoding=getattr(src, "encoding", "utf-8"),
                           delimiter=getattr(src, "delimiter", None),
                           date_items=frozenset(i.name for i in resource.items if i.type == "D"))
    batch.rows_pulled = extract.rows
    drift = detect_drift(extract.columns, resource.item_names)
    batch.drift = drift.to_json_dict()
    reason = missing_required_reason(resource, drift)
    if reason:
        raise UnreadableFile("missing_required_columns", reason)
    if drift:
        log.warning("SCHEMA DRIFT in %s batch %s (%s): %s", bronze.bronze_table(resource.name), batch.batch_id,
                    batch.source, drift.summary())

    table, data_columns = align(extract, resource)
    # Small batches are the norm: one output file per million rows, not one per core.
    df = get_spark(settings).createDataFrame(table).coalesce(max(1, -(-extract.rows // ROWS_PER_FILE)))
    now = utcnow()
    good, bad = quarantine.transform(df, resource, batch.batch_id, data_columns, now)
    write_quarantine(bad, batch, settings)
    bronze.write_batch(bronze.transform(good, batch, department.system, data_columns, now), batch, settings)
    batch.rows_loaded = bronze.count_batch(batch, settings)
    batch.rows_quarantined = count_quarantine(batch, settings)
    batch.finished_at = utcnow()
    try:
        audit.reconcile(batch)
    except audit.AccountingError as exc:
        batch.status, batch.reason = FAILED, str(exc)
        audit.record_batches([batch], settings)
        raise
    batch.status = LOADED
    if batch.rows_quarantined:
        batch.reason = f"{batch.rows_quarantined} row(s) quarantined (quarantine.rejected_rows, batch_id {batch.batch_id})"
    audit.record_batches([batch], settings)
    advance_watermark(batch, resource, settings)
    log.info("%s: batch %s loaded %d row(s), quarantined %d", bronze.bronze_table(resource.name), batch.batch_id,
             batch.rows_loaded, batch.rows_quarantined)


def advance_watermark(batch: Batch, resource: Resource, settings: Settings) -> None:
    """Move the resource's watermark to the batch's maximum, never backwards (reloads leave it alone)."""
    from citybrain.ingest import watermarks

    if resource.source.kind != "database" or not resource.incremental_key or not batch.watermark_to:
        return
    current = watermarks.current_watermark(resource.name, settings)
    if watermarks.is_after(batch.watermark_to, current):
        watermarks.advance_watermark(resource.name, resource.incremental_key, batch.watermark_to, batch.batch_id,
                                     settings)


def quarantine_predicate(batch: Batch) -> str:
    return (f"resource = '{batch.resource}' AND stage = '{quarantine.STAGE}' "
            f"AND batch_id = '{batch.batch_id}'")


def write_quarantine(bad: DataFrame, batch: Batch, settings: Settings) -> None:
    """Replace the batch's rows in quarantine.rejected_rows; no commit when there is nothing to replace."""
    from citybrain.lake import arrow_io, spark_io

    table = quarantine.QUARANTINE_TABLE
    if not arrow_io.table_exists(table, settings):
        spark_io.append(bad, table, partition_by=["resource"], settings=settings)
    elif bad.isEmpty() and not count_quarantine(batch, settings):
        return  # a clean batch never quarantined before: skip an empty commit
    else:
        spark_io.replace_where(bad, table, quarantine_predicate(batch), settings=settings)


def count_quarantine(batch: Batch, settings: Settings) -> int:
    from citybrain.ingest.control_io import count_rows

    return count_rows(quarantine.QUARANTINE_TABLE, settings, resource=batch.resource, stage=quarantine.STAGE,
                      batch_id=batch.batch_id)


def reject_batch(batch: Batch, exc: UnreadableFile, settings: Settings) -> None:
    """Move the unreadable file to rejected/ with its reason, record it, and warn loudly (the task goes on)."""
    reason = f"bronze.{batch.resource}: {batch.source} rejected ({exc.kind}): {exc.reason}"
    moved = move_to_rejected(Path(batch.landing_path), batch.department, reason, settings)
    batch.status, batch.reason, batch.rows_pulled = REJECTED, reason, 0
    batch.rows_loaded = batch.rows_quarantined = 0
    batch.finished_at = utcnow()
    audit.record_rejected_file(batch, str(moved), exc.kind, settings)
    audit.record_batches([batch], settings)
    banner = "!" * 100
    log.warning("%s\nREJECTED FILE %s\n%s\nmoved to %s (reason in %s.reason.txt)\n%s",
                banner, batch.source, reason, moved, moved.name, banner)
