"""Watermarks of incremental database pulls: how far each resource has been pulled, and key times.

A resource's watermark is derived from its loaded batches in control.batches (their `watermark_to`): the
audit row written after the batch's bronze commit reconciled is the advance, never Airflow Variables.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from citybrain.ingest.control_io import read_rows
from citybrain.settings import Settings

# The text forms of an incremental-key time (docs/lake-contract.md, "Database pulls"): a date with `-`, `/` or
# `.` (1- or 2-digit month and day) or compact YYYYMMDD, then optionally a time after a space or `T` (compact:
# glued) with 1- or 2-digit hours, minutes, optional seconds and fraction, and an optional zone suffix.
_TIME = r"(?:(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:\.(?P<f>\d{1,6}))?)?)"
_ZONE = r"(?:Z|[+-]\d{2}(?::?\d{2})?)?"
KEY_TIME_FORMS = (
    re.compile(rf"(?P<y>\d{{4}})(?P<sep>[-/.])(?P<m>\d{{1,2}})(?P=sep)(?P<d>\d{{1,2}})(?:[ T]{_TIME})?{_ZONE}"),
    re.compile(rf"(?P<y>\d{{4}})(?P<m>\d{{2}})(?P<d>\d{{2}})(?:(?P<H>\d{{2}})(?P<M>\d{{2}})(?P<S>\d{{2}})?)?{_ZONE}"),
)
# The canonical form: text in it sorts like the moment, so a database compares it as text in SQL.
CANONICAL_KEY_LIKE = "____-__-__ __:__:__%"


def key_time(value: str | None) -> datetime | None:
    """The wall-clock moment an incremental-key value was written as; None for null or no supported form.

    A zone suffix is ignored: a pull places a row by the clock time it carries (the lake keeps local wall-clock
    time), so canonical text orders exactly like the moments and SQL may compare it as text.
    """
    if value is None:
        return None
    text = str(value).strip()
    if len(text) in (19, 26) and text[4] == "-" and text[10] == " " and (len(text) == 19 or text[19] == "."):
        try:  # the canonical form, as most keys are written: the C parser, five times faster than the regexes
            moment = datetime.fromisoformat(text)
            if moment.tzinfo is None:  # '2000-01-01 00:00+08' is 19 characters too: its zone is ignored below
                return moment
        except ValueError:
            pass
    for form in KEY_TIME_FORMS:
        match = form.fullmatch(text)
        if match:
            parts = match.groupdict()
            try:
                return datetime(int(parts["y"]), int(parts["m"]), int(parts["d"]), int(parts["H"] or 0),
                                int(parts["M"] or 0), int(parts["S"] or 0), int((parts.get("f") or "0").ljust(6, "0")))
            except ValueError:  # 2026-02-30, 25:00: no moment
                return None
    return None


def key_text(moment: datetime) -> str:
    """The canonical text of a moment (`YYYY-MM-DD HH:MM:SS[.ffffff]`), as SQL bounds are written."""
    return moment.isoformat(sep=" ")


def watermark_key(value: str) -> tuple:
    """A sort key for a watermark value as pulled: time, then number, then plain text.

    Text comparison alone is wrong for '2026-11-01 9:00:00' vs '2026-11-01 10:00:00', mixed 'T'/space
    separators or '2026/11/02'; the key compares the moments.
    """
    text = str(value).strip()
    moment = key_time(text)
    if moment is not None:
        return (0, moment, text)
    try:
        return (1, Decimal(text), text)
    except InvalidOperation:
        return (2, text, text)


def is_after(value: str | None, watermark: str | None) -> bool:
    """True when `value` lies past `watermark` (anything lies past no watermark; null never does)."""
    if value is None:
        return False
    # the moment (or number) decides; the text is only a tie-break for sorting: one moment in two forms is equal
    return watermark is None or watermark_key(value)[:2] > watermark_key(watermark)[:2]


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


def window_start(watermark: str | None, lookback: timedelta) -> str | None:
    """Exclusive lower end of a pull: the watermark moved back by the look-back (None: from the beginning).

    Rows committed late with a key before the watermark are re-read while they lie within the look-back; a
    key that is not a time (a number) has no look-back.
    """
    moment = key_time(watermark)
    if moment is None:
        return watermark
    return key_text(moment - lookback)


def read_watermarks(settings: Settings | None = None) -> dict[str, dict]:
    """resource -> {resource, watermark, batch_id, updated_at}: the greatest `watermark_to` of the resource's
    loaded batches in control.batches ({} before the first load). The batch's audit row is the advance: one
    commit, so a crash can never leave a batch and its watermark apart, and a second run of a date that loads
    nothing new moves nothing. A reload carries the same watermark_to: it never moves backwards."""
    from citybrain.ingest.audit import BATCHES_TABLE
    from citybrain.ingest.batches import LOADED

    latest: dict[str, dict] = {}
    for row in read_rows(BATCHES_TABLE, settings=settings):
        mark = row.get("watermark_to")
        if row["status"] != LOADED or mark is None:
            continue
        held = latest.get(row["resource"])
        if held is None or watermark_key(mark) > watermark_key(held["watermark"]):
            latest[row["resource"]] = {"resource": row["resource"], "watermark": mark, "batch_id": row["batch_id"],
                                       "updated_at": row["finished_at"]}
    return latest


def current_watermark(resource: str, settings: Settings | None = None) -> str | None:
    """The resource's watermark, or None when it has never been loaded."""
    row = read_watermarks(settings).get(resource)
    return row["watermark"] if row else None


