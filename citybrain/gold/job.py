"""The gold stage: thematic tables, indicator values (only the periods whose inputs changed), the analysts'
wide view and the city operations panorama. `run_gold()` is what the DAG, the demo and the bench call."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

from citybrain.gold import indicators as ind_mod
from citybrain.gold import themes as theme_mod
from citybrain.gold.control import GoldState, load_state, save_state
from citybrain.gold.inputs import changed_days, fingerprint, first_change, read_facts, silver_name
from citybrain.gold.periods import next_period_start, period_start
from citybrain.gold.scope import InputFacts, Scope

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from citybrain.catalog import Catalog, Indicator
    from citybrain.gold.inputs import TableState
    from citybrain.settings import Settings

log = logging.getLogger(__name__)
VALUES_TABLE = "gold.indicator_values"
WIDE_TABLE = "gold.indicator_wide"


@dataclass
class GoldSummary:
    """What one gold run did (returned by run_gold, logged by the DAG)."""

    tables_built: list[str] = field(default_factory=list)
    themes_unchanged: list[str] = field(default_factory=list)
    themes_skipped: dict[str, str] = field(default_factory=dict)
    indicators_computed: list[str] = field(default_factory=list)
    indicators_unchanged: list[str] = field(default_factory=list)
    indicators_skipped: dict[str, str] = field(default_factory=dict)
    periods_recomputed: int = 0
    indicator_rows_written: int = 0
    indicator_rows: int = 0
    data_date: str | None = None
    dashboard: str | None = None
    screenshot: str | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def gold_tables(catalog: Catalog) -> list[str]:
    """Every gold table this stage writes (the DAG's outlets)."""
    return [VALUES_TABLE, WIDE_TABLE, *(t.table for t in catalog.themes.values())]


def silver_inputs(catalog: Catalog) -> list[str]:
    """Every silver table the stage reads (the DAG is scheduled on their Assets)."""
    names = {r for i in catalog.indicators.values() for r in i.resources}
    names |= {n for t in catalog.themes.values() for n in t.inputs}
    return sorted(names)


# -- themes ----------------------------------------------------------------------------------------------
def build_themes(spark: SparkSession, catalog: Catalog, facts: dict[str, InputFacts], prev: GoldState,
                 new: GoldState, summary: GoldSummary, settings: Settings) -> None:
    """Rebuild each theme whose SQL or input versions changed; check its primary key before replacing it."""
    from citybrain.lake import spark_io

    for theme in catalog.themes.values():
        missing = [silver_name(n) for n in theme.inputs if n not in facts]
        if missing:
            summary.themes_skipped[theme.name] = f"missing inputs: {', '.join(missing)}"
            continue
        fp = fingerprint({"sql": theme.sql, "pk": theme.primary_key,
                          "versions": {n: facts[n].version for n in theme.inputs}})
        new.themes[theme.name] = fp
        if prev.themes.get(theme.name) == fp and spark_io.table_exists(spark, theme.table, settings):
            summary.themes_unchanged.append(theme.name)
            continue
        views = {n: theme_mod.input_view(spark_io.read_table(spark, silver_name(n), version=facts[n].version,
                                                             settings=settings), n, catalog)
                 for n in theme.inputs}
        df = theme_mod.transform(theme, views)
        dup = theme_mod.duplicate_keys(df, theme)
        if dup:
            raise theme_mod.ThemeError(
                f"theme {theme.name} (catalog/themes.yaml) breaks its grain '{theme.grain}': primary key "
                f"{theme.primary_key} repeats, e.g. {dup}; fix the sql or the declared key")
        spark_io.overwrite(df, theme.table, settings=settings)
        summary.tables_built.append(theme.table)


# -- indicators ------------------------------------------------------------------------------------------
def _table_changes(spark, catalog, facts, states, prev: GoldState, settings) -> dict[str, Scope]:
    """Per silver input: what changed since the previous run, as a scope of affected days."""
    out: dict[str, Scope] = {}
    for name, f in facts.items():
        old, new = prev.tables.get(name), states[name]
        if old is None:
            out[name] = Scope(full=True)
        elif old.version == new.version:
            out[name] = Scope.nothing()
        elif f.partitioned_by_event_date and not f.scd2:
            days = changed_days(old, new)
            out[name] = Scope(full=True) if days is None else Scope(full=False, days=frozenset(days))
        elif f.scd2:
            keys = catalog.resources[name].primary_key if name in catalog.resources else []
            try:
                since = first_change(spark, name, old.version, new.version, keys, settings)
            except LookupError as exc:
                log.warning("%s; recomputing every period that reads it", exc)
                out[name] = Scope(full=True)
                continue
            out[name] = Scope(full=False, since=since)
        else:
            out[name] = Scope(full=True)
    return out


def indicator_scope(ind: Indicator, catalog: Catalog, changes: dict[str, Scope], prev: GoldState,
                    data_date: dt.date | None) -> Scope:
    """The periods of one indicator to recompute now."""
    if prev.indicators.get(ind.code) != _definition(ind):
        return Scope(full=True)
    scope = Scope.nothing()
    for r in ind.resources:
        ch = changes[r]
        if ch.full:
            return Scope(full=True)
        if ch.days:
            event_time = catalog.resources[r].event_time if r in catalog.resources else None
            if r not in ind.period_item:  # read as everything up to each period's end
                scope = scope.union(Scope(full=False, since=min(ch.days)))
            elif ind.period_item[r] == event_time:
                scope = scope.union(Scope(full=False, days=ch.days))
            else:  # changed event dates do not say which periods of another date item moved
                return Scope(full=True)
        if ch.since is not None:
            scope = scope.union(Scope(full=False, since=ch.since))
    if not ind.period_item and prev.data_date and data_date:
        # a snapshot indicator gains a period when the lake's data reaches into a new one
        for pt in ind_mod.period_types(ind):
            if period_start(data_date, pt) > period_start(prev.data_date, pt):
                scope = scope.union(Scope(full=False, since=next_period_start(period_start(prev.data_date, pt), pt)))
    return scope


def _definition(ind: Indicator) -> str:
    return fingerprint(ind.model_dump(mode="json"))


def _prefiltered(df: DataFrame, name: str, consumers: list[tuple[Indicator, Scope]], facts) -> DataFrame:
    """Read only the event_date partitions the incremental consumers need (all when one needs everything)."""
    from pyspark.sql import functions as F

    if not facts[name].partitioned_by_event_date or facts[name].scd2:
        return df
    ranges: list[tuple[dt.date, dt.date | None]] = []
    for ind, scope in consumers:
        r = scope.date_ranges(ind_mod.period_types(ind))
        if r is None or name not in ind.period_item:
            return df
        ranges += r
    if not ranges:
        return df.where(F.lit(False))
    cond = None
    for start, end in ranges:
        c = F.col("event_date") >= F.lit(start)
        if end is not None:
            c = c & (F.col("event_date") < F.lit(end))
        cond = c if cond is None else cond | c
    return df.where(cond)


def _predicate(ind: Indicator, scope: Scope) -> str:
    """The replace_where slice of gold.indicator_values that a recomputation of ``ind`` replaces."""
    head = f"indicator_code = '{ind.code}'"
    if scope.full:
        return f"({head})"
    parts = []
    for pt in ind_mod.period_types(ind):
        alts = []
        explicit = sorted(scope.periods(pt))
        if explicit:
            alts.append("period IN (" + ", ".join(f"DATE'{p.isoformat()}'" for p in explicit) + ")")
        if scope.since is not None:
            alts.append(f"period >= DATE'{period_start(scope.since, pt).isoformat()}'")
        if alts:
            parts.append(f"(period_type = '{pt}' AND ({' OR '.join(alts)}))")
    return f"({head} AND ({' OR '.join(parts)}))" if parts else ""


def build_indicators(spark: SparkSession, catalog: Catalog, facts: dict[str, InputFacts],
                     states: dict[str, TableState], prev: GoldState, new: GoldState, summary: GoldSummary,
                     settings: Settings) -> bool:
    """Recompute the affected periods of every computable indicator; True when gold.indicator_values changed."""
    from citybrain.lake import spark_io

    data_date = max((f.last_day for f in facts.values() if f.last_day), default=None)
    new.data_date = data_date
    summary.data_date = data_date.isoformat() if data_date else None
    exists = spark_io.table_exists(spark, VALUES_TABLE, settings)
    if not exists:
        prev = GoldState(tables=prev.tables, data_date=prev.data_date)  # forget definitions: compute all
    changes = _table_changes(spark, catalog, facts, states, prev, settings)
    todo: list[tuple[Indicator, Scope]] = []
    for ind in catalog.indicators.values():
        missing = [silver_name(r) for r in ind.resources if r not in facts]
        if missing:
            summary.indicators_skipped[ind.code] = f"missing inputs: {', '.join(missing)}"
            continue
        new.indicators[ind.code] = _definition(ind)
        scope = indicator_scope(ind, catalog, changes, prev, data_date)
        if scope.empty:
            summary.indicators_unchanged.append(ind.code)
        else:
            todo.append((ind, scope))
    stale = [c for c in prev.indicators if c not in catalog.indicators]
    if not todo and not stale:
        return False
    names = sorted({r for ind, _ in todo for r in ind.resources})
    inputs = {}
    for name in names:
        df = spark_io.read_table(spark, silver_name(name), version=facts[name].version, settings=settings)
        inputs[name] = _prefiltered(df, name, [(i, s) for i, s in todo if name in i.resources], facts)
    inds = [i for i, _ in todo]
    scopes = {i.code: s for i, s in todo}
    periods = ind_mod.plan_periods(inds, inputs, facts, scopes, data_date) if inds else {}
    summary.periods_recomputed = sum(len(v) for v in periods.values())
    values = ind_mod.transform(inds, inputs, periods=periods, facts=facts, districts=catalog.division_list) \
        if inds else spark.createDataFrame([], ind_mod.VALUE_SCHEMA)
    values = values.cache()
    summary.indicator_rows_written = values.count()
    summary.indicators_computed = [i.code for i in inds]
    if not exists:
        spark_io.overwrite(values, VALUES_TABLE, settings=settings)
    else:
        clauses = [p for p in (_predicate(i, s) for i, s in todo) if p]
        if stale:
            clauses.append("indicator_code IN (" + ", ".join(f"'{c}'" for c in stale) + ")")
        if clauses:
            spark_io.replace_where(values, VALUES_TABLE, " OR ".join(clauses), settings=settings)
    values.unpersist()
    return True


def wide_transform(values: DataFrame, codes: list[str]) -> DataFrame:
    """gold.indicator_wide: one row per district, period type and period; one value column per indicator."""
    from pyspark.sql import functions as F

    return (values.groupBy("district_code", "period_type", "period")
            .pivot("indicator_code", codes).agg(F.first("value"))
            .orderBy("period_type", "period", "district_code"))


# -- the run ---------------------------------------------------------------------------------------------
def run_gold(settings: Settings | None = None, *, dashboard: bool = True, screenshot: bool = True) -> dict:
    """Build themes and indicators from the current silver, refresh the wide view and the panorama."""
    from citybrain.catalog import get_catalog
    from citybrain.lake import spark_io
    from citybrain.settings import get_settings
    from citybrain.spark import get_spark

    settings = settings or get_settings()
    catalog = get_catalog()
    spark = get_spark(settings)
    summary = GoldSummary()
    prev = load_state(spark, settings)
    facts, states = read_facts(spark, silver_inputs(catalog), catalog, settings)
    new = GoldState(tables=states)
    build_themes(spark, catalog, facts, prev, new, summary, settings)
    changed = build_indicators(spark, catalog, facts, states, prev, new, summary, settings)
    if spark_io.table_exists(spark, VALUES_TABLE, settings):
        values = spark_io.read_table(spark, VALUES_TABLE, settings=settings)
        if changed or not spark_io.table_exists(spark, WIDE_TABLE, settings):
            spark_io.overwrite(wide_transform(values, list(catalog.indicators)), WIDE_TABLE, settings=settings)
            summary.tables_built += [VALUES_TABLE, WIDE_TABLE]
        summary.indicator_rows = values.count()
    save_state(spark, new, settings)
    if dashboard:
        return render_panorama(summary.as_dict(), settings, screenshot=screenshot)
    return summary.as_dict()


def render_panorama(summary: dict | None = None, settings: Settings | None = None, *, screenshot: bool = True
                    ) -> dict:
    """Render var/site/dashboard/ from gold (no Spark) and screenshot it when Chromium is installed."""
    from citybrain.catalog import get_catalog
    from citybrain.gold.dashboard.render import render_dashboard, take_screenshot
    from citybrain.settings import get_settings

    settings = settings or get_settings()
    summary = dict(summary or {})
    index = render_dashboard(get_catalog(), settings)
    summary["dashboard"] = str(index)
    if screenshot:
        shot = take_screenshot(index, index.parent / "screenshot.png")
        summary["screenshot"] = str(shot) if shot else None
    return summary
