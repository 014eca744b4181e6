"""The same generation written to PostgreSQL and to SQLite holds the same rows (one schema per database)."""

from __future__ import annotations

import datetime as dt
import decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from pg_server import pg_url  # noqa: F401  (session fixture)

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


def test_postgres_receives_the_same_rows_as_sqlite(pg_url, tmp_path):  # noqa: F811
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
