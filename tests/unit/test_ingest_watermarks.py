"""Watermark comparisons: moments, not strings, decide what is new."""

from datetime import date

import pytest

from citybrain.ingest.watermarks import is_after, max_watermark, next_watermark, upper_bound

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    "value, watermark, expected",
    [
        ("2026-11-01 10:00:00", "2026-11-01 09:00:00", True),
        ("2026-11-01 10:00:00", "2026-11-01 9:00:00", True),  # text order would say '1' < '9': wrong
        ("2026-11-01T08:00:00", "2026-11-01 09:00:00", False),  # 'T' sorts after ' ' as text: wrong again
        ("2026-11-01 09:00:00.5", "2026-11-01 09:00:00", True),  # sub-second precision counts
        ("2026-11-01 09:00:00", "2026-11-01 09:00:00", False),  # equal is not after: no row is pulled twice
        ("10", "9", True),  # numeric keys compare as numbers
        ("2026-11-01 00:00:00", None, True),  # first pull: everything is new
        (None, "2026-11-01 00:00:00", False),  # a null key never advances
    ],
)
def test_is_after(value, watermark, expected):
    assert is_after(value, watermark) is expected


def test_max_watermark_keeps_the_text_as_pulled():
    assert max_watermark(["2026-11-01 9:00:00", None, "", "2026-11-01 10:00:00", "2026-10-31 23:59:59"]) \
        == "2026-11-01 10:00:00"
    assert max_watermark([None, ""]) is None


@pytest.mark.parametrize(
    "current, pulled, expected",
    [
        (None, "2026-11-01 10:00:00", "2026-11-01 10:00:00"),
        ("2026-11-02 00:00:00", "2026-11-01 10:00:00", "2026-11-02 00:00:00"),  # a reload never moves it back
        ("2026-11-01 00:00:00", None, "2026-11-01 00:00:00"),  # an empty pull keeps it
    ],
)
def test_next_watermark(current, pulled, expected):
    assert next_watermark(current, pulled) == expected


def test_upper_bound_is_the_next_midnight():
    assert upper_bound(date(2026, 12, 31)) == "2027-01-01 00:00:00"
