"""Spark-free reads of Delta tables (deltalake + Arrow) and DuckDB views over them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from citybrain.lake.names import LAYERS, TableName, table_uri
from citybrain.settings import Settings, get_settings

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa
    import pyarrow.dataset as ds
    from deltalake import DeltaTable


def _storage_options(settings: Settings) -> dict[str, str] | None:
    if settings.lake_is_local or not settings.s3_endpoint:
        return None
    opts = {"AWS_ENDPOINT_URL": settings.s3_endpoint, "AWS_ALLOW_HTTP": "true", "AWS_S3_ALLOW_UNSAFE_RENAME": "true"}
    if settings.s3_access_key and settings.s3_secret_key:
        opts["AWS_ACCESS_KEY_ID"] = settings.s3_access_key.get_secret_value()
        opts["AWS_SECRET_ACCESS_KEY"] = settings.s3_secret_key.get_secret_value()
    return opts


def _delta_rs_uri(uri: str) -> str:
    # delta-rs speaks s3://, Spark's Hadoop connector s3a://: same objects.
    return "s3://" + uri.removeprefix("s3a://") if uri.startswith("s3a://") else uri


def delta_table(
    name: str | TableName,
    *,
    version: int | None = None,
    as_of: datetime | str | None = None,
    settings: Settings | None = None,
) -> DeltaTable:
    """The deltalake handle of a table, optionally at a version or a point in time."""
    from deltalake import DeltaTable

    settings = settings or get_settings()
    table = DeltaTable(
        _delta_rs_uri(table_uri(name, settings)), version=version, storage_options=_storage_options(settings)
    )
    if as_of is not None:
        table.load_as_version(as_of)
    return table


def has_deletion_vectors(table: DeltaTable) -> bool:
    """Whether the table's protocol needs a reader of deletion vectors (a table someone enabled them on, then
    MERGEd or DELETEd): deltalake's pyarrow scanner cannot apply them (delta-rs #2829), its DataFusion reader can."""
    return "deletionVectors" in (table.protocol().reader_features or [])


def snapshot_dataset(table: DeltaTable) -> ds.Dataset:
    """An Arrow dataset of the table's live rows: a lazily scanned one of its files, or, when rows are
    deleted by deletion vectors, the rows read through deltalake's DataFusion reader (materialised)."""
    if not has_deletion_vectors(table):
        return table.to_pyarrow_dataset()
    import pyarrow as pa
    import pyarrow.dataset as ds
    from deltalake import QueryBuilder

    rows = pa.table(QueryBuilder().register("t", table).execute("SELECT * FROM t"))
    return ds.dataset(rows.cast(pa.schema(table.schema().to_arrow())))


def read_arrow(name: str | TableName, *, columns: list[str] | None = None, **kw) -> pa.Table:
    """The whole table as an Arrow table (small tables; prefer `arrow_dataset` for large ones)."""
    return snapshot_dataset(delta_table(name, **kw)).to_table(columns=columns)


def read_rows(name: str | TableName, settings: Settings | None = None, columns: list[str] | None = None,
              **equals) -> list[dict]:
    """Rows of a small table as dicts, filtered on column == value; [] before the table's first write."""
    import pyarrow.compute as pc

    if not table_exists(name, settings):
        return []
    data = read_arrow(name, columns=columns, settings=settings)
    for column, value in equals.items():
        data = data.filter(pc.equal(data[column], value))
    return data.to_pylist()


def arrow_dataset(name: str | TableName, **kw) -> ds.Dataset:
    """An Arrow dataset of the table's current rows (lazily scanned files: DuckDB pushes filters into it)."""
    return snapshot_dataset(delta_table(name, **kw))


def is_commit_file(file_name: str) -> bool:
    """A Delta log entry that makes a version readable: a commit (00000000000000000003.json) or a checkpoint."""
    stem = file_name.split(".", 1)[0]
    return len(stem) == 20 and stem.isdigit() and (file_name.endswith(".json") or ".checkpoint." in file_name)


def _has_commit(names: Iterable[str]) -> bool:
    return any(is_commit_file(n) for n in names)


def table_exists(name: str | TableName, settings: Settings | None = None) -> bool:
    """Whether the table has a first commit. A `_delta_log/` without one (a writer killed between creating the
    folder and committing version 0) is no table: readers would fail on it, and the next write creates it."""
    settings = settings or get_settings()
    uri = table_uri(name, settings)
    if settings.lake_is_local:
        log = Path(uri.removeprefix("file://"), "_delta_log")
        return log.is_dir() and _has_commit(p.name for p in log.iterdir())
    return bool(_s3_tables_with_commits([uri.split("://", 1)[1].rstrip("/")], settings))


def list_tables(layers: Iterable[str] = LAYERS, settings: Settings | None = None) -> list[TableName]:
    """Every Delta table under the given layers of the lake (a local path or an s3a:// bucket prefix)."""
    settings = settings or get_settings()
    if not settings.lake_is_local:
        return _list_s3_tables(layers, settings)
    found = []
    for layer in layers:
        root = Path(settings.lake_uri.removeprefix("file://"), layer)
        if root.is_dir():
            found += [TableName(layer, p.name) for p in sorted(root.iterdir())
                      if table_exists(TableName(layer, p.name), settings)]
    return found


def s3_filesystem(settings: Settings):
    """A pyarrow S3 filesystem for the lake's bucket: the settings' endpoint and keys, else the AWS environment."""
    from urllib.parse import urlparse

    from pyarrow import fs

    kwargs: dict = {}
    if settings.s3_endpoint:
        endpoint = urlparse(settings.s3_endpoint)
        kwargs.update(endpoint_override=endpoint.netloc or endpoint.path, scheme=endpoint.scheme or "https",
                      force_virtual_addressing=False)
    if settings.s3_access_key and settings.s3_secret_key:
        kwargs.update(access_key=settings.s3_access_key.get_secret_value(),
                      secret_key=settings.s3_secret_key.get_secret_value())
    return fs.S3FileSystem(**kwargs)


def _list_s3_tables(layers: Iterable[str], settings: Settings) -> list[TableName]:
    """Tables of an s3a:// lake: the layer prefixes' sub-prefixes whose _delta_log/ holds a commit."""
    from pyarrow import fs

    s3 = s3_filesystem(settings)
    root = settings.lake_uri.split("://", 1)[1].rstrip("/")
    found = []
    for layer in layers:
        try:
            entries = s3.get_file_info(fs.FileSelector(f"{root}/{layer}", allow_not_found=True))
        except OSError as exc:
            raise OSError(f"Cannot list {settings.lake_uri}/{layer} (endpoint {settings.s3_endpoint or 'AWS'}): "
                          f"{exc}") from exc
        tables = sorted(e.base_name for e in entries if e.type == fs.FileType.Directory)
        committed = set(_s3_tables_with_commits([f"{root}/{layer}/{t}" for t in tables], settings, s3))
        found += [TableName(layer, t) for t in tables if f"{root}/{layer}/{t}" in committed]
    return found


def _s3_tables_with_commits(prefixes: list[str], settings: Settings, s3=None) -> list[str]:
    """The table prefixes (bucket/path, no scheme) whose _delta_log/ holds a commit or checkpoint."""
    from pyarrow import fs

    s3 = s3 or s3_filesystem(settings)
    out = []
    for prefix in prefixes:
        entries = s3.get_file_info(fs.FileSelector(f"{prefix}/_delta_log", allow_not_found=True))
        if _has_commit(e.base_name for e in entries):
            out.append(prefix)
    return out


def duckdb_connect(
    layers: Iterable[str] = ("silver", "gold", "open"),
    *,
    database: str = ":memory:",
    version: int | None = None,
    as_of: datetime | str | None = None,
    settings: Settings | None = None,
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with one view per table, named layer.table, read through Arrow (no Spark)."""
    import duckdb

    con = duckdb.connect(database)
    for name in list_tables(layers, settings):
        dataset = arrow_dataset(name, version=version, as_of=as_of, settings=settings)
        con.execute(f'CREATE SCHEMA IF NOT EXISTS "{name.layer}"')
        con.register(f"__arrow_{name.layer}_{name.table}", dataset)
        con.execute(
            f'CREATE OR REPLACE VIEW "{name.layer}"."{name.table}" AS SELECT * FROM "__arrow_{name.layer}_{name.table}"'
        )
    return con


def append_arrow(name: str | TableName, data: pa.Table, *, settings: Settings | None = None) -> None:
    """Append an Arrow table without Spark (small control and audit tables); creates the table."""
    from deltalake import write_deltalake

    settings = settings or get_settings()
    # schema_mode merge: a log that gains a column in a release takes it (null in its older rows).
    write_deltalake(_delta_rs_uri(table_uri(name, settings)), data, mode="append", schema_mode="merge",
                    storage_options=_storage_options(settings))


def overwrite_arrow(name: str | TableName, data: pa.Table, *, settings: Settings | None = None) -> None:
    """Replace a small table's contents (and schema) without Spark, as a new Delta version."""
    from deltalake import write_deltalake

    settings = settings or get_settings()
    write_deltalake(_delta_rs_uri(table_uri(name, settings)), data, mode="overwrite", schema_mode="overwrite",
                    storage_options=_storage_options(settings))
