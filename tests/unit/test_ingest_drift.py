"""Schema drift: added columns kept, missing ones reported, a rename seen as missing + unknown."""

import pytest

from citybrain.ingest.drift import Drift, Rename, detect_drift, safe_column_name

pytestmark = pytest.mark.unit

CATALOGUE = ["ticket_no", "channel", "content", "caller_phone", "received_at"]


@pytest.mark.parametrize(
    "source, expected",
    [
        # the catalogue's columns in another order: no drift
        (["channel", "ticket_no", "content", "caller_phone", "received_at"], Drift()),
        # a column added at the end (the simulator's drift day adds `remark`)
        (CATALOGUE + ["remark"], Drift(added=["remark"])),
        # a column gone with nothing in its place
        (["ticket_no", "channel", "content", "received_at"], Drift(missing=["caller_phone"])),
        # renamed in place: similar name and same position
        (["ticket_no", "channel", "content", "caller_phone_new", "received_at", "remark"],
         Drift(added=["remark"], renamed=[Rename("caller_phone", "caller_phone_new", 0.86, True)])),
        # renamed and moved to the end: the similar name alone pairs them
        (["ticket_no", "channel", "content", "received_at", "caller_phone_new"],
         Drift(renamed=[Rename("caller_phone", "caller_phone_new", 0.86, False)])),
        # an unrelated column elsewhere: not a rename, reported as added + missing
        (["ticket_no", "channel", "content", "received_at", "weather"],
         Drift(added=["weather"], missing=["caller_phone"])),
    ],
)
def test_detect_drift(source, expected):
    assert detect_drift(source, CATALOGUE) == expected


def test_rename_by_position_even_with_an_unlike_name():
    drift = detect_drift(["ticket_no", "channel", "content", "tel", "received_at"], CATALOGUE)
    assert drift.renamed == [Rename("caller_phone", "tel", 0.13, True)]
    assert drift.extra_columns == ["tel"] and drift.absent_items == ["caller_phone"]


def test_drift_json_and_summary_name_the_rename():
    drift = detect_drift(["ticket_no", "channel", "content", "caller_phone_new", "received_at", "remark"], CATALOGUE)
    data = drift.to_json_dict()
    assert data["renamed"] == [{"missing": "caller_phone", "found": "caller_phone_new", "similarity": 0.86,
                                "same_position": True, "evidence": "name similarity 0.86, same column position"}]
    assert data["added"] == ["remark"]
    assert data["summary"] == ("likely rename caller_phone -> caller_phone_new (name similarity 0.86, same column "
                               "position); added column(s) remark (kept in bronze)")
    assert detect_drift(CATALOGUE, CATALOGUE).to_json_dict() is None


@pytest.mark.parametrize(
    "name, taken, expected",
    [
        ("remark", set(), "remark"),
        ("备注 (new)", set(), "备注_new_"),  # spaces and brackets are not allowed in Delta column names
        ("_batch_id", set(), "src_batch_id"),  # lineage columns own the leading underscore
        ("a.b", set(), "a_b"),  # Spark would read a dot as a struct field
        ("remark", {"remark"}, "remark_2"),
    ],
)
def test_safe_column_name(name, taken, expected):
    assert safe_column_name(name, taken) == expected
