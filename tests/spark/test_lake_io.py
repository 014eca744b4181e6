"""Delta I/O by logical name: partition overwrite and MERGE are idempotent; Arrow reads match Spark."""

import pytest

from citybrain.lake import arrow_io, spark_io

pytestmark = pytest.mark.spark


def _rows(spark, rows):
    return spark.createDataFrame(rows, "id long, day string, v string")


def test_overwrite_partitions_replaces_only_given_partitions(spark, lake_settings):
    spark_io.overwrite_partitions(
        _rows(spark, [(1, "d1", "a"), (2, "d1", "a"), (3, "d2", "a")]), "silver.t", ["day"], settings=lake_settings
    )
    spark_io.overwrite_partitions(_rows(spark, [(9, "d1", "b")]), "silver.t", ["day"], settings=lake_settings)
    got = sorted(tuple(r) for r in spark_io.read_table(spark, "silver.t", settings=lake_settings).collect())
    # d1 replaced by the single new row, d2 untouched
    assert got == [(3, "d2", "a"), (9, "d1", "b")]


def test_merge_upserts_and_rerun_changes_nothing(spark, lake_settings):
    spark_io.merge(_rows(spark, [(1, "d1", "a"), (2, "d1", "a")]), "silver.m", ["id"], settings=lake_settings)
    update = _rows(spark, [(2, "d1", "b"), (3, "d1", "c")])
    spark_io.merge(update, "silver.m", ["id"], settings=lake_settings)
    first = sorted(tuple(r) for r in spark_io.read_table(spark, "silver.m", settings=lake_settings).collect())
    spark_io.merge(update, "silver.m", ["id"], settings=lake_settings)
    again = sorted(tuple(r) for r in spark_io.read_table(spark, "silver.m", settings=lake_settings).collect())
    assert first == [(1, "d1", "a"), (2, "d1", "b"), (3, "d1", "c")]
    assert again == first


def test_replace_where_is_idempotent_per_batch(spark, lake_settings):
    spark_io.append(_rows(spark, [(1, "b1", "x")]), "bronze.r", settings=lake_settings)
    for _ in range(2):
        spark_io.replace_where(_rows(spark, [(2, "b2", "y"), (3, "b2", "y")]), "bronze.r", "day = 'b2'",
                               settings=lake_settings)
    assert spark_io.read_table(spark, "bronze.r", settings=lake_settings).count() == 3


def test_arrow_reader_and_duckdb_match_spark_with_time_travel(spark, lake_settings):
    spark_io.overwrite(_rows(spark, [(1, "d1", "a")]), "gold.g", settings=lake_settings)
    spark_io.append(_rows(spark, [(2, "d1", "b"), (3, "d2", "c")]), "gold.g", settings=lake_settings)
    assert arrow_io.read_arrow("gold.g", settings=lake_settings).num_rows == 3
    assert arrow_io.read_arrow("gold.g", version=0, settings=lake_settings).num_rows == 1
    con = arrow_io.duckdb_connect(["gold"], settings=lake_settings)
    duck = con.execute("SELECT day, count(*) FROM gold.g GROUP BY 1 ORDER BY 1").fetchall()
    sparky = sorted(
        tuple(r) for r in spark_io.read_table(spark, "gold.g", settings=lake_settings).groupBy("day").count().collect()
    )
    assert duck == sparky == [("d1", 2), ("d2", 1)]
    assert spark_io.table_version(spark, "gold.g", settings=lake_settings) == 1
    assert [str(t) for t in arrow_io.list_tables(["gold"], settings=lake_settings)] == ["gold.g"]


def test_a_table_with_deletion_vectors_reads_the_same_through_arrow_and_duckdb(spark, lake_settings):
    """A MERGE into a table with deletion vectors marks rows deleted instead of rewriting files (a user may
    enable them on any table): the Arrow reader (quality gates, exports) and the analysts' DuckDB apply them."""
    from citybrain.analyst.sql import query
    from citybrain.lake.names import table_uri

    rows = spark.range(1000).selectExpr("id", "CAST(id % 7 AS STRING) AS v")
    rows.write.format("delta").option("delta.enableDeletionVectors", "true").save(
        table_uri("silver.dv", lake_settings))
    spark_io.merge_sql(spark.createDataFrame([(3, "x"), (5000, "y")], "id long, v string"), "silver.dv",
                       "t.id = s.id", ["WHEN MATCHED THEN UPDATE SET *", "WHEN NOT MATCHED THEN INSERT *"],
                       settings=lake_settings)
    spark.sql(f"DELETE FROM delta.`{table_uri('silver.dv', lake_settings)}` WHERE id < 10 AND id <> 3")
    dtab = arrow_io.delta_table("silver.dv", settings=lake_settings)
    assert arrow_io.has_deletion_vectors(dtab)
    assert any(int(h["operationMetrics"].get("numDeletionVectorsAdded", 0) or 0) for h in dtab.history())
    expected = sorted(tuple(r) for r in spark_io.read_table(spark, "silver.dv", settings=lake_settings).collect())
    assert len(expected) == 992 and (3, "x") in expected and (5000, "y") in expected
    arrow = arrow_io.read_arrow("silver.dv", settings=lake_settings)
    assert sorted((r["id"], r["v"]) for r in arrow.to_pylist()) == expected
    assert arrow_io.arrow_dataset("silver.dv", settings=lake_settings).count_rows() == 992
    duck = query("SELECT count(*) AS n, max(v) FILTER (WHERE id = 3) AS v3 FROM silver.dv",
                 settings=lake_settings).to_pylist()
    assert duck == [{"n": 992, "v3": "x"}]
