"""Reporting periods: a period is named by its type (day, month, quarter, year) and its first day."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import Column

PERIOD_TYPES = ("day", "month", "quarter", "year")
# Spark's trunc() unit for each period type (day periods are the date itself)
_TRUNC = {"month": "MM", "quarter": "quarter", "year": "year"}


def grain_period_type(grain: str) -> str:
    """'district_month' -> 'month'."""
    return grain.split("_", 1)[1]


def grain_level(grain: str) -> str:
    """'district_month' -> 'district', 'city_year' -> 'city'."""
    return grain.split("_", 1)[0]


def period_start(day: dt.date, period_type: str) -> dt.date:
    """First day of the period of ``period_type`` that holds ``day``."""
    if period_type == "day":
        return day
    if period_type == "month":
        return day.replace(day=1)
    if period_type == "quarter":
        return dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    if period_type == "year":
        return dt.date(day.year, 1, 1)
    raise ValueError(f"unknown period type {period_type!r} (expected one of {', '.join(PERIOD_TYPES)})")


def next_period_start(start: dt.date, period_type: str) -> dt.date:
    """First day of the following period: the exclusive end of the period starting at ``start``."""
    if period_type == "day":
        return start + dt.timedelta(days=1)
    months = {"month": 1, "quarter": 3, "year": 12}[period_type]
    total = start.year * 12 + start.month - 1 + months
    return dt.date(total // 12, total % 12 + 1, 1)


def period_end(start: dt.date, period_type: str) -> dt.date:
    """Last day of the period (inclusive)."""
    return next_period_start(start, period_type) - dt.timedelta(days=1)


def periods_between(first: dt.date, last: dt.date, period_type: str) -> list[dt.date]:
    """Every period start from the period holding ``first`` to the one holding ``last``."""
    out: list[dt.date] = []
    cur = period_start(first, period_type)
    while cur <= last:
        out.append(cur)
        cur = next_period_start(cur, period_type)
    return out


def until_data_date(periods: Iterable[dt.date], data_date: dt.date | None) -> list[dt.date]:
    """The periods that start on or before the lake's data date (all of them when it is unknown): no period
    lies wholly after the last day the lake holds data for, whatever far-future dates the data carries."""
    return sorted(p for p in periods if data_date is None or p <= data_date)


def periods_of(days: Iterable[dt.date], period_type: str) -> set[dt.date]:
    """The periods that hold the given days."""
    return {period_start(d, period_type) for d in days}


def period_col(date_col: Column, period_type: str) -> Column:
    """Spark: the period start of a DATE column."""
    from pyspark.sql import functions as F

    if period_type == "day":
        return date_col
    return F.trunc(date_col, _TRUNC[period_type])


def next_period_col(start_col: Column, period_type: str) -> Column:
    """Spark: the exclusive end (next period start) of a period-start DATE column."""
    from pyspark.sql import functions as F

    if period_type == "day":
        return F.date_add(start_col, 1)
    return F.add_months(start_col, {"month": 1, "quarter": 3, "year": 12}[period_type])
