"""Department sources on disk: databases through SQLAlchemy (SQLite or PostgreSQL) and file drops.

Databases: one SQLite file per logical database under ``db/`` by default, or, given a SQLAlchemy
URL, one schema per logical database on that server (PostgreSQL). Columns follow the catalogue:
C -> VARCHAR(length), M -> TEXT, I -> BIGINT, N/Y -> NUMERIC(p, s), F/B -> DOUBLE, L -> BOOLEAN;
D and T items are text (``YYYY-MM-DD`` / ``YYYY-MM-DD HH:MM:SS``) because department systems do
hold impossible dates, except the incremental key, which is a TIMESTAMP so watermark comparisons
work on every engine. Tables have no primary-key constraint (real extracts hold duplicates) but
an index on the key. Day 0 creates and fills each table; later days replace the rows whose keys
changed (delete + insert), which is what an incremental pull by ``updated_at`` then sees.

Files: ``files/<provider folder>/<stem>_YYYYMMDD.<ext>`` as CSV (UTF-8 or GBK, the catalogue's
delimiter), JSON Lines or Excel .xlsx with fixed workbook timestamps.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa

from citybrain.sources.spec import ItemSpec, ResourceSpec

CHUNK_ROWS = 50_000


def sql_type(item: ItemSpec, incremental_key: str | None) -> sa.types.TypeEngine:
    """SQL column type of a catalogue item in a department database."""
    t = item.type.upper()
    if item.name == incremental_key and t in ("T", "D"):
        return sa.DateTime()
    if t == "C":
        return sa.String(item.length or 255)
    if t == "M":
        return sa.Text()
    if t == "I":
        return sa.BigInteger()
    if t in ("N", "Y"):
        return sa.Numeric(item.length or 18, item.scale or 0)
    if t in ("F", "B"):
        return sa.Float()
    if t == "L":
        return sa.Boolean()
    if t == "D":
        return sa.String(10)
    if t == "T":
        return sa.String(19)
    return sa.Text()


def _column(series: pd.Series) -> np.ndarray:
    """A column as Python objects (int, float, bool, str) with None for missing values."""
    if series.dtype == object:
        out = series.to_numpy(copy=True)
        missing = pd.isna(out)
        if missing.any():
            out[missing] = None
        return out
    if series.dtype.kind == "f":
        f = series.to_numpy()
        out = f.astype(object)
        out[np.isnan(f)] = None
        return out
    return series.to_numpy(dtype=object, na_value=None)


def frame_rows(frame: pd.DataFrame):
    """Row tuples of a frame in chunks of plain Python values, missing values as None."""
    cols = [_column(frame[c]) for c in frame.columns]
    for start in range(0, len(frame), CHUNK_ROWS):
        yield list(zip(*[c[start:start + CHUNK_ROWS] for c in cols], strict=True))


class DatabaseWriter:
    """Writes database-bound resources: SQLite files under ``db_dir`` or schemas on a server URL."""

    def __init__(self, db_dir: Path | None = None, url: str | None = None):
        if not db_dir and not url:
            raise ValueError("DatabaseWriter needs a folder for SQLite files or a SQLAlchemy URL")
        self.db_dir = Path(db_dir) if db_dir else None
        self.url = url
        self.engines: dict[str, sa.Engine] = {}
        self.tables: dict[str, sa.Table] = {}

    def _engine(self, database: str) -> sa.Engine:
        if database not in self.engines:
            if self.url:
                eng = sa.create_engine(self.url, future=True)
                with eng.begin() as conn:
                    conn.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{database}"')
            else:
                self.db_dir.mkdir(parents=True, exist_ok=True)
                path = self.db_dir / f"{database}.sqlite"
                if path.exists():
                    path.unlink()
                eng = sa.create_engine(f"sqlite:///{path}", future=True)

                @sa.event.listens_for(eng, "connect")
                def _fast(dbapi_conn, _record):  # generated data: no need for crash safety while writing
                    cur = dbapi_conn.cursor()
                    cur.execute("PRAGMA journal_mode=OFF")
                    cur.execute("PRAGMA synchronous=OFF")
                    cur.execute("PRAGMA temp_store=MEMORY")
                    cur.close()
            self.engines[database] = eng
        return self.engines[database]

    def location(self, res: ResourceSpec) -> str:
        """Where a resource's table lives, for reports and error messages."""
        src = res.source
        if self.url:
            return f"{sa.engine.make_url(self.url).render_as_string(hide_password=True)} {src.database}.{src.table}"
        return f"{self.db_dir / (src.database + '.sqlite')}:{src.table}"

    def create(self, res: ResourceSpec) -> sa.Table:
        """(Re)create a resource's table; its indexes come after the initial load (faster bulk insert)."""
        src = res.source
        eng = self._engine(src.database)
        md = sa.MetaData(schema=src.database if self.url else None)
        table = sa.Table(src.table, md, *[sa.Column(i.name, sql_type(i, res.incremental_key)) for i in res.items])
        with eng.begin() as conn:
            table.drop(conn, checkfirst=True)
            md.create_all(conn)
        self.tables[res.name] = table
        return table

    def _index(self, conn, res: ResourceSpec, table: sa.Table) -> None:
        """Indexes on the primary key (day deltas replace rows by key) and on the watermark column."""
        indexes = []
        if res.primary_key:
            indexes.append(sa.Index(f"ix_{table.name}_key", *[table.c[k] for k in res.primary_key]))
        if res.incremental_key:
            indexes.append(sa.Index(f"ix_{table.name}_{res.incremental_key}", table.c[res.incremental_key]))
        for ix in indexes:
            ix.create(conn)

    def write(self, res: ResourceSpec, frame: pd.DataFrame, day: int, replace_keys: list[tuple] | None = None) -> None:
        """Day 0: create and fill; later days: delete the rows of changed keys, then insert the day's rows."""
        table = self.tables[res.name] if res.name in self.tables else self.create(res)
        eng = self._engine(res.source.database)
        try:
            with eng.begin() as conn:
                if day > 0 and replace_keys and res.primary_key:
                    self._delete(conn, res, table, replace_keys)
                self._insert(conn, res, table, frame)
                if day == 0:
                    self._index(conn, res, table)
        except sa.exc.SQLAlchemyError as exc:
            raise RuntimeError(f"writing {res.name} (day {day}) to {self.location(res)} failed: {exc}") from exc

    def _delete(self, conn, res: ResourceSpec, table: sa.Table, keys: list[tuple]) -> None:
        cond = sa.and_(*[table.c[k] == sa.bindparam(f"k_{k}") for k in res.primary_key])
        stmt = table.delete().where(cond)
        params = [{f"k_{k}": v for k, v in zip(res.primary_key, key, strict=True)} for key in keys]
        for start in range(0, len(params), CHUNK_ROWS):
            conn.execute(stmt, params[start:start + CHUNK_ROWS])

    def _insert(self, conn, res: ResourceSpec, table: sa.Table, frame: pd.DataFrame) -> None:
        if not len(frame):
            return
        if conn.dialect.name == "postgresql":
            self._copy(conn, table, frame)
            return
        cols = ", ".join(f'"{c}"' for c in frame.columns)
        marks = ", ".join("?" for _ in frame.columns)
        sql = f'INSERT INTO "{table.name}" ({cols}) VALUES ({marks})'
        for rows in frame_rows(frame):
            conn.exec_driver_sql(sql, rows)

    @staticmethod
    def _copy(conn, table: sa.Table, frame: pd.DataFrame) -> None:
        """PostgreSQL bulk load through COPY (the driver's fastest path), chunk by chunk."""
        raw = conn.connection.dbapi_connection
        cols = ", ".join(f'"{c}"' for c in frame.columns)
        target = f'"{table.schema}"."{table.name}"' if table.schema else f'"{table.name}"'
        with raw.cursor() as cur:
            for rows in frame_rows(frame):
                buf = io.StringIO()
                w = csv.writer(buf, lineterminator="\n")
                for row in rows:
                    w.writerow(["\\N" if v is None else ("t" if v is True else "f" if v is False else v) for v in row])
                buf.seek(0)
                cur.copy_expert(f"COPY {target} ({cols}) FROM STDIN WITH (FORMAT csv, NULL '\\N')", buf)

    def dispose(self) -> None:
        """Close every connection (SQLite files are complete after this)."""
        for eng in self.engines.values():
            eng.dispose()


# -- file drops ----------------------------------------------------------------------------------------

EXTENSIONS = {"csv": "csv", "jsonl": "jsonl", "xlsx": "xlsx"}


def drop_path(files_dir: Path, res: ResourceSpec, date: dt.date) -> Path:
    """``files/<folder>/<stem>_YYYYMMDD.<ext>`` of a resource's drop on a date."""
    src = res.source
    return files_dir / src.folder / f"{src.stem}_{date.strftime('%Y%m%d')}.{EXTENSIONS[src.format]}"


def csv_text(frame: pd.DataFrame, delimiter: str = ",") -> str:
    """CSV text of a frame: header, ``\\n`` line ends, empty cells for missing values."""
    buf = io.StringIO()
    frame.to_csv(buf, index=False, sep=delimiter, lineterminator="\n", na_rep="")
    return buf.getvalue()


def write_csv(path: Path, frame: pd.DataFrame, encoding: str, delimiter: str = ",") -> bytes:
    """Write a CSV drop; returns the bytes written (file faults work on them)."""
    try:
        data = csv_text(frame, delimiter).encode(encoding)
    except UnicodeEncodeError as exc:
        raise ValueError(f"{path}: a value cannot be written in {encoding}: {exc}") from exc
    path.write_bytes(data)
    return data


def write_jsonl(path: Path, frame: pd.DataFrame) -> bytes:
    """Write a JSON Lines drop (UTF-8, one object per row, keys in catalogue order)."""
    cols = list(frame.columns)
    lines = []
    for rows in frame_rows(frame):
        for row in rows:
            lines.append(json.dumps(dict(zip(cols, row, strict=True)), ensure_ascii=False,
                                    separators=(",", ":")))
    data = ("\n".join(lines) + ("\n" if lines else "")).encode("utf-8")
    path.write_bytes(data)
    return data


def write_xlsx(path: Path, frame: pd.DataFrame, date: dt.date, header_only: bool = False) -> None:
    """Write an Excel export with fixed workbook timestamps (identical bytes for identical data)."""
    import xlsxwriter

    stamp = dt.datetime(date.year, date.month, date.day, 6, 0, 0)
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_urls": False,
                                         "strings_to_formulas": False, "strings_to_numbers": False})
    wb.set_properties({"created": stamp, "author": "citybrain source simulator"})
    ws = wb.add_worksheet("data")
    ws.write_row(0, 0, list(frame.columns))
    if not header_only:
        r = 1
        for rows in frame_rows(frame):
            for row in rows:
                for c, v in enumerate(row):
                    if v is None:
                        continue
                    if isinstance(v, bool):
                        ws.write_boolean(r, c, v)
                    elif isinstance(v, (int, float)):
                        ws.write_number(r, c, v)
                    else:
                        ws.write_string(r, c, str(v))
                r += 1
    wb.close()
