"""Tiny catalogues for loader tests: a valid baseline as YAML dicts, written under tmp_path."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from citybrain.catalog import CatalogError, load_catalog

POP = "resources/population/pop_resident.yaml"
PATIENT = "resources/health/health_patient_index.yaml"
INSURED = "resources/livelihood/si_insured.yaml"


def _item(name, label, type_, length=None, **kw) -> dict:
    d = {"name": name, "label": label, "type": type_, "nullable": kw.pop("nullable", True), "pii": "none"}
    if length is not None:
        d["length"] = length
    d.update(kw)
    return d


def _person_items(extra=()) -> list[dict]:
    return [
        _item("id_number", "公民身份号码", "C", 18, nullable=False, pii="direct", format="id_number"),
        _item("name", "姓名", "C", 50, nullable=False, pii="direct"),
        _item("sex", "性别", "C", 1, code_list="sex", pii="quasi"),
        _item("birth_date", "出生日期", "D", pii="quasi"),
        _item("district_code", "行政区划代码", "C", 6, code_list="divisions", format="division_code"),
        *extra,
        _item("updated_at", "更新时间", "T", nullable=False),
    ]


def _resource(code, name, library, provider, items, **kw) -> dict:
    d = {
        "code": code, "name": name, "title_zh": name, "title_en": name, "library": library, "provider": provider,
        "abstract": "测试资源", "format": "数据库", "update_cycle": "每日", "kind": "entity",
        "grain": "one row per person", "primary_key": ["id_number"], "incremental_key": "updated_at",
        "event_time": None,
        "share": {"type": "无条件共享", "condition": None, "legal_basis": None, "method": "共享平台/数据库"},
        "open": {"type": "不予开放", "condition": None}, "published": "2024-01-01", "related": [],
        "source": {"kind": "database", "database": provider.lower(), "table": f"t_{name}"},
        "items": items,
    }
    d.update(kw)
    return d


def baseline() -> dict[str, Any]:
    """A small valid catalogue: relative file path -> YAML document."""
    return {
        "departments.yaml": {"departments": [
            {"code": "PSB", "org_code": "11370600004000001P", "name_zh": "公安局", "name_en": "Police",
             "system": "人口系统"},
            {"code": "HEALTH", "org_code": "113706000040000067", "name_zh": "卫健委", "name_en": "Health",
             "system": "健康平台"},
            {"code": "HRSS", "org_code": "113706000040000054", "name_zh": "人社局", "name_en": "HR",
             "system": "社保系统"},
        ]},
        "libraries.yaml": {"libraries": [
            {"code": "population", "kind": "base", "class_code": "101", "name_zh": "人口基础库",
             "name_en": "Population"},
            {"code": "health", "kind": "thematic", "class_code": "208", "name_zh": "卫生健康主题库",
             "name_en": "Health"},
            {"code": "livelihood", "kind": "thematic", "class_code": "209", "name_zh": "民生服务主题库",
             "name_en": "Livelihood"},
        ]},
        "reference/divisions.yaml": {"divisions": [
            {"code": "370600", "name_zh": "烟台市", "name_en": "Yantai", "level": "prefecture",
             "valid_from": "1983-10-01"},
            {"code": "370614", "name_zh": "蓬莱区", "name_en": "Penglai", "level": "district", "parent": "370600",
             "valid_from": "2020-06-05"},
            {"code": "370634", "name_zh": "长岛县", "name_en": "Changdao", "level": "county", "parent": "370600",
             "valid_from": "1983-10-01", "valid_to": "2020-06-05", "replaced_by": "370614"},
        ]},
        "reference/grid.yaml": {
            "component_classes": [{"code": "01", "name_zh": "公用设施", "name_en": "Utilities",
                                   "minor": [{"code": "0118", "name_zh": "路灯"}]}],
            "event_classes": [{"code": "01", "name_zh": "市容环境", "name_en": "Appearance",
                               "minor": [{"code": "0102", "name_zh": "暴露垃圾", "time_limit_hours": 2}]}],
        },
        "reference/code_lists.yaml": {"code_lists": {
            "sex": {"name_zh": "性别", "standard": "GB/T 2261.1", "codes": {"1": "男性", "2": "女性"}},
            "insurance_type": {"name_zh": "险种", "standard": "人社", "codes": {"110": "企业职工基本养老保险"}},
        }},
        POP: _resource("101001/0001", "pop_resident", "population", "PSB", _person_items()),
        PATIENT: _resource(
            "208001/0001", "health_patient_index", "health", "HEALTH", _person_items(),
            share={"type": "有条件共享", "condition": "卫健委审批", "legal_basis": None, "method": "共享平台/数据库"},
        ),
        INSURED: _resource(
            "209001/0001", "si_insured", "livelihood", "HRSS",
            _person_items([_item("insurance_type", "险种", "C", 3, code_list="insurance_type", nullable=False)]),
            primary_key=["id_number", "insurance_type"],
        ),
        "entities.yaml": {"entities": [
            {"name": "person", "label": "自然人", "key": "id_number", "attributes": [
                {"name": "name", "label": "姓名", "authority": "pop_resident.name",
                 "copies": ["health_patient_index.name", "si_insured.name"]},
                {"name": "birth_date", "label": "出生日期", "authority": "pop_resident.birth_date",
                 "copies": ["si_insured.birth_date"]},
            ]},
        ]},
        "indicators.yaml": {"indicators": [
            {"code": "IND_PENSION_COVERAGE", "name_zh": "养老保险参保率", "name_en": "Pension coverage",
             "definition": "参保人数 / 人口", "unit": "%", "scale": 100,
             "numerator": {"resource": "si_insured", "measure": "count_distinct:id_number",
                           "filter": "insurance_type IN ('110')"},
             "denominator": {"resource": "pop_resident", "measure": "count"},
             "district_item": {"si_insured": "district_code", "pop_resident": "district_code"},
             "period_item": {}, "grain": ["district_month", "city_month"], "direction": "higher_is_better",
             "open": "无条件开放", "source_doc": "test"},
        ]},
    }


def write_catalog(root: Path, files: dict[str, Any]) -> Path:
    """Write each document as YAML under root (str values are written verbatim)."""
    for rel, doc in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        text = doc if isinstance(doc, str) else yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)
        path.write_text(text, encoding="utf-8")
    return root


def variant(**edits) -> dict[str, Any]:
    """A deep copy of the baseline (callers then break one thing)."""
    files = copy.deepcopy(baseline())
    files.update(edits)
    return files


def item_of(doc: dict, name: str) -> dict:
    return next(it for it in doc["items"] if it["name"] == name)


def errors_of(root: Path, files: dict[str, Any]) -> list[str]:
    """Every error line the loader reports for these files (fails when the catalogue loads)."""
    write_catalog(root, files)
    try:
        load_catalog(root)
    except CatalogError as exc:
        return exc.messages
    raise AssertionError("the catalogue loaded although it was expected to be invalid")
