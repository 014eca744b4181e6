"""The load task of a resource: landed extracts -> bronze.<resource> and quarantine, audited and reconciled.

Each pending batch is checked (landing sha256), parsed and compared with the catalogue (drift);
an unreadable one is moved to rejected/ and recorded without failing the task (see dag_factory).
The readable ones are split by the ingest row rules and written together: one replace of their
slices in bronze, and in quarantine.rejected_rows when a row failed (a catch-up run over many file drops costs one
Spark write, not one per file). Counts are read back per batch, must reconcile, are recorded in
control.batches, and only then does the watermark advance.
"""

from __future__ import annotations

import logging
from functools import reduce
from pathlib import Path
from typing import TYPE_CHECKING

from citybrain.ingest import audit, bronze, quarantine
from citybrain.ingest.batches import FAILED, LOADED, PENDING, REJECTED, SKIPPED, Batch, utcnow
from citybrain.ingest.control_io import arrow_schema, count_rows
from citybrain.ingest.drift import Drift, detect_drift, safe_column_name
from citybrain.ingest.landing import move_to_rejected, verify_checksum
from citybrain.ingest.readers import PARSE_COLUMNS, Extract, ItemHints, UnreadableFile, read_extract
from citybrain.lake.lease import DEFAULT_WAIT_SECONDS, stage_lease
from citybrain.settings import Settings, get_settings

if TYPE_CHECKING:
    import pyarrow as pa

    from citybrain.catalog import Department, Resource

log = logging.getLogger(__name__)
ROWS_PER_FILE = 1_000_000


def load_resource(batches: list[dict], settings: Settings | None = None) -> list[dict]:
    """Load the pulled batches of one resource; returns every batch with its outcome (for XCom and reports)."""
    from citybrain.catalog import get_catalog

    settings = settings or get_settings()
    catalog = get_catalog()
    items = [Batch.from_dict(data) for data in batches]
    if not items:
        return []
    resource = catalog.resource(items[0].resource)
    # One loader of a resource at a time, whoever started it (a second scheduler, a manual run): the second
    # waits, then finds the batches the first loaded and records them as such instead of loading them twice.
    with stage_lease(f"ingest.{resource.name}", settings, wait=DEFAULT_WAIT_SECONDS,
                     purpose=f"load of {resource.name} ({items[0].run_id or 'no run id'})"):
        skip_loaded_meanwhile(items, settings)
        nothing, ready = [], []
        for batch in items:
            if batch.status != PENDING:  # skipped / empty: nothing to load, the outcome is still audited
                batch.finished_at = utcnow()
                nothing.append(batch)
                continue
            try:
                ready.append((batch, parse_batch(batch, resource)))
            except UnreadableFile as exc:
                reject_batch(batch, exc, settings)
        audit.record_batches(nothing, settings)
        if ready:
            write_batches(ready, resource, catalog.departments[resource.provider], settings)
    return [b.to_dict() for b in items]


def skip_loaded_meanwhile(items: list[Batch], settings: Settings) -> None:
    """Pending batches that another run loaded after this one pulled them (two runs of one date at once) are
    skipped, naming that run. A reload is pulled after the load it repeats, so it still replaces its slice."""
    pending = {b.batch_id: b for b in items if b.status == PENDING}
    if not pending:
        return
    for row in audit.read_rows(audit.BATCHES_TABLE, items[0].resource, settings):
        batch = pending.get(row["batch_id"])
        if (batch is None or row["status"] != LOADED or row["file_checksum"] != batch.checksum
                or row["run_id"] == batch.run_id or batch.started_at is None or row["finished_at"] is None):
            continue
        if row["finished_at"].replace(tzinfo=None) < batch.started_at.replace(tzinfo=None):  # naive UTC both
            continue
        batch.status = SKIPPED
        batch.reason = (f"already loaded by run {row['run_id']} (finished {row['finished_at']:%Y-%m-%d %H:%M:%S} "
                        "UTC) while this run waited for the resource: the same delivery is not loaded twice")


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


def parse_batch(batch: Batch, resource: Resource) -> Extract:
    """Check and parse a landed extract; UnreadableFile when it cannot be loaded as the catalogue says."""
    verify_checksum(batch)
    src = resource.source
    fmt = "parquet" if batch.file_name.endswith(".parquet") else src.format
    try:
        extract = read_extract(Path(batch.landing_path), fmt, encoding=getattr(src, "encoding", "utf-8"),
                               delimiter=getattr(src, "delimiter", None), items=ItemHints.of(resource))
    except UnreadableFile as exc:
        if exc.columns:  # a readable header still tells whether the department changed its columns
            batch.drift = detect_drift(exc.columns, resource.item_names).to_json_dict()
        raise
    # Title and repeated header rows were delivered too: pulled, dropped and counted (audit.reconcile).
    batch.header_rows_dropped = len(extract.dropped)
    batch.rows_pulled = extract.rows + batch.header_rows_dropped
    drift = detect_drift(extract.columns, resource.item_names)
    batch.drift = drift.to_json_dict()
    reason = missing_required_reason(resource, drift)
    if reason:
        raise UnreadableFile("missing_required_columns", reason)
    if drift:
        log.warning("SCHEMA DRIFT in %s batch %s (%s): %s", bronze.bronze_table(resource.name), batch.batch_id,
                    batch.source, drift.summary())
    return extract


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


def write_batches(ready: list[tuple[Batch, Extract]], resource: Resource, department: Department,
                  settings: Settings) -> None:
    """Split, write (one replace in bronze, one in quarantine if needed), read back, reconcile, audit, advance."""
    from citybrain.spark import get_spark

    spark = get_spark(settings)
    now = utcnow()
    goods, bad_rows, notes = [], [], {}
    for batch, extract in ready:
        notes[batch.batch_id] = extract.notes(batch.file_name or batch.source)
        table, data_columns = align(extract, resource)
        good, bad = quarantine.transform(table, resource, batch.batch_id, data_columns, now)
        # Small batches are the norm: one output file per million rows, not one per core.
        df = spark.createDataFrame(good).coalesce(max(1, -(-good.num_rows // ROWS_PER_FILE)))
        goods.append(bronze.transform(df, batch, department.system, data_columns, now))
        bad_rows += bad
    batches = [b for b, _ in ready]
    write_quarantine(bad_rows, batches, settings)
    bronze.write_batches(reduce(lambda a, b: a.unionByName(b, allowMissingColumns=True), goods), batches, settings)
    failures = []
    for batch in batches:
        batch.rows_loaded = bronze.count_batch(batch, settings)
        batch.rows_quarantined = count_quarantine(batch, settings)
        batch.finished_at = utcnow()
        try:
            audit.reconcile(batch)
            batch.status = LOADED
            reasons = notes[batch.batch_id]
            if batch.rows_quarantined:
                reasons = [f"{batch.rows_quarantined} row(s) quarantined "
                           f"(quarantine.rejected_rows, batch_id {batch.batch_id})", *reasons]
            batch.reason = "; ".join(reasons) or None
            log.info("%s: batch %s loaded %d row(s), quarantined %d, dropped %d header row(s)%s",
                     bronze.bronze_table(resource.name), batch.batch_id, batch.rows_loaded, batch.rows_quarantined,
                     batch.header_rows_dropped, "".join(f"\n  {note}" for note in notes[batch.batch_id]))
        except audit.AccountingError as exc:
            batch.status, batch.reason = FAILED, str(exc)
            failures.append(exc)
    audit.record_batches(batches, settings)  # for a database resource this is also its watermark's advance
    if failures:
        raise failures[0]


def quarantine_predicate(batches: list[Batch]) -> str:
    ids = ", ".join(f"'{b.batch_id}'" for b in batches)
    return f"resource = '{batches[0].resource}' AND stage = '{quarantine.STAGE}' AND batch_id IN ({ids})"


def write_quarantine(rows: list[tuple], batches: list[Batch], settings: Settings) -> None:
    """Replace the batches' rows in quarantine.rejected_rows; no Spark at all when there is nothing to replace."""
    import pyarrow as pa

    from citybrain.lake import arrow_io, spark_io
    from citybrain.spark import get_spark

    table = quarantine.QUARANTINE_TABLE
    exists = arrow_io.table_exists(table, settings)
    if not rows and (not exists or not any(count_quarantine(b, settings) for b in batches)):
        return  # clean batches never quarantined before: nothing to write
    names = [name for name, _ in quarantine.COLUMNS]
    data = pa.Table.from_pylist([dict(zip(names, r, strict=True)) for r in rows], arrow_schema(quarantine.COLUMNS))
    df = get_spark(settings).createDataFrame(data).coalesce(1)
    if not exists:
        spark_io.append(df, table, partition_by=["resource"], settings=settings)
    else:
        spark_io.replace_where(df, table, quarantine_predicate(batches), settings=settings)


def count_quarantine(batch: Batch, settings: Settings) -> int:
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
