"""Incremental database pulls: rows past the watermark (minus a look-back), landed as a Parquet extract.

A pull for logical date D reads the rows whose incremental key lies in the window
`watermark - lookback < key < D+1 00:00` (SQLAlchemy, any dialect), so successive logical dates (a backfill)
slice the source day by day and a row committed late with a key inside the look-back is still seen. Values are
kept as text exactly as the driver returned them.

The key is compared as a time, not as text (docs/lake-contract.md, "Database pulls"):
- SQL selects the window by comparison where that is exact: on a date/time column the database enforces, and on
  text in the canonical form `YYYY-MM-DD HH:MM:SS[...]`, whose text order is the time order (an index serves
  both). Rows SQL cannot place are selected by their own predicate: a NULL key, or text in another form
  (`2026/11/02 10:05:00`, `2026-11-02T10:05`, single-digit fields...); they are few, and every pull reads them.
- Python then decides each row with `watermarks.key_time`: inside the window it is pulled; outside it is not this
  pull's; a key that is null or no time at all cannot be placed in any window: the row is pulled (once, below)
  and counted in `null_key_rows`.
- De-duplication: the look-back and the unplaced rows are re-read by every pull. A re-read row identical to one
  already loaded (same digest of every column: key and content) is not landed again, only counted in
  `rows_reread`: bronze gets no copy and conform no unchanged version. A row with new content or a new key inside
  the window is pulled. The digests of the window a pull read are kept beside the landing folders
  (`pulled_window/`); the next pull uses those of the latest pull whose batch was loaded.
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from citybrain.ingest.batches import EMPTY, LOADED, Batch, make_batch_id, parse_batch_id, utcnow
from citybrain.ingest.control_io import read_rows
from citybrain.ingest.landing import batch_dir, landing_root, sha256_file
from citybrain.ingest.watermarks import (
    CANONICAL_KEY_LIKE,
    is_after,
    key_time,
    next_watermark,
    upper_bound,
    window_start,
)
from citybrain.settings import Settings, get_settings

if TYPE_CHECKING:
    from citybrain.catalog import Resource

log = logging.getLogger(__name__)
FETCH_ROWS = 50_000
SOURCE_URL_ENV = "CITYBRAIN_SOURCE_URL_{}"  # e.g. CITYBRAIN_SOURCE_URL_PSB=postgresql://... for a real system
PULLED_WINDOW_DIR = "pulled_window"
SAMPLE_KEYS = 5  # keys named in a log line or reason


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


def record_key(parts: list[str | None]) -> str | None:
    """Primary-key values joined by '|' (null when every part is empty): the record_key of quarantine rows."""
    if all(p is None or p == "" for p in parts):
        return None
    return "|".join(p or "" for p in parts)


def source_label(resource: Resource) -> str:
    src = resource.source
    return f"db:{src.database}.{src.table or 'query'}"


def source_origin(resource: Resource):
    """The FROM of a database resource: its table, or its catalogue query as a subquery."""
    import sqlalchemy as sa

    src = resource.source
    return sa.table(src.table) if src.table else sa.text(src.query).columns().subquery("src")


def window_fingerprint(label: str, key: str | None, start: str | None, upper: str) -> str:
    """The batch fingerprint of a pull window: a re-pull of the same window gets the same batch id."""
    return hashlib.sha256(f"{label}|{key}>{start}|<{upper}".encode()).hexdigest()[:12]


@dataclass(frozen=True)
class KeyColumn:
    """How SQL compares a source's incremental key: natively on an enforced date/time column, else as text."""

    name: str
    typed: bool  # a date/time column the database enforces (not SQLite): every value is a time or NULL

    @property
    def column(self):
        import sqlalchemy as sa

        return sa.column(self.name)

    def placeable(self):
        """Rows whose key SQL compares exactly: every non-null value of a typed column; canonical text."""
        import sqlalchemy as sa

        if self.typed:
            return self.column.is_not(None)
        return sa.cast(self.column, sa.String).like(CANONICAL_KEY_LIKE)

    def unplaced(self):
        """Rows SQL cannot place in a window (null key, text in another form): selected by every pull."""
        import sqlalchemy as sa

        return sa.or_(self.column.is_(None), sa.not_(self.placeable()))

    def window(self, start: str | None, upper: str):
        """`start < key < upper` as SQL compares it (exact for placeable rows; Python re-checks every row)."""
        import sqlalchemy as sa

        below = self.column < upper
        return below if start is None else sa.and_(self.column > start, below)


def key_column(conn, resource: Resource) -> KeyColumn:
    """The resource's incremental key as its database holds it (one catalogue look-up of the column type)."""
    import sqlalchemy as sa

    name, table = resource.incremental_key, resource.source.table
    typed = False
    if conn.dialect.name != "sqlite" and table:  # SQLite's column types are affinities: any text fits
        types = {c["name"]: c["type"] for c in sa.inspect(conn).get_columns(table)}
        typed = isinstance(types.get(name), sa.DateTime | sa.Date)
    return KeyColumn(name, typed)


def row_digest(header: str, values: list[str | None]) -> bytes:
    """Digest of a row as pulled (column names and every value, null distinct from empty): same digest, same row."""
    text = header + "\x1d" + "\x1f".join("\x00" if v is None else v for v in values)
    return hashlib.blake2b(text.encode(), digest_size=16).digest()


# -- the window a pull read: what the next pull need not land again ------------------------------------------

def pulled_window_dir(resource: Resource, settings: Settings | None = None) -> Path:
    return landing_root(settings) / resource.provider.lower() / resource.name / PULLED_WINDOW_DIR


def _window_file(folder: Path, batch: Batch) -> Path:
    _, day, fingerprint = parse_batch_id(batch.batch_id)
    return folder / f"{batch.extract_time:%Y%m%dT%H%M%S%f}_{day:%Y%m%d}_{fingerprint}.parquet"


def _window_batch_id(resource: str, path: Path) -> str:
    _, day, fingerprint = path.stem.split("_", 2)
    return f"{resource}:{day}:{fingerprint}"


@dataclass
class PulledWindow:
    """Digests of the rows one pull read (its window and its unplaced rows), with each row's key time."""

    times: dict[bytes, datetime | None] = field(default_factory=dict)  # digest -> key time (None: unplaced)

    def carried(self, cutoff: datetime | None) -> dict[bytes, datetime]:
        """Placed rows a later window may still re-read (key time past the cutoff)."""
        return {d: t for d, t in self.times.items() if t is not None and (cutoff is None or t > cutoff)}


def loaded_window(resource: Resource, settings: Settings | None = None) -> PulledWindow | None:
    """The window read by the latest pull whose batch was loaded (None before the first); older files go."""
    import pyarrow.parquet as pq

    from citybrain.ingest.audit import BATCHES_TABLE

    folder = pulled_window_dir(resource, settings)
    files = sorted(folder.glob("*.parquet"), reverse=True) if folder.is_dir() else []
    if not files:
        return None
    loaded = {r["batch_id"] for r in read_rows(BATCHES_TABLE, resource.name, settings) if r["status"] == LOADED}
    for index, path in enumerate(files):
        if _window_batch_id(resource.name, path) in loaded:
            for older in files[index + 1:]:  # superseded: each window carries what the next may re-read
                older.unlink(missing_ok=True)
            table = pq.read_table(path)
            return PulledWindow(dict(zip(table["digest"].to_pylist(), table["key_time"].to_pylist(), strict=True)))
    return None


def write_window(window: PulledWindow, resource: Resource, batch: Batch, settings: Settings | None = None) -> Path:
    """Keep the window a pull read, under the pull's time and batch id (used once the batch is loaded)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = pulled_window_dir(resource, settings)
    folder.mkdir(parents=True, exist_ok=True)
    target = _window_file(folder, batch)
    table = pa.table({"digest": pa.array(list(window.times), pa.binary(16)),
                      "key_time": pa.array(list(window.times.values()), pa.timestamp("us"))})
    tmp = target.with_name(f".{target.name}.tmp")
    pq.write_table(table, tmp)
    os.replace(tmp, target)
    return target


@dataclass
class _Sieve:
    """Decides each fetched row: inside the window or not this pull's; new, or re-read and already loaded."""

    columns: list[str]
    key_pos: int
    key_positions: list[int]
    start: datetime | None
    upper: datetime
    lookback: timedelta
    seen: PulledWindow
    read: PulledWindow = field(default_factory=PulledWindow)
    reread: int = 0
    unplaced: list[str | None] = field(default_factory=list)
    top: str | None = None
    top_time: datetime | None = None

    def __post_init__(self):
        self.prune_at = 2 * FETCH_ROWS
        self.order = sorted(range(len(self.columns)), key=lambda i: self.columns[i])
        self.header = "\x1f".join(self.columns[i] for i in self.order)

    def take(self, chunk) -> list[list[str | None]]:
        """The rows of a fetched chunk to land (text as pulled)."""
        kept = []
        for row in chunk:
            texts = [as_text(v) for v in row]
            moment = key_time(texts[self.key_pos])
            if moment is not None and not ((self.start is None or moment > self.start) and moment < self.upper):
                continue  # a form SQL could not compare, outside this window: another pull's row
            digest = row_digest(self.header, [texts[i] for i in self.order])
            self.read.times[digest] = moment
            if digest in self.seen.times:
                self.reread += 1
                continue
            if moment is None:
                self.unplaced.append(record_key([texts[i] for i in self.key_positions]))
            elif self.top_time is None or moment > self.top_time:
                self.top, self.top_time = texts[self.key_pos], moment
            kept.append(texts)
        if self.top_time is not None and len(self.read.times) > self.prune_at:
            # a first pull reads the whole table: keep only what a later look-back can re-read
            self.read = PulledWindow({**self.read.carried(self.top_time - self.lookback),
                                      **{d: t for d, t in self.read.times.items() if t is None}})
            self.prune_at = max(self.prune_at, 2 * len(self.read.times))
        return kept

    def next_window(self, watermark: str | None) -> PulledWindow:
        """What the next pull may re-read: this pull's unplaced rows and its placed ones within the look-back."""
        moment = key_time(next_watermark(watermark, self.top))
        cutoff = None if moment is None else moment - self.lookback
        return PulledWindow({**self.seen.carried(cutoff), **self.read.carried(cutoff),
                             **{d: t for d, t in self.read.times.items() if t is None}})


def pull_database(resource: Resource, batch_date: date, watermark: str | None,
                  settings: Settings | None = None) -> Batch:
    """Pull the rows of the window (up to the end of `batch_date`) not loaded before into a landed Parquet extract."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    import sqlalchemy as sa

    from citybrain.catalog.fields import lookback_text

    settings = settings or get_settings()
    src, key = resource.source, resource.incremental_key
    label, upper = source_label(resource), upper_bound(batch_date)
    start = window_start(watermark, src.lookback) if key else None
    batch = Batch(resource.name, resource.provider, "", batch_date, label, watermark_from=start,
                  extract_time=utcnow())
    batch.batch_id = make_batch_id(resource.name, batch_date, window_fingerprint(label, key, start, upper))
    if key and start is not None and not is_after(upper, start):
        batch.status, batch.rows_pulled = EMPTY, 0
        batch.reason = (f"watermark {key}={watermark} minus the look-back {lookback_text(src.lookback)} is already at "
                        f"or past the end of {batch_date} ({upper}): nothing of this date is left to pull")
        return batch

    select = sa.select(sa.text("*")).select_from(source_origin(resource))
    by_key = [sa.column(k) for k in resource.primary_key]
    folder = batch_dir(resource.provider, batch.batch_id, settings)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{src.table or resource.name}_{batch_date:%Y%m%d}.parquet"
    tmp = target.with_name(f".{target.name}.tmp")
    rows, sieve, writer = 0, None, None
    engine = sa.create_engine(source_url(src.database, settings))
    try:
        with engine.connect() as conn:
            queries = [select.order_by(*by_key)]
            if key:
                # two disjoint selections, so that each can use the key's index: the window, then the rows SQL
                # cannot place (one scan of the key column where it is text)
                column = key_column(conn, resource)
                queries = [select.where(sa.and_(column.window(start, upper), column.placeable()))
                           .order_by(column.column, *by_key),
                           select.where(column.unplaced()).order_by(*by_key)]
            for query in queries:
                result = conn.execution_options(stream_results=True).execute(query)
                if writer is None:
                    columns = list(result.keys())
                    if key and key not in columns:
                        raise KeyError(f"{label} has no column {key!r}: the catalogue's incremental_key of "
                                       f"{resource.name} is missing from the source table (schema drift); fix the "
                                       "source or the catalogue")
                    schema = pa.schema([(c, pa.string()) for c in columns])
                    if key:
                        sieve = _Sieve(columns, columns.index(key),
                                       [columns.index(k) for k in resource.primary_key if k in columns],
                                       key_time(start), key_time(upper), src.lookback,
                                       loaded_window(resource, settings) or PulledWindow())
                    writer = pq.ParquetWriter(tmp, schema)
                while chunk := result.fetchmany(FETCH_ROWS):
                    kept = sieve.take(chunk) if sieve else [[as_text(v) for v in r] for r in chunk]
                    if kept:
                        arrays = [pa.array([r[i] for r in kept], pa.string()) for i in range(len(columns))]
                        writer.write_table(pa.Table.from_arrays(arrays, schema=schema))
                        rows += len(kept)
            writer.close()
    except BaseException:
        if writer is not None:
            writer.close()
        tmp.unlink(missing_ok=True)
        if not any(folder.iterdir()):
            folder.rmdir()
        raise
    finally:
        engine.dispose()
    batch.rows_pulled = rows
    if sieve:
        batch.rows_reread, batch.null_key_rows = sieve.reread, len(sieve.unplaced)
    if rows == 0:
        tmp.unlink(missing_ok=True)
        if not any(folder.iterdir()):
            folder.rmdir()
        batch.status = EMPTY
        batch.reason = f"no new rows in {label} with {start or '-∞'} < {key} < {upper}" if key else \
            f"no rows in {label}"
        if batch.rows_reread:
            batch.reason += (f"; {batch.rows_reread} row(s) re-read (look-back {lookback_text(src.lookback)}, or a key "
                             "no window holds) are identical to rows already loaded")
        return batch
    os.replace(tmp, target)
    batch.file_name, batch.landing_path, batch.checksum = target.name, str(target), sha256_file(target)
    if sieve:
        batch.watermark_to = sieve.top
        write_window(sieve.next_window(watermark), resource, batch, settings)
        if sieve.unplaced:
            sample = ", ".join(str(k) for k in sieve.unplaced[:SAMPLE_KEYS])
            log.warning("%s: %d row(s) with a null or unreadable %s (keys %s%s) pulled and flagged (null_key_rows): no "
                        "watermark window holds them, so every pull re-reads them and lands them once; conform "
                        "quarantines them when %s is required", label, len(sieve.unplaced), key, sample,
                        ", …" if len(sieve.unplaced) > SAMPLE_KEYS else "", key)
    return batch
