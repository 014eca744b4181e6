"""Silver inputs of the gold stage: what each table holds (facts) and what changed since the last gold run."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING

from citybrain.gold.scope import InputFacts, validity_columns

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

    from citybrain.catalog import Catalog
    from citybrain.settings import Settings

BATCH_DATE_RE = r":(\d{8}):"  # _batch_id = <resource>:<YYYYMMDD>:<fingerprint> (docs/lake-contract.md)


def silver_name(name: str) -> str:
    return f"silver.{name}"


def kind_of(name: str, catalog: Catalog) -> str:
    if name in catalog.resources:
        return catalog.resources[name].kind
    return "golden" if name.endswith("_golden") else "derived"


@dataclass(frozen=True)
class TableState:
    """What a table looked like to a gold run: version and, for event-date partitioned tables, one
    fingerprint per partition (its data files), so the next run finds the changed days without a scan."""

    version: int
    partitions: dict[str, str]


def partition_fingerprints(name: str, settings: Settings) -> dict[str, str] | None:
    """event_date -> fingerprint of the partition's files, from the Delta log (no data read); None when the
    table is not partitioned by event_date or rewrites rows in place (deletion vectors)."""
    from citybrain.lake.arrow_io import delta_table

    table = delta_table(silver_name(name), settings=settings)
    meta = table.metadata()
    if "event_date" not in meta.partition_columns:
        return None
    if str(meta.configuration.get("delta.enableDeletionVectors", "false")).lower() == "true":
        return None
    actions = table.get_add_actions(flatten=True)
    cols = {n: actions.column(n).to_pylist() for n in ("path", "size_bytes", "partition.event_date")}
    files: dict[str, list[str]] = defaultdict(list)
    for path, size, day in zip(cols["path"], cols["size_bytes"], cols["partition.event_date"], strict=True):
        files[str(day)].append(f"{path}:{size}")
    return {day: hashlib.sha1("\n".join(sorted(paths)).encode()).hexdigest()[:16] for day, paths in files.items()}


def read_facts(spark: SparkSession, names: list[str], catalog: Catalog, settings: Settings
               ) -> tuple[dict[str, InputFacts], dict[str, TableState]]:
    """Facts and state of every existing silver input (missing tables are left out)."""
    from concurrent.futures import ThreadPoolExecutor

    from citybrain.lake import spark_io

    def one(name: str):
        table = silver_name(name)
        if not spark_io.table_exists(spark, table, settings):
            return name, None, None
        version = spark_io.table_version(spark, table, settings)
        parts = partition_fingerprints(name, settings)
        df = spark_io.read_table(spark, table, version=version, settings=settings)
        scd2 = "is_current" in df.columns
        observed, last = _extent(df, parts)
        facts = InputFacts(table, version, kind_of(name, catalog), scd2, parts is not None, observed, last)
        return name, facts, TableState(version, parts or {})

    facts, states = {}, {}
    with ThreadPoolExecutor(max_workers=4) as pool:
        for name, f, s in pool.map(one, names):
            if f is not None:
                facts[name], states[name] = f, s
    return facts, states


def _batch_day() -> Column:
    from pyspark.sql import functions as F

    return F.to_date(F.regexp_extract("_batch_id", BATCH_DATE_RE, 1), "yyyyMMdd")


def _extent(df: DataFrame, parts: dict[str, str] | None) -> tuple[dt.date | None, dt.date | None]:
    """(first day the lake holds a snapshot of the table, last day it holds data for).

    The last day is never later than the table's last batch: a licence's expiry (elic_licence.valid_to) or a
    year-end population estimate dated in the future is no data about days after the batch that brought it."""
    from pyspark.sql import functions as F

    scd2 = "is_current" in df.columns
    if parts is not None and not scd2:
        days = sorted(dt.date.fromisoformat(d) for d in parts if d not in ("None", ""))
        if not days:
            return None, None
        last = days[-1]
        if "_batch_id" in df.columns:  # one partition read: the batch that brought the latest-dated rows
            got = df.where(F.col("event_date") == F.lit(last)).agg(F.max(_batch_day()).alias("b")).first()["b"]
            last = min(last, got) if got else last
        return None, last
    aggs = []
    if scd2:
        valid_from, _ = validity_columns(df.columns)
        aggs += [F.min(F.to_date(valid_from)).alias("first"), F.max(F.to_date(valid_from)).alias("last")]
    if "_batch_id" in df.columns:
        aggs += [F.min(_batch_day()).alias("first_batch"), F.max(_batch_day()).alias("last_batch")]
    if "event_date" in df.columns:
        aggs.append(F.max("event_date").alias("last_event"))
    if not aggs:
        return None, None
    row = df.agg(*aggs).first().asDict()
    first = row.get("first_batch") or row.get("first")
    last = max((d for d in (row.get("last"), row.get("last_batch"), row.get("last_event")) if d), default=None)
    if last and row.get("last_batch"):
        last = min(last, row["last_batch"])
    return first, last


def changed_days(old: TableState | None, new: TableState) -> set[dt.date] | None:
    """Days whose partition changed between two states; None = cannot tell (treat as everything)."""
    if old is None or not new.partitions or not old.partitions:
        return None
    days = {d for d in set(old.partitions) | set(new.partitions) if old.partitions.get(d) != new.partitions.get(d)}
    out = set()
    for d in days:
        try:
            out.add(dt.date.fromisoformat(d))
        except ValueError:  # a null event_date partition: cannot place it in a period
            return None
    return out


def first_change(spark: SparkSession, name: str, old_version: int, new_version: int, keys: list[str],
                 settings: Settings) -> dt.date | None:
    """Earliest valid_from / valid_to among SCD2 rows added, closed or removed between two versions (None: no
    row-level change, or the old version is gone and everything must be redone -> raises LookupError)."""
    from pyspark.sql import functions as F

    from citybrain.lake import spark_io

    table = silver_name(name)
    try:
        new = spark_io.read_table(spark, table, version=new_version, settings=settings)
        valid_from, valid_to = validity_columns(new.columns)
        cols = [*keys, valid_from, valid_to, "_row_hash"]
        cols = [c for c in cols if c in new.columns]
        new = new.select(*cols)
        old = spark_io.read_table(spark, table, version=old_version, settings=settings).select(*cols)
        diff = new.exceptAll(old).unionByName(old.exceptAll(new))
        row = diff.agg(F.min(F.least(F.to_date(valid_from), F.to_date(valid_to))).alias("d")).first()
    except Exception as exc:  # vacuumed or rewritten history: the caller recomputes everything
        raise LookupError(f"{table}: cannot compare versions {old_version} and {new_version}: {exc}") from exc
    return row["d"]


def fingerprint(obj) -> str:
    """Stable short hash of a JSON-able object (indicator definitions, theme SQL + input versions)."""
    return hashlib.sha1(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]
