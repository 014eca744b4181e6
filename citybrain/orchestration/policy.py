"""Defaults every DAG of the project shares (owner, retries, tags): the integrity test enforces them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

OWNER = "citybrain-data-platform"
START_DATE = datetime(2026, 11, 1, tzinfo=UTC)
DEFAULT_ARGS = {
    "owner": OWNER,
    "retries": 1,
    "retry_delay": timedelta(minutes=2),
}
BASE_TAGS = ["citybrain"]
