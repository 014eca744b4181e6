"""City indicators per district and period, computed from silver exactly as catalog/indicators.yaml says.

value = numerator / denominator * scale for every district (``district_item``) and the city total
(``370600``), for every period type the indicator's grains name (day, month, quarter, year).

- A term is ``measure`` over the rows of one resource that pass ``filter`` (Spark SQL); ``plus`` terms
  add up; ``having`` (count_distinct only) keeps the ``item`` groups whose aggregate condition holds,
  grouped by district (for district rows) or city-wide (for the city total), and period.
- A resource named in ``period_item`` is read by that date/time item: its rows fall in the period
  holding the item's date. A resource not named there is a snapshot: its SCD2 rows valid at the end of
  each period (valid_from < next period start <= valid_to, valid_to null = open); before the lake's
  first load of it (``observed_from``) there is no snapshot and the side is null with a reason.
- Periods: those holding a row of a period-item resource; for snapshot-only indicators every period
  from the first snapshot to the lake's last data day.
- Rows: every district of the catalogue valid at the period's end, any other district found in the
  data, and the city total (which counts every row, whatever its district).
- A zero denominator gives a null value with reason ``denominator is zero``; never inf, never an error.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from citybrain.gold.periods import (
    PERIOD_TYPES,
    grain_period_type,
    next_period_col,
    next_period_start,
    period_col,
    periods_between,
    until_data_date,
)
from citybrain.gold.periods import period_end as last_day_of
from citybrain.gold.scope import InputFacts, Scope, validity_columns
from citybrain.gold.status import status_of

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

    from citybrain.catalog import Division, Indicator

CITY_CODE = "370600"
SIDES = ("numerator", "denominator")
VALUE_COLUMNS = [
    ("indicator_code", "string"), ("district_code", "string"), ("period_type", "string"), ("period", "date"),
    ("numerator", "double"), ("denominator", "double"), ("value", "double"), ("unit", "string"),
    ("target", "double"), ("status", "string"), ("reason", "string"), ("source_versions", "string"),
]
VALUE_SCHEMA = ", ".join(f"{n} {t}" for n, t in VALUE_COLUMNS)
ZERO_DENOMINATOR = "denominator is zero"


class IndicatorError(ValueError):
    """An indicator cannot be computed as the catalogue defines it (names indicator, term and rule)."""


@dataclass(frozen=True)
class Term:
    """One measure over one resource, on one side of one indicator."""

    indicator: str
    side: str
    index: int
    resource: str
    measure: str
    item: str | None
    filter: str | None
    having: str | None
    district_item: str | None
    period_item: str | None  # None: read as a snapshot at the end of each period

    @property
    def column(self) -> str:
        return f"{self.indicator}__{self.side}__{self.index}"


def terms_of(ind: Indicator) -> list[Term]:
    """The numerator and denominator terms of an indicator, ``plus`` terms flattened."""
    out = []
    for side, root in zip(SIDES, (ind.numerator, ind.denominator), strict=True):
        for i, t in enumerate(root.terms()):
            if t.having and t.measure_kind != "count_distinct":
                raise IndicatorError(f"indicator {ind.code}: {side} term on {t.resource}: `having` needs "
                                     f"measure count_distinct:<item>, not {t.measure!r}")
            out.append(Term(ind.code, side, i, t.resource, t.measure_kind, t.measure_item, t.filter, t.having,
                            ind.district_item.get(t.resource), ind.period_item.get(t.resource)))
    return out


def period_types(ind: Indicator) -> list[str]:
    """The period types the indicator's grains name, finest first."""
    named = {grain_period_type(g) for g in ind.grain}
    return [pt for pt in PERIOD_TYPES if pt in named]


def source_versions(ind: Indicator, facts: Mapping[str, InputFacts]) -> str:
    """JSON {silver table: version} of every input the indicator read."""
    return json.dumps({facts[r].table: facts[r].version for r in sorted(ind.resources)}, sort_keys=True)


# -- periods (eager: the planner looks at the data) ---------------------------------------------------------
def plan_periods(
    indicators: list[Indicator],
    inputs: Mapping[str, DataFrame],
    facts: Mapping[str, InputFacts],
    scopes: Mapping[str, Scope],
    data_date: dt.date | None,
) -> dict[tuple[str, str], list[dt.date]]:
    """(indicator, period type) -> the period starts to compute now (only the affected ones)."""
    from pyspark.sql import functions as F

    seen: dict[tuple[str, str, str], set[dt.date]] = {}

    def periods_in(resource: str, item: str, pt: str) -> set[dt.date]:
        key = (resource, item, pt)
        if key not in seen:
            col = period_col(F.to_date(F.col(item)), pt).alias("p")
            rows = inputs[resource].select(col).where("p IS NOT NULL").distinct().collect()
            seen[key] = {r.p for r in rows}
        return seen[key]

    out: dict[tuple[str, str], list[dt.date]] = {}
    for ind in indicators:
        scope = scopes.get(ind.code, Scope())
        for pt in period_types(ind):
            if ind.period_item:
                found: set[dt.date] = set()
                for resource, item in ind.period_item.items():
                    found |= periods_in(resource, item, pt)
            else:
                starts = [facts[r].observed_from for r in ind.resources if facts[r].observed_from]
                last = data_date or max(starts, default=None)
                first = min(starts, default=last)
                found = set(periods_between(first, last, pt)) if last else set()
            out[(ind.code, pt)] = until_data_date((p for p in found if scope.affects(p, pt)), data_date)
    return out


# -- transform ---------------------------------------------------------------------------------------------
def transform(
    indicators: list[Indicator],
    inputs: Mapping[str, DataFrame],
    *,
    periods: Mapping[tuple[str, str], list[dt.date]],
    facts: Mapping[str, InputFacts],
    districts: list[Division],
    city_code: str = CITY_CODE,
    workers: int = 4,
) -> DataFrame:
    """Long-form indicator values (VALUE_COLUMNS) for the planned periods.

    Each term group (a resource read one way for one period type) is one Spark aggregation whose small
    result comes back to the driver; the ratios, reasons and statuses are then assembled in Python.
    """
    spark = next(iter(inputs.values())).sparkSession
    todo = [ind for ind in indicators if any(periods.get((ind.code, pt)) for pt in period_types(ind))]
    values = term_values(todo, inputs, periods, city_code, workers=workers) if todo else {}
    rows = assemble(todo, values, periods=periods, facts=facts, districts=districts, city_code=city_code)
    return spark.createDataFrame(rows, VALUE_SCHEMA)


TermKey = tuple[str, str, dt.date, str]  # (term column, period type, period, district_code)


def term_values(indicators, inputs, periods, city_code, *, workers: int = 4) -> dict[TermKey, float]:
    """The value of every term per period and district (city total under city_code); absent key = no rows."""
    from concurrent.futures import ThreadPoolExecutor

    groups: dict[tuple, list[Term]] = defaultdict(list)
    wanted: dict[tuple, set[tuple[str, dt.date]]] = defaultdict(set)
    for ind in indicators:
        for pt in period_types(ind):
            todo = periods.get((ind.code, pt)) or []
            if not todo:
                continue
            for t in terms_of(ind):
                key = (t.resource, t.period_item, t.district_item, t.having is not None and t.column)
                if t not in groups[key]:
                    groups[key].append(t)
                wanted[key] |= {(pt, p) for p in todo}

    def run(key) -> list[tuple[TermKey, float]]:
        resource, period_item, district_item, _ = key
        terms = groups[key]
        rows = _rows_by_period(inputs[resource], period_item, sorted(wanted[key]))
        if terms[0].having:
            got = _having_values(rows, terms[0], district_item, city_code).collect()
            return [((terms[0].column, r["_pt"], r["_period"], r["district_code"]), r["value"]) for r in got]
        got = _measure_values(rows, terms, district_item, city_code).collect()
        return [((t.column, r["_pt"], r["_period"], r["district_code"]), r[t.column]) for r in got for t in terms]

    out: dict[TermKey, float] = {}
    # small aggregations are latency-bound: a few at once keep both cores busy
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for pairs in pool.map(run, list(groups)):
            out.update(pairs)
    return out


def _rows_by_period(df: DataFrame, period_item: str | None, wanted: list[tuple[str, dt.date]]) -> DataFrame:
    """The resource's rows once per wanted (period type ``_pt``, period ``_period``) they fall in: by the
    period item, or as the snapshot at each period's end."""
    from pyspark.sql import functions as F

    spark = df.sparkSession
    todo = F.broadcast(spark.createDataFrame(wanted, "_pt string, _period date"))
    if period_item:
        day = F.to_date(F.col(period_item))
        types = sorted({pt for pt, _ in wanted})
        pairs = F.array(*[F.struct(F.lit(pt).alias("_pt"), period_col(day, pt).alias("_period")) for pt in types])
        rows = df.withColumn("_pp", F.explode(pairs)).select("*", "_pp._pt", "_pp._period").drop("_pp")
        return rows.join(todo, ["_pt", "_period"], "left_semi")
    ends = todo.withColumn("_end", F.to_timestamp(_next_start(F.col("_pt"), F.col("_period"))))
    if "is_current" in df.columns:  # SCD2: the version valid just before the period's end
        vf, vt = (F.col(c).cast("timestamp") for c in validity_columns(df.columns))
        cond = (vf < F.col("_end")) & (vt.isNull() | (vt >= F.col("_end")))
    elif "event_date" in df.columns:  # an event or reading read without a period item: everything so far
        cond = F.col("event_date").cast("timestamp") < F.col("_end")
    else:  # no history kept: the current rows stand for every period
        cond = F.lit(True)
    return df.join(ends, cond, "inner").drop("_end")


def _next_start(pt: Column, period: Column) -> Column:
    from pyspark.sql import functions as F

    out = F.when(pt == "day", F.date_add(period, 1))
    for name in PERIOD_TYPES[1:]:
        out = out.when(pt == name, next_period_col(period, name))
    return out


def _measure(t: Term) -> Column:
    from pyspark.sql import functions as F

    cond = F.expr(t.filter) if t.filter else F.lit(True)
    if t.measure == "count":
        return F.count(F.when(cond, F.lit(1)))
    if t.measure == "count_distinct":
        return F.count_distinct(F.when(cond, F.col(t.item)))
    if t.measure == "sum":
        return F.coalesce(F.sum(F.when(cond, F.col(t.item))).cast("double"), F.lit(0.0))
    raise IndicatorError(f"indicator {t.indicator}: {t.side} term on {t.resource}: unknown measure {t.measure!r} "
                         "(count, count_distinct:<item>, sum:<item>)")


def _by_district(rows: DataFrame, district_item: str | None, keys: list[str], aggs: list[Column],
                 city_code: str) -> DataFrame:
    """Aggregate per (keys..., district) and city-wide per (keys...); district_code = city_code for the total."""
    from pyspark.sql import functions as F

    if not district_item:
        return rows.groupBy(*keys).agg(*aggs).withColumn("district_code", F.lit(city_code))
    rows = rows.withColumn("_district", F.col(district_item).cast("string"))
    grouped = rows.rollup(*keys, "_district").agg(*aggs, F.grouping_id(*keys, "_district").alias("_gid"))
    # _gid 0: (keys, district); 1: (keys) = city total; rows without a district only count in the total
    grouped = grouped.where((F.col("_gid") == 1) | ((F.col("_gid") == 0) & F.col("_district").isNotNull()))
    district = F.when(F.col("_gid") == 1, F.lit(city_code)).otherwise(F.col("_district"))
    return grouped.withColumn("district_code", district).drop("_district", "_gid")


def _measure_values(rows, terms: list[Term], district_item, city_code) -> DataFrame:
    aggs = [_measure(t).cast("double").alias(t.column) for t in terms]
    return _by_district(rows, district_item, ["_pt", "_period"], aggs, city_code)


def _having_values(rows, t: Term, district_item, city_code) -> DataFrame:
    """count_distinct with having: count the item groups whose aggregate condition holds."""
    from pyspark.sql import functions as F

    kept = rows.where(F.expr(t.filter)) if t.filter else rows
    kept = kept.withColumn("_item", F.col(t.item)).where(F.col("_item").isNotNull())
    groups = _by_district(kept, district_item, ["_pt", "_period", "_item"], [F.expr(t.having).alias("_ok")],
                          city_code)
    return (groups.groupBy("_pt", "_period", "district_code")
            .agg(F.count(F.when(F.col("_ok"), F.lit(1))).cast("double").alias("value")))


# -- assembly (plain Python over the small term results) ------------------------------------------------------
def assemble(
    indicators: list[Indicator],
    values: Mapping[TermKey, float],
    *,
    periods: Mapping[tuple[str, str], list[dt.date]],
    facts: Mapping[str, InputFacts],
    districts: list[Division],
    city_code: str = CITY_CODE,
) -> list[tuple]:
    """One VALUE_COLUMNS tuple per indicator, period type, period and district (city total first)."""
    found: dict[tuple[str, dt.date], set[str]] = defaultdict(set)
    for column, pt, period, district in values:
        found[(column, pt, period)].add(district)
    out = []
    for ind in indicators:
        terms = terms_of(ind)
        versions = source_versions(ind, facts)
        target = None if ind.target is None else float(ind.target)
        for pt in period_types(ind):
            for p in periods.get((ind.code, pt)) or []:
                last = last_day_of(p, pt)
                end = next_period_start(p, pt)
                gaps = {side: _gap(ind, side, end, last, facts) for side in SIDES}
                codes = set()
                if ind.district_item:
                    codes = {d.code for d in districts if d.parent == city_code and d.valid_on(last)}
                    for t in terms:
                        codes |= found.get((t.column, pt, p), set())
                codes.discard(city_code)
                for district in [city_code, *sorted(codes)]:
                    sides = {}
                    for side in SIDES:
                        parts = [values.get((t.column, pt, p, district)) for t in terms if t.side == side]
                        sides[side] = None if gaps[side] else float(sum(v for v in parts if v is not None))
                    num, den = sides["numerator"], sides["denominator"]
                    value = num / den * float(ind.scale) if num is not None and den else None
                    reason = gaps["denominator"] or gaps["numerator"] or (ZERO_DENOMINATOR if den == 0 else None)
                    status = status_of(value, target, ind.direction, ind.unit)
                    out.append((ind.code, district, pt, p, num, den, value, ind.unit, target, status, reason,
                                versions))
    return out


def _gap(ind: Indicator, side: str, end: dt.date, last: dt.date, facts: Mapping[str, InputFacts]) -> str | None:
    """Why a side has no value in a period: a snapshot input the lake did not hold yet at the period's end."""
    root = ind.numerator if side == "numerator" else ind.denominator
    for t in root.terms():
        first = facts[t.resource].observed_from
        if t.resource not in ind.period_item and first is not None and first >= end:
            return (f"{side} is missing: no snapshot of {facts[t.resource].table} as of {last.isoformat()} "
                    f"(first loaded {first.isoformat()})")
    return None
