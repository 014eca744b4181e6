"""De-identification, k-anonymity, small-cell suppression and the PII leak scan rules."""

import datetime as dt

import pyarrow as pa
import pytest

from citybrain.opendata.deidentify import (
    column_plan,
    deidentify,
    generalise_street,
    hash_sole_trader,
    keyed_hash,
    mask_id,
    mask_name,
    mask_phone,
)
from citybrain.opendata.leakscan import LeakFound, scan_cell, scan_release
from citybrain.opendata.privacy import count_by, k_anonymity, suppress_small_cells

pytestmark = pytest.mark.unit


def test_masks_follow_standards_section_7():
    assert mask_name("张三") == "张*"
    assert mask_phone("13812345678") == "138****5678"
    assert mask_id("11010519491231002X") == "110105********002X"
    assert generalise_street("山东省烟台市芝罘区凤城街道解放路1号") == "山东省烟台市芝罘区凤城街道"
    assert generalise_street("370602001005") == "370602001"


def test_keyed_hash_is_stable_keyed_and_hides_the_value():
    a, b = keyed_hash("11010519491231002X", b"k1"), keyed_hash("11010519491231002X", b"k2")
    assert a == keyed_hash("11010519491231002X", b"k1") and a != b and len(a) == 64
    assert hash_sole_trader("92370602MA3C00001X", b"k") == keyed_hash("92370602MA3C00001X", b"k")
    assert hash_sole_trader("91350100M000100Y43", b"k") == "91350100M000100Y43"


def test_pop_resident_plan_hashes_masks_generalises_and_drops():
    from citybrain.catalog import get_catalog

    res = get_catalog().resource("pop_resident")
    public, restricted = column_plan(res, restricted=False), column_plan(res, restricted=True)
    assert public["id_number"] == ("id_number", "hash") and public["name"] == ("name", "mask")
    assert public["birth_date"] == ("birth_year", "year")
    assert "phone" not in public and "address" not in public
    assert "ethnicity" not in public and "ethnicity" in restricted  # sensitive: restricted only
    rows = pa.Table.from_pylist([{"id_number": "11010519491231002X", "name": "张三", "sex": "1",
                                  "birth_date": dt.date(1949, 12, 31), "phone": "13812345678",
                                  "address": "x路1号", "district_code": "370602"}])
    out = deidentify(rows, res, b"key", restricted=False).to_pylist()[0]
    assert out["name"] == "张*" and out["birth_year"] == 1949 and len(out["id_number"]) == 64
    assert "phone" not in out and "address" not in out


def test_k_anonymity_counts_the_smallest_equivalence_class():
    rows = pa.Table.from_pylist([{"d": "a", "y": 1980}] * 10 + [{"d": "b", "y": 1980}] * 3)
    check = k_anonymity(rows, ["d", "y"], k=10)
    assert not check.holds and check.smallest_class == 3 and check.classes_below_k == 1
    assert k_anonymity(rows, ["y"], k=10).holds
    with pytest.raises(KeyError, match="birth_year"):
        k_anonymity(rows, ["birth_year"])


def test_small_cells_are_suppressed_zero_and_large_kept():
    table = pa.table({"district": ["a", "b", "c", "d"], "count": [0, 3, 10, 25], "value": [0.0, 1.0, 2.0, 3.0]})
    out = suppress_small_cells(table, "count", 10, ["value"]).to_pylist()
    assert [r["count"] for r in out] == [0, None, 10, 25]
    assert [r["value"] for r in out] == [0.0, None, 2.0, 3.0]
    assert [r["suppressed"] for r in out] == [False, True, False, False]
    counts = count_by(pa.Table.from_pylist([{"d": "a"}] * 12 + [{"d": "b"}] * 2), ["d"], 10).to_pylist()
    assert counts == [{"d": "a", "count": 12, "suppressed": False}, {"d": "b", "count": None, "suppressed": True}]


@pytest.mark.parametrize("value,column,rules", [
    ("11010519491231002X", "remark", ["pii.id_number"]),
    ("id 440524188001010014 in text", "remark", ["pii.id_number"]),
    ("11010519491231003X", "remark", []),  # wrong check character
    ("110105194902300021", "remark", []),  # 1949-02-30 is no date
    ("13812345678", "remark", ["pii.phone"]),
    ("0535-6612345", "remark", ["pii.phone"]),
    ("0.13812345678", "value", []),  # a float is no phone
    ("a@b.cn", "remark", ["pii.email"]),
    ("91350100M000100Y43", "credit_code", []),  # a company
    ("王芳", "contact_姓名", ["pii.person_name"]),
    ("王*", "contact_姓名", []),
    ("黄河路", "road_name", []),
    ("b9d0" + "1" * 60, "id_number", []),  # a keyed hash is no identifier
])
def test_leak_scan_rules(value, column, rules):
    assert scan_cell(value, column) == rules


def test_sole_trader_credit_code_and_unmasked_direct_column(tmp_path):
    from citybrain.standards.identifiers import credit_code_check_char

    sole = "92370602MA3C0000" + "1"
    sole += credit_code_check_char(sole)
    assert scan_cell(sole, "credit_code") == ["pii.sole_trader_credit_code"]
    (tmp_path / "ds").mkdir()
    (tmp_path / "ds" / "ds.csv").write_text("legal_rep_name,x\n张*,1\n李四,2\n", encoding="utf-8")
    with pytest.raises(LeakFound) as err:
        scan_release(tmp_path, {"ds": frozenset({"legal_rep_name"})})
    assert {(f.file, f.column, f.row, f.rule) for f in err.value.findings} == {
        ("ds/ds.csv", "legal_rep_name", 2, "pii.person_name"), ("ds/ds.csv", "legal_rep_name", 2, "pii.direct_column")}
    assert "ds/ds.csv: column legal_rep_name, row 2: pii.person_name" in str(err.value)
