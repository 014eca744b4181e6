"""The analyst and open-data commands on a small lake: sql (table, CSV, JSON, --version, errors), duckdb,
releases list/show/scan/export (logged)."""

import csv
import io
import json
import os

import pytest

pytestmark = pytest.mark.integration
QUERY = "SELECT district_code, count(*) AS n FROM gold.indicator_values GROUP BY 1 ORDER BY 1"


@pytest.fixture(scope="module")
def cli_lake(tmp_path_factory):
    from citybrain.opendata.sample import write_sample_lake, write_table
    from citybrain.settings import get_settings, reset_settings

    root = tmp_path_factory.mktemp("cli-lake")
    keys = {"CITYBRAIN_LAKE_URI": str(root / "lake"), "CITYBRAIN_OPEN_DIR": str(root / "open")}
    saved = {k: os.environ.get(k) for k in keys}
    os.environ.update(keys)
    reset_settings()
    settings = get_settings()
    write_sample_lake(settings)
    from citybrain.lake.arrow_io import read_arrow

    write_table("gold.indicator_values", read_arrow("gold.indicator_values", settings=settings).slice(0, 8), settings)
    yield settings
    for key, value in saved.items():
        os.environ.pop(key, None) if value is None else os.environ.__setitem__(key, value)
    reset_settings()


def _run(*args):
    from typer.testing import CliRunner

    from citybrain.cli import app

    return CliRunner().invoke(app, list(args))


def test_sql_outputs_and_time_travel(cli_lake):
    now = _run("sql", "--csv", QUERY)
    assert now.exit_code == 0, now.output
    rows = list(csv.DictReader(io.StringIO(now.output)))
    assert sum(int(r["n"]) for r in rows) == 8
    old = _run("sql", "--json", QUERY, "--version", "gold.indicator_values=0")
    assert old.exit_code == 0, old.output
    assert sum(r["n"] for r in json.loads(old.output)) == 120
    table = _run("sql", QUERY)
    assert table.exit_code == 0 and "370602" in table.output
    bad = _run("sql", QUERY, "--version", "gold.nope=1")
    assert bad.exit_code != 0
    assert _run("sql", "SELECT * FROM gold.missing_table").exit_code == 1


def test_duckdb_file_and_releases_commands(cli_lake, tmp_path):
    import duckdb

    db = tmp_path / "lake.duckdb"
    out = _run("duckdb", str(db))
    assert out.exit_code == 0, out.output
    assert duckdb.connect(str(db), read_only=True).execute("SELECT count(*) FROM gold.indicator_values").fetchone() == (8,)
    published = _run("publish", "--json")
    assert published.exit_code == 0, published.output
    version = json.loads(published.output[published.output.index("{"):])["version"]
    listed = _run("releases", "list")
    assert listed.exit_code == 0 and version in listed.output
    assert "le_enterprise" in _run("releases", "show").output
    assert _run("releases", "scan", str(cli_lake.open_dir / "latest")).exit_code == 0
    exported = _run("releases", "export", "pop_resident", "--to", str(tmp_path / "out"), "--purpose", "研究",
                    "--agreement", "DUA-1", "--who", "analyst2")
    assert exported.exit_code == 0, exported.output
    log = _run("releases", "exports", "--json")
    assert [r["who"] for r in json.loads(log.output)] == ["analyst2"]


# Each statement and the words its refusal must contain (exit 2, one line, nothing written, audited as refused).
REFUSED = [
    ("COPY silver.pop_resident (id_number, name) TO '{out}/ids.csv'", "COPY statements are refused"),
    ("COPY (SELECT 1 AS x) TO '{delta_log}'", "COPY statements are refused"),  # the _delta_log overwrite
    ("ATTACH '{out}/other.db' AS other", "ATTACH statements are refused"),
    ("INSTALL httpfs", "INSTALL statements are refused"),
    ("LOAD httpfs", "LOAD statements are refused"),
    ("EXPORT DATABASE '{out}/dump'", "EXPORT statements are refused"),
    ("CREATE TABLE t AS SELECT 1", "CREATE statements are refused"),
    ("INSERT INTO gold.indicator_values SELECT * FROM gold.indicator_values", "INSERT statements are refused"),
    ("SET enable_external_access = true", "SET statements are refused"),
    ("EXPLAIN ANALYZE COPY (SELECT 1) TO '{out}/e.csv'", "COPY statements are refused"),
    ("SELECT 1; COPY (SELECT 1) TO '{out}/two.csv'", "2 statements given"),
    ("SELECT * FROM read_csv('/etc/passwd')", "table function read_csv() is refused"),
    ("SELECT * FROM gold.indicator_values, read_parquet('{out}/*.parquet')", "table function read_parquet() is refused"),
    ("WITH f AS (SELECT * FROM glob('/etc/*')) SELECT * FROM f", "table function glob() is refused"),
    ("SELECT * FROM read_text('/etc/hostname')", "table function read_text() is refused"),
    ("SELECT * FROM query('SELECT 1')", "table function query() is refused"),
    ("SELECT * FROM '/etc/passwd'", "'/etc/passwd' as a table is refused: a file path"),
]


def test_sql_refuses_writes_files_and_extensions_and_audits_them(cli_lake, tmp_path):
    from pathlib import Path

    from citybrain.analyst.audit import read_audit

    lake = Path(cli_lake.lake_uri)
    delta_log = max((lake / "silver" / "pop_resident" / "_delta_log").glob("*.json"))
    before = {p: p.read_bytes() for p in lake.rglob("*") if p.is_file()}
    audited = len(read_audit(cli_lake))
    for statement, refusal in REFUSED:
        sql = statement.format(out=tmp_path, delta_log=delta_log)
        result = _run("sql", sql)
        assert result.exit_code == 2, (sql, result.output)
        assert refusal in result.output and len(result.output.strip().splitlines()) == 1, (sql, result.output)
    assert list(tmp_path.iterdir()) == []  # nothing exported
    assert {p: p.read_bytes() for p in lake.rglob("*") if p.is_file()} == before  # the lake untouched
    lines = read_audit(cli_lake)[audited:]
    assert [(line["outcome"], line["statement"]) for line in lines] == [
        ("refused", s.format(out=tmp_path, delta_log=delta_log)) for s, _ in REFUSED]
    assert all(line["user"] and line["at"] and line["reason"] for line in lines)


def test_sql_audits_who_ran_what_and_rows_returned(cli_lake):
    import getpass

    from citybrain.analyst.audit import read_audit

    ok = _run("sql", "--json", QUERY)
    assert ok.exit_code == 0, ok.output
    line = read_audit(cli_lake)[-1]
    assert (line["entry"], line["user"], line["statement"], line["outcome"], line["rows"]) == (
        "sql", getpass.getuser(), QUERY, "ok", len(json.loads(ok.output)))
    for ordinary in ("SHOW TABLES", "DESCRIBE gold.indicator_values", "EXPLAIN " + QUERY,
                     "SELECT count(*) AS n FROM range(3)"):  # what analysts do still works
        assert _run("sql", ordinary).exit_code == 0, ordinary


def test_locked_connection_refuses_writes_by_itself(cli_lake, tmp_path):
    # the engine's own lock, for Python users of connect() who skip the statement check
    import duckdb

    from citybrain.analyst.sql import connect

    con = connect(settings=cli_lake)
    assert con.execute("SELECT count(*) FROM gold.indicator_values").fetchone() == (8,)
    for statement in (f"COPY (SELECT 1) TO '{tmp_path}/x.csv'", "SELECT * FROM read_csv('/etc/passwd')",
                      f"ATTACH '{tmp_path}/x.db'", "LOAD httpfs"):
        with pytest.raises(duckdb.PermissionException):
            con.execute(statement)
    with pytest.raises(duckdb.InvalidInputException, match="locked"):
        con.execute("SET enable_external_access = true")
    assert list(tmp_path.iterdir()) == []


def test_sql_time_errors_name_the_value(cli_lake):
    bad = _run("sql", QUERY, "--as-of", "not-a-date")
    assert bad.exit_code == 2 and bad.output.strip() == (
        "error: Invalid value for '--as-of': 'not-a-date' is not a time: write ISO 8601, e.g. 2026-11-20, "
        "2026-11-20T08:00:00Z or 2026-11-20 08:00+08:00")
    early = _run("sql", QUERY, "--as-of", "2000-01-01")
    assert early.exit_code == 2 and "gold.indicator_values did not exist yet as of 2000-01-01" in early.output
    typo = _run("sql", QUERY, "--version", "gold.indicator_valus=0")
    assert typo.exit_code == 2 and "unknown table 'gold.indicator_valus' (did you mean 'gold.indicator_values'" in typo.output
