"""Which conform runs interpret their expressions instead of compiling them: small ones, by audited rows."""

from __future__ import annotations

import datetime as dt

import pytest

from citybrain.conform.job import INTERPRETED_ROWS, PendingBatch, is_small_run

pytestmark = pytest.mark.unit

DAY = dt.date(2026, 11, 2)


def batch(resource: str, rows: int | None) -> PendingBatch:
    return PendingBatch(resource, f"{resource}:20261102:x", DAY, rows=rows)


def test_a_day_of_a_few_thousand_rows_is_a_small_run():
    # a day's changes across resources: far below the threshold
    assert is_small_run({"pop_resident": [batch("pop_resident", 236)], "health_visit": [batch("health_visit", 13222)]})


def test_the_rows_of_every_resource_count_together():
    # each resource alone is under the threshold, together they are over it: the run compiles
    half = INTERPRETED_ROWS // 2 + 1
    assert not is_small_run({"a": [batch("a", half)], "b": [batch("b", half)]})
    assert is_small_run({"a": [batch("a", INTERPRETED_ROWS)]})  # the threshold itself is still small


def test_a_batch_of_unknown_size_makes_the_run_compile():
    # bronze written without the ingestion audit (rows unknown): the safe choice for any size is compiling
    assert not is_small_run({"a": [batch("a", 10)], "b": [batch("b", None)]})


def test_a_run_with_nothing_pending_is_not_small():
    assert not is_small_run({})
