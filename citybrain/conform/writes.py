"""Conform's Delta writes: MERGE, append and slice replacement through the lake's Spark I/O, a commit that
lost a race with a concurrent writer (parallel entities, ingestion's quarantine appends) retried; each
operation is idempotent, so a retry applies the same rows once."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

    from citybrain.conform.job import RunContext

log = logging.getLogger(__name__)
WRITE_ATTEMPTS = 4  # quarantine is shared with ingestion: a concurrent commit on the same resource is retried


def retry(what: str, fn) -> None:
    for attempt in range(1, WRITE_ATTEMPTS + 1):
        try:
            fn()
            return
        except Exception as exc:  # Delta's ConcurrentModificationException family (also inside a Py4JJavaError)
            text = f"{type(exc).__name__} {str(exc)[:2000]}"
            retryable = any(k in text for k in ("Concurrent", "ProtocolChanged", "MetadataChanged"))
            if not retryable or attempt == WRITE_ATTEMPTS:
                raise
            log.warning("%s: concurrent commit (%s), retrying (%d/%d)", what, type(exc).__name__, attempt,
                        WRITE_ATTEMPTS)
            time.sleep(attempt)


UPSERT = ("WHEN MATCHED THEN UPDATE SET *", "WHEN NOT MATCHED THEN INSERT *")


def merge(df: DataFrame, table: str, on: str, ctx: RunContext, clauses=UPSERT) -> None:
    """MERGE through Delta SQL (works on a classic and a Spark Connect session alike); entities refreshed in
    parallel merge into the shared agreement and discrepancy tables, so a conflicting commit is retried (the
    MERGE is idempotent: it re-reads the table and applies the same source rows)."""
    from citybrain.lake import spark_io

    retry(table, lambda: spark_io.merge_sql(df, table, on, clauses, settings=ctx.settings))


def append(df: DataFrame, table: str, ctx: RunContext) -> None:
    """Append rows that match nothing in the table (new keys): no MERGE scan of the target. Safe to repeat
    after a cut-off run: its re-run finds the rows stored and appends nothing."""
    from citybrain.lake import spark_io

    retry(table, lambda: spark_io.append(df, table, settings=ctx.settings))


def replace_slice(df: DataFrame, table: str, predicate: str, ctx: RunContext, partition_by: list[str]) -> None:
    """Replace the rows matching ``predicate`` by ``df`` (creating the table on first use)."""
    from citybrain.lake import spark_io

    def write() -> None:
        if not spark_io.table_exists(ctx.spark, table, ctx.settings):
            spark_io.append(df, table, partition_by=partition_by, settings=ctx.settings)
        else:
            spark_io.replace_where(df, table, predicate, settings=ctx.settings)

    retry(table, write)
