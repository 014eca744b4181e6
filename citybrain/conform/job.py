"""The conform job: pending bronze batches of every resource -> silver, quarantine, golden records, verification.

A run conforms only bronze batches not yet in `control.conformed_batches`, resource by resource
(referenced resources first), then refreshes golden records and discrepancies for the entity keys
those batches touched, and records every batch's row accounting last: a run that fails part way is
simply run again (every write is idempotent: replaceWhere per batch, MERGE on keys).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from citybrain.conform import writes
from citybrain.conform.catalog import ConformCatalog, EntityDef, ResourceDef, load_catalog
from citybrain.conform.parallel import run_ordered
from citybrain.lake.lease import DEFAULT_WAIT_SECONDS, stage_lease
from citybrain.settings import Settings, get_settings
from citybrain.timing import Laps

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

log = logging.getLogger(__name__)

CONFORMED_TABLE = "control.conformed_batches"
BATCHES_TABLE = "control.batches"
QUARANTINE_TABLE = "quarantine.rejected_rows"
DUPLICATES_TABLE = "silver.superseded_duplicates"
DISCREPANCIES_TABLE = "silver.discrepancies"
AGREEMENT_TABLE = "silver.agreement_rates"
SHARES_TABLE = "silver.agreement_keys"
# per entity, "started" before its agreement rates and shares are written, "done" after both: a run cut off in
# between leaves "started", and the next run sums the rates from every share instead of adding its changes
SUMS_TABLE = "control.agreement_sums"
SUMS_COLUMNS = (("entity", "string"), ("state", "string"), ("at", "timestamp"))
STAGE = "conform"
CONFORMED_COLUMNS = (("resource", "string"), ("batch_id", "string"), ("rows_in", "long"), ("rows_silver", "long"),
                     ("rows_quarantined", "long"), ("rows_duplicate", "long"), ("conformed_at", "timestamp"))
TOUCHED_KEYS_LIMIT = 200_000  # silver rows of a resource up to which the run keeps its entity keys in memory
INTERPRETED_ROWS = 200_000  # bronze rows of a run up to which its expressions are interpreted, not compiled
# distinct values of a reference rule up to which a small run looks them up in the referenced tables directly
# (a filtered Arrow scan of one column) instead of joining the rows with every value those tables hold
LOOKUP_VALUES = 20_000
DEFAULT_WORKERS = 3  # resources in flight at once (2-core machine: overlaps driver latency)


class AccountingError(RuntimeError):
    """A batch's rows do not add up: bronze != silver + quarantined + superseded duplicates."""


@dataclass(frozen=True)
class PendingBatch:
    resource: str
    batch_id: str
    batch_date: dt.date
    again: bool = False  # conformed before: its earlier quarantine / duplicate rows must be replaced
    rows: int | None = None  # rows loaded (ingestion audit); None when unknown


@dataclass
class RunContext:
    spark: SparkSession
    catalog: ConformCatalog
    settings: Settings
    now: dt.datetime
    conformed: dict[str, list[str]] = field(default_factory=dict)  # resource -> batch ids conformed this run
    # resource -> key item -> the entity keys of the run's silver rows (None: too many, read them back)
    touched: dict[str, dict[str, set[str]] | None] = field(default_factory=dict)
    pending: dict[str, list[PendingBatch]] = field(default_factory=dict)  # resource -> batches of this run
    small: bool = False  # a small run (``is_small_run``): reference values are looked up, see ``LOOKUP_VALUES``
    # table -> (rows, slice predicate) of each resource, written together once the resource phase is done
    side_rows: dict[str, list[tuple[DataFrame, str]]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def defer(self, table: str, rows: DataFrame, predicate: str) -> None:
        """Keep a resource's rows of a shared side table (quarantine, duplicates) for ``write_side_rows``."""
        with self.lock:
            self.side_rows.setdefault(table, []).append((rows, predicate))


def silver_table(resource: str) -> str:
    return f"silver.{resource}"


def bronze_table(resource: str) -> str:
    return f"bronze.{resource}"


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)


# -- which batches ----------------------------------------------------------------------------


def _control_rows(table: str, settings: Settings, columns: list[str], **equals) -> list[dict]:
    """Rows of a small control log through deltalake (no Spark); [] before its first write."""
    from citybrain.lake import arrow_io

    return arrow_io.read_rows(table, settings, columns, **equals)


def _append_control(table: str, rows: list[dict], columns, settings: Settings) -> None:
    """Append rows to a small control log through deltalake (no Spark); ``columns``: (name, kind) pairs,
    kind string, long or timestamp (UTC)."""
    import pyarrow as pa

    from citybrain.lake import arrow_io

    kinds = {"string": pa.string(), "long": pa.int64(), "timestamp": pa.timestamp("us", "UTC")}
    schema = pa.schema([pa.field(n, kinds[k]) for n, k in columns])
    arrow_io.append_arrow(table, pa.Table.from_pylist(rows, schema), settings=settings)


def conformed_batch_ids(settings: Settings) -> dict[str, set[str]]:
    """resource -> ids of its batches conformed so far (one read of the control log for every resource)."""
    out: dict[str, set[str]] = {}
    for r in _control_rows(CONFORMED_TABLE, settings, ["resource", "batch_id"]):
        out.setdefault(r["resource"], set()).add(r["batch_id"])
    return out


def loaded_batches(resources: list[str], settings: Settings) -> dict[str, dict[str, tuple[dt.date, int | None]]]:
    """resource -> batch id -> (batch date, rows loaded) of every batch in its bronze table: from the ingestion
    audit (read once for all the resources), else from the table itself (rows unknown)."""
    from citybrain.lake import arrow_io

    audit: dict[str, dict[str, tuple[dt.date, int | None]]] = {}
    for r in _control_rows(BATCHES_TABLE, settings, ["resource", "batch_id", "logical_date", "rows_loaded", "status"]):
        if r["status"] == "loaded":
            audit.setdefault(r["resource"], {})[r["batch_id"]] = (r["logical_date"], r["rows_loaded"])
    out = {}
    for resource in resources:
        if not arrow_io.table_exists(bronze_table(resource), settings):
            continue
        if audit.get(resource):
            out[resource] = audit[resource]
            continue
        # bronze written without the audit (tests, hand-made lakes): two narrow columns of the table
        data = arrow_io.arrow_dataset(bronze_table(resource), settings=settings).to_table(
            columns=["_batch_id", "_batch_date"])
        out[resource] = {b: (d, None) for b, d in zip(data["_batch_id"].to_pylist(), data["_batch_date"].to_pylist(),
                                                      strict=True)}
    return out


def pending_batches(resources: list[str], settings: Settings, until: dt.date | None = None,
                    rerun: list[dt.date] | None = None) -> dict[str, list[PendingBatch]]:
    """Per resource (those with any), its bronze batches not yet conformed (up to ``until``), oldest first;
    batches of the ``rerun`` dates are conformed again even when they were (a re-run changes nothing but the
    audit). The control logs are read once for all the resources: their cost follows the logs, not the
    catalogue times the logs."""
    done = conformed_batch_ids(settings)
    again = set(rerun or ())
    out = {}
    for resource, loaded in loaded_batches(resources, settings).items():
        ids = done.get(resource, set())
        batches = [PendingBatch(resource, bid, day, bid in ids, rows) for bid, (day, rows) in loaded.items()
                   if (bid not in ids or day in again) and (until is None or day <= until)]
        if batches:
            out[resource] = sorted(batches, key=lambda b: (b.batch_date, b.batch_id))
    return out


# -- Spark helpers ----------------------------------------------------------------------------


# the entity phase's evaluation (see entity_phase); conform_session sets both keys again for the next run
ENTITY_PHASE_CONF = {"spark.sql.codegen.wholeStage": "true", "spark.sql.codegen.factoryMode": "FALLBACK"}


def conform_session(spark: SparkSession, interpreted: bool = False) -> SparkSession:
    """A session of its own (same SparkContext, own SQL settings) for the run: the row pipeline is one
    wide projection (dozens of regexes and rules per item) for which whole-stage code generation exceeds
    the JVM's 64 KB method limit and falls back after a failed compile, so it is off for the run (a
    session-wide switch, unlike a toggle, is safe with several resources in flight).

    ``interpreted`` (a small run, see ``INTERPRETED_ROWS``): expressions are evaluated as they are instead
    of compiled to Java first. Compiling a resource's pipeline costs seconds whatever the rows; for a day
    of a few thousand rows that is most of the run, while interpreting them costs little."""
    from citybrain.conform.validate import SESSION_CONF
    from citybrain.spark.session import is_connect_session

    # a Spark Connect client session is this client's own on the server: set its SQL settings directly
    session = spark if is_connect_session(spark) or not hasattr(spark, "newSession") else spark.newSession()
    session.conf.set("spark.sql.codegen.wholeStage", "false")
    # set either way: a Spark Connect client session is reused by the client's next run
    session.conf.set("spark.sql.codegen.factoryMode", "NO_CODEGEN" if interpreted else "FALLBACK")
    for key, value in SESSION_CONF.items():  # the text-encoding rule encodes to GB 2312
        session.conf.set(key, value)
    # every query's plan is rendered for the SQL status store as it starts; the default "formatted" form of the
    # row pipeline's projection (hundreds of expressions) took 5% of the driver's time in a day's profile
    session.conf.set("spark.sql.ui.explainMode", "simple")
    return session


def entity_phase(session: SparkSession) -> SparkSession:
    """Switch the run's session to compiled evaluation for the entity phase. Its plans are narrow (a few
    columns of each silver, golden and agreement table) but read whole tables to pick out the touched keys:
    evaluated row by row (the resource phase's settings) a scan turns each column batch into rows through an
    interpreted projection, which was 65% of the phase's executor time in a day-1 profile at scale 1. Whole-
    stage code generation fuses scan, filter and join instead. The resource phase has ended: no query of
    this run is planned under the settings it replaces."""
    for key, value in ENTITY_PHASE_CONF.items():
        session.conf.set(key, value)
    return session


def checkpointed(df: DataFrame) -> DataFrame:
    """Compute a DataFrame once and cut its plan: the row pipeline is one very wide projection, and every
    DataFrame built on top of it (accounting, quarantine, duplicates, the SCD2 plan, the MERGE) would analyse
    that whole plan again, seconds of driver time each. The same holds for every frame a write reads several
    times (the SCD2 plan and its counts, an entity's joined copies, discrepancies and shares, each a union
    over the copies): a day's run, with few rows, spent most of its time planning them over and over. A local
    checkpoint (executor memory, spilling to disk) holds the rows instead; ``release`` frees it once used up."""
    from pyspark import StorageLevel

    return df.localCheckpoint(eager=True, storageLevel=StorageLevel.MEMORY_AND_DISK)


def release(df: DataFrame) -> None:
    """Free what ``checkpointed`` holds, now. ``DataFrame.unpersist`` leaves a local checkpoint's
    blocks in place: they belong to the checkpointed RDD, which Spark's context cleaner drops only after a JVM
    garbage collection finds it unreferenced, and the checkpoint of a resource's rows lives long enough to be
    in the old generation, collected rarely. A long run then leaves storage memory full of dead checkpoints that
    the next caches must evict, spilling each to disk first (MEMORY_AND_DISK)."""
    df.unpersist()
    jdf = getattr(df, "_jdf", None)  # None on a Spark Connect session, whose server releases it
    if jdf is None:
        return
    plan = jdf.queryExecution().analyzed()
    if plan.getClass().getSimpleName() == "LogicalRDD":
        plan.rdd().unpersist(False)


def write_side_rows(ctx: RunContext) -> float:
    """Write the resources' quarantined rows and superseded duplicates kept by ``RunContext.defer``: one
    commit per table for the whole run, replacing each resource's slice (its batches), so a re-run of a
    cut-off run replaces what it wrote. Returns the seconds it took."""
    from citybrain.lake import spark_io

    started = time.perf_counter()
    for table, parts in ctx.side_rows.items():
        predicate = " OR ".join(p for _, p in parts)
        writes.replace_slice(spark_io.union_all([df for df, _ in parts]), table, predicate, ctx, ["resource"])
        for df, _ in parts:
            release(df)
    ctx.side_rows.clear()
    return round(time.perf_counter() - started, 2)


def _in_list(values) -> str:
    return ", ".join("'" + str(v).replace("'", "''") + "'" for v in values)


# -- one resource -----------------------------------------------------------------------------


def reference_keys(resource: ResourceDef, ctx: RunContext,
                   values: dict[str, list[str]] | None = None) -> dict[str, DataFrame]:
    """For each `references: r.i` of the resource, the values r holds: its silver rows, the keys its rows
    were quarantined under, and its bronze batches of this run (a row pointing to a record its department
    sent, however faulty or not yet conformed, e.g. across the geo_address <-> geo_building cycle, is no orphan).

    ``values`` (reference -> the distinct values the batch holds, see ``batch_values``): of silver and
    quarantine only those values are read, looked up through deltalake (one column, filtered), instead of
    every value those tables hold."""
    from pyspark.sql import functions as F

    from citybrain.conform import standardise
    from citybrain.conform.sql import col, to_column
    from citybrain.lake import spark_io

    out: dict[str, DataFrame] = {}
    for it in resource.items:
        if not it.references or it.references in out:
            continue
        ref_res, ref_item = it.references.split(".", 1)
        target = ctx.catalog.resources.get(ref_res)
        wanted = (values or {}).get(it.references)
        by_key = target is not None and list(target.primary_key) == [ref_item]
        in_silver = spark_io.table_exists(ctx.spark, silver_table(ref_res), ctx.settings)
        parts = []
        if target and ctx.pending.get(ref_res) and target.has_item(ref_item):
            std = standardise.item_expr(f"CAST({col(ref_item)} AS STRING)", target.item(ref_item), ctx.catalog)
            parts.append(read_bronze(target, ctx.pending[ref_res], ctx).select(to_column(std, "_ref_value")))
        if not in_silver and not parts:  # the referenced resource has sent nothing yet: nothing to check against
            log.warning("silver.%s: rule %s of item %s not checked: %s has no rows yet", resource.name,
                        it.references, it.name, ref_res)
            continue
        if wanted is not None:  # only the batch's values, looked up
            known = lake_values(silver_table(ref_res), ref_item, wanted, ctx) if in_silver else []
            if by_key:
                known += lake_values(QUARANTINE_TABLE, "record_key", wanted, ctx, resource=ref_res)
            parts.append(strings_frame(known, "_ref_value", ctx))
        else:
            if in_silver:
                parts.append(spark_io.read_table(ctx.spark, silver_table(ref_res), settings=ctx.settings).select(
                    F.col(ref_item).cast("string").alias("_ref_value")))
            if by_key and spark_io.table_exists(ctx.spark, QUARANTINE_TABLE, ctx.settings):
                parts.append(spark_io.read_table(ctx.spark, QUARANTINE_TABLE, settings=ctx.settings).where(
                    (F.col("resource") == ref_res) & F.col("record_key").isNotNull()).select(
                    F.col("record_key").alias("_ref_value")))
        out[it.references] = spark_io.union_all(parts)
    return out


def batch_values(held: DataFrame, resource: ResourceDef, limit: int = LOOKUP_VALUES) -> dict[str, list[str]]:
    """Per reference of the resource, the distinct values its items hold in the run's rows; a reference with
    more than ``limit`` of them is left out (joined with the referenced tables instead)."""
    from pyspark.sql import functions as F

    out: dict[str, set[str]] = {}
    too_many = set()
    for it in resource.items:
        if not it.references or it.references in too_many:
            continue
        found = [r[0] for r in held.select(F.col(it.name).cast("string")).where(F.col(it.name).isNotNull())
                 .distinct().limit(limit + 1).collect()]
        if len(found) > limit:
            too_many.add(it.references)
            out.pop(it.references, None)
        else:
            out.setdefault(it.references, set()).update(found)
    return {ref: sorted(v) for ref, v in out.items()}


def lake_values(table: str, column: str, values: list[str], ctx: RunContext, **equals) -> list[str]:
    """Those of ``values`` a lake table's column holds (where the ``equals`` columns hold their values): a
    filtered scan of the table's files through deltalake, no Spark job; [] before the table's first write."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from citybrain.lake import arrow_io

    if not values or not arrow_io.table_exists(table, ctx.settings):
        return []
    where = pc.field(column).cast(pa.string()).isin(pa.array(values, pa.string()))
    for name, value in equals.items():
        where = where & (pc.field(name) == value)
    found = arrow_io.arrow_dataset(table, settings=ctx.settings).to_table(columns=[column], filter=where)
    return found.column(column).cast(pa.string()).to_pylist()


def strings_frame(values, column: str, ctx: RunContext) -> DataFrame:
    """A one-column string DataFrame of the distinct values (few: kept keys, looked-up values)."""
    import pandas as pd

    return ctx.spark.createDataFrame(pd.DataFrame({column: sorted(set(values))}, dtype=object), f"`{column}` string")


def read_bronze(resource: ResourceDef, batches: list[PendingBatch], ctx: RunContext) -> DataFrame:
    from citybrain.lake import spark_io

    days = ", ".join(sorted({f"DATE'{b.batch_date.isoformat()}'" for b in batches}))
    predicate = f"_batch_date IN ({days}) AND _batch_id IN ({_in_list(b.batch_id for b in batches)})"
    return spark_io.read_table(ctx.spark, bronze_table(resource.name), settings=ctx.settings).where(predicate)


def write_history(silver_rows: DataFrame, resource: ResourceDef, ctx: RunContext, laps: Laps | None = None) -> int:
    """SCD2 MERGE of the run's versions into silver.<entity resource>; returns rows upserted."""
    from citybrain.conform import scd2
    from citybrain.lake import spark_io

    laps = laps if laps is not None else Laps()

    table = silver_table(resource.name)
    incoming = scd2.versions(silver_rows, resource)
    exists = spark_io.table_exists(ctx.spark, table, ctx.settings)
    existing = spark_io.read_table(ctx.spark, table, settings=ctx.settings) if exists else None
    if not exists:
        changes = scd2.plan(incoming, None, resource)
        spark_io.overwrite(changes, table, settings=ctx.settings)
        return _written_rows(ctx, table)
    # the touched keys' stored versions, read once (the plan joins them three ways)
    touched = checkpointed(scd2.touched(existing, incoming, resource))
    changes = checkpointed(scd2.plan(incoming, touched, resource, flag_history=True))
    try:
        counts = _counts_by(changes, scd2.HAD_HISTORY)
        laps.lap("scd2_plan")
        rows = changes.drop(scd2.HAD_HISTORY)
        if counts.get(True):  # some key's versions change: MERGE on (key, valid_from)
            writes.merge(rows, table, scd2.merge_condition(resource), ctx, scd2.merge_clauses(resource))
        elif counts.get(False):  # new keys only: nothing in the table changes, their versions are appended
            writes.append(rows.drop(scd2.NEW), table, ctx)
        return sum(counts.values())
    finally:
        release(changes)
        release(touched)


def write_events(silver_rows: DataFrame, resource: ResourceDef, ctx: RunContext) -> int:
    """MERGE of the run's events/readings into silver.<resource>, partitioned by event_date; rows upserted."""
    from citybrain.conform import events
    from citybrain.lake import spark_io

    table = silver_table(resource.name)
    if not spark_io.table_exists(ctx.spark, table, ctx.settings):
        spark_io.overwrite(events.rows(silver_rows, resource), table, settings=ctx.settings,
                           partition_by=[events.EVENT_DATE])
        return _written_rows(ctx, table)
    rows = checkpointed(events.rows(silver_rows, resource))
    try:
        per_date = rows.groupBy(events.EVENT_DATE).count().collect()  # one job: the dates to prune and the count
        if not per_date:
            return 0
        writes.merge(rows, table, events.merge_condition(resource, [r[0] for r in per_date]), ctx,
               (f"WHEN MATCHED AND t.{events.ROW_HASH} <> s.{events.ROW_HASH} THEN UPDATE SET *",
                "WHEN NOT MATCHED THEN INSERT *"))
        return sum(r[1] for r in per_date)
    finally:
        release(rows)


def _written_rows(ctx: RunContext, table: str) -> int:
    """Rows the latest commit of a table wrote (inserted + updated by a MERGE), from its Delta log (no scan)."""
    from citybrain.lake import arrow_io

    history = arrow_io.delta_table(table, settings=ctx.settings).history(1)
    metrics = history[0].get("operationMetrics", {}) if history else {}
    if history and history[0].get("operation") == "MERGE":
        return sum(int(metrics.get(k, 0) or 0) for k in ("numTargetRowsInserted", "numTargetRowsUpdated"))
    return int(metrics.get("numOutputRows", 0) or 0)


def conform_resource(resource: ResourceDef, batches: list[PendingBatch], ctx: RunContext) -> dict:
    """Conform some bronze batches of one resource; returns the run's accounting per batch."""
    from citybrain.conform import rows

    started = time.perf_counter()
    ids = [b.batch_id for b in batches]
    laps = Laps()
    bronze = read_bronze(resource, batches, ctx)
    conformed = rows.transform(bronze, resource, ctx.catalog)
    # a small run computes its rows once, not again for each reference's values, and looks those values up;
    # a large one would hold a second copy of millions of wide rows beside the classified ones
    held = checkpointed(conformed) if ctx.small and any(it.references for it in resource.items) else None
    try:
        refs = reference_keys(resource, ctx, None if held is None else batch_values(held, resource))
        classified = checkpointed(rows.classify(rows.check_references(
            conformed if held is None else held, resource, refs), resource))
    finally:
        if held is not None:
            release(held)
    laps.lap("rows")
    try:
        counted = {r["_batch_id"]: r.asDict() for r in rows.accounting(classified).collect()}
        laps.lap("accounting")
        accounting = {}
        for bid in ids:
            row = counted.get(bid, {"rows_in": 0, "rows_silver": 0, "rows_quarantined": 0, "rows_duplicate": 0})
            acc = {k: int(row[k] or 0) for k in ("rows_in", "rows_silver", "rows_quarantined", "rows_duplicate")}
            if acc["rows_in"] != acc["rows_silver"] + acc["rows_quarantined"] + acc["rows_duplicate"]:
                raise AccountingError(
                    f"bronze.{resource.name} batch {bid}: {acc['rows_in']} rows in, but {acc['rows_silver']} to silver "
                    f"+ {acc['rows_quarantined']} quarantined + {acc['rows_duplicate']} duplicates; nothing was "
                    "recorded as conformed: report this with the batch id")
            accounting[bid] = acc
        slice_ = f"resource = '{resource.name}' AND batch_id IN ({_in_list(ids)})"
        again = any(b.again for b in batches)  # first-time batches have no earlier rows to replace
        if again or any(a["rows_quarantined"] for a in accounting.values()):
            ctx.defer(QUARANTINE_TABLE, checkpointed(rows.quarantine_rows(classified, resource, ctx.now)),
                      f"({slice_} AND stage = '{STAGE}')")
            laps.lap("quarantine")
        if again or any(a["rows_duplicate"] for a in accounting.values()):
            ctx.defer(DUPLICATES_TABLE, checkpointed(rows.duplicate_rows(classified, resource)), f"({slice_})")
            laps.lap("duplicates")
        silver = rows.silver_rows(classified, resource)
        ctx.touched[resource.name] = entity_keys(silver, resource, ctx, sum(a["rows_silver"] for a in accounting.values()))
        if resource.is_history:
            written = write_history(silver, resource, ctx, laps)
        else:
            written = write_events(silver, resource, ctx)
        laps.lap("silver_write")
    finally:
        release(classified)
    totals = {k: sum(a[k] for a in accounting.values())
              for k in ("rows_in", "rows_silver", "rows_quarantined", "rows_duplicate")}
    log.info("silver.%s: %d batch(es), %s, %d row(s) upserted (%.1fs)", resource.name, len(ids), totals, written,
             time.perf_counter() - started)
    return {"batches": accounting, **totals, "rows_upserted": written,
            "seconds": round(time.perf_counter() - started, 2), "steps": dict(laps)}


# -- golden records and verification -----------------------------------------------------------


def entity_keys(silver: DataFrame, resource: ResourceDef, ctx: RunContext, n_rows: int) -> dict[str, set[str]] | None:
    """The entity keys of a resource's silver rows of this run, per key item of the entities it feeds, kept
    for the entity phase (which then reads no table back to find them); None above TOUCHED_KEYS_LIMIT rows."""
    from pyspark.sql import functions as F

    items = sorted({e.key_item(resource.name) for e in ctx.catalog.entities
                    if resource.name in e.authority_resources + e.copy_resources})
    if not items or n_rows > TOUCHED_KEYS_LIMIT:
        return None if items else {}
    found = silver.select(*[F.col(i).cast("string").alias(i) for i in items]).distinct().collect()
    return {i: {r[i] for r in found if r[i] is not None} for i in items}


def _touched_keys(entity: EntityDef, ctx: RunContext) -> DataFrame | None:
    """Entity keys of the silver rows this run wrote in the entity's authority and copy resources: those the
    resource phase kept (a superset: it counts versions an SCD2 plan found unchanged), else read back."""
    from pyspark.sql import functions as F

    from citybrain.lake import spark_io

    parts, kept, from_memory = [], set(), False
    for res in dict.fromkeys(entity.authority_resources + entity.copy_resources):
        ids = ctx.conformed.get(res)
        if not ids or not spark_io.table_exists(ctx.spark, silver_table(res), ctx.settings):
            continue
        key_item = entity.key_item(res)
        known = ctx.touched.get(res)
        if known is not None and key_item in known:
            kept |= known[key_item]
            from_memory = True
            continue
        df = spark_io.read_table(ctx.spark, silver_table(res), settings=ctx.settings)
        parts.append(df.where(F.col("_batch_id").isin(*ids)).select(F.col(key_item).cast("string").alias("_key")))
    if from_memory:
        parts.append(strings_frame(kept, "_key", ctx))
    if not parts:
        return None
    return spark_io.union_all(parts).where("_key IS NOT NULL").distinct()


def _only(df: DataFrame, key_item: str, keys: DataFrame | None) -> DataFrame:
    from pyspark.sql import functions as F

    if keys is None:
        return df
    return df.join(keys, F.col(key_item).cast("string") == F.col("_key"), "left_semi")


def refresh_entity(entity: EntityDef, ctx: RunContext) -> dict:
    """Golden records, discrepancies and agreement rates of one entity for the keys this run touched."""

    from citybrain.conform import golden
    from citybrain.lake import spark_io

    spark, settings = ctx.spark, ctx.settings
    gtable = golden.golden_table(entity.name)
    authorities = [r for r in entity.authority_resources if spark_io.table_exists(spark, silver_table(r), settings)]
    if len(authorities) < len(entity.authority_resources):
        missing = sorted(set(entity.authority_resources) - set(authorities))
        if not authorities:
            return {"skipped": f"no authority table yet ({', '.join(missing)})"}
    touched = [r for r in dict.fromkeys(entity.authority_resources + entity.copy_resources) if r in ctx.conformed]
    first_build = not spark_io.table_exists(spark, gtable, settings)
    if not touched and not first_build:
        return {"skipped": "no new batches"}
    started = time.perf_counter()
    keys = None if first_build else _touched_keys(entity, ctx)
    if keys is not None:
        keys = checkpointed(keys)
    frames = {}
    for res in entity.authority_resources:
        if res in authorities:
            frames[res] = _only(spark_io.read_table(spark, silver_table(res), settings=settings),
                                entity.key_item(res), keys)
        else:  # an authority not loaded yet contributes no values
            frames[res] = _empty_like(res, ctx)
    setup_s = round(time.perf_counter() - started, 2)
    started = time.perf_counter()
    built = golden.build(entity, frames, ctx.catalog)
    if first_build:
        spark_io.overwrite(built, gtable, settings=settings)
        n_golden = _written_rows(ctx, gtable)
    else:  # the refreshed keys' records; unchanged ones are left alone
        n_golden = write_golden(built, entity, keys, ctx)
    result = {"setup_seconds": setup_s, "golden_rows_refreshed": n_golden,
              "golden_seconds": round(time.perf_counter() - started, 2)}
    result.update(verify_entity(entity, keys, ctx))
    if keys is not None:
        release(keys)
    return result


def write_golden(built: DataFrame, entity: EntityDef, keys: DataFrame | None, ctx: RunContext) -> int:
    """Upsert the refreshed keys' golden records that differ from the stored ones; returns how many. Records
    of keys new to the table only are appended (no MERGE scan of the whole table)."""
    from functools import reduce

    from pyspark.sql import functions as F

    from citybrain.conform import golden
    from citybrain.lake import spark_io

    gtable = golden.golden_table(entity.name)
    columns = [c for c in built.columns if c != entity.key]
    stored = _only(spark_io.read_table(ctx.spark, gtable, settings=ctx.settings), entity.key, keys)
    was = stored.select(F.col(entity.key).alias("_was_key"), *[F.col(c).alias(f"_was_{c}") for c in columns])
    same = reduce(lambda a, b: a & b, [F.col(c).eqNullSafe(F.col(f"_was_{c}")) for c in columns])
    changed = checkpointed(built.join(was, F.col(entity.key) == F.col("_was_key"), "left")
                           .where(F.col("_was_key").isNull() | ~same)
                           .select(*built.columns, F.col("_was_key").isNotNull().alias("_stored")))
    try:
        counts = _counts_by(changed, "_stored")
        rows = changed.drop("_stored")
        if counts.get(True):
            writes.merge(rows, gtable, f"t.`{entity.key}` = s.`{entity.key}`", ctx)
        elif counts.get(False):
            writes.append(rows, gtable, ctx)
        return sum(counts.values())
    finally:
        release(changed)


def _empty_like(resource: str, ctx: RunContext) -> DataFrame:
    """An empty silver table of the resource (typed items, batch id, SCD2 columns)."""
    from citybrain.conform import scd2
    from citybrain.conform.cast import spark_type_name

    res = ctx.catalog.resource(resource)
    schema = ", ".join(f"`{it.name}` {spark_type_name(it)}" for it in res.items) + ", `_batch_id` string"
    if res.is_history:
        vf, vt = scd2.validity_columns(res)
        schema += f", `{vf}` timestamp, `{vt}` timestamp, `{scd2.IS_CURRENT}` boolean"
    return ctx.spark.createDataFrame([], schema)


def _copy_current(res: ResourceDef, entity: EntityDef, keys: DataFrame | None, ctx: RunContext) -> DataFrame:
    """The copy resource's current rows of the keys (all keys when None): every current version (entities),
    the latest event per entity key (the key filter comes first, so only those keys' events are ranked)."""
    from pyspark.sql import functions as F

    from citybrain.conform import golden
    from citybrain.lake import spark_io

    key_item = entity.key_item(res.name)
    df = _only(spark_io.read_table(ctx.spark, silver_table(res.name), settings=ctx.settings), key_item, keys)
    if res.is_history:
        return df.where(F.col("is_current"))
    return golden.current(df, res, key_item)


def _has_shares(entity: EntityDef, ctx: RunContext) -> bool:
    """Whether silver.agreement_keys holds the entity's shares (a lake from before the table had none): from
    the table's log, the entity partition's files (no scan)."""
    from citybrain.lake import arrow_io

    if not arrow_io.table_exists(SHARES_TABLE, ctx.settings):
        return False
    files = arrow_io.delta_table(SHARES_TABLE, settings=ctx.settings).get_add_actions(flatten=True)
    if "partition.entity" not in files.column_names:  # an unpartitioned table (an earlier release)
        return bool(arrow_io.read_rows(SHARES_TABLE, ctx.settings, ["entity"], entity=entity.name))
    entities, records = files.column("partition.entity").to_pylist(), files.column("num_records").to_pylist()
    return any(e == entity.name and (n is None or n > 0) for e, n in zip(entities, records, strict=True))


def _has_rates(entity: EntityDef, copies: list[str], ctx: RunContext) -> bool:
    """Whether silver.agreement_rates (a small table, read without Spark) has a row for every copy resource
    of the entity that has a table."""
    rows = _control_rows(AGREEMENT_TABLE, ctx.settings, ["entity", "copy_resource"], entity=entity.name)
    return set(copies) <= {r["copy_resource"] for r in rows}


def verify_entity(entity: EntityDef, keys: DataFrame | None, ctx: RunContext) -> dict:
    """Discrepancies of every copy of the entity for the touched keys, the keys' agreement shares, and the
    entity's agreement rates summed from the shares (nothing here reads a copy beyond the touched keys)."""
    from citybrain.conform import golden, verify
    from citybrain.conform.rows import record_key
    from citybrain.lake import spark_io

    spark, settings = ctx.spark, ctx.settings
    copies = [r for r in entity.copy_resources if spark_io.table_exists(spark, silver_table(r), settings)]
    if not copies:
        return {"discrepancies": 0}
    started = time.perf_counter()
    gold_table = spark_io.read_table(spark, golden.golden_table(entity.name), settings=settings)
    # the touched keys' golden records, read once for all the copies (the whole table on a first build)
    gold = _only(gold_table, entity.key, keys) if keys is None else checkpointed(_only(gold_table, entity.key, keys))
    share_keys = keys if keys is not None and _has_shares(entity, ctx) else None
    found, shares, bases = [], [], []
    for copy_res in copies:
        res = ctx.catalog.resource(copy_res)
        pairs = verify.copy_pairs(entity, copy_res, ctx.catalog)
        rows = verify.copy_rows(_copy_current(res, entity, keys, ctx), entity, copy_res, pairs, record_key(res))
        base = checkpointed(verify.joined(gold, rows, entity, pairs))
        bases.append(base)
        found.append(verify.discrepancies(base, entity, copy_res, pairs, ctx.catalog, ctx.now))
        if share_keys is None and keys is not None:  # shares missing: this run computes every key's
            all_rows = verify.copy_rows(_copy_current(res, entity, None, ctx), entity, copy_res, pairs,
                                        record_key(res))
            base = verify.joined(gold_table, all_rows, entity, pairs)
        shares.append(verify.key_agreement(base, entity, copy_res, pairs, ctx.catalog))
    figures = {"verify_setup_seconds": round(time.perf_counter() - started, 2)}
    try:
        started = time.perf_counter()
        n = write_discrepancies(spark_io.union_all(found), entity, keys, ctx)
        figures.update(discrepancies=n, discrepancies_seconds=round(time.perf_counter() - started, 2))
        started = time.perf_counter()
        figures["agreement_shares_changed"] = write_agreement_shares(
            spark_io.union_all(shares), entity, copies, share_keys, ctx)
        figures["agreement_seconds"] = round(time.perf_counter() - started, 2)
    finally:
        for base in [*bases, gold]:
            release(base)
    return figures


def write_agreement_shares(new: DataFrame, entity: EntityDef, copies: list[str], keys: DataFrame | None,
                           ctx: RunContext) -> int:
    """Store the touched keys' shares (every key's when ``keys`` is None) and the entity's rates they sum to;
    returns how many shares changed (-1: all replaced). The rates are written first, from the shares as they
    will be: a run cut off between the two writes leaves shares that still differ, so its re-run sums again
    (written the other way round, the re-run would find no share moving and keep stale rates)."""
    from citybrain.conform import verify

    new = checkpointed(new)
    old = None if keys is None else checkpointed(stored_shares(entity, keys, ctx))
    changes = None if old is None else checkpointed(share_changes(new, old))
    try:
        ops = {} if changes is None else _counts_by(changes, "_op")
        moved = -1 if changes is None else sum(ops.values())
        has_rates, pending = _has_rates(entity, copies, ctx), _sums_pending(entity, ctx)
        if moved or not has_rates:  # no share moves: the sums are what they were
            _mark_sums(entity, "started", ctx)
            zeros = verify.zero_rates(ctx.spark, entity, copies, ctx.catalog)
            after = _shares_after(new, old, entity, ctx, from_rates=has_rates and not pending)
            write_agreement(verify.rates_from_shares(after, zeros), entity, ctx)
        write_shares(new, changes, entity, ctx, ops)
        if moved or not has_rates or pending:  # pending without moves: cut off after both writes
            _mark_sums(entity, "done", ctx)
        return moved
    finally:
        for df in (new, old, changes):
            if df is not None:
                release(df)


_SUMS_LOCK = threading.Lock()  # entities mark in parallel; the first mark creates the table


def _mark_sums(entity: EntityDef, state: str, ctx: RunContext) -> None:
    """Log that the entity's agreement writes started or are done (deltalake: no Spark job)."""
    row = {"entity": entity.name, "state": state, "at": dt.datetime.now(dt.UTC)}
    with _SUMS_LOCK:
        _append_control(SUMS_TABLE, [row], SUMS_COLUMNS, ctx.settings)


def _sums_pending(entity: EntityDef, ctx: RunContext) -> bool:
    """Whether the entity's last agreement writes were cut off (marked started, never done)."""
    rows = _control_rows(SUMS_TABLE, ctx.settings, ["entity", "state", "at"], entity=entity.name)
    return bool(rows) and max(rows, key=lambda r: r["at"])["state"] == "started"


def stored_shares(entity: EntityDef, keys: DataFrame, ctx: RunContext) -> DataFrame:
    """The touched keys' shares as stored (before this run's)."""
    from pyspark.sql import functions as F

    from citybrain.lake import spark_io

    stored = spark_io.read_table(ctx.spark, SHARES_TABLE, settings=ctx.settings).where(F.col("entity") == entity.name)
    return stored.join(keys, F.col("entity_key") == F.col("_key"), "left_semi")


def _shares_after(new: DataFrame, old: DataFrame | None, entity: EntityDef, ctx: RunContext,
                  from_rates: bool = False) -> DataFrame:
    """Rows that sum to the entity's rates once this run's shares are stored: the stored rates (``from_rates``,
    a few rows per copy resource) or every stored share (when the rates cannot be trusted: a lake without
    them, or a run cut off while writing them), the touched keys' stored shares (``old``) negated, and the
    run's own. Adding the changes to the stored rates reads nothing but the touched keys' shares, so the
    daily cost follows the day's changes, not the number of keys."""
    from pyspark.sql import functions as F

    from citybrain.lake import spark_io

    group = ["entity", "attribute", "copy_department", "copy_resource"]
    if old is None:
        return new.select(*group, "compared", "agreed")
    source = AGREEMENT_TABLE if from_rates else SHARES_TABLE
    stored = spark_io.read_table(ctx.spark, source, settings=ctx.settings).where(F.col("entity") == entity.name)
    gone = old.select(*group, (-F.col("compared")).alias("compared"), (-F.col("agreed")).alias("agreed"))
    return (stored.select(*group, "compared", "agreed").unionByName(gone)
            .unionByName(new.select(*group, "compared", "agreed")))


def write_discrepancies(new: DataFrame, entity: EntityDef, keys: DataFrame | None, ctx: RunContext) -> int:
    """Replace the entity's discrepancies of the touched keys; unchanged ones keep their detected_at."""
    new = checkpointed(new)
    try:
        return _replace_discrepancies(new, entity, keys, ctx)
    finally:
        release(new)


def _replace_discrepancies(new: DataFrame, entity: EntityDef, keys: DataFrame | None, ctx: RunContext) -> int:
    """write_discrepancies' work on the checkpointed rows (counted, then diffed against the stored ones)."""
    from pyspark.sql import functions as F

    from citybrain.lake import spark_io

    table = DISCREPANCIES_TABLE
    n = new.count()
    if not spark_io.table_exists(ctx.spark, table, ctx.settings):
        spark_io.append(new, table, partition_by=["entity"], settings=ctx.settings)
        return n
    old = spark_io.read_table(ctx.spark, table, settings=ctx.settings).where(F.col("entity") == entity.name)
    if keys is not None:
        old = old.join(keys, F.col("entity_key") == F.col("_key"), "left_semi")
    # one delete per id: a lake written before ids named the copy record holds some ids twice, and two source
    # rows matching one target row fail the MERGE (DELTA_MULTIPLE_SOURCE_ROW_MATCHING_TARGET_ROW_IN_MERGE)
    gone = (old.join(new.select("_disc_id"), "_disc_id", "left_anti").dropDuplicates(["_disc_id"])
            .withColumn("_op", F.lit("delete")))
    added = new.join(old.select("_disc_id"), "_disc_id", "left_anti").withColumn("_op", F.lit("insert"))
    changes = checkpointed(gone.unionByName(added))
    try:
        ops = _counts_by(changes, "_op")
        if ops.get("delete"):
            names = ", ".join(f"`{c}`" for c in new.columns)
            values = ", ".join(f"s.`{c}`" for c in new.columns)
            writes.merge(changes, table, f"t.entity = '{entity.name}' AND t._disc_id = s._disc_id", ctx,
                   ("WHEN MATCHED AND s._op = 'delete' THEN DELETE",
                    f"WHEN NOT MATCHED AND s._op = 'insert' THEN INSERT ({names}) VALUES ({values})"))
        elif ops.get("insert"):  # new discrepancies only: appended, no MERGE scan of the entity's rows
            writes.append(changes.drop("_op"), table, ctx)
    finally:
        release(changes)
    return n


def _counts_by(changes: DataFrame, column: str) -> dict:
    """Rows per value of ``column`` of a change set (one job): how a write is done depends on which kinds
    of change it holds (only new rows: append; any stored row touched: MERGE)."""
    return {r[0]: r[1] for r in changes.groupBy(column).count().collect()}


def share_changes(shares: DataFrame, old: DataFrame) -> DataFrame:
    """The touched keys' shares that differ from their stored ones ``old`` (``_op`` update, or insert where
    none is stored) and stored shares of those keys the run no longer has (``_op`` delete)."""
    from pyspark.sql import functions as F

    from citybrain.conform.verify import SHARE_COLUMNS

    on = ["copy_resource", "entity_key", "attribute"]
    gone = old.join(shares.select(*on), on, "left_anti").withColumn("_op", F.lit("delete"))
    was = old.select(*on, F.col("compared").alias("_was_compared"), F.col("agreed").alias("_was_agreed"),
                     F.lit(True).alias("_was"))
    moved = shares.join(was, on, "left").where(
        ~(F.col("compared").eqNullSafe(F.col("_was_compared")) & F.col("agreed").eqNullSafe(F.col("_was_agreed"))))
    op = F.when(F.col("_was"), F.lit("update")).otherwise(F.lit("insert"))
    return (moved.select(*SHARE_COLUMNS, op.alias("_op"))
            .unionByName(gone.select(*SHARE_COLUMNS, "_op")))


def write_shares(shares: DataFrame, changes: DataFrame | None, entity: EntityDef, ctx: RunContext,
                 ops: dict[str, int]) -> None:
    """Replace the entity's shares by ``shares`` (``changes`` None), else store the changes (``ops``: rows per
    `_op`): appended when all are inserts, else by MERGE."""
    from citybrain.conform.verify import SHARE_COLUMNS

    if changes is None:
        writes.replace_slice(shares, SHARES_TABLE, f"entity = '{entity.name}'", ctx, ["entity"])
        return
    if not sum(ops.values()):
        return
    if not ops.get("update") and not ops.get("delete"):
        writes.append(changes.select(*SHARE_COLUMNS), SHARES_TABLE, ctx)
        return
    on = ["copy_resource", "entity_key", "attribute"]
    names = ", ".join(f"`{c}`" for c in SHARE_COLUMNS)
    values = ", ".join(f"s.`{c}`" for c in SHARE_COLUMNS)
    writes.merge(changes, SHARES_TABLE, f"t.entity = '{entity.name}' AND " + " AND ".join(f"t.`{c}` = s.`{c}`" for c in on),
           ctx, ("WHEN MATCHED AND s._op = 'delete' THEN DELETE",
                 f"WHEN MATCHED THEN UPDATE SET {', '.join(f't.`{c}` = s.`{c}`' for c in SHARE_COLUMNS)}",
                 f"WHEN NOT MATCHED AND s._op <> 'delete' THEN INSERT ({names}) VALUES ({values})"))


def write_agreement(rates: DataFrame, entity: EntityDef, ctx: RunContext) -> None:
    """Upsert one entity's agreement rates. The table is partitioned by entity and the MERGE names its
    partition, so entities refreshed in parallel do not conflict (a table created unpartitioned by an
    earlier release still works: its conflicting commits are retried)."""
    from citybrain.lake import spark_io

    rates = rates.coalesce(1)
    if not spark_io.table_exists(ctx.spark, AGREEMENT_TABLE, ctx.settings):
        spark_io.overwrite(rates, AGREEMENT_TABLE, settings=ctx.settings, partition_by=["entity"])
        return
    writes.merge(rates, AGREEMENT_TABLE,
           f"t.entity = '{entity.name}' AND t.entity = s.entity AND t.attribute = s.attribute "
           "AND t.copy_resource = s.copy_resource", ctx,
           ("WHEN MATCHED AND NOT (t.compared <=> s.compared AND t.agreed <=> s.agreed) THEN UPDATE SET *",
            "WHEN NOT MATCHED THEN INSERT *"))


# -- the run ----------------------------------------------------------------------------------

def shared_tables() -> dict[str, tuple[str, list[str]]]:
    """Tables several resources or entities of a run write: name -> (schema DDL, partition columns)."""
    from citybrain.conform.verify import AGREEMENT_COLUMNS, DISCREPANCY_COLUMNS, SHARE_COLUMNS
    from citybrain.ingest.quarantine import COLUMNS as QUARANTINE_COLUMNS

    def ddl(columns) -> str:
        return ", ".join(f"`{name}` {kind}" for name, kind in columns)

    longs = {"row_number", "kept_row_number", "compared", "agreed"}
    kinds = {"detected_at": "timestamp", "rate": "double"}

    def typed(names) -> list[tuple[str, str]]:
        return [(n, "long" if n in longs else kinds.get(n, "string")) for n in names]

    from citybrain.conform.rows import DUPLICATE_COLUMNS

    return {QUARANTINE_TABLE: (ddl(QUARANTINE_COLUMNS), ["resource"]),
            DUPLICATES_TABLE: (ddl(typed(DUPLICATE_COLUMNS)), ["resource"]),
            DISCREPANCIES_TABLE: (ddl(typed(DISCREPANCY_COLUMNS)), ["entity"]),
            AGREEMENT_TABLE: (ddl(typed(AGREEMENT_COLUMNS)), ["entity"]),
            SHARES_TABLE: (ddl(typed(SHARE_COLUMNS)), ["entity"])}


def create_shared_tables(ctx: RunContext) -> None:
    """Create the shared tables empty before work runs in parallel (two first writers of one table would
    race on its creation, DELTA_PROTOCOL_CHANGED), and give a stored one the columns a later release added
    (an empty mergeSchema append; e.g. `silver.discrepancies.copy_record_key`, null in its older rows)."""
    from citybrain.lake import arrow_io, spark_io

    for table, (schema, partition_by) in shared_tables().items():
        empty = ctx.spark.createDataFrame([], schema)
        if not spark_io.table_exists(ctx.spark, table, ctx.settings):
            writes.retry(table, lambda t=table, e=empty, p=partition_by: spark_io.append(
                e, t, partition_by=p, settings=ctx.settings))
            continue
        stored = set(arrow_io.delta_table(table, settings=ctx.settings).schema().to_arrow().names)
        if set(empty.columns) - stored:
            writes.retry(table, lambda t=table, e=empty: spark_io.append(e, t, merge_schema=True, settings=ctx.settings))



def record_conformed(results: dict[str, dict], ctx: RunContext) -> None:
    """Append one control.conformed_batches row per conformed batch (deltalake, no Spark)."""
    at = ctx.now.replace(tzinfo=dt.UTC)
    rows = [{"resource": name, "batch_id": bid, **acc, "conformed_at": at}
            for name, res in results.items() for bid, acc in res["batches"].items()]
    if rows:
        _append_control(CONFORMED_TABLE, rows, CONFORMED_COLUMNS, ctx.settings)


def is_small_run(pending: dict[str, list[PendingBatch]]) -> bool:
    """Whether a run's bronze rows (from the ingestion audit) are few enough to interpret its expressions
    (``INTERPRETED_ROWS``); a run of batches without an audited row count is not."""
    sizes = [b.rows for batches in pending.values() for b in batches]
    return bool(sizes) and None not in sizes and sum(sizes) <= INTERPRETED_ROWS


def _reporting(progress, kind: str, total: int, fn):
    """fn, calling progress(kind, name, done, total, result) after each item (thread-safe count)."""
    if progress is None:
        return fn
    import threading

    lock, done = threading.Lock(), [0]

    def run(name: str):
        result = fn(name)
        with lock:
            done[0] += 1
            progress(kind, name, done[0], total, result)
        return result

    return run


def run_conform(resources: list[str] | None = None, *, until: dt.date | str | None = None,
                rerun: list[dt.date | str] | None = None, settings: Settings | None = None,
                catalog: ConformCatalog | None = None, now: dt.datetime | None = None,
                spark: SparkSession | None = None, workers: int = DEFAULT_WORKERS, progress=None,
                wait: float = DEFAULT_WAIT_SECONDS) -> dict:
    """Conform every pending bronze batch (optionally of some resources, up to a batch date; ``rerun``
    dates are conformed again, e.g. after a rule fix).

    Returns {"resources": {name: accounting and "steps" (seconds per step)}, "entities": {entity: refresh
    figures}, "evaluation": "interpreted" or "compiled" (``is_small_run``), "seconds": s, "resources_seconds": s,
    "entities_seconds": s} (the two phases' wall-clock time;
    the resource phase includes "side_rows_seconds", the run's one write of quarantine and duplicates);
    a resource without pending batches is left out. ``progress(kind, name, done, total, result)`` is called as
    each resource ("resource") and entity ("entity") finishes (the demo and `citybrain conform run` print it).

    One conform run at a time writes the lake (stage lease "conform", citybrain.lake.lease): a second run, from
    a second scheduler or a manual command, waits up to ``wait`` seconds, then conforms what is still pending
    (usually nothing: the first run took it), or refuses naming the running one.
    """

    started = time.perf_counter()
    settings = settings or get_settings()
    if catalog is None:
        catalog = load_catalog(None if settings.catalog_dir == get_settings().catalog_dir else settings.catalog_dir)
    if isinstance(until, str):
        until = dt.date.fromisoformat(until)
    again = [dt.date.fromisoformat(d) if isinstance(d, str) else d for d in rerun or ()]
    wanted = set(resources) if resources else None
    unknown = (wanted or set()) - set(catalog.resources)
    if unknown:
        raise KeyError(f"unknown resource(s) {sorted(unknown)}: not in the catalogue {catalog.root}")
    with stage_lease("conform", settings, wait=wait, purpose=f"conform {sorted(wanted) if wanted else 'all'}"):
        return _conform_pending(wanted, until, again, settings, catalog, now, spark, workers, progress, started)


def _conform_pending(wanted: set[str] | None, until: dt.date | None, again: list[dt.date], settings: Settings,
                     catalog: ConformCatalog, now: dt.datetime | None, spark: SparkSession | None, workers: int,
                     progress, started: float) -> dict:
    """The body of run_conform, under its lease: the pending batches read now are this run's alone."""
    from citybrain.spark import get_spark

    pending = pending_batches([n for n in catalog.conform_order() if wanted is None or n in wanted], settings,
                              until, again)
    small = is_small_run(pending)
    if not pending:  # nothing new, decided from the control logs alone: no Spark session (no JVM) is started
        return {"resources": {}, "entities": {}, "resources_seconds": 0.0, "side_rows_seconds": 0.0,
                "entities_seconds": 0.0, "evaluation": "interpreted" if small else "compiled",
                "seconds": round(time.perf_counter() - started, 2)}
    session = conform_session(spark or get_spark(settings), interpreted=small)
    ctx = RunContext(session, catalog, settings, now or utcnow(), pending=pending, small=small)
    order = [n for n in catalog.conform_order() if n in ctx.pending]
    # a resource waits for the resources it references that come before it (cycles are broken there)
    position = {n: i for i, n in enumerate(catalog.conform_order())}
    deps = {n: [it.references.split(".")[0] for it in catalog.resource(n).items if it.references
                and position.get(it.references.split(".")[0], len(position)) < position[n]] for n in order}
    if order:
        create_shared_tables(ctx)
    phase = time.perf_counter()
    results = run_ordered(order, deps, _reporting(progress, "resource", len(order), lambda n: conform_resource(
        catalog.resource(n), ctx.pending[n], ctx)), workers)
    results = {n: results[n] for n in order}
    side_s = write_side_rows(ctx)
    resources_s = round(time.perf_counter() - phase, 2)
    ctx.conformed.update({n: [b.batch_id for b in ctx.pending[n]] for n in order})
    entities = {}
    phase = time.perf_counter()
    if ctx.conformed:
        entity_phase(session)
        names = [e.name for e in catalog.entities]
        refreshed = run_ordered(names, {}, _reporting(progress, "entity", len(names),
                                                      lambda n: _timed(refresh_entity, catalog.entity(n), ctx)), workers)
        entities = {n: refreshed[n] for n in names}
    entities_s = round(time.perf_counter() - phase, 2)
    record_conformed(results, ctx)
    return {"resources": results, "entities": entities, "resources_seconds": resources_s, "side_rows_seconds": side_s,
            "entities_seconds": entities_s, "evaluation": "interpreted" if small else "compiled",
            "seconds": round(time.perf_counter() - started, 2)}


def _timed(fn, *args) -> dict:
    """fn(*args) (a dict of figures) with its wall-clock seconds added."""
    started = time.perf_counter()
    out = fn(*args)
    return {**out, "seconds": round(time.perf_counter() - started, 2)}
