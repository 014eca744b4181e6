"""Per-table reconciliation of database pulls (control.reconciliation): the source's keys against bronze's.

After every pull of a database resource its source is counted over the rows due by the end of the batch day (a
key before that, or a key no window can hold) with `SELECT <primary key>, count(*) ... GROUP BY <primary key>`,
and each distinct key is looked up in bronze (deltalake/Arrow, the key columns only: no Spark), in the ingest
quarantine and in the extract just landed. A key in none of them was lost on the way (typically a row committed
late with an incremental key before the look-back): it is counted in `missing_keys`, with a sample of keys, on
the day it appears. The log is append-only; `citybrain status` shows each resource's latest row.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from citybrain.ingest.batches import Batch, utcnow
from citybrain.ingest.control_io import append_rows, read_rows
from citybrain.settings import Settings, get_settings

if TYPE_CHECKING:
    from citybrain.catalog import Resource

log = logging.getLogger(__name__)
RECONCILIATION_TABLE = "control.reconciliation"
RECONCILIATION_COLUMNS = (
    ("resource", "string"), ("batch_id", "string"), ("batch_date", "date"), ("source", "string"),
    ("source_rows", "long"), ("source_keys", "long"), ("bronze_keys", "long"), ("pending_keys", "long"),
    ("quarantined_keys", "long"), ("missing_keys", "long"), ("missing_sample", "string"), ("null_key_rows", "long"),
    ("rows_reread", "long"), ("checked_at", "timestamp"),
)
SAMPLE_KEYS = 5


def source_counts(resource: Resource, upper: str, settings: Settings | None = None) -> tuple[int, set[str], int]:
    """(rows due by `upper`, their distinct keys, rows whose incremental key is null or no time) at the source."""
    import sqlalchemy as sa

    from citybrain.ingest.pull_db import as_text, key_column, record_key, source_origin, source_url
    from citybrain.ingest.watermarks import key_time

    settings = settings or get_settings()
    key_columns = [sa.column(k) for k in resource.primary_key]
    origin = source_origin(resource)
    rows, keys, unplaced = 0, set(), 0
    engine = sa.create_engine(source_url(resource.source.database, settings))
    try:
        with engine.connect() as conn:
            counted = sa.select(*key_columns, sa.func.count()).select_from(origin).group_by(*key_columns)
            column = key_column(conn, resource) if resource.incremental_key else None
            if column is not None:
                counted = counted.where(sa.and_(column.placeable(), column.column < upper))
            counts = conn.execute(counted).fetchall()
            rows += sum(r[-1] for r in counts)
            if len(key_columns) == 1:  # the usual case: no join, no list per key
                keys.update(as_text(r[0]) for r in counts)
            else:
                keys.update(record_key([as_text(p) for p in r[:-1]]) for r in counts)
            if column is not None:  # the rows SQL cannot place: decided one by one, as the pull does
                end = key_time(upper)
                for *parts, value in conn.execute(sa.select(*key_columns, column.column).select_from(origin)
                                                  .where(column.unplaced())):
                    moment = key_time(as_text(value))
                    if moment is not None and moment >= end:
                        continue  # after the batch day: a later pull's
                    rows += 1
                    unplaced += moment is None
                    keys.add(record_key([as_text(p) for p in parts]))
    finally:
        engine.dispose()
    keys.difference_update({None, ""})  # a row without a key is counted, it has no key to look for
    return rows, keys, unplaced


def _joined_keys(data, columns: list[str]) -> set[str]:
    """Distinct record keys of an Arrow table's key columns (the record_key rule, vectorised)."""
    import pyarrow.compute as pc

    if not data.num_rows:
        return set()
    parts = [pc.fill_null(data[c].cast("string"), "") for c in columns]
    joined = parts[0] if len(parts) == 1 else pc.binary_join_element_wise(*parts, "|")
    found = set(pc.unique(joined).to_pylist())
    found.discard("|" * (len(columns) - 1))  # every part empty: no key
    return found


def bronze_keys(resource: Resource, settings: Settings | None = None) -> set[str]:
    """Distinct keys bronze holds for the resource (its key columns read through deltalake/Arrow)."""
    from citybrain.ingest.bronze import bronze_table
    from citybrain.lake import arrow_io

    table = bronze_table(resource.name)
    if not arrow_io.table_exists(table, settings):
        return set()
    data = arrow_io.arrow_dataset(table, settings=settings).to_table(columns=list(resource.primary_key))
    return _joined_keys(data, list(resource.primary_key))


def quarantined_keys(resource: Resource, settings: Settings | None = None) -> set[str]:
    """Keys of the resource's rows quarantined at ingest (they are accounted for, though not in bronze)."""
    import pyarrow.compute as pc

    from citybrain.ingest.quarantine import QUARANTINE_TABLE, STAGE
    from citybrain.lake import arrow_io

    if not arrow_io.table_exists(QUARANTINE_TABLE, settings):
        return set()
    condition = (pc.field("resource") == resource.name) & (pc.field("stage") == STAGE)
    data = arrow_io.arrow_dataset(QUARANTINE_TABLE, settings=settings).to_table(columns=["record_key"],
                                                                                filter=condition)
    return {k for k in pc.unique(data["record_key"]).to_pylist() if k}


def landed_keys(resource: Resource, batch: Batch) -> set[str]:
    """Distinct keys of the batch's landed extract (none when nothing landed)."""
    import pyarrow.parquet as pq

    if not batch.landing_path:
        return set()
    data = pq.read_table(batch.landing_path, columns=list(resource.primary_key))
    return _joined_keys(data, list(resource.primary_key))


def reconcile_pull(resource: Resource, batch: Batch, settings: Settings | None = None) -> dict:
    """Count the source against bronze after a pull, record the row in control.reconciliation and return it."""
    from citybrain.ingest.watermarks import upper_bound

    settings = settings or get_settings()
    rows, source, unplaced = source_counts(resource, upper_bound(batch.batch_date), settings)
    bronze = bronze_keys(resource, settings)
    pending = landed_keys(resource, batch) - bronze
    quarantined = (source & quarantined_keys(resource, settings)) - bronze - pending
    missing = sorted(source - bronze - pending - quarantined)
    row = {
        "resource": resource.name, "batch_id": batch.batch_id, "batch_date": batch.batch_date, "source": batch.source,
        "source_rows": rows, "source_keys": len(source), "bronze_keys": len(bronze), "pending_keys": len(pending),
        "quarantined_keys": len(quarantined), "missing_keys": len(missing),
        "missing_sample": ", ".join(missing[:SAMPLE_KEYS]) or None, "null_key_rows": unplaced,
        "rows_reread": batch.rows_reread, "checked_at": utcnow(),
    }
    append_rows(RECONCILIATION_TABLE, RECONCILIATION_COLUMNS, [tuple(row[c] for c, _ in RECONCILIATION_COLUMNS)],
                settings)
    if missing:
        log.warning("%s: %d key(s) of %s are neither in bronze.%s nor in quarantine nor in batch %s (e.g. %s): rows "
                    "committed late with %s before the look-back (window start %s) are never pulled; raise "
                    "source.lookback in the catalogue so that the next pull re-reads them", resource.name,
                    len(missing), batch.source, resource.name, batch.batch_id, row["missing_sample"],
                    resource.incremental_key, batch.watermark_from)
    if unplaced:
        log.warning("%s: %d row(s) of %s have a null or unreadable %s (no pull window holds them: every pull "
                    "re-reads them)", resource.name, unplaced, batch.source, resource.incremental_key)
    return row


def latest_reconciliations(settings: Settings | None = None) -> dict[str, dict]:
    """resource -> its latest control.reconciliation row ({} before the first database pull)."""
    latest: dict[str, dict] = {}
    for row in sorted(read_rows(RECONCILIATION_TABLE, settings=settings), key=lambda r: r["checked_at"]):
        latest[row["resource"]] = row
    return latest
