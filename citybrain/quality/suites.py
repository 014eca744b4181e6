"""Expectation suites generated from the catalogue, one per lake table (no per-table code).

A suite is a list of ``Rule``: a GX expectation class name, its kwargs, the catalogue rule it comes
from (``required``, ``unique``, ``type``, ``code_list``, ``format``, ``check_char``, ``division``,
``range``, ``reference``, ``row_count_change``, ``freshness``), the GB/T 36344 dimension it measures
and its severity (quality/gates.yml). Values known only at run time (the referenced table's keys,
the previous version's row count, the freshness limit) are GX suite parameters (``$PARAMETER``),
filled in by the gate run, so suites stay small and stable files.

Tables covered: ``bronze.<resource>`` (latest batch, warning only), ``silver.<resource>`` (current
SCD2 rows of entity resources, all rows of events/readings), ``gold.theme_*`` and
``gold.indicator_values``, and ``open.<resource>`` when open-data publishing wrote it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from citybrain.catalog import Catalog, Item, Resource
from citybrain.quality import policy
from citybrain.standards.identifiers import covered_prefectures

ID_NUMBER_RE = r"^\d{17}[\dX]$"
PHONE_RE = r"^(?:1[3-9]\d{9}|0[1-9]\d{8,10}|[2-9]\d{6,7}|1\d{4}|[48]00\d{7})$"
EMAIL_RE = r"^[a-z0-9._%+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}$"
GRID_COMPONENT_RE = r"^\d{16}$"
FORMAT_REGEX = {"phone": PHONE_RE, "email": EMAIL_RE, "grid_component_id": GRID_COMPONENT_RE}
CHECK_CHAR_FORMATS = ("id_number", "credit_code")
NUMERIC_TYPES = ("N", "Y", "I", "F", "B")
# pandas dtype or value type names of each catalogue type once a silver/gold/open table is read through Arrow
PANDAS_TYPES = {"C": ["str"], "M": ["str"], "D": ["date"], "G": ["bytes"], "L": ["bool", "bool_"],
                "I": ["int64", "Int64", "int"], "F": ["float32", "float64", "float"], "B": ["float64", "float"],
                "N": ["float64", "float", "Decimal", "int64"], "Y": ["float64", "float", "Decimal"],
                "T": ["datetime64[us]", "datetime64[ns]", "Timestamp"]}
RULE_DIMENSION = {
    "required": "completeness", "row_count_change": "completeness",
    "type": "conformity", "code_list": "conformity", "format": "conformity", "division": "conformity",
    "check_char": "accuracy", "range": "accuracy", "unique": "accuracy",
    "reference": "consistency", "freshness": "timeliness", "deidentified": "conformity",
}
AGE_COLUMN = "_age_days"
REF_PREFIX = "_ref__"  # added to the validated frame: True when the item's value exists in the referenced table  # added to the validated frame: days between a row's date and the lake's data day


@dataclass(frozen=True)
class Rule:
    expectation: str  # GX class name, e.g. ExpectColumnValuesToNotBeNull
    kwargs: dict
    rule: str
    severity: str
    column: str | None = None
    name: str | None = None  # label override

    @property
    def dimension(self) -> str:
        return RULE_DIMENSION[self.rule]

    @property
    def label(self) -> str:
        if self.name:
            return self.name
        snake = re.sub(r"(?<!^)(?=[A-Z])", "_", self.expectation).lower()
        target = self.column or ",".join(self.kwargs.get("column_list", []))
        return f"{snake}({target})" if target else snake


@dataclass(frozen=True)
class TableSpec:
    """What a table's gate validates: its rows (filter), keys for samples, and the rules."""

    table: str
    suite: str
    resource: str | None
    keys: list[str]
    rules: list[Rule] = field(default_factory=list)
    current_only: bool = False  # SCD2: validate is_current rows
    latest_batch_only: bool = False  # bronze: validate the newest batch date
    age_from: str | None = None  # column whose newest value must be fresh
    parameters: dict = field(default_factory=dict)  # $PARAMETER name (or derived column) -> how to compute it

    @property
    def layer(self) -> str:
        return self.table.split(".", 1)[0]


def suite_name(table: str) -> str:
    return table.replace(".", "__")


def _param(name: str) -> dict:
    return {"$PARAMETER": name}


def _item_rules(res: Resource, item: Item, layer: str, catalog: Catalog, params: dict) -> list[Rule]:
    def rule(expectation: str, kind: str, **kwargs) -> Rule:
        return Rule(expectation, {"column": item.name, **kwargs}, kind, policy.severity(layer, kind), item.name)

    out: list[Rule] = []
    if not item.nullable or item.name in res.primary_key:
        out.append(rule("ExpectColumnValuesToNotBeNull", "required"))
    if layer != "bronze":
        out.append(rule("ExpectColumnValuesToBeInTypeList", "type", type_list=PANDAS_TYPES[item.type]))
    if item.format in CHECK_CHAR_FORMATS:
        name = "ExpectColumnValuesToBeValidIdNumber" if item.format == "id_number" else \
            "ExpectColumnValuesToBeValidCreditCode"
        out.append(rule(name, "check_char"))
    elif item.format == "division_code" or item.code_list == "divisions":
        # conform's rule: an item of the city's code list must be listed; any other division item (a
        # migrant's home county) only when its prefecture is one the reference list holds completely
        divisions = catalog.divisions()
        covered = None if item.code_list == "divisions" else covered_prefectures(divisions.values())
        out.append(rule("ExpectColumnValuesToBeValidDivisionCode", "division", codes=sorted(divisions),
                        **({} if covered is None else {"covered": covered})))
    elif item.format in FORMAT_REGEX:
        out.append(rule("ExpectColumnValuesToMatchRegex", "format", regex=FORMAT_REGEX[item.format]))
    if item.code_list and item.code_list != "divisions":
        out.append(rule("ExpectColumnValuesToBeInSet", "code_list", value_set=sorted(catalog.code_list(item.code_list))))
    if item.range and item.type in NUMERIC_TYPES and layer != "bronze":
        low, high = item.range.min, item.range.max
        if isinstance(low, (int, float)) or isinstance(high, (int, float)):
            out.append(rule("ExpectColumnValuesToBeBetween", "range", min_value=low, max_value=high))
    if item.references and layer == "silver":
        # membership is computed on the frame (a vectorised isin against the referenced keys), so a
        # million referenced keys never travel through GX's expectation kwargs
        column = REF_PREFIX + item.name
        params[column] = ("reference", item.name, item.references)
        out.append(Rule("ExpectColumnValuesToBeInSet", {"column": column, "value_set": [True]}, "reference",
                        policy.severity(layer, "reference"), column,
                        f"expect_column_values_to_reference({item.name} -> {item.references})"))
    return out


def _table_rules(table: str, layer: str, keys: list[str], params: dict) -> list[Rule]:
    out = []
    if keys:
        kind = "unique"
        if len(keys) == 1:
            out.append(Rule("ExpectColumnValuesToBeUnique", {"column": keys[0]}, kind, policy.severity(layer, kind),
                            keys[0]))
        else:
            out.append(Rule("ExpectCompoundColumnsToBeUnique", {"column_list": list(keys)}, kind,
                            policy.severity(layer, kind)))
    params["rows_min"] = ("rows_min", table)
    params["rows_max"] = ("rows_max", table)
    out.append(Rule("ExpectTableRowCountToBeBetween", {"min_value": _param("rows_min"), "max_value": _param("rows_max")},
                    "row_count_change", policy.severity(layer, "row_count_change")))
    return out


def _freshness(res: Resource, layer: str, params: dict) -> tuple[str | None, list[Rule]]:
    days = policy.policy()["freshness_days"].get(res.update_cycle)
    column = res.event_time or ("valid_from" if res.kind == "entity" and layer == "silver" else None)
    if layer == "bronze":
        column = "_batch_date"
    if days is None or column is None:
        return None, []
    params["fresh_days"] = ("fresh_days", days)
    return column, [Rule("ExpectColumnMinToBeBetween", {"column": AGE_COLUMN, "max_value": _param("fresh_days")},
                         "freshness", policy.severity(layer, "freshness"), AGE_COLUMN)]


def resource_spec(res: Resource, layer: str, catalog: Catalog) -> TableSpec:
    """The suite of ``<layer>.<resource>`` (bronze, silver or open)."""
    table = f"{layer}.{res.name}"
    params: dict = {}
    items = res.items
    if layer == "open":
        drop = {n for n, how in (res.deidentify or {}).items() if how == "drop"}
        items = [it for it in items if it.name not in drop]
    rules: list[Rule] = []
    for item in items:
        if layer == "open" and item.pii == "direct":
            # de-identified: a direct identifier must not be published in clear form
            if item.format == "id_number":
                rules.append(Rule("ExpectColumnValuesToNotMatchRegex", {"column": item.name, "regex": ID_NUMBER_RE},
                                  "deidentified", policy.severity(layer, "deidentified"), item.name))
            continue
        rules += _item_rules(res, item, layer, catalog, params)
    keys = [k for k in res.primary_key if any(it.name == k for it in items)]
    rules += _table_rules(table, layer, keys if layer != "bronze" else [], params)
    age_from, fresh = _freshness(res, layer, params)
    rules += fresh
    return TableSpec(table, suite_name(table), res.name, keys, rules, current_only=(layer == "silver" and
                     res.kind == "entity"), latest_batch_only=(layer == "bronze"), age_from=age_from,
                     parameters=params)


def theme_spec(theme) -> TableSpec:
    params: dict = {}
    keys = list(theme.primary_key)
    rules = [Rule("ExpectColumnValuesToNotBeNull", {"column": k}, "required", policy.severity("gold", "required"), k)
             for k in keys]
    rules += _table_rules(theme.table, "gold", keys, params)
    return TableSpec(theme.table, suite_name(theme.table), None, keys, rules, parameters=params)


INDICATOR_KEYS = ["indicator_code", "district_code", "period_type", "period"]


def indicator_spec(catalog: Catalog) -> TableSpec:
    table, params = "gold.indicator_values", {}
    sev = policy.severity
    rules = [Rule("ExpectColumnValuesToNotBeNull", {"column": k}, "required", sev("gold", "required"), k)
             for k in INDICATOR_KEYS]
    rules += [
        Rule("ExpectColumnValuesToBeInSet", {"column": "indicator_code", "value_set": sorted(catalog.indicators)},
             "code_list", sev("gold", "code_list"), "indicator_code"),
        Rule("ExpectColumnValuesToBeInSet", {"column": "status", "value_set": ["green", "amber", "red", "none"]},
             "code_list", sev("gold", "code_list"), "status"),
        Rule("ExpectColumnValuesToBeValidDivisionCode",
             {"column": "district_code", "codes": sorted(catalog.divisions())}, "division",
             sev("gold", "division"), "district_code"),
    ]
    rules += _table_rules(table, "gold", INDICATOR_KEYS, params)
    return TableSpec(table, suite_name(table), None, INDICATOR_KEYS, rules, parameters=params)


def table_specs(catalog: Catalog, layers: tuple[str, ...] = ("bronze", "silver", "gold", "open")) -> dict[str, TableSpec]:
    """Every table's suite, keyed by layer.table."""
    out: dict[str, TableSpec] = {}
    for layer in ("bronze", "silver", "open"):
        if layer in layers:
            for res in catalog.resources.values():
                if layer == "open" and not res.is_openable:
                    continue
                spec = resource_spec(res, layer, catalog)
                out[spec.table] = spec
    if "gold" in layers:
        for theme in catalog.themes.values():
            out[theme.table] = theme_spec(theme)
        out["gold.indicator_values"] = indicator_spec(catalog)
    return out
