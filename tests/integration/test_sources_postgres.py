"""The same generation written to PostgreSQL and to SQLite holds the same rows (one schema per database)."""

from __future__ import annotations

import datetime as dt
import decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from citybrain.sources.generate import generate_sources
from citybrain.sources.readback import read_table
from citybrain.sources.spec import load_spec

pytestmark = pytest.mark.integration
CATALOG = Path(__file__).resolve().parents[2] / "catalog"


def _norm(value):
    """One comparable form for values that the two engines return with different Python types."""
    if value is None:
        return None
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, (float, decimal.Decimal)):
        return round(float(value), 4)
    if isinstance(value, str) and len(value) == 26 and value[10] == " ":  # SQLite text timestamp with micros
        return value[:19]
    return value


def test_postgres_receives_the_same_rows_as_sqlite(pg_url, tmp_path):
    args = {"scale": 0.002, "seed": 5, "days": 2, "faults": 0.03}
    sqlite_dir = tmp_path / "sqlite"
    generate_sources({"sources_dir": sqlite_dir, "catalog_dir": CATALOG}, **args)
    report = generate_sources({"sources_dir": tmp_path / "pg", "catalog_dir": CATALOG}, db_url=pg_url, **args)
    assert "postgres" in report.db_target and not (tmp_path / "pg" / "db").exists()
    spec = load_spec(CATALOG)
    engine = sa.create_engine(pg_url)
    compared = 0
    with engine.connect() as conn:
        schemas = set(sa.inspect(conn).get_schema_names())
        for name, res in sorted(spec.resources.items()):
            if res.source.kind != "database":
                continue
            assert res.source.database in schemas, f"schema {res.source.database} missing on the server"
            lite = sorted((tuple(_norm(v) for v in r.values()) for r in read_table(sqlite_dir, res)), key=repr)
            cols = ", ".join(f'"{c}"' for c in res.item_names)
            pg_rows = conn.exec_driver_sql(f'SELECT {cols} FROM "{res.source.database}"."{res.source.table}"')
            pg = sorted((tuple(_norm(v) for v in r) for r in pg_rows), key=repr)
            assert len(pg) == len(lite), f"{name}: {len(pg)} rows in PostgreSQL, {len(lite)} in SQLite"
            assert pg == lite, f"{name}: contents differ between PostgreSQL and SQLite"
            compared += len(pg)
    engine.dispose()
    assert compared > 1000


def _extract_rows(batch) -> list[tuple]:
    """The rows of a landed extract, normalised to one comparable text form."""
    import pyarrow.parquet as pq

    if not batch.landing_path:
        return []
    table = pq.read_table(batch.landing_path)
    # Bronze keeps values as the driver returns them: PostgreSQL booleans arrive as true/false where SQLite has
    # 1/0 (conform standardises both to true/false); everything else must be the same text.
    words = {"true": "1", "false": "0"}
    return sorted((tuple(words.get(v, v) for v in row.values()) for row in table.to_pylist()), key=repr)


def test_ingestion_pulls_the_same_windows_from_postgres_as_from_sqlite(pg, tmp_path, monkeypatch):
    """Watermark pulls of every database resource, day by day, from a real PostgreSQL server (one schema per
    department database, reached through the CITYBRAIN_SOURCE_URL_<DB> override with a search_path) give the
    same rows and the same watermarks as from the simulator's SQLite files."""
    from citybrain.catalog import load_catalog
    from citybrain.ingest.pull_db import SOURCE_URL_ENV, pull_database
    from citybrain.settings import Settings

    args = {"scale": 0.002, "seed": 11, "days": 2, "faults": "none"}
    lite = Settings(var_dir=tmp_path / "lite", sources_dir=tmp_path / "lite" / "sources")
    remote = Settings(var_dir=tmp_path / "pg", sources_dir=tmp_path / "pg" / "sources")
    url = pg.create_database("pulls")
    generate_sources({"sources_dir": lite.sources_dir, "catalog_dir": CATALOG}, **args)
    report = generate_sources({"sources_dir": remote.sources_dir, "catalog_dir": CATALOG}, db_url=url, **args)
    start = dt.date.fromisoformat(report.start_date)
    catalog = load_catalog(CATALOG)
    resources = [r for r in catalog.resources.values() if r.source.kind == "database"]
    assert len(resources) >= 10
    pulled = 0
    for res in resources:
        env = SOURCE_URL_ENV.format(res.source.database.upper())
        marks = {"lite": None, "pg": None}
        for day in (start, start + dt.timedelta(days=1)):
            monkeypatch.delenv(env, raising=False)  # the simulator's SQLite file
            a = pull_database(res, day, marks["lite"], lite)
            monkeypatch.setenv(env, f"{url}?options=-csearch_path%3D{res.source.database}")
            b = pull_database(res, day, marks["pg"], remote)
            assert a.rows_pulled == b.rows_pulled, f"{res.name} {day}: {a.rows_pulled} rows from SQLite, " \
                                                   f"{b.rows_pulled} from PostgreSQL"
            assert _extract_rows(a) == _extract_rows(b), f"{res.name} {day}: pulled rows differ"
            assert (a.watermark_to or "")[:19] == (b.watermark_to or "")[:19], res.name
            marks = {"lite": a.watermark_to or marks["lite"], "pg": b.watermark_to or marks["pg"]}
            pulled += b.rows_pulled
    assert pulled > 1000
