"""Spark-free appends and reads of the small control logs (control.batches, .watermarks, .rejected_files).

Control rows are a handful per batch; writing them with deltalake (delta-rs) instead of Spark lets a
load task with nothing to load finish without starting a JVM, and costs milliseconds per commit.
Timestamps are written as Delta TIMESTAMP (UTC), the type Spark reads and writes.
"""

from __future__ import annotations

from collections.abc import Sequence

from citybrain.lake import arrow_io
from citybrain.settings import Settings, get_settings

Columns = Sequence[tuple[str, str]]  # (name, kind) with kind in string | long | date | timestamp


def arrow_schema(columns: Columns):
    import pyarrow as pa

    kinds = {"string": pa.string(), "long": pa.int64(), "date": pa.date32(), "timestamp": pa.timestamp("us", "UTC")}
    return pa.schema([pa.field(name, kinds[kind]) for name, kind in columns])


def append_rows(table: str, columns: Columns, rows: list[tuple], settings: Settings | None = None) -> None:
    """Append rows (tuples in column order; naive datetimes are UTC) to a control table, creating it."""
    import pyarrow as pa

    if not rows:
        return
    settings = settings or get_settings()
    schema = arrow_schema(columns)
    data = pa.Table.from_pylist([dict(zip([n for n, _ in columns], row, strict=True)) for row in rows], schema)
    arrow_io.append_arrow(table, data, settings=settings)


def read_rows(table: str, resource: str | None = None, settings: Settings | None = None) -> list[dict]:
    """Rows of a control table, optionally of one resource; [] before its first write."""
    import pyarrow.compute as pc

    if not arrow_io.table_exists(table, settings):
        return []
    data = arrow_io.read_arrow(table, settings=settings)
    if resource is not None:
        data = data.filter(pc.equal(data["resource"], resource))
    return data.to_pylist()


def count_rows(table: str, settings: Settings | None = None, **equals) -> int:
    """Committed rows of a table whose columns equal the given values (0 when the table does not exist).

    Read through deltalake/Arrow: partition values and file statistics prune the scan, and no
    Spark job is needed to read back a batch just written.
    """
    import pyarrow.compute as pc

    if not arrow_io.table_exists(table, settings):
        return 0
    condition = None
    for column, value in equals.items():
        term = pc.field(column) == value
        condition = term if condition is None else condition & term
    return arrow_io.arrow_dataset(table, settings=settings).count_rows(filter=condition)
