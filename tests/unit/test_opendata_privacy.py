"""De-identification, k-anonymity, small-cell suppression and the PII leak scan rules."""

import datetime as dt

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


def _openable():
    from citybrain.catalog import get_catalog
    from citybrain.opendata.datasets import plan

    return [ds for ds in plan(get_catalog())[0] if ds.resource is not None]


def test_k_check_covers_every_published_quasi_item_of_every_dataset():
    from citybrain.opendata.build import count_keys, quasi_identifiers

    for ds in _openable():
        published = column_plan(ds.resource, restricted=ds.access != "public")
        quasi = {published[q][0] for q in ds.resource.quasi_identifiers if q in published}
        assert quasi <= set(quasi_identifiers(ds)), ds.name
    resident = next(ds for ds in _openable() if ds.name == "pop_resident")
    assert quasi_identifiers(resident) == ["district_code", "birth_year", "sex", "education_level", "street_code",
                                           "register_year"]
    assert count_keys(resident) == ["district_code", "birth_year", "sex"]  # a failed check counts by these


def test_no_quasi_date_is_published_at_full_precision():
    """A birth date and any date equal to or derived from it (pii: quasi, type D/T) is generalised; without a
    catalogue rule it is published as its year."""
    for ds in _openable():
        published = column_plan(ds.resource, restricted=ds.access != "public")
        for item in ds.resource.items:
            if item.pii == "quasi" and item.type in ("D", "T") and item.name in published:
                assert published[item.name][1] in ("year", "band5"), (ds.name, item.name)
    res = next(ds for ds in _openable() if ds.name == "pop_resident").resource
    assert column_plan(res, restricted=True)["register_date"] == ("register_year", "year")
    no_rule = res.model_copy(update={"deidentify": {k: v for k, v in res.deidentify.items() if k != "register_date"}})
    assert column_plan(no_rule, restricted=True)["register_date"] == ("register_year", "year")  # the default
    rows = pa.Table.from_pylist([{"register_date": dt.date(1981, 5, 17)}])
    assert deidentify(rows, no_rule, b"k", restricted=True).to_pylist() == [{"register_year": 1981}]


@settings(deadline=None, max_examples=60)  # tiny tables; a loaded CI core must not flake it
@given(st.lists(st.tuples(st.sampled_from("abc"), st.sampled_from([1, 2, None])), max_size=30),
       st.lists(st.tuples(st.sampled_from("abd"), st.sampled_from([1, 2, 3])), max_size=10),
       st.integers(1, 6))
def test_linkage_counts_the_rows_each_found_key_isolates(people, other, k):
    from citybrain.opendata.privacy import linkage

    left = pa.table({"d": [p[0] for p in people], "n": [p[1] for p in people]}, schema=pa.schema(
        [("d", pa.string()), ("n", pa.int64())]))
    right = pa.table({"d2": [o[0] for o in other], "n": [str(o[1]) for o in other]},  # n as text: still joins
                     schema=pa.schema([("d2", pa.string()), ("n", pa.string())]))
    check = linkage(left, right, [("d", "d2"), ("n", "n")], k)
    found = {(d, str(n)) for d, n in other}
    sizes = [sum(1 for p in people if (p[0], str(p[1])) == key) for key in
             {(d, str(n)) for d, n in people if n is not None} & found]  # a null key joins nothing
    assert check.quasi_identifiers == ("d=d2", "n")
    assert (check.smallest_class, check.classes_below_k) == (min(sizes, default=0), sum(s < k for s in sizes))


def test_linkable_items_are_shared_quasi_items_and_catalogue_references():
    import dataclasses

    from citybrain.opendata.build import linkable_items

    by_name = {ds.name: ds for ds in _openable()}
    resident, address = by_name["pop_resident"], by_name["geo_address"]
    resident_cols = list(column_plan(resident.resource, restricted=True).values())
    address_cols = [c for c, _ in column_plan(address.resource, restricted=False).values()]
    cols = [c for c, _ in resident_cols]
    # address_code is withheld: only the street and district the residents share with the addresses join
    assert linkable_items(resident, cols, address, address_cols) == [("district_code", "district_code"),
                                                                      ("street_code", "street_code")]
    # as published before: address_code (pii: none then) joined geo_address through the catalogue reference
    res = resident.resource
    before = dataclasses.replace(resident, resource=res.model_copy(update={
        "deidentify": {k: v for k, v in res.deidentify.items() if k != "address_code"},
        "items": [i.model_copy(update={"pii": "none"}) if i.name == "address_code" else i for i in res.items]}))
    assert ("address_code", "address_code") in linkable_items(before, [*cols, "address_code"], address, address_cols)
    assert ("address_code", "address_code") in linkable_items(address, address_cols, before, [*cols, "address_code"])
    assert ("updated_at", "updated_at") not in linkable_items(resident, cols, address, address_cols)  # no quasi


def test_demo_release_says_so_in_datapackage_and_dcat(tmp_path):
    import json

    from citybrain.opendata.build import Built
    from citybrain.opendata.datasets import Dataset
    from citybrain.opendata.dcat import catalogue
    from citybrain.opendata.export import datapackage
    from citybrain.opendata.release import DEMO_NOTICE, demo_marks

    ds = Dataset("indicator_values", "public", "gold.indicator_values")
    built = Built(pa.table({"x": [1]}), "indicators")
    for demo in (True, False):
        pkg = json.loads(datapackage(ds, built, tmp_path, "v1", demo=demo).read_text(encoding="utf-8"))
        assert pkg["citybrain"]["demo"] is demo and (DEMO_NOTICE in pkg["description"]) is demo
        assert pkg["title"].startswith("[DEMO]") is demo
        manifest = {"version": "v1", "created_at": "2026-11-01T00:00:00+00:00", **demo_marks(demo), "datasets": {}}
        dcat = catalogue([], manifest, None, "目录")
        assert (DEMO_NOTICE in dcat["dct:description"]["@value"]) is demo
        assert dcat["dct:title"]["@value"].startswith("[DEMO]") is demo


def test_publish_linkage_gate_names_the_join_that_isolates_people():
    """Residents published with their address code (as before issue 25) join the public addresses in classes
    of 3 (one household per address): the gate refuses the release and names the join."""
    import dataclasses

    from citybrain.opendata.build import Built, LinkageRisk, PrivacyPolicy, build_resource, check_linkage
    from citybrain.opendata.sample import addresses, entity_table, residents

    by_name = {ds.name: ds for ds in _openable()}
    resident, address = by_name["pop_resident"], by_name["geo_address"]
    people = entity_table("pop_resident", residents(with_address_codes=True))
    published = build_resource(resident, people, b"k", PrivacyPolicy())
    places = Built(entity_table("geo_address", addresses()), "microdata")
    assert check_linkage([(resident, published), (address, places)], PrivacyPolicy()) == 3  # district, street, both
    res = resident.resource
    before = dataclasses.replace(resident, resource=res.model_copy(update={
        "deidentify": {k: v for k, v in res.deidentify.items() if k != "address_code"},
        "items": [i.model_copy(update={"pii": "none"}) if i.name == "address_code" else i for i in res.items]}))
    leaky = build_resource(before, people, b"k", PrivacyPolicy())
    assert "address_code" in leaky.table.column_names and leaky.form == "microdata"
    with pytest.raises(LinkageRisk, match=r"restricted/pop_resident joined to public/geo_address: k-anonymity on "
                                          r"\(address_code\) with k=5: smallest class 3 rows, 40 classes below k"):
        check_linkage([(before, leaky), (address, places)], PrivacyPolicy())
