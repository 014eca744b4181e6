"""The conform stage's view of the catalogue, SQL literals and the GB 2312 text set (pure Python)."""

from __future__ import annotations

import datetime as dt

import pytest

pytestmark = pytest.mark.unit


def test_loader_and_yaml_views_agree():
    from citybrain.conform.catalog import load_catalog

    via_loader, via_yaml = load_catalog(), load_catalog(use_loader=False)
    assert via_loader.resources == via_yaml.resources
    assert via_loader.entities == via_yaml.entities
    assert via_loader.code_lists == via_yaml.code_lists
    assert via_loader.divisions == via_yaml.divisions


def test_referenced_resources_are_conformed_first():
    from citybrain.conform.catalog import load_catalog

    cat = load_catalog()
    order = cat.conform_order()
    assert sorted(order) == sorted(cat.resources)  # every resource exactly once
    refs = {n: {it.references.split(".")[0] for it in r.items if it.references} - {n} for n, r in cat.resources.items()}
    for name, targets in refs.items():
        for target in targets:
            if name in refs[target]:
                continue  # a cycle (geo_address <-> geo_building): one of them goes first
            assert order.index(target) < order.index(name), f"{name} -> {target}"


def test_history_kinds_and_scd2_column_names():
    from citybrain.conform.catalog import load_catalog
    from citybrain.conform.scd2 import validity_columns

    cat = load_catalog()
    assert cat.resource("pop_resident").is_history and not cat.resource("grid_event").is_history
    assert validity_columns(cat.resource("pop_resident")) == ("valid_from", "valid_to")
    # elic_licence has items named valid_from / valid_to (the licence's validity): SCD2 columns step aside
    assert validity_columns(cat.resource("elic_licence")) == ("_scd_valid_from", "_scd_valid_to")


@pytest.mark.parametrize(("value", "sql"), [
    ("it's", r"'it\'s'"),  # quote escaped
    ("a\\d", r"'a\\d'"),  # backslash doubled (the parser unescapes it)
    ("\u0000", r"'\u0000'"),  # control characters as unicode escapes
    ("张三", "'张三'"),  # non-ASCII text as is
    (None, "NULL"),
    (True, "TRUE"),
    (12, "12"),
    (dt.date(2026, 11, 1), "DATE'2026-11-01'"),
])
def test_sql_literals(value, sql):
    from citybrain.conform.sql import lit

    assert lit(value) == sql
