"""Conflicting duplicates: rows of one key tied on source time with different content are quarantined (none
is guessed right), exact copies stay superseded duplicates, and the batch's accounting still reconciles.

Every arrangement of up to three rows of a key (two source times, two contents) is one key of a single batch,
so the whole space is classified by one Spark job and compared with the rule written out in plain Python.
"""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

pytestmark = pytest.mark.spark

EARLY, LATE = "2026-11-01 07:00:00", "2026-11-01 08:00:00"
PHONES = {"a": "13812345678", "b": "13912345678"}
ARRANGEMENTS = [rows for n in (1, 2, 3) for rows in itertools.product(itertools.product((EARLY, LATE), "ab"),
                                                                         repeat=n)]


def pid(n: int) -> str:
    from citybrain.standards.identifiers import id_number_check_char

    body = f"37060219800101{n:03d}"
    return body + id_number_check_char(body)


def resident(n: int, updated: str, phone: str, **kw) -> dict:
    """A valid pop_resident bronze row (text as a department sends it)."""
    return {**dict(id_number=pid(n), name="张三", sex="1", ethnicity="01", birth_date="1980-01-01",
                   marital_status="20", education_level="20", phone=phone, household_id="H1", relation_to_head="02",
                   address="芝罘区1号", district_code="370602", register_date="2000-01-02", residence_status="1",
                   updated_at=updated), **kw}


def expected(first_row: int, rows: tuple) -> dict[int, tuple]:
    """The rule for one key's rows (source time, content) in extract order: row number -> outcome."""
    numbers = range(first_row, first_row + len(rows))
    top = max(ts for ts, _ in rows)
    tied = [(n, c) for n, (ts, c) in zip(numbers, rows, strict=True) if ts == top]
    first_tied = tied[0][0]
    if len({c for _, c in tied}) == 1:  # one content: the first tied row is the version, the rest copies
        return {n: ("silver",) if n == first_tied else ("superseded", first_tied) for n in numbers}
    first_of = {}
    for n, c in tied:
        first_of.setdefault(c, n)
    out = {n: ("superseded", first_tied) for n in numbers}  # older rows: superseded, as before
    for n, c in tied:  # each content's first row quarantined, its copies superseded by it
        out[n] = ("quarantined",) if first_of[c] == n else ("superseded", first_of[c])
    return out


@pytest.fixture(scope="module")
def classified(spark):
    """One batch: a key per arrangement, then a text near duplicate (a trailing full-width space) and a key
    whose tied second row fails another rule. Returns (classified rows checkpointed, expected outcomes,
    resource, the near-duplicate and the mixed key's first row numbers)."""
    from pyspark.sql import functions as F

    from citybrain.conform import rows
    from citybrain.conform.catalog import load_catalog
    from citybrain.conform.job import checkpointed, conform_session

    cat = load_catalog()
    res = cat.resource("pop_resident")
    batch, want = [], {}
    for key, arrangement in enumerate(ARRANGEMENTS):
        want.update(expected(len(batch) + 1, arrangement))
        batch += [resident(key, ts, PHONES[c]) for ts, c in arrangement]
    near = len(batch) + 1  # standardised to the same text: an exact duplicate
    batch += [resident(900, LATE, PHONES["a"]), resident(900, LATE, PHONES["a"], name="张三\u3000")]
    want.update({near: ("silver",), near + 1: ("superseded", near)})
    mixed = len(batch) + 1  # the tied copy fails a code list: quarantined by its own rule, no conflict
    batch += [resident(901, LATE, PHONES["a"]), resident(901, LATE, PHONES["b"], sex="7")]
    want.update({mixed: ("silver",), mixed + 1: ("quarantined",)})
    session = conform_session(spark, interpreted=True)
    cols = res.item_names
    bronze = session.createDataFrame([tuple(r.get(c) for c in cols) + (i + 1,) for i, r in enumerate(batch)],
                                     ", ".join(f"`{c}` string" for c in cols) + ", _row_number long")
    bronze = bronze.withColumn("_batch_id", F.lit("pop_resident:20261101:t")).withColumn(
        "_batch_date", F.lit(dt.date(2026, 11, 1)))
    out = checkpointed(rows.classify(rows.transform(bronze, res, cat), res))
    yield out, want, res, near, mixed
    out.unpersist()


def test_every_arrangement_of_ties_gets_the_rule_and_the_accounting_reconciles(classified):
    from citybrain.conform import dedupe, rows

    out, want, res, _, _ = classified
    now = dt.datetime(2026, 11, 1, 23)
    got = {r["_row_number"]: ("silver",) for r in rows.silver_rows(out, res).select("_row_number").collect()}
    got |= {r["row_number"]: ("quarantined",) for r in rows.quarantine_rows(out, res, now).collect()}
    got |= {r["row_number"]: ("superseded", r["kept_row_number"]) for r in rows.duplicate_rows(out, res).collect()}
    assert got == want
    [acc] = rows.accounting(out).collect()
    assert acc["rows_in"] == len(want) == acc["rows_silver"] + acc["rows_quarantined"] + acc["rows_duplicate"]
    rules = {r["row_number"]: r["rule_id"] for r in rows.quarantine_rows(out, res, now).collect()}
    assert set(rules.values()) == {dedupe.CONFLICT_RULE, "conform.code_list"}


def test_a_conflict_names_the_key_the_other_rows_and_both_values_of_each_differing_item(classified):
    from citybrain.conform import rows

    out, _, res, _, _ = classified
    # the key of arrangement (early a, late a, late b): row 1 older, rows 2 and 3 tied with other phones
    key = ARRANGEMENTS.index(((EARLY, "a"), (LATE, "a"), (LATE, "b")))
    first = 1 + sum(len(a) for a in ARRANGEMENTS[:key])
    got = {r["row_number"]: r for r in rows.quarantine_rows(out, res, dt.datetime(2026, 11, 1, 23)).collect()
           if r["record_key"] == pid(key)}
    assert sorted(got) == [first + 1, first + 2]
    q = got[first + 1]
    assert (q["rule_id"], q["item"], q["value"]) == ("conform.conflicting_duplicate", "phone", PHONES["a"])
    assert q["reason"] == (
        f"silver.pop_resident key {pid(key)}: item phone = '{PHONES['a']}' fails conform.conflicting_duplicate: "
        f"a conflicting duplicate: row(s) {first + 2} of the batch have the same key and source time "
        f"(2026-11-01 08:00:00) with other values: row {first + 2} has phone '{PHONES['b']}' (this row "
        f"'{PHONES['a']}'). Which is right cannot be told, so no row of this key is kept and the key gets no new "
        f"version from this batch (its older row(s) {first} are superseded). Correct the record in PSB's source "
        "system and send it again.")
    assert f"row {first + 1} has phone '{PHONES['a']}' (this row '{PHONES['b']}')" in got[first + 2]["reason"]
