"""`citybrain sql` (DuckDB over Delta through Arrow) returns what Spark returns for the same tables and
versions; time travel by version and as of a time; the DuckDB file holds the same rows."""

import datetime as dt
import time

import pytest

pytestmark = pytest.mark.spark

QUERY = ("SELECT district_code, count(*) AS n, round(sum(value), 6) AS total, min(period) AS first "
         "FROM gold.indicator_values WHERE period_type = 'day' GROUP BY district_code ORDER BY district_code")


@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    from citybrain.opendata.publish import run_publish
    from citybrain.opendata.sample import write_sample_lake
    from citybrain.settings import Settings, get_settings

    root = tmp_path_factory.mktemp("analyst-lake")
    settings = Settings(var_dir=get_settings().var_dir, lake_uri=str(root / "lake"), open_dir=root / "open")
    write_sample_lake(settings)
    run_publish(settings)
    return settings


def _spark_rows(spark, lake, sql, version=None):
    from citybrain.lake import spark_io

    df = spark_io.read_table(spark, "gold.indicator_values", settings=lake, version=version)
    df.createOrReplaceTempView("indicator_values")
    return [tuple(r) for r in spark.sql(sql.replace("gold.indicator_values", "indicator_values")).collect()]


def test_duckdb_equals_spark_on_gold_and_open_tables(spark, lake):
    from citybrain.analyst.sql import query
    from citybrain.lake import spark_io

    duck = [tuple(r.values()) for r in query(QUERY, settings=lake).to_pylist()]
    assert duck == _spark_rows(spark, lake, QUERY) and len(duck) == 4
    open_duck = query("SELECT legal_rep_name, count(*) AS n FROM open.le_enterprise GROUP BY 1 ORDER BY 1",
                      settings=lake).to_pylist()
    open_spark = (spark_io.read_table(spark, "open.le_enterprise", settings=lake)
                  .groupBy("legal_rep_name").count().orderBy("legal_rep_name").collect())
    assert [(r["legal_rep_name"], r["n"]) for r in open_duck] == [(r[0], r[1]) for r in open_spark]


def test_time_travel_by_version_and_as_of(spark, lake):
    import pyarrow.compute as pc

    from citybrain.analyst.sql import query
    from citybrain.lake.arrow_io import read_arrow
    from citybrain.opendata.sample import write_table

    before = dt.datetime.now(dt.UTC)
    time.sleep(1.1)
    table = read_arrow("gold.indicator_values", settings=lake)
    write_table("gold.indicator_values", table.filter(pc.equal(table.column("district_code"), "370600")), lake)
    now = query(QUERY, settings=lake).to_pylist()
    assert [r["district_code"] for r in now] == ["370600"]
    at_v0 = [tuple(r.values()) for r in query(QUERY, versions={"gold.indicator_values": 0}, settings=lake).to_pylist()]
    assert at_v0 == _spark_rows(spark, lake, QUERY, version=0) and len(at_v0) == 4
    as_of = query(QUERY, as_of=before.isoformat(), settings=lake).to_pylist()
    assert len(as_of) == 4


def test_duckdb_file_is_readable_by_a_plain_duckdb(lake, tmp_path):
    import duckdb

    from citybrain.analyst.sql import write_database

    path = tmp_path / "city.duckdb"
    rows = write_database(str(path), settings=lake)
    assert rows["open.le_enterprise"] == 30 and "silver.pop_resident" in rows
    con = duckdb.connect(str(path), read_only=True)
    assert con.execute("SELECT count(*) FROM open.le_enterprise").fetchone()[0] == 30
    assert con.execute("SELECT count(*) FROM silver.pop_resident").fetchone()[0] == rows["silver.pop_resident"]
