"""Bench stage "query": an indicator-by-district-over-a-month query through `citybrain sql`'s code path
(DuckDB over the Delta table via deltalake/Arrow) against DuckDB on the same rows as plain Parquet.

No scale-1 gold lake exists for the bench, so gold.indicator_values is generated at its scale-1 upper
bound: every catalogue indicator daily for a year in every district plus the city total (the real table
holds fewer rows: most indicators are monthly or yearly). Both sides open a new connection per run, as
the CLI does; the median of the runs is compared.
"""

from __future__ import annotations

import datetime as dt
import statistics
import time
from pathlib import Path
from typing import TYPE_CHECKING

from citybrain.bench.harness import stage

if TYPE_CHECKING:
    import pyarrow as pa

    from citybrain.settings import Settings

TABLE = "gold.indicator_values"
RUNS = 7
MONTH_QUERY = """
SELECT district_code, count(*) AS days, avg(value) AS mean_value, min(value) AS min_value, max(value) AS max_value,
       sum(numerator) AS numerator, sum(denominator) AS denominator
FROM {table}
WHERE indicator_code = 'IND_GRID_ONTIME_CLOSE' AND period_type = 'day'
  AND period >= DATE '2026-06-01' AND period < DATE '2026-07-01'
GROUP BY district_code ORDER BY district_code
"""


def synthetic_indicator_values(scale: float, days: int = 365) -> pa.Table:
    """gold.indicator_values-shaped rows: catalogue indicators x (districts + city) x days x scale."""
    import numpy as np
    import pyarrow as pa

    from citybrain.catalog import get_catalog
    from citybrain.opendata.sample import indicator_table

    cat = get_catalog()
    codes = sorted(cat.indicators)
    districts = sorted(d.code for d in cat.divisions().values() if d.level != "prefecture" and d.parent) + ["370600"]
    n_days = max(1, int(days * scale))
    grid = np.array(np.meshgrid(np.arange(len(codes)), np.arange(len(districts)), np.arange(n_days))).reshape(3, -1)
    rng = np.random.default_rng(1)
    denominator = rng.integers(1, 500, grid.shape[1]).astype("float64")
    numerator = np.floor(denominator * rng.random(grid.shape[1]))
    start = dt.date(2026, 1, 1)
    base = indicator_table([])
    return pa.table({
        "indicator_code": pa.array(np.array(codes)[grid[0]]),
        "district_code": pa.array(np.array(districts)[grid[1]]),
        "period_type": pa.array(np.full(grid.shape[1], "day")),
        "period": pa.array(np.datetime64(start) + grid[2].astype("timedelta64[D]")).cast(pa.date32()),
        "numerator": numerator, "denominator": denominator, "value": numerator / denominator * 100,
        "unit": pa.array(np.full(grid.shape[1], "%")), "target": np.full(grid.shape[1], 90.0),
        "status": pa.array(np.full(grid.shape[1], "amber")), "reason": pa.nulls(grid.shape[1], pa.string()),
        "source_versions": pa.array(np.full(grid.shape[1], "{}")),
    }, schema=base.schema)


def _median_seconds(fn, runs: int = RUNS) -> tuple[float, object]:
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def compare(settings: Settings, parquet_dir: Path, runs: int = RUNS) -> dict:
    """Median seconds of the month query through citybrain sql and through plain DuckDB over Parquet."""
    import duckdb

    from citybrain.analyst.sql import query

    sql_path = MONTH_QUERY.format(table=TABLE)
    plain = MONTH_QUERY.format(table=f"read_parquet('{parquet_dir}/*.parquet')")
    lake_s, lake_rows = _median_seconds(lambda: query(sql_path, settings=settings).to_pylist(), runs)
    parquet_s, parquet_rows = _median_seconds(lambda: duckdb.connect().execute(plain).to_arrow_table().to_pylist(),
                                              runs)
    if lake_rows != parquet_rows:
        raise AssertionError(f"citybrain sql and plain DuckDB disagree on {TABLE}: {lake_rows[:2]} vs "
                             f"{parquet_rows[:2]}")
    return {"citybrain_sql_s": round(lake_s, 4), "duckdb_parquet_s": round(parquet_s, 4),
            "ratio": round(lake_s / parquet_s, 2), "groups": len(lake_rows), "runs": runs}


@stage("query")
def query_stage(scale: float, ctx: dict) -> dict:
    import pyarrow.parquet as pq

    from citybrain.opendata.sample import write_table
    from citybrain.settings import Settings

    settings = ctx["settings"]
    root = Path(settings.var_dir) / "bench" / "query"
    bench = Settings(var_dir=settings.var_dir, lake_uri=str(root / "lake"))
    table = synthetic_indicator_values(scale)
    write_table(TABLE, table, bench)
    parquet_dir = root / "parquet"
    parquet_dir.mkdir(parents=True, exist_ok=True)
    for old in parquet_dir.glob("*.parquet"):
        old.unlink()
    pq.write_table(table, parquet_dir / "indicator_values.parquet")
    figures = compare(bench, parquet_dir)
    return {"rows": table.num_rows, "synthetic": True, **figures, "ratio_ok": figures["ratio"] <= 1.5}
