"""Reading landed files: what is unreadable (-> rejected/) and what is a bad record (-> quarantine)."""

import json
import re

import pytest

from citybrain.ingest.readers import (
    RULE_FIELD_COUNT,
    RULE_UNPARSEABLE,
    ItemHints,
    UnreadableFile,
    read_extract,
)

pytestmark = pytest.mark.unit

HEADER = "ticket_no,name,phone\n"


def _write(tmp_path, name, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_csv_values_as_text_and_empty_cells_null(tmp_path):
    path = _write(tmp_path, "t_20261101.csv", (HEADER + 'T1,"王, 小明",0535\nT2,,\n').encode())
    extract = read_extract(path, "csv")
    assert extract.columns == ["ticket_no", "name", "phone"]
    rows = extract.table.to_pylist()
    assert rows == [
        {"ticket_no": "T1", "name": "王, 小明", "phone": "0535", "_row_number": 1, "_parse_rule": None,
         "_parse_detail": None, "_raw": None, "_parse_item": None},  # leading zero kept: values are text as pulled
        {"ticket_no": "T2", "name": None, "phone": None, "_row_number": 2, "_parse_rule": None,
         "_parse_detail": None, "_raw": None, "_parse_item": None},
    ]


def test_gbk_csv_is_decoded(tmp_path):
    path = _write(tmp_path, "b_20261101.csv", (HEADER + "T1,张三,1\n").encode("gbk"))
    assert read_extract(path, "csv", encoding="gbk").table.column("name").to_pylist() == ["张三"]


def test_csv_record_with_wrong_field_count_is_marked_for_quarantine(tmp_path):
    path = _write(tmp_path, "t_20261101.csv", (HEADER + "T1,a,1\nT2,b,2,extra\nT3,c\n").encode())
    rows = read_extract(path, "csv").table.to_pylist()
    assert [(r["_row_number"], r["_parse_rule"], r["_parse_detail"], r["_raw"]) for r in rows] == [
        (1, None, None, None),
        (2, RULE_FIELD_COUNT, "4 fields, the header has 3", "T2,b,2,extra"),
        (3, RULE_FIELD_COUNT, "2 fields, the header has 3", "T3,c"),
    ]


@pytest.mark.parametrize(
    "data, encoding, kind, message",
    [
        (b"", "utf-8", "empty", "is empty (0 bytes)"),
        (b"\n \n", "utf-8", "empty", "holds only whitespace"),
        (HEADER.encode(), "utf-8", "header_only", "has a header but no data rows"),
        # cut in the middle of a record: fewer fields and no final line break
        ((HEADER + "T1,a,1\nT2,b").encode(), "utf-8", "truncated", "last record (data row 2) has 2 of 3 fields"),
        # cut inside a multi-byte character
        ((HEADER + "T1,张三,1\n").encode()[:-5], "utf-8", "truncated", "ends in the middle of a utf-8 character"),
        # a complete-looking last record without its line break is still a cut-off file
        ((HEADER + "T1,a,1\nT2,b,2").encode(), "utf-8", "truncated", "does not end with a line break"),
        (b"ticket_no;name;phone\nT1;a;1\n", "utf-8", "delimiter", "separates fields with ';'"),
        ((HEADER + "T1,张三,1\n").encode("gbk"), "utf-8", "encoding", "it decodes as gbk: wrong encoding"),
        ((HEADER + "T1,张三,1\n").encode(), "gbk", "encoding", "is UTF-8 encoded but the catalogue declares gbk"),
        (b"ticket_no,name,name\nT1,a,b\n", "utf-8", "header", "names column(s) name more than once"),
    ],
)
def test_unreadable_csv(tmp_path, data, encoding, kind, message):
    path = _write(tmp_path, "t_20261101.csv", data)
    with pytest.raises(UnreadableFile, match=re.escape(message)) as caught:
        read_extract(path, "csv", encoding=encoding)
    assert caught.value.kind == kind
    assert "t_20261101.csv" in caught.value.reason  # every reason names the file


def test_jsonl_values_bad_lines_and_new_keys(tmp_path):
    lines = [json.dumps({"station": "S1", "aqi": 49, "ok": True, "pm25": 24.0, "note": None}),
             "{not json",
             json.dumps([1, 2]),
             json.dumps({"station": "S2", "aqi": {"v": 1}}),
             json.dumps({"station": "S3", "aqi": 50, "remark": "新"})]
    path = _write(tmp_path, "aqi_20261101.jsonl", ("\n".join(lines) + "\n").encode())
    extract = read_extract(path, "jsonl")
    assert extract.columns == ["station", "aqi", "ok", "pm25", "note", "remark"]
    rows = extract.table.to_pylist()
    assert [(r["station"], r["aqi"], r["ok"], r["pm25"], r["remark"], r["_parse_rule"]) for r in rows] == [
        ("S1", "49", "true", "24.0", None, None),  # numbers and booleans in their JSON text
        (None, None, None, None, None, RULE_UNPARSEABLE),
        (None, None, None, None, None, RULE_UNPARSEABLE),
        ("S2", '{"v": 1}', None, None, None, RULE_UNPARSEABLE),  # a nested object is not a value
        ("S3", "50", None, None, "新", None),
    ]
    assert rows[1]["_parse_detail"].startswith("line 2 is not valid JSON")
    assert rows[2]["_parse_detail"] == "line 3 is a JSON list, not an object"


def test_jsonl_cut_off_last_line_is_truncated(tmp_path):
    path = _write(tmp_path, "aqi_20261101.jsonl", b'{"station": "S1"}\n{"station": "S')
    with pytest.raises(UnreadableFile, match="last line \\(2\\) is incomplete JSON") as caught:
        read_extract(path, "jsonl")
    assert caught.value.kind == "truncated"


def test_xlsx_cells_as_text(tmp_path):
    from datetime import datetime

    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["case_no", "amount", "start_date", "checked_at"])
    sheet.append(["C1", 1200, datetime(2026, 11, 1), datetime(2026, 11, 1, 8, 30)])
    sheet.append(["C2", 12.5, None, None, None])  # trailing empty cells are no extra field
    sheet.append(["C3", 1, None, None, "stray"])
    path = tmp_path / "subsistence_20261101.xlsx"
    book.save(path)
    rows = read_extract(path, "xlsx", items=ItemHints(date_items=frozenset({"start_date"}))).table.to_pylist()
    assert [(r["case_no"], r["amount"], r["start_date"], r["checked_at"], r["_parse_rule"]) for r in rows] == [
        ("C1", "1200", "2026-11-01", "2026-11-01 08:30:00", None),
        ("C2", "12.5", None, None, None),
        ("C3", "1", None, None, RULE_FIELD_COUNT),
    ]


@pytest.mark.parametrize("data, kind", [(b"", "empty"), (b"PK\x03\x04 not really a workbook", "unreadable")])
def test_unreadable_xlsx(tmp_path, data, kind):
    with pytest.raises(UnreadableFile) as caught:
        read_extract(_write(tmp_path, "s_20261101.xlsx", data), "xlsx")
    assert caught.value.kind == kind


def test_database_values_as_shortest_exact_text():
    from datetime import date, datetime
    from decimal import Decimal

    from citybrain.ingest.pull_db import as_text

    assert as_text(Decimal("695.1500")) == "695.15"  # NUMERIC(p,4) from PostgreSQL, 695.15 from SQLite
    assert as_text(Decimal("100")) == "100" and as_text(Decimal("1E+2")) == "100"
    assert as_text(Decimal("0.000")) == "0" and as_text(Decimal("-3.10")) == "-3.1"
    assert as_text(True) == "true" and as_text(7) == "7" and as_text(0.1) == "0.1"
    assert as_text(datetime(2026, 11, 1, 8, 5)) == "2026-11-01 08:05:00" and as_text(date(2026, 1, 2)) == "2026-01-02"
