"""A wrong invocation of any command is one line on stderr naming the bad value and what is accepted (the
closest match of a typo), exit 2: never a traceback, never an error from deep inside (checked before any work)."""

from __future__ import annotations

import datetime as dt

import pytest
import typer
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from citybrain.cli import app
from citybrain.cli.params import iso_date, iso_time, one_of

pytestmark = pytest.mark.unit

# argv, and what the one error line must say (each case fails before any source, lake or Spark is touched)
CASES = [
    (["conform", "run", "--until", "not-a-date"],
     "error: Invalid value for '--until': 'not-a-date' is not a date: write YYYY-MM-DD, e.g. 2026-11-02"),
    (["conform", "run", "--rerun", "2026-11-01", "--rerun", "2026-13-01"],
     "error: Invalid value for '--rerun': '2026-13-01' is not a date"),
    (["conform", "run", "-r", "pop_resdent"],  # a typo: the close matches, and where the rest are
     "error: Invalid value for '--resource' / '-r': unknown resource 'pop_resdent' (did you mean 'pop_resident'"),
    (["conform", "run", "--workers", "0"], "error: Invalid value for '--workers': '0' is not a whole number of at least 1"),
    (["conform", "rn"], "error: No such command 'rn'. Did you mean 'run'?"),
    (["conform", "run", "--untl", "2026-11-01"], "error: No such option: --untl"),
    (["sql", "SELECT 1", "--as-of", "not-a-date"],
     "error: Invalid value for '--as-of': 'not-a-date' is not a time: write ISO 8601"),
    (["sql", "SELECT 1", "--version", "gold=1"], "error: Invalid value for '--version': Table name 'gold' is not"),
    (["sql", "SELECT 1", "--version", "gold.indicator_values"],
     "error: Invalid value for '--version': 'gold.indicator_values' is not layer.table=N"),
    (["duckdb", "x.duckdb", "--layer", "bronze"],
     "error: Invalid value for '--layer': unknown layer 'bronze'; accepted: gold, open, silver"),
    (["quality", "report", "--date", "2026/11/01"], "error: Invalid value for '--date': '2026/11/01' is not a date"),
    (["quality", "report", "--weight", "timelyness=2"],
     "error: Invalid value for '--weight' / '-w': unknown dimension 'timelyness' (did you mean 'timeliness'?)"),
    (["quality", "report", "--weight", "timeliness=much"],
     "error: Invalid value for '--weight' / '-w': 'timeliness=much' is not dimension=weight"),
    (["quality", "faults", "--manifest", "/no/such/folder"], "error: Invalid value for '--manifest': dir '/no/such/folder'"),
    (["sources", "generate", "--faults", "lots"], "error: Invalid value for '--faults': 'lots' is not a fault rate"),
    (["sources", "generate", "--start-date", "1st of May"],
     "error: Invalid value for '--start-date': '1st of May' is not a date"),
    (["sources", "generate", "--days", "0"], "error: Invalid value for '--days': '0' is not a whole number"),
    (["sources", "generate", "--scale", "-1"], "error: Invalid value for '--scale': '-1' is not a scale factor"),
    (["demo", "--start-date", "2026-02-30"], "error: Invalid value for '--start-date': '2026-02-30' is not a date"),
    (["bench", "--stage", "conform_incr"],
     "error: Invalid value for '--stage' / '-s': unknown bench stage 'conform_incr' (did you mean 'conform_incremental'"),
    (["catalog", "list", "--department", "HRS"],
     "error: Invalid value for '--department': unknown department 'HRS' (did you mean 'HRSS'"),
    (["catalog", "list", "--library", "populaton"],
     "error: Invalid value for '--library': unknown library 'populaton' (did you mean 'population'"),
    (["catalog", "authority", "--entity", "persn"],
     "error: Invalid value for '--entity': unknown entity 'persn' (did you mean 'person'"),
    (["releases", "scan", "/no/such/folder"], "/no/such/folder is not a folder: give a release folder"),
    (["spark", "connect-server", "--delta-plugin", "maybe"],
     "error: Invalid value for '--delta-plugin': unknown Delta plugin mode 'maybe'; accepted: auto, off, require"),
]


@pytest.mark.parametrize(("argv", "line"), CASES, ids=[" ".join(a) for a, _ in CASES])
def test_wrong_invocation_is_one_line_naming_the_value(argv, line):
    result = CliRunner().invoke(app, argv)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(line), result.output
    assert "Traceback" not in result.output


def test_one_of_lists_everything_when_nothing_is_close():
    with pytest.raises(typer.BadParameter, match=r"^unknown colour 'xyz'; accepted: blue, green, red$"):
        one_of("xyz", ["red", "green", "blue"], "colour")
    assert one_of("red", ["red"], "colour") == "red"


@given(st.dates())
def test_every_date_round_trips(day):
    assert iso_date(day.isoformat()) == day


@given(st.datetimes(timezones=st.sampled_from([dt.UTC, dt.timezone(dt.timedelta(hours=8))])))
def test_every_time_round_trips_and_is_aware(moment):
    assert iso_time(moment.isoformat()) == moment
    naive = iso_time(moment.replace(tzinfo=None).isoformat())
    assert naive.tzinfo is dt.UTC and naive.replace(tzinfo=None) == moment.replace(tzinfo=None)  # no offset = UTC


@given(st.text(max_size=30))
def test_any_text_is_a_date_or_a_bad_parameter(text):
    # never a ValueError or TypeError from deep inside: either the date it spells, or the one-line refusal
    try:
        parsed = iso_date(text)
    except typer.BadParameter as exc:
        assert repr(text) in str(exc)
    else:
        assert parsed == dt.date.fromisoformat(text)
