"""spark_io's Spark Connect path (Delta SQL instead of the DeltaTable API) gives the DeltaTable API's results.

Run on the shared classic session: the SQL is the same one a Connect client sends, so this pins its
semantics fast; test_spark_connect.py runs it through a real Connect server.
"""

from __future__ import annotations

import pytest

from citybrain.lake import spark_io

pytestmark = pytest.mark.spark


def _rows(spark, rows):
    return spark.createDataFrame(rows, "id long, day string, v string")


def _table(spark, name, settings):
    return sorted(tuple(r) for r in spark_io.read_table(spark, name, settings=settings).collect())


@pytest.mark.parametrize(
    "update_condition, delete_missing, expected",
    [
        # rows whose value grows are updated (2: 'a'->'b'), new keys inserted (3), the rest kept (1)
        ("s.v > t.v", False, [(1, "d1", "a"), (2, "d1", "b"), (3, "d1", "c")]),
        # a full snapshot delivery: 1 is missing from it and deleted; 2 keeps 'a' (condition false)
        ("s.v < t.v", True, [(2, "d1", "a"), (3, "d1", "c")]),
    ],
)
def test_sql_merge_matches_the_deltatable_merge(spark, lake_settings, monkeypatch, update_condition,
                                                delete_missing, expected):
    base = _rows(spark, [(1, "d1", "a"), (2, "d1", "a")])
    update = _rows(spark, [(2, "d1", "b"), (3, "d1", "c")])
    results = {}
    for path in ("api", "sql"):  # "sql": spark_io as a Connect client runs it
        name = f"silver.merge_{path}"
        spark_io.merge(base, name, ["id"], settings=lake_settings)
        if path == "sql":
            monkeypatch.setattr(spark_io, "_is_connect", lambda s: True)
        spark_io.merge(update, name, ["id"], update_condition=update_condition, delete_missing=delete_missing,
                       settings=lake_settings)
        monkeypatch.undo()
        results[path] = _table(spark, name, lake_settings)
    assert results["sql"] == results["api"] == expected


def test_sql_existence_and_version_match_the_api(spark, lake_settings, tmp_path):
    spark_io.overwrite(_rows(spark, [(1, "d1", "a")]), "gold.v", settings=lake_settings)
    spark_io.append(_rows(spark, [(2, "d1", "b")]), "gold.v", settings=lake_settings)
    (tmp_path / "lake" / "gold" / "plain").mkdir(parents=True)  # a directory that is no Delta table
    api = [spark_io.table_exists(spark, n, lake_settings) for n in ("gold.v", "gold.none", "gold.plain")]
    api_version = spark_io.table_version(spark, "gold.v", lake_settings)

    from unittest import mock

    with mock.patch.object(spark_io, "_is_connect", return_value=True):
        sql = [spark_io.table_exists(spark, n, lake_settings) for n in ("gold.v", "gold.none", "gold.plain")]
        sql_version = spark_io.table_version(spark, "gold.v", lake_settings)
    assert sql == api == [True, False, False]
    assert sql_version == api_version == 1
