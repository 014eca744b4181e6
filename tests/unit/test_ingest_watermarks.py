"""Watermark comparisons: moments, not strings, decide what is new."""

from datetime import date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from citybrain.ingest.watermarks import (
    is_after,
    key_time,
    max_watermark,
    next_watermark,
    upper_bound,
    window_start,
)

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


# -- the text forms of a key time: every supported form of a moment is that moment ---------------------------

moments = st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2099, 12, 31, 23, 59, 59, 999999))


# a zone suffix does not move the row: it is placed by the clock time written (conform converts values)
zones = st.sampled_from(["", "", "Z", "+08:00", "+0800", "+08", "-05:00"])


@st.composite
def written(draw):
    """(text, moment it denotes): a datetime written in one of the supported forms, at that form's precision."""
    moment = draw(moments)
    pad = draw(st.booleans())  # single-digit month, day and hour, or zero-padded
    precision = draw(st.sampled_from(["day", "minute", "second", "fraction"]))
    moment = moment.replace(**{"day": dict(hour=0, minute=0, second=0, microsecond=0),
                               "minute": dict(second=0, microsecond=0), "second": dict(microsecond=0),
                               "fraction": {}}[precision])
    if draw(st.booleans()):  # compact: 20261102, 202611021005, 20261102100530
        if precision == "fraction":
            moment = moment.replace(microsecond=0)
        text = moment.strftime({"day": "%Y%m%d", "minute": "%Y%m%d%H%M"}.get(precision, "%Y%m%d%H%M%S"))
        return text + draw(zones), moment
    sep = draw(st.sampled_from("-/."))
    fmt = "{:02d}" if pad else "{}"
    text = f"{moment.year:04d}{sep}{fmt.format(moment.month)}{sep}{fmt.format(moment.day)}"
    if precision != "day":
        text += draw(st.sampled_from(" T")) + f"{fmt.format(moment.hour)}:{moment.minute:02d}"
        if precision in ("second", "fraction"):
            text += f":{moment.second:02d}"
        if precision == "fraction":
            text += "." + f"{moment.microsecond:06d}"[:draw(st.integers(1, 6))]
            moment = moment.replace(microsecond=int(text.rsplit(".", 1)[1].ljust(6, "0")))
    return text + draw(zones), moment


@given(written())
def test_every_supported_form_is_the_moment_it_writes(case):
    text, moment = case
    assert key_time(text) == moment
    iso = moment.isoformat(sep=" ")
    assert not is_after(text, iso) and not is_after(iso, text)  # compares equal to its ISO form


@given(moments, st.sampled_from(["%Y-%m/%d %H:%M:%S", "%Y-%m-%d %H%M", "%d/%m/%Y %H:%M", "%Y-%m-%d %H:%M:%S %p",
                                 "%Y-%m-%d:%H:%M", "%y-%m-%d %H:%M:%S"]))
def test_unsupported_forms_are_no_time(moment, fmt):
    assert key_time(moment.strftime(fmt)) is None  # never read as some other moment


@pytest.mark.parametrize("text", ["2026-02-30 10:00:00", "2026-11-02 24:00:00", "2026-13-01", "20261340", "yesterday",
                                  "", "   ", "2026-11-02 10:5"])
def test_impossible_or_unreadable_keys_are_no_time(text):
    assert key_time(text) is None


def test_window_start_moves_the_watermark_back_by_the_look_back():
    assert window_start("2026-11-02 10:05:00", timedelta(days=1)) == "2026-11-01 10:05:00"
    assert window_start("2026/11/2 9:05", timedelta(hours=6)) == "2026-11-02 03:05:00"  # canonical text for SQL
    assert window_start("2026-11-02 10:05:00.25", timedelta(0)) == "2026-11-02 10:05:00.250000"
    assert window_start(None, timedelta(days=1)) is None  # first pull: from the beginning
    assert window_start("1042", timedelta(days=1)) == "1042"  # a numeric key has no look-back


def test_the_watermark_is_derived_from_the_loaded_batches_so_it_cannot_drift_from_them(tmp_path):
    """The audit row of a loaded batch is its watermark's advance (one commit): a crash between a load and a
    separate watermark write, or a second run of the date, used to leave control.watermarks different."""
    from datetime import date, datetime

    from citybrain.ingest import audit
    from citybrain.ingest.batches import FAILED, LOADED, SKIPPED, Batch
    from citybrain.ingest.watermarks import current_watermark, read_watermarks
    from citybrain.settings import Settings

    lake = Settings(var_dir=tmp_path, lake_uri=str(tmp_path / "lake"))
    assert current_watermark("grid_event", lake) is None

    def batch(bid, status, mark, minute):
        return Batch("grid_event", "CMB", f"grid_event:2026110{bid}:x", date(2026, 11, bid), "db:cmb.t_grid_event",
                     status=status, watermark_to=mark, finished_at=datetime(2026, 11, 5, 0, minute))

    audit.record_batches([batch(1, LOADED, "2026-11-01 9:59:00", 1), batch(2, LOADED, "2026-11-02 10:00:00", 2),
                          batch(3, FAILED, "2026-11-03 23:00:00", 3), batch(4, SKIPPED, None, 4),
                          batch(1, LOADED, "2026-11-01 9:59:00", 5)], lake)  # a reload of day 1, later
    assert current_watermark("grid_event", lake) == "2026-11-02 10:00:00"  # compared as times, never backwards
    assert read_watermarks(lake)["grid_event"]["batch_id"] == "grid_event:20261102:x"
