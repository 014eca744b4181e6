"""DuckDB connections over lake tables: one view per table named layer.table, read through deltalake/Arrow
(citybrain.lake.arrow_io), optionally at a Delta version per table or as of a point in time.

Read-only by construction. Once its views exist, a connection is locked with DuckDB's own settings
(``READ_ONLY_SETTINGS``): no file or network access beyond the snapshot's own Parquet files (``allowed_paths``),
no extension installed or loaded, configuration locked. A statement is checked before it runs
(``check_read_only``): one SELECT (or EXPLAIN of one), table functions only from ``TABLE_FUNCTIONS``, no
file path as a table; anything else is a ReadOnlyError naming what was refused. ``run_sql`` (`citybrain sql`)
also writes who ran what to the audit log (citybrain.analyst.audit).
"""

from __future__ import annotations

import functools
import json
import logging
import re
from collections.abc import Iterable
from datetime import UTC, datetime
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


# After the views are registered: DuckDB's read-only switches, the lock last (it refuses any later SET).
READ_ONLY_SETTINGS = (
    "SET enable_external_access = false",  # no file, network or database access but allowed_paths
    "SET autoinstall_known_extensions = false",
    "SET autoload_known_extensions = false",
    "SET allow_community_extensions = false",
    "SET lock_configuration = true",
)
# Table functions a statement may call: generators and the catalogue's own metadata (nothing reads a file,
# runs a query string or reaches the network; read_csv, read_parquet, glob, query, ... are refused).
TABLE_FUNCTIONS = frozenset({
    "range", "generate_series", "unnest", "json_each", "json_tree", "repeat", "repeat_row", "summary",
    "duckdb_tables", "duckdb_views", "duckdb_columns", "duckdb_schemas", "duckdb_types", "duckdb_functions",
    "duckdb_constraints", "duckdb_keywords", "pragma_table_info", "pragma_show", "pragma_version",
    "pg_timezone_names", "icu_calendar_names",
})
_EXPLAIN = re.compile(r"^\s*EXPLAIN(\s+ANALYZE)?\s+", re.IGNORECASE)
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*$")


class AnalystInputError(ValueError):
    """What the analyst asked for cannot be served as asked (a version or time the table does not have)."""


class ReadOnlyError(AnalystInputError):
    """A statement the analyst entry point refuses to run (it would write, read files or load code)."""


def check_read_only(sql: str) -> None:
    """Refuse anything but one read of the lake's views: a ReadOnlyError saying what was refused and why."""
    parser = _parser().cursor()  # a cursor of one shared empty connection (a new one costs ~25 ms)
    try:
        statements = parser.extract_statements(sql)
        if len(statements) != 1:
            raise ReadOnlyError(f"{len(statements)} statements given: citybrain sql runs exactly one SELECT")
        statement = statements[0]
        kind = statement.type.name
        if kind == "EXPLAIN":
            inner = _EXPLAIN.sub("", statement.query, count=1)
            if inner == statement.query:
                raise ReadOnlyError("an EXPLAIN that cannot be checked: write EXPLAIN SELECT ...")
            return check_read_only(inner)
        if kind != "SELECT":
            first = statement.query.strip().split(None, 1)[0].upper() if statement.query.strip() else kind
            raise ReadOnlyError(f"{first} statements are refused: citybrain sql is read-only (one SELECT over "
                                "the layer.table views; no COPY, ATTACH, INSTALL, LOAD, EXPORT, CREATE, INSERT, SET)")
        tree = json.loads(parser.execute("SELECT json_serialize_sql(?)", [sql]).fetchone()[0])
    finally:
        parser.close()
    if tree.get("error"):
        return  # a SELECT form DuckDB cannot serialise (PIVOT): the connection's lock still holds it
    for node in _nodes(tree):
        if node.get("type") == "TABLE_FUNCTION":
            name = (node.get("function") or {}).get("function_name", "?").lower()
            if name not in TABLE_FUNCTIONS:
                raise ReadOnlyError(f"table function {name}() is refused: citybrain sql reads the layer.table "
                                    f"views only (files, other databases and query strings are out of reach); "
                                    f"allowed: {', '.join(sorted(TABLE_FUNCTIONS))}")
        elif node.get("type") == "BASE_TABLE" and not _IDENTIFIER.match(node.get("table_name", "")):
            raise ReadOnlyError(f"{node['table_name']!r} as a table is refused: a file path; citybrain sql reads "
                                "the layer.table views only")


@functools.cache
def _parser() -> duckdb.DuckDBPyConnection:
    """An empty, locked DuckDB connection that only parses statements for ``check_read_only``."""
    import duckdb

    con = duckdb.connect()
    lock_read_only(con)
    return con


def _nodes(tree):
    """Every dict in a json_serialize_sql tree."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            yield node
            stack += node.values()
        elif isinstance(node, list):
            stack += node


def lock_read_only(con: duckdb.DuckDBPyConnection, allowed_paths: Iterable[str] = ()) -> None:
    """Lock a connection whose views are registered: it reads only ``allowed_paths`` (the snapshot's Parquet
    files), loads no extension and accepts no further SET."""
    con.execute("SET allowed_paths = ?", [sorted(set(allowed_paths))])
    for setting in READ_ONLY_SETTINGS:
        con.execute(setting)


def connect(layers: Iterable[str] = ANALYST_LAYERS, *, versions: dict[str, int] | None = None,
            as_of: datetime | str | None = None, database: str = ":memory:", only: set[str] | None = None,
            settings: Settings | None = None) -> duckdb.DuckDBPyConnection:
    """A read-only DuckDB connection with a view per table (locked: ``lock_read_only``); ``versions`` pins tables
    to Delta versions, ``as_of`` reads every other table as it was then (tables created later are left out, with
    a log line); ``only`` limits the views to those tables (each Delta log read costs ~0.1 s)."""
    con, files = _connect(layers, versions=versions, as_of=as_of, database=database, only=only, settings=settings)
    lock_read_only(con, files)
    return con


def _connect(layers: Iterable[str], *, versions: dict[str, int] | None, as_of: datetime | str | None,
             database: str, only: set[str] | None, settings: Settings | None
             ) -> tuple[duckdb.DuckDBPyConnection, list[str]]:
    """The connection with its views, not yet locked, and the files the views read."""
    import duckdb

    settings = settings or get_settings()
    versions = dict(versions or {})
    con = duckdb.connect(database)
    con.execute("SET TimeZone = 'UTC'")  # the lake stores wall-clock time as UTC timestamps: show it as stored
    tables = arrow_io.list_tables(layers, settings)
    unknown = set(versions) - {str(t) for t in tables}
    if unknown:
        raise KeyError(f"--version names tables not in the lake: {', '.join(sorted(unknown))}")
    files: list[str] = []
    for name in tables:
        if only is not None and str(name) not in only:
            continue
        try:
            table = arrow_io.delta_table(name, version=versions.get(str(name)),
                                         as_of=None if str(name) in versions else as_of, settings=settings)
        except Exception as exc:  # a table younger than as_of, or a version that was vacuumed
            if str(name) in versions:
                raise AnalystInputError(f"{name}: cannot read version {versions[str(name)]}: {exc}") from exc
            log.info("%s left out: not readable as of %s (%s)", name, as_of, exc)
            continue
        if as_of is not None and str(name) not in versions and _created_after(table, as_of):
            log.info("%s left out: created after %s", name, as_of)  # deltalake gives version 0 for an earlier time
            continue
        files += _register(con, name, table, local=settings.lake_is_local)
    return con, files


def _created_after(table, as_of: datetime | str) -> bool:
    """Whether a table loaded as of a time is at version 0 committed after that time (it did not exist then)."""
    if table.version() != 0:
        return False
    when = datetime.fromisoformat(as_of.replace("Z", "+00:00")) if isinstance(as_of, str) else as_of
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    # history() lists every commit whatever version is loaded (numbered from the loaded one): take the oldest
    created = min(c["timestamp"] for c in table.history())  # ms since the epoch
    return created > when.timestamp() * 1000


# Delta primitive type -> DuckDB type of a hive partition value (anything else reads through Arrow)
_PARTITION_TYPES = {"string": "VARCHAR", "date": "DATE", "integer": "INTEGER", "long": "BIGINT", "short": "SMALLINT",
                    "byte": "TINYINT", "boolean": "BOOLEAN", "double": "DOUBLE", "float": "FLOAT"}


def _primitive_types(table) -> dict[str, str]:
    return {f.name: str(f.type).removeprefix('PrimitiveType("').removesuffix('")') for f in table.schema().fields}


def parquet_files(table) -> list[str] | None:
    """The snapshot's Parquet files when DuckDB's own reader can read them (statistics pruning, no Arrow copy),
    or None when the table needs the Delta reader (deletion vectors, column mapping, odd partition types)."""
    protocol = table.protocol()
    files = table.file_uris()
    if protocol.min_reader_version > 1 or protocol.reader_features or not files:
        return None
    types = _primitive_types(table)
    if any(types.get(p) not in _PARTITION_TYPES for p in table.metadata().partition_columns):
        return None
    return files


def parquet_source(table, files: list[str]) -> str:
    """read_parquet over the snapshot's files (``parquet_files``), typed hive partitions included."""
    partitions = table.metadata().partition_columns
    types = _primitive_types(table)
    listed = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
    hive = ""
    if partitions:
        hive = ", hive_partitioning = true, hive_types = {" + ", ".join(
            f"'{p}': '{_PARTITION_TYPES[types[p]]}'" for p in partitions) + "}"
    return f"read_parquet([{listed}], union_by_name = true{hive})"


def _register(con, name: TableName, table, *, local: bool) -> list[str]:
    """A view layer.table over the snapshot: DuckDB's Parquet reader on a local lake, else the Arrow dataset;
    returns the files the view reads (none through Arrow)."""
    con.execute(f'CREATE SCHEMA IF NOT EXISTS "{name.layer}"')
    files = parquet_files(table) if local else None
    fields = table.schema().fields
    if files is None:
        con.register(f"__arrow_{name.layer}_{name.table}", arrow_io.snapshot_dataset(table))
        source = f'"__arrow_{name.layer}_{name.table}"'
        columns = ", ".join('"' + f.name + '"' for f in fields)
    else:  # Spark writes timestamps without the UTC flag: type them as Delta does (timestamp = UTC instant)
        source = parquet_source(table, files)
        columns = ", ".join(f'CAST("{f.name}" AS TIMESTAMPTZ) AS "{f.name}"' if str(f.type) == 'PrimitiveType("timestamp")'
                            else f'"{f.name}"' for f in fields)
    con.execute(f'CREATE OR REPLACE VIEW "{name.layer}"."{name.table}" AS SELECT {columns} FROM {source}')
    return files or []


def query(sql: str, *, versions: dict[str, int] | None = None, as_of: datetime | str | None = None,
          settings: Settings | None = None, con=None) -> pa.Table:
    """Run one read-only statement (``check_read_only``) on a locked connection and return its result as Arrow;
    a table it names that did not exist yet ``as_of`` is an error naming it, not an unknown table."""
    import duckdb

    check_read_only(sql)
    wanted = referenced_tables(sql)
    con = con or connect(versions=versions, as_of=as_of, only=wanted, settings=settings)
    if as_of is not None and wanted:
        views = {f"{s}.{v}" for s, v in con.execute("SELECT schema_name, view_name FROM duckdb_views() "
                                                    "WHERE NOT internal").fetchall()}
        lake = {str(t) for t in arrow_io.list_tables(ANALYST_LAYERS, settings or get_settings())}
        younger = sorted((wanted & lake) - views)
        if younger:
            raise AnalystInputError(f"{', '.join(younger)} did not exist yet as of {as_of} (created later): "
                             "pick a later --as-of or pin a --version")
    try:
        return con.execute(sql).to_arrow_table()
    except duckdb.PermissionException as exc:  # the lock caught what the check could not see
        raise ReadOnlyError(f"refused: {str(exc).splitlines()[0]}; citybrain sql reads the layer.table views "
                            "only") from exc


def run_sql(sql: str, *, versions: dict[str, int] | None = None, as_of: datetime | str | None = None,
            settings: Settings | None = None) -> pa.Table:
    """`citybrain sql`: ``query`` with an audit line (who, when, what, rows or why not) for every statement,
    written before any result is shown."""
    import time

    from citybrain.analyst import audit

    started = time.perf_counter()
    context = {"versions": versions or {}, "as_of": None if as_of is None else str(as_of)}
    try:
        result = query(sql, versions=versions, as_of=as_of, settings=settings)
    except AnalystInputError as exc:
        audit.record("sql", sql, audit.REFUSED, reason=str(exc), seconds=time.perf_counter() - started,
                     settings=settings, **context)
        raise
    except Exception as exc:
        audit.record("sql", sql, audit.FAILED, reason=str(exc).splitlines()[0] if str(exc) else type(exc).__name__,
                     seconds=time.perf_counter() - started, settings=settings, **context)
        raise
    audit.record("sql", sql, audit.OK, rows=result.num_rows, seconds=time.perf_counter() - started,
                 settings=settings, **context)
    return result


def write_database(path: str, *, layers: Iterable[str] = ANALYST_LAYERS, versions: dict[str, int] | None = None,
                   as_of: datetime | str | None = None, settings: Settings | None = None) -> dict[str, int]:
    """A DuckDB database file with every table materialised as layer.table (any DuckDB client opens it);
    returns table -> rows. An existing file is replaced only after the new one is complete. The connection runs
    only the statements below (no analyst SQL), so it stays unlocked to write the file; the export is audited."""
    import os
    import time

    from citybrain.analyst import audit

    layers = tuple(layers)
    tmp = f"{path}.tmp"
    for leftover in (tmp, f"{tmp}.wal"):
        if os.path.exists(leftover):
            os.remove(leftover)
    started = time.perf_counter()
    src, _ = _connect(layers, versions=versions, as_of=as_of, database=":memory:", only=None, settings=settings)
    src.execute("ATTACH '" + tmp.replace("'", "''") + "' AS target")
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
    audit.record("duckdb", f"write database {os.path.abspath(path)} (layers {', '.join(layers)})", audit.OK,
                 rows=sum(rows.values()), seconds=time.perf_counter() - started, settings=settings,
                 versions=versions or {}, as_of=None if as_of is None else str(as_of))
    return rows
