"""Incremental database pulls: rows with incremental_key past the watermark, landed as a Parquet extract.

A pull for logical date D reads `watermark < incremental_key < D+1 00:00` (SQLAlchemy, any
dialect), so successive logical dates (a backfill) slice the source day by day. Values are kept as
text exactly as the driver returned them.
"""

from __future__ import annotations

import hashlib
import os
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from citybrain.ingest.batches import EMPTY, Batch, make_batch_id, utcnow
from citybrain.ingest.landing import batch_dir, sha256_file
from citybrain.ingest.watermarks import is_after, max_watermark, upper_bound
from citybrain.settings import Settings, get_settings

if TYPE_CHECKING:
    from citybrain.catalog import Resource

FETCH_ROWS = 50_000
SOURCE_URL_ENV = "CITYBRAIN_SOURCE_URL_{}"  # e.g. CITYBRAIN_SOURCE_URL_PSB=postgresql://... for a real system


def source_url(database: str, settings: Settings | None = None) -> str:
    """SQLAlchemy URL of a department database: from the environment, else the simulator's SQLite file."""
    env = os.environ.get(SOURCE_URL_ENV.format(database.upper()))
    if env:
        return env
    settings = settings or get_settings()
    path = Path(settings.sources_dir) / "db" / f"{database}.sqlite"
    if not path.exists():
        raise FileNotFoundError(
            f"source database {database!r}: {path} does not exist; generate the sources "
            f"(`citybrain sources generate`) or set {SOURCE_URL_ENV.format(database.upper())}")
    return f"sqlite:///{path}"


def as_text(value: Any) -> str | None:
    """A driver value as text: numbers in their shortest exact form, times ISO with a space."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):  # NUMERIC(p,s) pads to its scale: 695.1500 is sent as 695.15, like SQLite
        text = format(value, "f")
        return text.rstrip("0").rstrip(".") if "." in text else text
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    return str(value)


def source_label(resource: Resource) -> str:
    src = resource.source
    return f"db:{src.database}.{src.table or 'query'}"


def window_fingerprint(label: str, key: str | None, watermark: str | None, upper: str) -> str:
    """The batch fingerprint of a pull window: a re-pull of the same window gets the same batch id."""
    return hashlib.sha256(f"{label}|{key}>{watermark}|<{upper}".encode()).hexdigest()[:12]


def pull_database(resource: Resource, batch_date: date, watermark: str | None,
                  settings: Settings | None = None) -> Batch:
    """Pull the rows past the watermark (up to the end of `batch_date`) into a landed Parquet extract."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    import sqlalchemy as sa

    settings = settings or get_settings()
    src, key = resource.source, resource.incremental_key
    label, upper = source_label(resource), upper_bound(batch_date)
    batch = Batch(resource.name, resource.provider, "", batch_date, label, watermark_from=watermark,
                  extract_time=utcnow())
    batch.batch_id = make_batch_id(resource.name, batch_date, window_fingerprint(label, key, watermark, upper))
    if key and watermark is not None and not is_after(upper, watermark):
        batch.status, batch.rows_pulled = EMPTY, 0
        batch.reason = (f"watermark {key}={watermark} is already at or past the end of {batch_date} ({upper}): "
                        "nothing new to pull for this date")
        return batch

    origin = sa.table(src.table) if src.table else sa.text(src.query).columns().subquery("src")
    query = sa.select(sa.text("*")).select_from(origin)
    if key:
        query = query.where(sa.column(key) < upper).order_by(sa.column(key))
        if watermark is not None:
            query = query.where(sa.column(key) > watermark)
    query = query.order_by(*(sa.column(k) for k in resource.primary_key))

    folder = batch_dir(resource.provider, batch.batch_id, settings)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{src.table or resource.name}_{batch_date:%Y%m%d}.parquet"
    tmp = target.with_name(f".{target.name}.tmp")
    rows, top = 0, None
    engine = sa.create_engine(source_url(src.database, settings))
    try:
        with engine.connect() as conn:
            result = conn.execution_options(stream_results=True).execute(query)
            columns = list(result.keys())
            schema = pa.schema([(c, pa.string()) for c in columns])
            key_pos = columns.index(key) if key in columns else None
            with pq.ParquetWriter(tmp, schema) as writer:
                while chunk := result.fetchmany(FETCH_ROWS):
                    arrays = [pa.array([as_text(r[i]) for r in chunk], pa.string()) for i in range(len(columns))]
                    writer.write_table(pa.Table.from_arrays(arrays, schema=schema))
                    rows += len(chunk)
                    if key_pos is not None:
                        top = max_watermark([top, max_watermark(arr.as_py() for arr in arrays[key_pos])])
    finally:
        engine.dispose()
    if key and key_pos is None:
        tmp.unlink(missing_ok=True)
        raise KeyError(f"{label} has no column {key!r}: the catalogue's incremental_key of {resource.name} is "
                       "missing from the source table (schema drift); fix the source or the catalogue")
    batch.rows_pulled = rows
    if rows == 0:
        tmp.unlink(missing_ok=True)
        folder.rmdir()
        batch.status = EMPTY
        batch.reason = f"no rows in {label} with {watermark or '-∞'} < {key} < {upper}"
        return batch
    os.replace(tmp, target)
    batch.file_name, batch.landing_path, batch.checksum = target.name, str(target), sha256_file(target)
    batch.watermark_to = top
    return batch
