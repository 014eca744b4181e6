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
