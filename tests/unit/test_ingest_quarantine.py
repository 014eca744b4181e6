"""Ingest row rules on a tiny inline batch: which rows go to quarantine, with which rule and reason."""

import json
from datetime import datetime

import pytest

pytestmark = pytest.mark.unit


@pytest.fixture
def tiny_resource():
    """A three-item resource: key `id` (C 4), `name` (C 5), free text `note` (M)."""
    from citybrain.catalog.models import Resource

    return Resource.model_validate({
        "code": "301001/0001", "name": "t_demo", "title_zh": "演示", "title_en": "Demo", "library": "x",
        "provider": "BDB", "abstract": "demo", "format": "电子表格", "update_cycle": "每日", "kind": "entity",
        "grain": "one row per id", "primary_key": ["id"], "share": {"type": "无条件共享"},
        "open": {"type": "不予开放"}, "published": "2026-01-01",
        "source": {"kind": "file", "pattern": "bdb/demo_*.csv", "format": "csv"},
        "items": [{"name": "id", "label": "编号", "type": "C", "length": 4, "nullable": False},
                  {"name": "name", "label": "名称", "type": "C", "length": 5},
                  {"name": "note", "label": "备注", "type": "M"}],
    })


def test_transform_splits_rows_by_first_failing_rule(tiny_resource):
    import pyarrow as pa

    from citybrain.ingest.quarantine import transform

    columns = ["id", "name", "note", "_row_number", "_parse_rule", "_parse_detail", "_raw", "_parse_item"]
    rows = [
        ("A1", "ok", "fine", 1, None, None, None),
        (None, "nokey", None, 2, None, None, None),  # primary key null
        (" ", "blank", None, 3, None, None, None),  # a blank key is no key either
        ("A4", "abcdefghijk", None, 4, None, None, None),  # 11 chars for a C(5): over twice the length
        ("A5", "abcdef", None, 5, None, None, None),  # 6 chars for C(5): a slight overrun stays (conform's)
        ("A6", None, None, 6, "ingest.field_count", "4 fields, the header has 3", "A6,x,y,z"),
        (None, "x" * 20, None, 7, None, None, None),  # two rules fail: the first (key) is reported, once
    ]
    table = pa.table({c: [r[i] if i < len(r) else None for r in rows] for i, c in enumerate(columns)})
    at = datetime(2026, 11, 1, 6, 0)
    good, bad = transform(table, tiny_resource, "t_demo:20261101:abc", ["id", "name", "note"], at)

    assert good.to_pylist() == [
        {"id": "A1", "name": "ok", "note": "fine", "_row_number": 1},
        {"id": "A5", "name": "abcdef", "note": None, "_row_number": 5},
    ]
    assert [(r[3], r[4], r[5], r[6], r[7]) for r in bad] == [  # row_number, record_key, rule_id, item, value
        (2, None, "ingest.primary_key_null", "id", None),
        (3, " ", "ingest.primary_key_null", "id", " "),
        (4, "A4", "ingest.length", "name", "abcdefghijk"),
        (6, "A6", "ingest.field_count", None, "A6,x,y,z"),
        (7, None, "ingest.primary_key_null", "id", None),
    ]
    reasons = {r[3]: r[8] for r in bad}
    assert reasons[2] == ("bronze.t_demo row 2 (key none): primary-key item id is empty; rule "
                          "ingest.primary_key_null: the record cannot be identified; the department must supply id")
    assert reasons[4].startswith("bronze.t_demo row 4 (key A4): item name holds 11 characters, the catalogue "
                                 "allows 5 (quarantined above 10); rule ingest.length")
    assert reasons[6].startswith("bronze.t_demo row 6: 4 fields, the header has 3; rule ingest.field_count")
    payloads = {r[3]: r[9] for r in bad}
    assert json.loads(payloads[2]) == {"name": "nokey"}  # the whole row as JSON (nulls left out)
    assert payloads[6] == "A6,x,y,z"  # a record that did not split keeps its raw text
    assert {(r[0], r[1], r[2], r[10]) for r in bad} == {("t_demo", "ingest", "t_demo:20261101:abc", at)}


def test_clean_batch_has_no_quarantine_rows(tiny_resource):
    import pyarrow as pa

    from citybrain.ingest.quarantine import transform

    table = pa.table({"id": ["A1"], "name": ["ok"], "note": [None], "_row_number": [1], "_parse_rule": [None],
                      "_parse_detail": [None], "_raw": [None], "_parse_item": [None]}, schema=pa.schema(
        [(c, pa.string()) for c in ("id", "name", "note")] + [("_row_number", pa.int64())]
        + [(c, pa.string()) for c in ("_parse_rule", "_parse_detail", "_raw", "_parse_item")]))
    good, bad = transform(table, tiny_resource, "b", ["id", "name", "note"], datetime(2026, 11, 1))
    assert good.num_rows == 1 and bad == []
