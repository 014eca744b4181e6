"""Files the way departments really export them: number cells holding identifiers, and messy headers.

Issue 24, classes 4 (spreadsheet numbers in identifier items -> ingest.precision_lost, never converted)
and 5 (header names read as meant, trailing delimiters, repeated headers and title rows dropped and counted).
"""

import json
import re
from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from citybrain.ingest.cells import RULE_PRECISION_LOST, cell_text, lost_digits
from citybrain.ingest.readers import (
    RULE_FIELD_COUNT,
    RULE_REPEATED_HEADER,
    RULE_TITLE_ROW,
    ItemHints,
    UnreadableFile,
    read_extract,
)
from citybrain.standards.text import FULL_WIDTH, HALF_WIDTH, NO_BREAK_SPACE, ZERO_WIDTH, normalise_name

pytestmark = pytest.mark.unit

COLUMNS = ["case_no", "id_number", "district_code", "phone", "amount", "start_date"]
LABELS = ["案件编号", "身份证号码", "行政区划代码", "联系电话", "金额", "开始日期"]
TYPES = ["C", "C", "C", "C", "N", "D"]


def _resource():
    from citybrain.catalog.models import Resource

    return Resource.model_validate({
        "code": "301001/0001", "name": "t_demo", "title_zh": "演示", "title_en": "Demo", "library": "x",
        "provider": "BDB", "abstract": "demo", "format": "电子表格", "update_cycle": "每日", "kind": "entity",
        "grain": "one row per case", "primary_key": ["case_no"], "share": {"type": "无条件共享"},
        "open": {"type": "不予开放"}, "published": "2026-01-01",
        "source": {"kind": "file", "pattern": "bdb/demo_*.xlsx", "format": "xlsx"},
        "items": [{"name": n, "label": label, "type": t} for n, label, t in zip(COLUMNS, LABELS, TYPES, strict=True)],
    })


HINTS = ItemHints.of(_resource())


def _xlsx(tmp_path, rows, name="demo_20261101.xlsx"):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    path = tmp_path / name
    book.save(path)
    return path


def _csv(tmp_path, text, name="demo_20261101.csv"):
    path = tmp_path / name
    path.write_bytes(text.encode())
    return path


def _marks(extract):
    return [(r["case_no"], r["_parse_rule"], r["_parse_detail"]) for r in extract.table.to_pylist()]


def test_hints_of_a_resource_name_its_items_by_name_and_label():
    assert HINTS.text_items == frozenset({"case_no", "id_number", "district_code", "phone"})  # type C only
    assert HINTS.date_items == frozenset({"start_date"})
    assert HINTS.column("身份证号码") == "id_number" and HINTS.column("ｉｄ＿ｎｕｍｂｅｒ") == "id_number"
    assert HINTS.column(" remark ") == "remark"  # an unknown column keeps its (cleaned) text


# -- class 4: numbers holding identifiers ------------------------------------------------------------------


def test_xlsx_number_cells_in_identifier_items(tmp_path):
    path = _xlsx(tmp_path, [
        COLUMNS,
        ["C1", 3.70602199001011e17, 370602, 13812345678, 1200, datetime(2026, 11, 1)],  # 18-digit ID as a number
        ["C2", "370602199001011234", 370602.0, "0535-6543210", 1.5e16, None],  # a float code within precision
        ["C3", "370602199001011234", 370602.5, None, None, None],  # a fraction is no code
        ["C4", 10**15, None, None, None, None],  # an integer cell of 16 digits (the file keeps it as an integer)
    ])
    rows = read_extract(path, "xlsx", items=HINTS).table.to_pylist()
    assert [(r["case_no"], r["id_number"], r["district_code"], r["phone"], r["amount"], r["_parse_rule"])
            for r in rows] == [
        ("C1", "3.70602199001011E+17", "370602", "13812345678", "1200", RULE_PRECISION_LOST),  # never 3706...1008
        ("C2", "370602199001011234", "370602", "0535-6543210", "15000000000000000", None),  # N items: as before
        ("C3", "370602199001011234", "370602.5", None, None, RULE_PRECISION_LOST),
        ("C4", "1000000000000000", None, None, None, RULE_PRECISION_LOST),
    ]
    assert rows[0]["_parse_detail"].startswith("item id_number holds '3.70602199001011E+17', a number that cannot")
    assert rows[0]["_raw"] == "C1\t3.70602199001011E+17\t370602\t13812345678\t1200\t2026-11-01 00:00:00"
    assert rows[2]["_parse_detail"].startswith("item district_code holds '370602.5'")


def test_csv_scientific_notation_in_identifier_items(tmp_path):
    text = ("case_no,id_number,district_code,phone,amount,start_date\n"
            "C1,3.70602E+17,370602,1.38E+10,1.5E+03,2026-11-01\n"  # Excel's text of number cells saved as CSV
            "C2,9111000060003734E1,370602,13812345678,1.5E+03,\n"  # letters and digits: no number, left alone
            "C3,370602199001011234,3.70602e+05,,,\n")
    extract = read_extract(_csv(tmp_path, text), "csv", items=HINTS)
    assert _marks(extract) == [
        ("C1", RULE_PRECISION_LOST, "item id_number holds '3.70602E+17', a number that cannot hold its digits "
                                    "exactly (scientific notation, more than 15 digits or a fraction); item phone "
                                    "holds '1.38E+10', a number that cannot hold its digits exactly (scientific "
                                    "notation, more than 15 digits or a fraction)"),
        ("C2", None, None),  # the amount (type N) in scientific notation is a number: conform's to cast
        ("C3", RULE_PRECISION_LOST, "item district_code holds '3.70602e+05', a number that cannot hold its digits "
                                    "exactly (scientific notation, more than 15 digits or a fraction)"),
    ]
    assert extract.table.to_pylist()[0]["_raw"] == "C1,3.70602E+17,370602,1.38E+10,1.5E+03,2026-11-01"


def test_jsonl_numbers_in_identifier_items(tmp_path):
    lines = [{"case_no": "C1", "id_number": 370602199001011200, "district_code": 370602},  # a JS double's digits
             {"case_no": "C2", "id_number": "370602199001011234", "district_code": 370602.0, "amount": 1e17}]
    path = _csv(tmp_path, "".join(json.dumps(x) + "\n" for x in lines), "demo_20261101.jsonl")
    extract = read_extract(path, "jsonl", items=HINTS)
    rows = extract.table.to_pylist()
    assert [(r["id_number"], r["district_code"], r["_parse_rule"]) for r in rows] == [
        ("370602199001011200", "370602", RULE_PRECISION_LOST), ("370602199001011234", "370602.0", None)]


def test_precision_lost_goes_to_quarantine_naming_item_and_cell_text(tmp_path):
    from citybrain.ingest.load import align
    from citybrain.ingest.quarantine import transform

    path = _xlsx(tmp_path, [COLUMNS, ["C1", 3.70602199001011e17], ["C2", "370602199001011234"]])
    resource = _resource()
    table, data_columns = align(read_extract(path, "xlsx", items=HINTS), resource)
    good, bad = transform(table, resource, "t_demo:20261101:abc", data_columns, datetime(2026, 11, 1))
    assert good.column("case_no").to_pylist() == ["C2"]
    [row] = bad
    # the quarantine row names the item and shows the cell's text as Excel shows it (the raw record in payload)
    assert (row[3], row[4], row[5], row[6], row[7]) == (1, "C1", RULE_PRECISION_LOST, "id_number",
                                                        "3.70602199001011E+17")
    assert row[9] == "C1\t3.70602199001011E+17"
    assert row[8].startswith("bronze.t_demo row 1: item id_number holds '3.70602199001011E+17'")
    assert "rule ingest.precision_lost" in row[8] and "format the column as text" in row[8]


@given(st.integers(min_value=-(10**15) + 1, max_value=10**15 - 1))
def test_integers_within_fifteen_digits_are_exact(n):
    assert not lost_digits(n) and not lost_digits(float(n))
    assert cell_text(float(n), False) == str(n)  # a number cell within precision reads back as its digits


@given(st.integers(min_value=10**15, max_value=10**30), st.booleans())
def test_integers_beyond_fifteen_digits_lost_digits(n, negative):
    n = -n if negative else n
    assert lost_digits(n) and lost_digits(float(n))


@given(st.floats(allow_nan=True, allow_infinity=True).filter(lambda f: not f.is_integer()))
def test_fractions_are_no_identifier(value):
    assert lost_digits(value)


@given(st.integers(0, 9), st.text("0123456789", max_size=14), st.sampled_from("Ee"), st.sampled_from("+-"),
       st.integers(0, 308))
def test_scientific_text_lost_digits(lead, digits, e, sign, exponent):
    assert lost_digits(f"{lead}{'.' + digits if digits else ''}{e}{sign}{exponent:02d}")


# -- class 5: headers ----------------------------------------------------------------------------------------


def test_header_names_are_read_as_meant_and_the_cleaning_is_noted(tmp_path):
    decorated = ["\ufeffcase_no", "id\u200b_number", "district_code\u00a0", "ｐｈｏｎｅ", "金额", " start_date"]
    text = ",".join(decorated) + "\nC1,370602199001011234,370602,13812345678,1,2026-11-01\n"
    extract = read_extract(_csv(tmp_path, text), "csv", items=HINTS)
    assert extract.columns == COLUMNS
    assert [(c.position, c.text, c.column) for c in extract.header_cells] == [  # a plain trim is not noted
        (2, "id\u200b_number", "id_number"), (3, "district_code\u00a0", "district_code"),
        (4, "ｐｈｏｎｅ", "phone"), (5, "金额", "amount")]  # the UTF-8 BOM went with the decoding
    [note] = extract.notes("demo_20261101.csv")
    assert note.startswith("demo_20261101.csv: header cell(s) read by rule ingest.header_name: column 2 "
                           "'id\\\\u200b_number' as id_number, column 3 'district_code\\\\u00a0' as district_code")


def test_header_cells_naming_one_item_twice_reject_the_file(tmp_path):
    with pytest.raises(UnreadableFile, match=re.escape("names column(s) phone more than once (header cells "
                                                       "'phone', 'ｐｈｏｎｅ')")) as caught:
        read_extract(_csv(tmp_path, "case_no,phone,ｐｈｏｎｅ\nC1,1,2\n"), "csv", items=HINTS)
    assert caught.value.kind == "header"


_NAME = st.from_regex(r"[a-z][a-z0-9_]{0,20}", fullmatch=True)
_EDGE = st.text(alphabet=" \t\u3000" + NO_BREAK_SPACE + ZERO_WIDTH, max_size=3)
_WIDE = dict(zip(HALF_WIDTH, FULL_WIDTH, strict=True))


@given(_NAME, _EDGE, _EDGE, st.data())
def test_any_decorated_name_normalises_back(name, before, after, data):
    """Invisible marks anywhere, full-width letters, any space at the edges: the name as meant."""
    chars = []
    for ch in name:
        chars.append(_WIDE[ch] if data.draw(st.booleans()) else ch)
        chars.append(data.draw(st.text(alphabet=ZERO_WIDTH, max_size=2)))
    assert normalise_name(before + "".join(chars) + after) == name


@given(st.sampled_from(list(zip(COLUMNS, LABELS, strict=True))), _EDGE, _EDGE, st.text(ZERO_WIDTH, max_size=2))
def test_any_decorated_label_reads_as_its_item(item_label, before, after, inside):
    item, label = item_label
    assert HINTS.column(before + label[0] + inside + label[1:] + after) == item


def test_trailing_delimiter_on_every_line_is_no_column(tmp_path):
    text = "case_no,id_number,\nC1,370602199001011234,\nC2,,\n"
    extract = read_extract(_csv(tmp_path, text), "csv", items=HINTS)
    assert extract.columns == ["case_no", "id_number"]
    assert [(r["case_no"], r["id_number"], r["_parse_rule"]) for r in extract.table.to_pylist()] == [
        ("C1", "370602199001011234", None), ("C2", None, None)]
    with pytest.raises(UnreadableFile, match=re.escape("has a column without a name at position [3]")):
        read_extract(_csv(tmp_path, "case_no,id_number,\nC1,1,x\nC2,2,\n"), "csv", items=HINTS)  # it holds values
    rows = read_extract(_csv(tmp_path, "case_no,id_number,\nC1,1,,\n"), "csv", items=HINTS).table.to_pylist()
    assert (rows[0]["_parse_rule"], rows[0]["_parse_detail"]) == (RULE_FIELD_COUNT, "4 fields, the header has 2")


def test_repeated_header_rows_are_dropped_and_counted(tmp_path):
    text = ("case_no,id_number,phone\nC1,1,2\n"
            "case_no,id_number,phone\nC2,3,4\n"  # two exports concatenated
            "案件编号,身份证号码,联系电话\nC3,5,6\n")  # the same header in labels
    extract = read_extract(_csv(tmp_path, text), "csv", items=HINTS)
    assert [(r["_row_number"], r["case_no"], r["_parse_rule"]) for r in extract.table.to_pylist()] == [
        (1, "C1", None), (2, "C2", None), (3, "C3", None)]
    assert [(d.line, d.rule, d.text) for d in extract.dropped] == [
        (3, RULE_REPEATED_HEADER, "case_no,id_number,phone"), (5, RULE_REPEATED_HEADER, "案件编号,身份证号码,联系电话")]
    assert extract.notes("demo_20261101.csv") == [
        "demo_20261101.csv: 2 repeated header row(s) dropped (rule ingest.repeated_header, no record): line 3 "
        "'case_no,id_number,phone'; line 5 '案件编号,身份证号码,联系电话'"]


def test_title_rows_above_an_xlsx_header_in_labels(tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet["A1"] = "XX区2026年11月企业登记表"
    sheet.merge_cells("A1:F1")
    sheet.append([None] * 6)  # a blank row
    sheet.append(["填报单位：XX区民政局", None, None, None, None, "单位：元"])
    sheet.append([LABELS[0], "身份证\n号码", *LABELS[2:]])  # a wrapped header cell
    sheet.append(["C1", "370602199001011234", 370602, None, 1200, datetime(2026, 11, 1)])
    sheet.append(LABELS)
    sheet.append(["C2", 3.70602199001011e17, 370602, None, 1, None])
    path = tmp_path / "demo_20261101.xlsx"
    book.save(path)
    extract = read_extract(path, "xlsx", items=HINTS)
    assert extract.columns == COLUMNS
    assert [(r["_row_number"], r["case_no"], r["start_date"], r["_parse_rule"]) for r in extract.table.to_pylist()] == [
        (1, "C1", "2026-11-01", None), (2, "C2", None, RULE_PRECISION_LOST)]
    assert [(d.line, d.rule, d.text) for d in extract.dropped] == [  # sheet row numbers (row 2 is blank)
        (1, RULE_TITLE_ROW, "XX区2026年11月企业登记表"), (3, RULE_TITLE_ROW, "填报单位：XX区民政局\t\t\t\t\t单位：元"),
        (6, RULE_REPEATED_HEADER, "\t".join(LABELS))]
    notes = extract.notes("demo_20261101.xlsx")
    assert notes[1] == ("demo_20261101.xlsx: 2 title row(s) above the header dropped (rule ingest.title_row, no "
                        "record): line 1 'XX区2026年11月企业登记表'; line 3 '填报单位：XX区民政局\\t\\t\\t\\t\\t单位：元'")


def test_title_row_above_a_csv_header(tmp_path):
    text = "XX区2026年11月企业登记表,,,\n,,,\ncase_no,id_number,phone,remark\nC1,1,2,新\n"
    extract = read_extract(_csv(tmp_path, text), "csv", items=HINTS)
    assert extract.columns == ["case_no", "id_number", "phone", "remark"]  # an added column is still drift
    assert [(d.line, d.rule) for d in extract.dropped] == [(1, RULE_TITLE_ROW), (2, RULE_TITLE_ROW)]
    assert extract.table.to_pylist()[0]["remark"] == "新"


def test_a_data_row_is_never_taken_for_the_header(tmp_path):
    # The department renamed its columns: the first row stays the header (drift reports it), even though a
    # data row below holds a value equal to an item name.
    text = "编号,证件号,电话\nC1,phone,2\n"
    extract = read_extract(_csv(tmp_path, text), "csv", items=HINTS)
    assert extract.columns == ["编号", "证件号", "电话"] and extract.dropped == []


def test_reconcile_counts_dropped_header_rows():
    from datetime import date

    from citybrain.ingest.audit import AccountingError, reconcile
    from citybrain.ingest.batches import Batch

    batch = Batch("t_demo", "BDB", "t_demo:20261101:abc", date(2026, 11, 1), "files/bdb/demo_20261101.csv",
                  rows_pulled=7, rows_loaded=4, rows_quarantined=1, header_rows_dropped=2)
    reconcile(batch)
    batch.header_rows_dropped = 0
    with pytest.raises(AccountingError, match="0 title/header rows dropped = 5; rows were lost"):
        reconcile(batch)
