"""The registered bench stages; later stages (generate, ingest, conform...) register here too."""

from __future__ import annotations

import time

from citybrain.bench.harness import stage

FOUNDATION_ROWS = 1_000_000
BENCH_TABLE = "smoke.bench_rows"


def _rows(scale: float) -> int:
    return max(1000, int(FOUNDATION_ROWS * scale))


@stage("spark_session_start")
def spark_session_start(scale: float, ctx: dict) -> dict:
    from citybrain.spark import get_spark, stop_spark

    stop_spark()  # measure a cold start of the shared session
    started = time.perf_counter()
    spark = get_spark(ctx["settings"])
    spark.range(1).count()
    return {"first_query_s": round(time.perf_counter() - started, 2)}


@stage("delta_write")
def delta_write(scale: float, ctx: dict) -> dict:
    from pyspark.sql import functions as F

    from citybrain.lake import spark_io
    from citybrain.spark import get_spark

    spark = get_spark(ctx["settings"])
    rows = _rows(scale)
    df = (
        spark.range(rows)
        .withColumn("district_code", F.concat(F.lit("3706"), F.lpad((F.col("id") % 11).cast("string"), 2, "0")))
        .withColumn("value", F.rand(7) * 100)
        .withColumn("event_date", F.date_add(F.lit("2026-01-01").cast("date"), (F.col("id") % 365).cast("int")))
        .withColumn("label", F.concat(F.lit("row-"), F.col("id").cast("string")))
    )
    spark_io.overwrite(df, BENCH_TABLE, settings=ctx["settings"])
    return {"rows": rows}


@stage("delta_read")
def delta_read(scale: float, ctx: dict) -> dict:
    from citybrain.lake import spark_io
    from citybrain.spark import get_spark

    spark = get_spark(ctx["settings"])
    df = spark_io.read_table(spark, BENCH_TABLE, settings=ctx["settings"])
    rows = df.count()
    districts = df.groupBy("district_code").sum("value").count()
    return {"rows": rows, "groups": districts}


@stage("duckdb_read")
def duckdb_read(scale: float, ctx: dict) -> dict:
    from citybrain.lake.arrow_io import duckdb_connect

    con = duckdb_connect(["smoke"], settings=ctx["settings"])
    rows, groups = con.execute(
        "SELECT (SELECT count(*) FROM smoke.bench_rows), "
        "(SELECT count(*) FROM (SELECT district_code, sum(value) FROM smoke.bench_rows GROUP BY 1))"
    ).fetchone()
    return {"rows": rows, "groups": groups}


@stage("generate")
def generate(scale: float, ctx: dict) -> dict:
    """Every department source for one day, generated in a child process (its own peak RSS)."""
    from citybrain.sources.bench import bench_generate

    return bench_generate(scale, out_dir=ctx["settings"].bench_dir)


def _register_stage_modules() -> None:
    """Later stages register themselves from their own packages, in pipeline order."""
    import importlib

    for module in ("citybrain.ingest.bench", "citybrain.conform.bench", "citybrain.quality.bench", "citybrain.gold.bench",
                   "citybrain.spark.bench", "citybrain.analyst.bench"):
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:  # a stage module that exists but cannot import is a real error
                raise


_register_stage_modules()
