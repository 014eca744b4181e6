"""Each catalogue rule, broken once in a tiny catalogue, is reported with file, entry, field and reason."""

from __future__ import annotations

import copy

import pytest
from catalog_fixtures import INSURED, PATIENT, POP, baseline, errors_of, item_of, variant, write_catalog

from citybrain.catalog import CatalogError, load_catalog

pytestmark = pytest.mark.unit


def _dup_department(f):
    f["departments.yaml"]["departments"].append(copy.deepcopy(f["departments.yaml"]["departments"][0]))


def _dup_library(f):
    lib = copy.deepcopy(f["libraries.yaml"]["libraries"][1])
    lib["class_code"] = "299"
    f["libraries.yaml"]["libraries"].append(lib)


def _dup_resource_code(f):
    other = copy.deepcopy(f[POP])
    other["name"] = "pop_copy"
    f["resources/population/pop_copy.yaml"] = other


def _dup_resource_name(f):
    other = copy.deepcopy(f[PATIENT])
    other["code"] = "208001/0002"
    other["name"] = "pop_resident"
    f["resources/health/pop_resident.yaml"] = other


def _dup_indicator(f):
    f["indicators.yaml"]["indicators"].append(copy.deepcopy(f["indicators.yaml"]["indicators"][0]))


def _set(rel, key, value):
    def edit(f):
        f[rel][key] = value

    return edit


def _set_item(rel, item, key, value):
    def edit(f):
        item_of(f[rel], item)[key] = value

    return edit


def _attr(f, name="name"):
    return next(a for a in f["entities.yaml"]["entities"][0]["attributes"] if a["name"] == name)


def _no_authority(f):
    _attr(f)["authority"] = None


def _two_authorities(f):
    _attr(f)["authority"] = ["pop_resident.name", "si_insured.name"]
    _attr(f)["copies"] = ["health_patient_index.name"]


def _attr_defined_twice(f):
    f["entities.yaml"]["entities"][0]["attributes"].append(
        {"name": "name", "label": "姓名", "authority": "si_insured.name", "copies": []}
    )


def _copy_type(f):
    it = item_of(f[INSURED], "birth_date")
    it.update(type="C", length=10)


def _copy_code_list(f):
    item_of(f[INSURED], "sex")["code_list"] = "insurance_type"
    _attr(f, "birth_date")["copies"] = ["si_insured.birth_date"]
    f["entities.yaml"]["entities"][0]["attributes"].append(
        {"name": "sex", "label": "性别", "authority": "pop_resident.sex", "copies": ["si_insured.sex"]}
    )


def _open_without_deid(f):
    f[POP]["open"] = {"type": "无条件开放", "condition": None}


def _weak_deid(f):
    f[POP]["open"] = {"type": "有条件开放", "condition": "科研"}
    f[POP]["deidentify"] = {"id_number": "hash", "name": "year"}


def _ind(f):
    return f["indicators.yaml"]["indicators"][0]


def _ind_unknown_resource(f):
    _ind(f)["denominator"]["resource"] = "pop_unknown"


def _ind_unknown_measure_item(f):
    _ind(f)["numerator"]["measure"] = "count_distinct:person_id"


def _ind_unknown_filter_item(f):
    _ind(f)["numerator"]["filter"] = "insurance_kind IN ('110') AND sex = '1'"


def _ind_unknown_district_item(f):
    _ind(f)["district_item"]["pop_resident"] = "county_code"


def _base_conditional(f):
    f[POP]["share"] = {"type": "有条件共享", "condition": "审批", "legal_basis": None, "method": "共享平台/数据库"}


def _share_no_condition(f):
    f[PATIENT]["share"]["condition"] = None


def _share_no_legal_basis(f):
    f[PATIENT]["share"] = {"type": "不予共享", "condition": None, "legal_basis": None, "method": "共享平台/数据库"}


def _open_no_condition(f):
    f[PATIENT]["open"] = {"type": "有条件开放", "condition": None}


def _event_without_time(f):
    f[PATIENT]["kind"] = "event"


# (case id, how the baseline is broken, the exact error line expected)
CASES = [
    ("duplicate department code", _dup_department,
     "departments.yaml: department PSB: code: duplicate department code 'PSB' "
     "(first defined at departments.yaml departments[0])"),
    ("duplicate library code", _dup_library,
     "libraries.yaml: library health: code: duplicate library code 'health' "
     "(first defined at libraries.yaml libraries[1])"),
    ("duplicate resource code", _dup_resource_code,  # files are read in sorted order: pop_copy first
     "resources/population/pop_resident.yaml: resource pop_resident: code: duplicate resource code "
     "'101001/0001' (first defined at resources/population/pop_copy.yaml)"),
    ("duplicate resource name", _dup_resource_name,
     "resources/population/pop_resident.yaml: resource pop_resident: name: duplicate resource name "
     "'pop_resident' (first defined at resources/health/pop_resident.yaml)"),
    ("duplicate indicator code", _dup_indicator,
     "indicators.yaml: indicator IND_PENSION_COVERAGE: code: duplicate indicator code 'IND_PENSION_COVERAGE' "
     "(first defined at indicators.yaml indicators[0])"),
    ("malformed resource code", _set(POP, "code", "101001-0001"),
     "resources/population/pop_resident.yaml: resource pop_resident: code: malformed resource code "
     "'101001-0001' (expected ^[1-3]\\d{5}\\d*/\\d+$)"),
    ("resource code prefix differs from library class_code", _set(PATIENT, "code", "209001/0009"),
     "resources/health/health_patient_index.yaml: resource health_patient_index: code: resource code "
     "'209001/0009' must start with class_code '208' of library 'health'"),
    ("unknown department", _set(PATIENT, "provider", "NHC"),
     "resources/health/health_patient_index.yaml: resource health_patient_index: provider: unknown department "
     "'NHC' (not in departments.yaml)"),
    ("unknown library", _set(PATIENT, "library", "medicine"),
     "resources/health/health_patient_index.yaml: resource health_patient_index: library: unknown library "
     "'medicine' (not in libraries.yaml)"),
    ("unknown code list", _set_item(PATIENT, "sex", "code_list", "gender"),
     "resources/health/health_patient_index.yaml: resource health_patient_index: items[sex].code_list: "
     "unknown code list 'gender' (not in reference/)"),
    ("unknown type", _set_item(PATIENT, "sex", "type", "Q"),
     "resources/health/health_patient_index.yaml: resource health_patient_index: items[sex].type: "
     "unknown type 'Q' (expected one of C N Y D T L I F B M G)"),
    ("primary key not among items", _set(INSURED, "primary_key", ["id_number", "insurance_kind"]),
     "resources/livelihood/si_insured.yaml: resource si_insured: primary_key: primary key item 'insurance_kind' "
     "is not an item of the resource"),
    ("entity attribute without authority", _no_authority,
     "entities.yaml: entity person, attribute name: authority: no authoritative source "
     "(一数一源: exactly one resource.item is required)"),
    ("entity attribute with two authorities", _two_authorities,
     "entities.yaml: entity person, attribute name: authority: 2 authoritative sources "
     "(pop_resident.name, si_insured.name); exactly one is allowed (一数一源), list the others under copies"),
    ("entity attribute defined twice", _attr_defined_twice,
     "entities.yaml: entity person, attribute name: attribute 'name' is defined 2 times in entity 'person'; "
     "give it one entry with exactly one authority"),
    ("verification copy of another type", _copy_type,
     "entities.yaml: entity person, attribute birth_date: copies[si_insured.birth_date]: verification copy "
     "si_insured.birth_date (type C) cannot be compared with authority pop_resident.birth_date (type D)"),
    ("verification copy with another code list", _copy_code_list,
     "entities.yaml: entity person, attribute sex: copies[si_insured.sex]: verification copy si_insured.sex "
     "uses code list 'insurance_type' but authority pop_resident.sex uses 'sex'"),
    ("openable resource with direct identifiers and no de-identification", _open_without_deid,
     "resources/population/pop_resident.yaml: resource pop_resident: deidentify: open.type 无条件开放 but direct "
     "identifiers have no de-identification rule: id_number, name (add drop, hash or mask for each)"),
    ("direct identifier only generalised", _weak_deid,
     "resources/population/pop_resident.yaml: resource pop_resident: deidentify.name: direct identifier 'name' "
     "needs drop, hash or mask, not 'year'"),
    ("indicator with unknown resource", _ind_unknown_resource,
     "indicators.yaml: indicator IND_PENSION_COVERAGE: denominator.resource: unknown resource 'pop_unknown'"),
    ("indicator measure with unknown item", _ind_unknown_measure_item,
     "indicators.yaml: indicator IND_PENSION_COVERAGE: numerator.measure: resource 'si_insured' has no item "
     "'person_id'"),
    ("indicator filter with unknown item", _ind_unknown_filter_item,
     "indicators.yaml: indicator IND_PENSION_COVERAGE: numerator.filter: unknown item 'insurance_kind' of "
     "resource 'si_insured'"),
    ("indicator district item unknown", _ind_unknown_district_item,
     "indicators.yaml: indicator IND_PENSION_COVERAGE: district_item.pop_resident: resource 'pop_resident' has "
     "no item 'county_code'"),
    ("base-library resource not shared unconditionally", _base_conditional,
     "resources/population/pop_resident.yaml: resource pop_resident: share.type: resources of base library "
     "'population' must be 无条件共享 (base-library basic items are shared unconditionally), found 有条件共享"),
    ("conditional sharing without condition", _share_no_condition,
     "resources/health/health_patient_index.yaml: resource health_patient_index: share.condition: share.type "
     "有条件共享 requires share.condition (共享条件)"),
    ("no sharing without legal basis", _share_no_legal_basis,
     "resources/health/health_patient_index.yaml: resource health_patient_index: share.legal_basis: share.type "
     "不予共享 requires share.legal_basis (法律法规依据)"),
    ("conditional opening without condition", _open_no_condition,
     "resources/health/health_patient_index.yaml: resource health_patient_index: open.condition: open.type "
     "有条件开放 requires open.condition (开放条件)"),
    ("incremental_key not an item", _set(PATIENT, "incremental_key", "modified_at"),
     "resources/health/health_patient_index.yaml: resource health_patient_index: incremental_key: "
     "incremental_key 'modified_at' is not an item of the resource"),
    ("event_time not an item", _set(PATIENT, "event_time", "visit_time"),
     "resources/health/health_patient_index.yaml: resource health_patient_index: event_time: event_time "
     "'visit_time' is not an item of the resource"),
    ("event_time not a date", _set(PATIENT, "event_time", "name"),
     "resources/health/health_patient_index.yaml: resource health_patient_index: event_time: event_time "
     "'name' must be a D or T item, found type C"),
    ("event resource without event_time", _event_without_time,
     "resources/health/health_patient_index.yaml: resource health_patient_index: event_time: kind event "
     "requires event_time (the D or T item that partitions silver)"),
    ("database source without incremental_key", _set(PATIENT, "incremental_key", None),
     "resources/health/health_patient_index.yaml: resource health_patient_index: incremental_key: a database "
     "source requires incremental_key (usually updated_at)"),
    ("unknown field (typo)", _set(PATIENT, "provder", "HEALTH"),
     "resources/health/health_patient_index.yaml: resource health_patient_index: provder: unknown field "
     "(not in catalog/SCHEMA.md)"),
    ("required field missing", lambda f: f[PATIENT].pop("abstract"),
     "resources/health/health_patient_index.yaml: resource health_patient_index: abstract: required field "
     "is missing"),
    ("resource file in the wrong folder", lambda f: f.update({"resources/misc/x.yaml": f.pop(PATIENT)}),
     "resources/misc/x.yaml: resource health_patient_index: name: file must be "
     "resources/health/health_patient_index.yaml (resources/<library>/<name>.yaml)"),
    ("invalid department org_code", lambda f: f["departments.yaml"]["departments"][0].update(
        org_code="11370600004000001X"),
     "departments.yaml: department PSB: org_code: '11370600004000001X' is not a valid unified social credit "
     "code (GB 32100 check character)"),
]


@pytest.mark.parametrize(("case", "breaker", "expected"), CASES, ids=[c[0] for c in CASES])
def test_rule_reports_exact_error(tmp_path, case, breaker, expected):
    files = variant()
    breaker(files)
    errors = errors_of(tmp_path, files)
    assert expected in errors, "\n".join(errors)


def test_baseline_fixture_is_valid(tmp_path):
    cat = load_catalog(write_catalog(tmp_path, baseline()))
    assert cat.counts()["resources"] == 3


def test_every_error_is_reported_in_one_catalog_error(tmp_path):
    files = variant()
    _dup_department(files)  # departments.yaml
    files[PATIENT]["provider"] = "NHC"  # a resource file
    _no_authority(files)  # entities.yaml
    _ind_unknown_filter_item(files)  # indicators.yaml
    write_catalog(tmp_path, files)
    with pytest.raises(CatalogError) as info:
        load_catalog(tmp_path)
    assert info.value.messages == [
        "departments.yaml: department PSB: code: duplicate department code 'PSB' "
        "(first defined at departments.yaml departments[0])",
        "resources/health/health_patient_index.yaml: resource health_patient_index: provider: unknown "
        "department 'NHC' (not in departments.yaml)",
        "entities.yaml: entity person, attribute name: authority: no authoritative source "
        "(一数一源: exactly one resource.item is required)",
        "indicators.yaml: indicator IND_PENSION_COVERAGE: numerator.filter: unknown item 'insurance_kind' of "
        "resource 'si_insured'",
    ]
    assert str(info.value).startswith(f"catalogue {tmp_path} has 4 error(s)")


def test_several_errors_in_one_entry_are_all_reported(tmp_path):
    files = variant()
    item_of(files[PATIENT], "sex")["type"] = "Q"
    item_of(files[PATIENT], "name")["pii"] = "secret"
    files[PATIENT]["update_cycle"] = "hourly"
    errors = errors_of(tmp_path, files)
    prefix = "resources/health/health_patient_index.yaml: resource health_patient_index: "
    assert errors == [
        prefix + "update_cycle: 'hourly' is not allowed (expected '实时', '每日', '每周', '每月', '每季度', '每年' "
                 "or '其他')",
        prefix + "items[name].pii: 'secret' is not allowed (expected 'direct', 'quasi', 'sensitive' or 'none')",
        prefix + "items[sex].type: unknown type 'Q' (expected one of C N Y D T L I F B M G)",
    ]


def test_duplicate_yaml_key_is_an_error(tmp_path):
    files = variant()
    files["reference/code_lists.yaml"] = (
        "code_lists:\n  sex:\n    name_zh: 性别\n    standard: x\n    codes: {'1': 男性}\n"
        "  sex:\n    name_zh: 性别\n    standard: y\n    codes: {'2': 女性}\n"
    )
    errors = errors_of(tmp_path, files)
    assert "reference/code_lists.yaml: file: line 6: not valid YAML: duplicate key 'sex'" in errors


def test_missing_file_is_an_error(tmp_path):
    files = variant()
    del files["entities.yaml"]
    errors = errors_of(tmp_path, files)
    assert errors == ["entities.yaml: file: file is missing (required by catalog/SCHEMA.md)"]
