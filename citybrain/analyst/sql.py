"""DuckDB connections over lake tables: one view per table named layer.table, read through deltalake/Arrow
(citybrain.lake.arrow_io), optionally at a Delta version per table or as of a point in time."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING

from citybrain.lake import arrow_io
from citybrain.lake.names import TableName
from citybrain.settings import Settings, get_settings

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

log = logging.getLogger("citybrain.analyst")
ANALYST_LAYERS = ("silver", "gold", "open")
_REF = re.compile(r'"?\b(silver|gold|open)"?\s*\.\s*"?([a-z][a-z0-9_]*)\b', re.IGNORECASE)


def referenced_tables(sql: str) -> set[str] | None:
    """layer.table names a statement mentions (None when it names none: then every table is registered)."""
    found = {f"{m.group(1).lower()}.{m.group(2).lower()}" for m in _REF.finditer(sql)}
    return found or None


def parse_versions(specs: Iterable[str]) -> dict[str, int]:
    """['gold.indicator_values=3'] -> {'gold.indicator_values': 3} (the table name is checked)."""
    out = {}
    for spec in specs:
        name, sep, version = spec.partition("=")
        if not sep or not version.strip().isdigit():
            raise ValueError(f"--version {spec!r}: expected layer.table=N, e.g. gold.indicator_values=3")
        out[str(TableName.parse(name.strip()))] = int(version)
    return out


def connect(layers: Iterable[str] = ANALYST_LAYERS, *, versions: dict[str, int] | None = None,
            as_of: datetime | str | None = None, database: str = ":memory:", only: set[str] | None = None,
            settings: Settings | None = None) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with a view per table; ``versions`` pins tables to Delta versions, ``as_of`` reads
    every other table as it was then (tables created later are left out, with a log line); ``only`` limits
    the views to those tables (each Delta log read costs ~0.1 s)."""
    import duckdb

    settings = settings or get_settings()
    versions = dict(versions or {})
    con = duckdb.connect(database)
    con.execute("SET TimeZone = 'UTC'")  # the lake stores wall-clock time as UTC timestamps: show it as stored
    tables = arrow_io.list_tables(layers, settings)
    unknown = set(versions) - {str(t) for t in tables}
    if unknown:
        raise KeyError(f"--version names tables not in the lake: {', '.join(sorted(unknown))}")
    for name in tables:
        if only is not None and str(name) not in only:
            continue
        try:
            table = arrow_io.delta_table(name, version=versions.get(str(name)),
                                         as_of=None if str(name) in versions else as_of, settings=settings)
        except Exception as exc:  # a table younger than as_of, or a version that was vacuumed
            if str(name) in versions:
                raise ValueError(f"{name}: cannot read version {versions[str(name)]}: {exc}") from exc
            log.info("%s left out: not readable as of %s (%s)", name, as_of, exc)
            continue
        _register(con, name, table, local=settings.lake_is_local)
    return con


# Delta primitive type -> DuckDB type of a hive partition value (anything else reads through Arrow)
_PARTITION_TYPES = {"string": "VARCHAR", "date": "DATE", "integer": "INTEGER", "long": "BIGINT", "short": "SMALLINT",
                    "byte": "TINYINT", "boolean": "BOOLEAN", "double": "DOUBLE", "float": "FLOAT"}


def parquet_source(table) -> str | None:
    """read_parquet over the snapshot's files (DuckDB's own reader: statistics pruning, no Arrow copy), or
    None when the table needs the Delta reader (deletion vectors, column mapping, odd partition types)."""
    protocol = table.protocol()
    files = table.file_uris()
    if protocol.min_reader_version > 1 or protocol.reader_features or not files:
        return None
    partitions = table.metadata().partition_columns
    types = {f.name: str(f.type).removeprefix('PrimitiveType("').removesuffix('")') for f in table.schema().fields}
    if any(types.get(p) not in _PARTITION_TYPES for p in partitions):
        return None
    listed = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
    hive = ""
    if partitions:
        hive = ", hive_partitioning = true, hive_types = {" + ", ".join(
            f"'{p}': '{_PARTITION_TYPES[types[p]]}'" for p in partitions) + "}"
    return f"read_parquet([{listed}], union_by_name = true{hive})"


def _register(con, name: TableName, table, *, local: bool) -> None:
    """A view layer.table over the snapshot: DuckDB's Parquet reader on a local lake, else the Arrow dataset."""
    con.execute(f'CREATE SCHEMA IF NOT EXISTS "{name.layer}"')
    source = parquet_source(table) if local else None
    fields = table.schema().fields
    if source is None:
        con.register(f"__arrow_{name.layer}_{name.table}", arrow_io.snapshot_dataset(table))
        source = f'"__arrow_{name.layer}_{name.table}"'
        columns = ", ".join('"' + f.name + '"' for f in fields)
    else:  # Spark writes timestamps without the UTC flag: type them as Delta does (timestamp = UTC instant)
        columns = ", ".join(f'CAST("{f.name}" AS TIMESTAMPTZ) AS "{f.name}"' if str(f.type) == 'PrimitiveType("timestamp")'
                            else f'"{f.name}"' for f in fields)
    con.execute(f'CREATE OR REPLACE VIEW "{name.layer}"."{name.table}" AS SELECT {columns} FROM {source}')


def query(sql: str, *, versions: dict[str, int] | None = None, as_of: datetime | str | None = None,
          settings: Settings | None = None, con=None) -> pa.Table:
    """Run one statement and return its result as Arrow."""
    con = con or connect(versions=versions, as_of=as_of, only=referenced_tables(sql), settings=settings)
    return con.execute(sql).to_arrow_table()


def write_database(path: str, *, layers: Iterable[str] = ANALYST_LAYERS, versions: dict[str, int] | None = None,
                   as_of: datetime | str | None = None, settings: Settings | None = None) -> dict[str, int]:
    """A DuckDB database file with every table materialised as layer.table (any DuckDB client opens it);
    returns table -> rows. An existing file is replaced only after the new one is complete."""
    import os

    tmp = f"{path}.tmp"
    for leftover in (tmp, f"{tmp}.wal"):
        if os.path.exists(leftover):
            os.remove(leftover)
    src = connect(layers, versions=versions, as_of=as_of, settings=settings)
    src.execute(f"ATTACH '{tmp}' AS target")
    rows = {}
    views = src.execute("SELECT schema_name, view_name FROM duckdb_views() WHERE NOT internal "
                        "AND database_name = 'memory' ORDER BY 1, 2").fetchall()
    for i, (schema, view) in enumerate(views, 1):
        src.execute(f'CREATE SCHEMA IF NOT EXISTS target."{schema}"')
        src.execute(f'CREATE TABLE target."{schema}"."{view}" AS SELECT * FROM "{schema}"."{view}"')
        rows[f"{schema}.{view}"] = src.execute(f'SELECT count(*) FROM target."{schema}"."{view}"').fetchone()[0]
        log.info("[%d/%d] %s.%s: %d rows", i, len(views), schema, view, rows[f"{schema}.{view}"])
    src.execute("DETACH target")
    src.close()
    os.replace(tmp, path)
    return rows
