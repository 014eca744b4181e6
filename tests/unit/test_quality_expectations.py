"""Custom GX expectations (ID numbers, credit codes, GB/T 2260 codes) on tiny inline data, STANDARDS.md vectors."""

from __future__ import annotations

import pandas as pd
import pytest

pytestmark = pytest.mark.unit

VALID_IDS = ["11010519491231002X", "440524188001010014", "330106199003071236"]
INVALID_IDS = ["11010519491231003X", "110105194902300021"]
VALID_CREDIT = ["91110000600037341L", "91350100M000100Y43"]
INVALID_CREDIT = ["91110000600073341L", "91110000600037341I"]


@pytest.fixture(scope="module")
def validate():
    import great_expectations as gx

    import citybrain.quality.expectations  # noqa: F401

    context = gx.get_context(mode="ephemeral")
    batch_def = context.data_sources.add_pandas("inline").add_dataframe_asset("t").add_batch_definition_whole_dataframe("t")

    def run(expectation, values: list, keys: list | None = None):
        df = pd.DataFrame({"v": values, "k": keys or [f"k{i}" for i in range(len(values))]})
        batch = batch_def.get_batch(batch_parameters={"dataframe": df})
        return batch.validate(expectation, result_format={"result_format": "SUMMARY",
                                                          "unexpected_index_column_names": ["k"]})

    return run


def test_id_number_expectation_flags_exactly_the_invalid_vectors(validate):
    from citybrain.quality.expectations import ExpectColumnValuesToBeValidIdNumber

    result = validate(ExpectColumnValuesToBeValidIdNumber(column="v"), VALID_IDS + INVALID_IDS)
    assert not result.success
    assert result.result["unexpected_count"] == 2
    assert sorted(result.result["partial_unexpected_list"]) == sorted(INVALID_IDS)
    assert [r["k"] for r in result.result["partial_unexpected_index_list"]] == ["k3", "k4"]
    assert validate(ExpectColumnValuesToBeValidIdNumber(column="v"), VALID_IDS).success


def test_credit_code_expectation_mod31(validate):
    from citybrain.quality.expectations import ExpectColumnValuesToBeValidCreditCode

    assert validate(ExpectColumnValuesToBeValidCreditCode(column="v"), VALID_CREDIT).success
    bad = validate(ExpectColumnValuesToBeValidCreditCode(column="v"), VALID_CREDIT + INVALID_CREDIT)
    assert bad.result["unexpected_count"] == 2
    assert sorted(bad.result["partial_unexpected_list"]) == sorted(INVALID_CREDIT)


def test_division_code_expectation_shape_and_code_list(validate):
    from citybrain.quality.expectations import ExpectColumnValuesToBeValidDivisionCode

    values = ["370602", "370611", "370699", "09x602", "9706021"]
    shape_only = validate(ExpectColumnValuesToBeValidDivisionCode(column="v"), values)
    assert sorted(shape_only.result["partial_unexpected_list"]) == ["09x602", "9706021"]
    listed = validate(ExpectColumnValuesToBeValidDivisionCode(column="v", codes=["370602", "370611"]), values)
    assert sorted(listed.result["partial_unexpected_list"]) == ["09x602", "370699", "9706021"]
    # the province must exist (09 is none)
    assert validate(ExpectColumnValuesToBeValidDivisionCode(column="v"), ["090602"]).result["unexpected_count"] == 1
    # nulls are not judged by a map expectation (completeness has its own not-null rule)
    assert validate(ExpectColumnValuesToBeValidDivisionCode(column="v"), ["370602", None]).success


def test_division_code_expectation_applies_conforms_rule_to_codes_outside_the_city(validate):
    """A migrant's home county elsewhere needs only a known province; codes of a prefecture the list holds
    completely must be listed (silver.pop_migration.from_division at scale 1 was blocked by the stricter gate)."""
    from citybrain.quality.expectations import ExpectColumnValuesToBeValidDivisionCode

    values = ["370602", "440305", "370699", "090602"]
    rule = ExpectColumnValuesToBeValidDivisionCode(column="v", codes=["370602", "370600"], covered=["3706"])
    assert sorted(validate(rule, values).result["partial_unexpected_list"]) == ["090602", "370699"]
    city_list = ExpectColumnValuesToBeValidDivisionCode(column="v", codes=["370602", "370600"])
    assert sorted(validate(city_list, values).result["partial_unexpected_list"]) == ["090602", "370699", "440305"]


def test_division_gate_and_conform_rule_agree_on_every_division_item():
    """For every division item of the catalogue, the GX gate and conform's Spark rule take the same codes."""
    from citybrain.catalog import get_catalog
    from citybrain.quality.suites import table_specs
    from citybrain.standards.identifiers import is_known_division

    catalog = get_catalog()
    specs = table_specs(catalog)
    migration = {r.column: r for r in specs["silver.pop_migration"].rules
                 if r.expectation == "ExpectColumnValuesToBeValidDivisionCode"}
    assert migration, "pop_migration has division items"
    listed = sorted(catalog.divisions())
    for column, r in migration.items():
        kwargs = r.kwargs
        outside = "440305"  # Shenzhen Nanshan: not in the city's list, province known
        accepted = is_known_division(outside, kwargs["codes"], kwargs.get("covered"))
        item = next(i for i in catalog.resource("pop_migration").items if i.name == column)
        assert accepted == (item.code_list != "divisions"), column
        assert all(is_known_division(c, kwargs["codes"], kwargs.get("covered")) for c in listed)


def test_suites_come_from_the_catalogue_with_severity_and_custom_rules():
    from citybrain.catalog import get_catalog
    from citybrain.quality.suites import table_specs

    specs = table_specs(get_catalog())
    res = specs["silver.pop_resident"]
    by = {(r.expectation, r.column): r for r in res.rules}
    assert by[("ExpectColumnValuesToBeValidIdNumber", "id_number")].severity == "critical"
    assert by[("ExpectColumnValuesToBeValidIdNumber", "id_number")].dimension == "accuracy"
    assert by[("ExpectColumnValuesToNotBeNull", "id_number")].dimension == "completeness"
    assert ("ExpectColumnValuesToBeUnique", "id_number") in by
    assert any(r.rule == "reference" for r in res.rules)
    assert all(r.severity == "warning" for r in specs["bronze.pop_resident"].rules)
    # every catalogue resource has a bronze and a silver suite, every theme a gold one
    cat = get_catalog()
    assert {f"silver.{n}" for n in cat.resources} <= set(specs)
    assert {t.table for t in cat.themes.values()} <= set(specs)
