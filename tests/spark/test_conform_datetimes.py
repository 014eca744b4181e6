"""The date and time grammar, time zones and null markers of conform, as Spark evaluates them.

Every test runs its values in one DataFrame (one Spark job, or one per hypothesis example): a table of
documented forms, generated valid date-times written in every supported form (each must read back exactly),
and generated unsupported or garbled forms (none may read as another value than the one it means).
"""

from __future__ import annotations

import calendar
import datetime as dt

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.spark

Q = "quarantined"  # no value, and a conform.type.* violation naming the text
FULLWIDTH = str.maketrans("0123456789-:/. ", "０１２３４５６７８９－：／．\u3000")


@pytest.fixture(scope="module")
def cspark(spark):
    from citybrain.conform.job import conform_session

    return conform_session(spark)


def read_back(spark, texts: list[str | None]) -> list[tuple[str | None, str | None, list[str]]]:
    """Each text as a D and as a T item through standardise + cast, in one job: (date, local timestamp as
    yyyy-MM-dd HH:mm:ss.SSSSSS, violated rules). Timestamps are compared as text: no Python time zone."""
    from pyspark.sql import functions as F

    from citybrain.conform import cast, standardise
    from citybrain.conform.catalog import ItemDef, ResourceDef

    res = ResourceDef(name="t_datetimes", provider="T", kind="event", primary_key=("i",),
                      items=(ItemDef("d", "D"), ItemDef("t", "T")))
    df = spark.createDataFrame([(i, v, v) for i, v in enumerate(texts)], "i int, d string, t string")
    out = cast.transform(standardise.transform(df, res), res).select(
        "i", F.date_format("d", "yyyy-MM-dd").alias("d"), F.date_format("t", "yyyy-MM-dd HH:mm:ss.SSSSSS").alias("t"),
        F.transform("_violations", lambda v: F.concat(v["rule_id"], F.lit(":"), v["item"])).alias("rules"))
    got = {r["i"]: (r["d"], r["t"], r["rules"]) for r in out.collect()}
    return [got[i] for i in range(len(texts))]


def _ts(value: dt.datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S.%f")


def _outcome(value, typed, rules, item):
    """A table's expectation (a value, Q, or None for no value and no violation) against what came out."""
    if value == Q:
        return typed is None and f"conform.type.{'date' if item == 'd' else 'timestamp'}:{item}" in rules
    return typed == value and not [r for r in rules if r.endswith(":" + item)]


# text -> (as a D item, as a T item); Q: quarantined with the text, never another value
FORMS = [
    ("2025年3月7日", "2025-03-07", "2025-03-07 00:00:00.000000"),  # 年月日, one-digit month and day
    ("2025年3月7", "2025-03-07", "2025-03-07 00:00:00.000000"),  # 日 left out at the end
    ("2025 年 03 月 07 日", "2025-03-07", "2025-03-07 00:00:00.000000"),  # typed with spaces
    ("2025年3月7日 8:15", Q, "2025-03-07 08:15:00.000000"),  # a time of day: not a whole day for a D item
    ("2025年3月7日8:15:00", Q, "2025-03-07 08:15:00.000000"),  # time glued to 日 (the bug: 3-78:15)
    ("2025年3月7日8时15分", Q, "2025-03-07 08:15:00.000000"),  # 时分
    ("2025年3月7日8时15分30秒", Q, "2025-03-07 08:15:30.000000"),  # 时分秒
    ("2025年3月7日8点", Q, "2025-03-07 08:00:00.000000"),  # 点 for 时, the hour alone
    ("2025年3月7日8时15", Q, "2025-03-07 08:15:00.000000"),  # last unit left out
    ("2025年3月7日0时0分", "2025-03-07", "2025-03-07 00:00:00.000000"),  # midnight: a whole day
    ("2025/3/7 8:05", Q, "2025-03-07 08:05:00.000000"),  # slashes
    ("2025.3.7", "2025-03-07", "2025-03-07 00:00:00.000000"),  # dots
    ("2025-3-7 8:3:7", Q, "2025-03-07 08:03:07.000000"),  # every field one digit
    ("20261102", "2026-11-02", "2026-11-02 00:00:00.000000"),  # compact date
    ("202611021005", Q, "2026-11-02 10:05:00.000000"),  # compact date and time
    ("20261102100530", Q, "2026-11-02 10:05:30.000000"),  # compact with seconds
    ("20261102T100530", Q, "2026-11-02 10:05:30.000000"),  # ISO basic
    ("20261102 10:05", Q, "2026-11-02 10:05:00.000000"),  # compact date, time with colons
    ("2026-11-02T10:05:30", Q, "2026-11-02 10:05:30.000000"),  # ISO T
    ("2026-11-02T10:05:30.123456", Q, "2026-11-02 10:05:30.123456"),  # microseconds
    ("2026-11-02 10:05:30.5", Q, "2026-11-02 10:05:30.500000"),  # a tenth
    ("2026-11-02 10:05:30.123456000", Q, "2026-11-02 10:05:30.123456"),  # nanoseconds that are zero
    ("2026-11-02 00:00:00", "2026-11-02", "2026-11-02 00:00:00.000000"),  # a spreadsheet date cell
    ("２０２６－１１－０２　１０：０５", Q, "2026-11-02 10:05:00.000000"),  # full-width throughout
    # time zones: the lake holds Asia/Shanghai wall-clock time
    ("2026-11-02T10:05:30+08:00", Q, "2026-11-02 10:05:30.000000"),  # CST: the local clock, kept
    ("2026-11-02T10:05:30+0800", Q, "2026-11-02 10:05:30.000000"),  # the same without a colon
    ("2026-11-02T00:00:00+08:00", "2026-11-02", "2026-11-02 00:00:00.000000"),  # local midnight: a day
    ("2026-11-02T02:05:30Z", Q, "2026-11-02 10:05:30.000000"),  # UTC: converted (+8 h)
    ("2026-11-02T10:05:30-05:00", Q, "2026-11-02 23:05:30.000000"),  # another offset: converted
    ("2026-11-02T10:05:30+05:30", Q, "2026-11-02 12:35:30.000000"),  # half-hour offset
    ("2026-11-01T20:00:00-08:00", Q, "2026-11-02 12:00:00.000000"),  # converting crosses the day
    ("1988-07-01T02:00:00Z", Q, "1988-07-01 11:00:00.000000"),  # Shanghai kept summer time in 1988 (+9)
    ("2026-11-02T00:00:00Z", Q, "2026-11-02 08:00:00.000000"),  # UTC midnight is 08:00 here: no whole day
    # outside the grammar or impossible: quarantined with the text, never rolled over or guessed
    ("2025-3-78:15:00", Q, Q),  # day glued to the hour without 日: garbage
    ("2025年3月78:15", Q, Q),  # the same with 年月
    ("05/01/2024", Q, Q),  # day-first: ambiguous
    ("2024-01/05", Q, Q),  # mixed separators
    ("24-1-5", Q, Q),  # two-digit year
    ("2024-13-05", Q, Q),  # month 13
    ("2024年2月30日", Q, Q),  # 2月30日
    ("2023-02-29", Q, Q),  # not a leap year
    ("2024-02-29", "2024-02-29", "2024-02-29 00:00:00.000000"),  # a leap year
    ("2024-01-05 25:00", Q, Q),  # hour 25
    ("2024-01-05 24:00:00", Q, Q),  # 24:00 is not a time of day here
    ("2024-01-05 23:60", Q, Q),  # minute 60
    ("2024-01-05 23:59:60", Q, Q),  # leap second
    ("2024-01-05 08:30:15.1234567", Q, Q),  # below a microsecond: would be cut
    ("2026-11-02T10:05:30+25:00", Q, Q),  # no such offset
    ("2026-11-02T10:05:30 UTC", Q, Q),  # zone names are not in the grammar
    ("2026-11-02 10:05:30-3600", Q, Q),  # sent in the standardised shape, no zone: the row, not the job, fails
    ("2026-11-02 10:05:30+1900", Q, Q),  # beyond ±14:00
    ("2026110210", Q, Q),  # compact date and a bare hour
    ("2024/1/5 8:30 PM", Q, Q),  # 12-hour clock
    ("2025年3月7日下午3点", Q, Q),  # 下午: 12-hour clock
    ("8时15分30秒", Q, Q),  # a time without a date
    ("yesterday", Q, Q),  # not a date
    ("", None, None),  # empty: no value (a required item reports it)
]


def test_every_documented_form_reads_as_its_value_or_is_quarantined(cspark):
    texts = [t for t, _, _ in FORMS]
    got = read_back(cspark, texts)
    wrong = [(text, exp_d, exp_t, d, t, rules) for (text, exp_d, exp_t), (d, t, rules) in zip(FORMS, got, strict=True)
             if not (_outcome(exp_d, d, rules, "d") and _outcome(exp_t, t, rules, "t"))]
    assert wrong == []


# -- property: every supported form of a valid date-time reads back exactly --------------------------

def _fraction(v: dt.datetime) -> str:
    return f".{v.microsecond:06d}".rstrip("0") if v.microsecond else ""


# form name -> (text of v, the value that text states: a form without seconds or fraction states less)
def _minute(v):
    return v.replace(second=0, microsecond=0)


def _second(v):
    return v.replace(microsecond=0)


def _day(v):
    return v.replace(hour=0, minute=0, second=0, microsecond=0)


TIMESTAMP_FORMS = {
    "iso_t": lambda v: (f"{v:%Y-%m-%dT%H:%M:%S}{_fraction(v)}", v),
    "iso_space": lambda v: (f"{v:%Y-%m-%d %H:%M:%S}{_fraction(v)}", v),
    "iso_cst": lambda v: (f"{v:%Y-%m-%dT%H:%M:%S}{_fraction(v)}+08:00", v),
    "slash_one_digit": lambda v: (f"{v.year}/{v.month}/{v.day} {v.hour}:{v.minute}:{v.second}", _second(v)),
    "dot_minutes": lambda v: (f"{v.year}.{v.month}.{v.day} {v.hour}:{v.minute:02d}", _minute(v)),
    "dash_one_digit": lambda v: (f"{v.year}-{v.month}-{v.day} {v.hour}:{v.minute:02d}:{v.second:02d}", _second(v)),
    "zh_glued": lambda v: (f"{v.year}年{v.month}月{v.day}日{v.hour}:{v.minute:02d}:{v.second:02d}", _second(v)),
    "zh_space": lambda v: (f"{v.year}年{v.month}月{v.day}日 {v.hour}:{v.minute:02d}", _minute(v)),
    "zh_units": lambda v: (f"{v.year}年{v.month}月{v.day}日{v.hour}时{v.minute}分{v.second}秒", _second(v)),
    "zh_units_minutes": lambda v: (f"{v.year}年{v.month:02d}月{v.day:02d}日 {v.hour:02d}时{v.minute:02d}分", _minute(v)),
    "compact_minutes": lambda v: (f"{v:%Y%m%d%H%M}", _minute(v)),
    "compact_seconds": lambda v: (f"{v:%Y%m%d%H%M%S}", _second(v)),
    "compact_basic_t": lambda v: (f"{v:%Y%m%dT%H%M%S}", _second(v)),
    "date_only": lambda v: (f"{v.year}年{v.month}月{v.day}日", _day(v)),
    "full_width": lambda v: (f"{v:%Y-%m-%d %H:%M:%S}".translate(FULLWIDTH), _second(v)),
}
DATE_FORMS = {
    "iso": lambda d: f"{d:%Y-%m-%d}",
    "slash": lambda d: f"{d.year}/{d.month}/{d.day}",
    "dot": lambda d: f"{d.year}.{d.month:02d}.{d.day}",
    "zh": lambda d: f"{d.year}年{d.month}月{d.day}日",
    "zh_no_day_unit": lambda d: f"{d.year}年{d.month}月{d.day}",
    "compact": lambda d: f"{d:%Y%m%d}",
    "midnight": lambda d: f"{d:%Y-%m-%d} 00:00:00",
    "midnight_cst": lambda d: f"{d:%Y-%m-%d}T00:00:00+08:00",
    "zh_midnight": lambda d: f"{d.year}年{d.month}月{d.day}日0时0分",
}
DATETIMES = st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2099, 12, 31, 23, 59, 59, 999999))
# a few Spark jobs of ~500 texts each; no shrinking (each step a Spark job): the assertion lists every wrong text
BATCH = settings(max_examples=2, derandomize=True, deadline=None, phases=[Phase.explicit, Phase.generate],
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example,
                                        HealthCheck.function_scoped_fixture])


@BATCH
@given(values=st.lists(DATETIMES, min_size=35, max_size=35))
def test_valid_datetimes_in_every_form_read_back_exactly(cspark, values):
    cases = [(name, *form(v)) for v in values for name, form in TIMESTAMP_FORMS.items()]  # ~500 texts
    got = read_back(cspark, [text for _, text, _ in cases])
    wrong = [(name, text, _ts(expected), t, rules) for (name, text, expected), (_, t, rules) in zip(cases, got, strict=True)
             if t != _ts(expected) or any(r.endswith(":t") for r in rules)]
    assert wrong == []


@BATCH
@given(days=st.lists(st.dates(dt.date(1900, 1, 1), dt.date(2099, 12, 31)), min_size=55, max_size=55))
def test_valid_dates_in_every_form_read_back_exactly(cspark, days):
    cases = [(name, form(d), d) for d in days for name, form in DATE_FORMS.items()]
    got = read_back(cspark, [text for _, text, _ in cases])
    wrong = [(name, text, day.isoformat(), d, rules) for (name, text, day), (d, _, rules) in zip(cases, got, strict=True)
             if d != day.isoformat() or any(r.endswith(":d") for r in rules)]
    assert wrong == []


OFFSETS = st.integers(-12 * 60, 14 * 60).map(lambda m: dt.timedelta(minutes=m))


def _offset_text(offset: dt.timedelta, style: int) -> str:
    minutes = int(offset.total_seconds() // 60)
    if minutes == 0 and style == 0:
        return "Z"
    sign, hh, mm = "+" if minutes >= 0 else "-", abs(minutes) // 60, abs(minutes) % 60
    return f"{sign}{hh:02d}:{mm:02d}" if style < 2 else f"{sign}{hh:02d}{mm:02d}"


@BATCH
@given(cases=st.lists(st.tuples(st.datetimes(dt.datetime(1992, 1, 1), dt.datetime(2099, 12, 31)), OFFSETS),
                      min_size=85, max_size=85))
def test_an_instant_with_any_offset_reads_as_shanghai_wall_clock_time(cspark, cases):
    """Since 1992 Shanghai keeps +08:00 all year: the local time is the instant plus eight hours."""
    texts, expected = [], []
    for local, drawn in cases:
        for offset, style in [(drawn, 0), (drawn, 1), (drawn, 2), (dt.timedelta(0), 0), (dt.timedelta(hours=8), 1),
                              (dt.timedelta(hours=-5, minutes=-30), 2)]:
            written = local - dt.timedelta(hours=8) + offset  # the same instant on the sender's clock
            texts.append(f"{written:%Y-%m-%dT%H:%M:%S}{_fraction(written)}{_offset_text(offset, style)}")
            expected.append(_ts(local))
    got = read_back(cspark, texts)
    wrong = [(text, exp, t) for text, exp, (_, t, _) in zip(texts, expected, got, strict=True) if t != exp]
    assert wrong == []


# -- property: no unsupported or garbled form reads as another value -----------------------------------

SEPARATORS = ["-", "/", ".", "_", ",", " ", ":", "年", "月", "日", "时", "分", "", "T", "|", "--", "  "]


@st.composite
def garbled(draw):
    """Texts of one date-time in forms outside the grammar, each with what it means: the date-time, or None
    when it means no valid one (random separators may make a supported form: it must then read as ``v``)."""
    v = draw(st.datetimes(dt.datetime(1900, 1, 1), dt.datetime(2099, 12, 31))).replace(microsecond=0)
    pad = draw(st.booleans())
    f = (lambda n: f"{n:02d}") if pad else str
    # unpadded fields run together would be another valid text ('2024'+'1'+'12' is 2024-11-2): they get a
    # separator, so every text either means ``v`` or nothing
    s = [draw(st.sampled_from(SEPARATORS if pad else [x for x in SEPARATORS if x])) for _ in range(5)]
    sep = draw(st.sampled_from(["-", "/", "."]))
    field = draw(st.sampled_from(["month", "day", "hour", "minute", "second"]))
    bad = {"month": draw(st.sampled_from([0, *range(13, 100)])),
           "day": draw(st.sampled_from([0, *range(calendar.monthrange(v.year, v.month)[1] + 1, 100)])),
           "hour": draw(st.integers(24, 99)), "minute": draw(st.integers(60, 99)),
           "second": draw(st.integers(60, 99))}[field]
    parts = {"month": v.month, "day": v.day, "hour": v.hour, "minute": v.minute, "second": v.second, field: bad}
    form = draw(st.sampled_from(["{y}-{month:02d}-{day:02d} {hour:02d}:{minute:02d}:{second:02d}",
                                 "{y}年{month}月{day}日{hour}时{minute}分{second}秒",
                                 "{y}{month:02d}{day:02d}{hour:02d}{minute:02d}{second:02d}",
                                 "{y}/{month}/{day} {hour}:{minute:02d}:{second:02d}"]))
    return [
        (f"{v.year}{s[0]}{f(v.month)}{s[1]}{f(v.day)}{s[2]}{f(v.hour)}{s[3]}{v.minute:02d}{s[4]}{v.second:02d}", v),
        (f"{f(v.day)}{sep}{f(v.month)}{sep}{v.year} {v.hour}:{v.minute:02d}", None),  # day first
        (f"{v.year % 100:02d}-{v.month}-{v.day} {v.hour}:{v.minute:02d}", None),  # two-digit year
        (f"{v.year}{sep}{v.month}{sep}{v.day}{v.hour}:{v.minute:02d}", None),  # day runs into the hour
        (f"{v.year}年{v.month}月{v.day}{v.hour}:{v.minute:02d}", None),  # the same without 日
        (form.format(y=v.year, **parts), None),  # one field out of range
    ]


@BATCH
@given(cases=st.lists(garbled(), min_size=80, max_size=80).map(lambda lists: [c for cs in lists for c in cs]))
def test_no_garbled_form_reads_as_another_value(cspark, cases):
    got = read_back(cspark, [text for text, _ in cases])
    wrong = []
    for (text, meant), (d, t, rules) in zip(cases, got, strict=True):
        ok_t = (t is None and "conform.type.timestamp:t" in rules) or (meant is not None and t == _ts(meant))
        ok_d = (d is None and "conform.type.date:d" in rules) or (
            meant is not None and meant.time() == dt.time() and d == meant.date().isoformat())
        if not (ok_t and ok_d):
            wrong.append((text, meant, d, t, rules))
    assert wrong == []


# -- null markers --------------------------------------------------------------------------------------

def test_null_markers_are_null_for_every_type_and_a_required_one_is_quarantined_naming_it(cspark):
    """The shipped markers (catalog/reference/null_markers.yaml) on a resource with one item per kind."""
    from pyspark.sql import functions as F

    from citybrain.conform import rows
    from citybrain.conform.catalog import ItemDef, ResourceDef, load_catalog

    cat = load_catalog()
    markers = cat.resource("pop_resident").items[0].null_markers
    assert {"NULL", "N/A", "#N/A", "无", "空", "-", "—"} <= set(markers)
    res = ResourceDef(name="t_markers", provider="PSB", kind="entity", primary_key=("key",), items=tuple(
        ItemDef(n, t, null_markers=markers, **kw) for n, t, kw in [
            ("key", "C", {"length": 10}), ("name", "C", {"length": 20, "nullable": False}),
            ("flag", "L", {}), ("sex", "C", {"length": 1, "code_list": "sex"}), ("amount", "N", {}),
            ("day", "D", {}), ("at", "T", {})]))
    cols = [it.name for it in res.items]
    batch = [  # (key, name, flag, sex, amount, day, at)
        ("k1", "张三", "NULL", "N/A", "-", "#N/A", "空"),  # every optional item holds a marker: a valid row of nulls
        ("k2", "张三", "无", "null", "—", " n/a ", "NULL"),  # 无 is 'no' in a yes/no item; any case, spaces trimmed
        ("k3", " N/A ", "是", "1", "12", "2025年3月7日", "2025年3月7日8时15分"),  # required name holds a marker
        ("k4", "", "否", "2", "-5", "2025-03-07", "2025-03-07T08:15:00+08:00"),  # empty required name; -5 a number
        ("k5", "无业", "1", "9", "1,234", "20250307", "202503070815"),  # a marker inside a value is text
    ]
    bronze = cspark.createDataFrame([(*r, i + 1) for i, r in enumerate(batch)],
                                    ", ".join(f"`{c}` string" for c in cols) + ", _row_number long")
    bronze = bronze.withColumn("_batch_id", F.lit("t_markers:20261101:t")).withColumn(
        "_batch_date", F.lit(dt.date(2026, 11, 1)))
    classified = rows.classify(rows.transform(bronze, res, cat), res)
    got = sorted((r["_row_number"], r["name"], r["flag"], r["sex"], None if r["amount"] is None else float(r["amount"]),
                  r["day"], r["at"], [v["detail"] for v in r["_violations"]]) for r in classified.collect())
    d, ts = dt.date(2025, 3, 7), dt.datetime(2025, 3, 7, 8, 15)
    assert got == [
        (1, "张三", None, None, None, None, None, []),
        (2, "张三", False, None, None, None, None, []),
        (3, None, True, "1", 12.0, d, ts, ["is required but holds the null marker ' N/A '"]),
        (4, None, False, "2", -5.0, d, ts, ["is required but empty"]),
        (5, "无业", True, "9", 1234.0, d, ts, []),
    ]
    quarantined = {r["row_number"]: (r["rule_id"], r["item"], r["value"])
                   for r in rows.quarantine_rows(classified, res, dt.datetime(2026, 11, 1, 12)).collect()}
    assert quarantined == {3: ("conform.required", "name", " N/A "), 4: ("conform.required", "name", "")}
