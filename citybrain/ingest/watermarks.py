"""Watermarks of incremental database pulls (control.watermarks): how far each resource has been pulled.

The table is an append-only log (one row per advance); the current watermark of a resource is its
latest row. Rows are appended only after the batch's bronze commit reconciled, never by Airflow
Variables.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from citybrain.ingest.batches import utcnow
from citybrain.ingest.control_io import append_rows, read_rows
from citybrain.settings import Settings

WATERMARKS_TABLE = "control.watermarks"
WATERMARK_COLUMNS = (("resource", "string"), ("incremental_key", "string"), ("watermark", "string"),
                     ("batch_id", "string"), ("updated_at", "timestamp"))
_TIME_FORMATS = ("%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S",
                 "%Y-%m-%d %H:%M", "%Y-%m-%d", "%Y%m%d%H%M%S", "%Y/%m/%d %H:%M:%S")


def watermark_key(value: str) -> tuple:
    """A sort key for a watermark value as pulled: time, then number, then plain text.

    Text comparison alone is wrong for '2026-11-01 9:00:00' vs '2026-11-01 10:00:00' or mixed
    'T'/space separators; the key compares the moments.
    """
    text = str(value).strip()
    for fmt in _TIME_FORMATS:
        try:
            return (0, datetime.strptime(text.rstrip("Z"), fmt), text)
        except ValueError:
            continue
    try:
        return (1, Decimal(text), text)
    except InvalidOperation:
        return (2, text, text)


def is_after(value: str | None, watermark: str | None) -> bool:
    """True when `value` lies past `watermark` (anything lies past no watermark; null never does)."""
    if value is None:
        return False
    return watermark is None or watermark_key(value) > watermark_key(watermark)


def max_watermark(values: Iterable[str | None]) -> str | None:
    """The latest of the pulled incremental-key values (text as pulled), ignoring nulls and blanks."""
    best: str | None = None
    best_key: tuple | None = None
    for value in values:
        if value is None or not str(value).strip():
            continue
        key = watermark_key(value)
        if best_key is None or key > best_key:
            best, best_key = value, key
    return best


def next_watermark(current: str | None, pulled_max: str | None) -> str | None:
    """The watermark after a batch: advances to the pulled maximum, never moves back."""
    return pulled_max if is_after(pulled_max, current) else current


def upper_bound(batch_date: date) -> str:
    """Exclusive upper end of a database pull for `batch_date`: the next midnight, as source text."""
    return f"{batch_date + timedelta(days=1):%Y-%m-%d} 00:00:00"


def read_watermarks(settings: Settings | None = None) -> dict[str, dict]:
    """resource -> its latest control.watermarks row ({} before the first advance)."""
    latest: dict[str, dict] = {}
    for row in sorted(read_rows(WATERMARKS_TABLE, settings=settings), key=lambda r: r["updated_at"]):
        latest[row["resource"]] = row
    return latest


def current_watermark(resource: str, settings: Settings | None = None) -> str | None:
    """The resource's watermark, or None when it has never been pulled."""
    row = read_watermarks(settings).get(resource)
    return row["watermark"] if row else None


def advance_watermark(resource: str, incremental_key: str, watermark: str, batch_id: str,
                      settings: Settings | None = None) -> None:
    """Append the new watermark (call only after the batch's bronze commit reconciled)."""
    row = (resource, incremental_key, watermark, batch_id, utcnow())
    append_rows(WATERMARKS_TABLE, WATERMARK_COLUMNS, [row], settings)
