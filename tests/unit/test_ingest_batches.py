"""Batch ids, file-name dates and the day a run ingests."""

from datetime import UTC, date, datetime

import pytest

from citybrain.ingest.batches import Batch, file_date, make_batch_id, parse_batch_id, resolve_batch_date

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    "name, stem, ext, expected",
    [
        ("tickets_20261101.csv", "tickets", "csv", date(2026, 11, 1)),  # the contract's <stem>_YYYYMMDD.<ext>
        ("TICKETS_20261101.CSV", "tickets", "csv", date(2026, 11, 1)),  # case of a Windows share: same drop
        ("tickets_20261131.csv", "tickets", "csv", None),  # 31 November is no day: not a drop name
        ("tickets_2026111.csv", "tickets", "csv", None),  # seven digits
        ("tickets_20261101.csv.bak", "tickets", "csv", None),  # a copy left by an operator
        ("my_tickets_20261101.csv", "tickets", "csv", None),  # another stem
        ("tickets_20261101.jsonl", "tickets", "csv", None),  # another format
        ("aqi_20261101.jsonl", "aqi", "jsonl", date(2026, 11, 1)),
    ],
)
def test_file_date(name, stem, ext, expected):
    assert file_date(name, stem, ext) == expected


def test_batch_id_round_trip():
    batch_id = make_batch_id("pop_resident", date(2026, 11, 1), "ab12cd34ef56")
    assert batch_id == "pop_resident:20261101:ab12cd34ef56"
    assert parse_batch_id(batch_id) == ("pop_resident", date(2026, 11, 1), "ab12cd34ef56")


@pytest.mark.parametrize("bad", ["pop_resident:2026-11-01:x", "pop_resident:20261101", "Pop:20261101:x"])
def test_malformed_batch_id_is_named(bad):
    with pytest.raises(ValueError, match="is not <resource>:<YYYYMMDD>:<fingerprint>"):
        parse_batch_id(bad)


@pytest.mark.parametrize(
    "logical, run_after, override, expected",
    [
        (datetime(2026, 11, 2, tzinfo=UTC), None, None, date(2026, 11, 2)),  # scheduled or dag.test run
        (None, datetime(2026, 11, 3, 8, tzinfo=UTC), None, date(2026, 11, 3)),  # manual run without logical date
        (datetime(2026, 11, 2, tzinfo=UTC), None, "2026-10-30", date(2026, 10, 30)),  # param batch_date wins
    ],
)
def test_resolve_batch_date(logical, run_after, override, expected):
    assert resolve_batch_date(logical, run_after, override) == expected


def test_resolve_batch_date_rejects_bad_param():
    with pytest.raises(ValueError, match="param batch_date='yesterday' is not a date"):
        resolve_batch_date(None, None, "yesterday")


def test_batch_survives_xcom_round_trip():
    batch = Batch("hotline_ticket", "HOTLINE", "hotline_ticket:20261101:abc", date(2026, 11, 1),
                  "files/hotline/tickets_20261101.csv", extract_time=datetime(2026, 11, 1, 6, 0),
                  drift={"added": ["remark"]})
    assert Batch.from_dict(batch.to_dict()) == batch
