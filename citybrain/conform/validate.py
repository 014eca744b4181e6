"""Validation rules from the catalogue as Spark SQL expressions (no Python UDFs on the hot path).

Each rule is (failure condition, violation) in SQL text; ``cast.collect`` keeps those that hold.
Rule ids are stable (`conform.<rule>`): quarantine rows, quality scores and tests name them.

| rule id | when it fails |
|---|---|
| conform.required | a non-nullable item (or a primary-key / event-time item) is empty or holds a null marker |
| conform.length | text longer than the item's length |
| conform.type.* | text present that is not a value of the item type (cast.py) |
| conform.text.encoding | free text with characters outside GB 2312 text: UTF-8 read as GBK (mojibake) |
| conform.id_number.format / .birth_date / .check_char / .address_code | GB 11643 resident ID number |
| conform.credit_code.format / .check_char | GB 32100 unified social credit code |
| conform.division_code.format / .unknown / .not_valid | GB/T 2260 code, validity on the row's date |
| conform.phone.format, conform.email.format | contact formats |
| conform.grid_component_id.format / .class | GB/T 30428 component id |
| conform.code_list | value not in the item's code list |
| conform.range | number or date outside the catalogue range |
| conform.reference | `references: resource.item` value unknown to that resource |
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from citybrain.conform.cast import RAW, VIOLATIONS, Check, collect, violation
from citybrain.conform.catalog import DIVISIONS, ConformCatalog, DivisionDef, ItemDef, ResourceDef
from citybrain.conform.sql import col, in_list, lit, to_column
from citybrain.conform.standardise import credit_code_check_char, id_number_check_char, null_marker
from citybrain.standards.identifiers import PROVINCE_CODES, covered_prefectures

ID_NUMBER_RE = r"^\d{17}[\dX]$"
CREDIT_CODE_RE = r"^[0-9A-HJ-NPQRTUWXY]{18}$"
PHONE_RE = r"^(1[3-9]\d{9}|0[1-9]\d{8,10}|[2-9]\d{6,7}|1\d{4}|[48]00\d{7})$"
EMAIL_RE = r"^[a-z0-9._%+-]+@[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}$"
GRID_COMPONENT_RE = r"^\d{16}$"
EARLIEST_BIRTH = dt.date(1850, 1, 1)
OPEN_END = dt.date(9999, 12, 31)
# Items that date a resident's registration (the ID number is issued between birth and then).
# Characters outside GB 2312 that real text may hold: the middle dot of transliterated names, and rare
# name characters (extend when a real name is quarantined as conform.text.encoding).
EXTRA_TEXT_CHARS = "·喆堃玥昇珺琤旻瑄燚犇淼垚"
# GB 2312 symbol rows (Greek, Cyrillic, kana, bopomofo, box drawing, pinyin letters...) that Chinese names
# and addresses never hold, but mojibake is full of.
STRAY_SYMBOLS_RE = (r"[\u0391-\u03c9\u0401-\u0451\u2160-\u2642\u2500-\u257f\u3041-\u30ff\u3105-\u3129"
                    r"\u3220-\u3229\u0100-\u01dc\u02c7-\u02d9]")
# Spark settings the encoding rule needs (set on the conform session only): GB 2312 as a Java charset,
# unmappable characters replaced instead of failing the query.
SESSION_CONF = {"spark.sql.legacy.javaCharsets": "true", "spark.sql.legacy.codingErrorAction": "true"}

AS_OF = "_as_of"  # date the row's codes must be valid on (event date, or the batch date for entities)
BATCH_DATE = "_batch_date"


def not_gb2312_text(x: str) -> str:
    """SQL: the text holds characters GB 2312 cannot encode, or stray GB 2312 symbols (UTF-8 read as GBK)."""
    v = f"translate({x}, {lit(EXTRA_TEXT_CHARS)}, '')"
    return f"(decode(encode({v}, 'GB2312'), 'GB2312') != {v} OR {v} RLIKE {lit(STRAY_SYMBOLS_RE)})"


# -- text rules (before casting) ---------------------------------------------------------------


def required_items(resource: ResourceDef) -> set[str]:
    """Items that must hold a value: non-nullable ones, the primary key and the event time."""
    req = {it.name for it in resource.items if not it.nullable} | set(resource.primary_key)
    if resource.event_time:
        req.add(resource.event_time)
    return req


def is_free_text(item: ItemDef) -> bool:
    return item.type in ("C", "M") and not (item.format or item.code_list or item.references)


def required_detail(item: ItemDef, raw: str | None, catalog: ConformCatalog | None) -> str:
    """SQL: why a required item has no value: empty, or the null marker it holds as delivered (``raw``: the
    bronze text, e.g. "is required but holds the null marker 'N/A'")."""
    if raw is None:
        return lit("is required but empty")
    return (f"CASE WHEN {null_marker(raw, item, catalog)} THEN "
            f"concat('is required but holds the null marker \\'', {raw}, '\\'') ELSE 'is required but empty' END")


def text_checks(resource: ResourceDef, catalog: ConformCatalog | None = None, raw: str | None = None) -> list[Check]:
    """Required, length and encoding rules over the standardised text (``raw``: the map column of the bronze
    text, to name the null marker a required item holds)."""
    required = required_items(resource)
    checks = []
    for it in resource.items:
        c = col(it.name)
        if it.name in required:
            delivered = f"try_element_at({col(raw)}, {lit(it.name)})" if raw else None
            checks.append((f"{c} IS NULL", violation("conform.required", it.name,
                                                     required_detail(it, delivered, catalog), detail_is_sql=True)))
        if it.type in ("C", "M") and it.length:
            checks.append((f"char_length({c}) > {it.length}",
                           violation("conform.length", it.name,
                                     f"concat('is longer than {it.length} characters (', char_length({c}), ')')",
                                     detail_is_sql=True)))
        if is_free_text(it):
            checks.append((not_gb2312_text(c),
                           violation("conform.text.encoding", it.name,
                                     "holds characters outside GB 2312 text: UTF-8 text read as GBK (mojibake)? "
                                     "Re-export the record as UTF-8")))
    return checks


# -- identifiers -------------------------------------------------------------------------------


def _validity_maps(divisions: list[DivisionDef]) -> tuple[str, str]:
    """SQL maps code -> valid_from and code -> valid_to (far future when still valid)."""
    if not divisions:
        return "CAST(map() AS map<string,date>)", "CAST(map() AS map<string,date>)"
    froms = ", ".join(f"{lit(d.code)}, {lit(d.valid_from)}" for d in divisions)
    tos = ", ".join(f"{lit(d.code)}, {lit(d.valid_to or OPEN_END)}" for d in divisions)
    return f"map({froms})", f"map({tos})"


def valid_between(code: str, start: str, end: str, divisions: list[DivisionDef]) -> str:
    """The code is listed and its validity [from, to) overlaps the days [start, end]."""
    froms, tos = _validity_maps(divisions)
    vf, vt = f"try_element_at({froms}, {code})", f"try_element_at({tos}, {code})"
    return f"({vf} IS NOT NULL AND {vf} <= {end} AND {vt} > {start})"


def id_number_checks(c: str, item: str, divisions: list[DivisionDef], today: str) -> list[Check]:
    """GB 11643: shape, real birth date not in the future, check character, and an address code valid at some
    time between the birth and ``today``: numbers were first issued in the 1980s, so a person registered
    before a county's code existed carries the code of the county that issued the number later."""
    shape_ok = f"{c} RLIKE {lit(ID_NUMBER_RE)}"
    expected = id_number_check_char(f"substring({c}, 1, 17)")
    born = f"try_to_date(substring({c}, 7, 8), 'yyyyMMdd')"
    prefix = f"substring({c}, 1, 6)"
    covered = covered_prefectures(divisions)
    window_end = f"greatest({today}, {born})"
    in_covered = in_list(f"substring({c}, 1, 4)", covered)
    address_ok = (f"({in_list(f'substring({c}, 1, 2)', PROVINCE_CODES)} AND "
                  f"(NOT {in_covered} OR {valid_between(prefix, born, window_end, divisions)}))")
    return [
        (f"{c} IS NOT NULL AND NOT {shape_ok}",
         violation("conform.id_number.format", item, "is not 17 digits followed by a digit or X")),
        (f"{shape_ok} AND {born} IS NULL",
         violation("conform.id_number.birth_date", item,
                   f"concat('encodes no real birth date (', substring({c}, 7, 8), ')')", detail_is_sql=True)),
        (f"{shape_ok} AND ({born} > {today} OR {born} < {lit(EARLIEST_BIRTH)})",
         violation("conform.id_number.birth_date", item,
                   f"concat('encodes a birth date in the future or before 1850 (', {born}, ')')",
                   detail_is_sql=True)),
        (f"{shape_ok} AND substring({c}, 18, 1) != {expected}",
         violation("conform.id_number.check_char", item,
                   f"concat('has a wrong check character (MOD 11-2 gives ', {expected}, ')')", detail_is_sql=True)),
        (f"{shape_ok} AND {born} IS NOT NULL AND NOT {address_ok}",
         violation("conform.id_number.address_code", item,
                   f"concat('address code ', {prefix}, ' is not a GB/T 2260 code valid between birth and "
                   f"the record date (', {born}, ' .. ', {window_end}, ')')", detail_is_sql=True)),
    ]


def credit_code_checks(c: str, item: str) -> list[Check]:
    """GB 32100: 18 characters of the alphabet (no I, O, S, V, Z) and the MOD 31 check character."""
    shape_ok = f"{c} RLIKE {lit(CREDIT_CODE_RE)}"
    expected = credit_code_check_char(f"substring({c}, 1, 17)")
    return [
        (f"{c} IS NOT NULL AND NOT {shape_ok}",
         violation("conform.credit_code.format", item, "is not 18 characters of 0-9 and A-Y without I, O, S, V, Z")),
        (f"{shape_ok} AND substring({c}, 18, 1) != {expected}",
         violation("conform.credit_code.check_char", item,
                   f"concat('has a wrong check character (MOD 31 gives ', {expected}, ')')", detail_is_sql=True)),
    ]


def division_checks(c: str, item: ItemDef, divisions: list[DivisionDef], as_of: str) -> list[Check]:
    """GB/T 2260: shape and province; listed (the city's codes always); valid on the row's date."""
    shape_ok = f"({c} RLIKE '^[0-9]{{6}}$' AND {in_list(f'substring({c}, 1, 2)', PROVINCE_CODES)})"
    codes = [d.code for d in divisions]
    must_be_listed = "TRUE" if item.code_list == DIVISIONS else in_list(f"substring({c}, 1, 4)",
                                                                        covered_prefectures(divisions))
    listed = in_list(c, codes)
    return [
        (f"{c} IS NOT NULL AND NOT {shape_ok}",
         violation("conform.division_code.format", item.name, "is not a 6-digit GB/T 2260 code of a known province")),
        (f"{shape_ok} AND {must_be_listed} AND NOT {listed}",
         violation("conform.division_code.unknown", item.name, "is not in the GB/T 2260 reference list")),
        (f"{listed} AND {as_of} IS NOT NULL AND NOT {valid_between(c, as_of, as_of, divisions)}",
         violation("conform.division_code.not_valid", item.name,
                   f"concat('is a GB/T 2260 code not valid on ', {as_of})", detail_is_sql=True)),
    ]


def grid_component_checks(c: str, item: str, catalog: ConformCatalog) -> list[Check]:
    """GB/T 30428 component id: county code (6) + major (2) + minor (2) + serial (6)."""
    shape_ok = f"{c} RLIKE {lit(GRID_COMPONENT_RE)}"
    checks = [(f"{c} IS NOT NULL AND NOT {shape_ok}",
               violation("conform.grid_component_id.format", item, "is not 16 digits"))]
    classes = catalog.code_lists.get("grid_component_class") or []
    if classes:
        checks.append((f"{shape_ok} AND NOT {in_list(f'substring({c}, 7, 4)', classes)}",
                       violation("conform.grid_component_id.class", item,
                                 f"concat('has component class ', substring({c}, 7, 4), "
                                 "' not in grid_component_class')", detail_is_sql=True)))
    return checks


# -- per-item typed rules ----------------------------------------------------------------------


def _range_bound(item: ItemDef, value) -> str:
    if item.type == "D":
        return lit(value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10]))
    if item.type == "T":
        return f"CAST({lit(str(value))} AS timestamp)"
    return lit(value)


def range_checks(c: str, item: ItemDef) -> list[Check]:
    out = []
    if item.range_min is not None:
        out.append((f"{c} < {_range_bound(item, item.range_min)}",
                    violation("conform.range", item.name, f"is below the minimum {item.range_min}")))
    if item.range_max is not None:
        out.append((f"{c} > {_range_bound(item, item.range_max)}",
                    violation("conform.range", item.name, f"is above the maximum {item.range_max}")))
    return out


def item_checks(item: ItemDef, resource: ResourceDef, catalog: ConformCatalog) -> list[Check]:
    """Typed rules of one item: its format validator, code list and range."""
    c = col(item.name)
    checks: list[Check] = []
    today = col(BATCH_DATE)
    if item.format == "id_number":
        checks += id_number_checks(c, item.name, catalog.divisions, today)
    elif item.format == "credit_code":
        checks += credit_code_checks(c, item.name)
    elif item.format == "division_code" or item.code_list == DIVISIONS:
        checks += division_checks(c, item, catalog.divisions, col(AS_OF))
    elif item.format == "phone":
        checks.append((f"NOT {c} RLIKE {lit(PHONE_RE)}",
                       violation("conform.phone.format", item.name, "is not a mobile (11 digits) or a landline number")))
    elif item.format == "email":
        checks.append((f"NOT {c} RLIKE {lit(EMAIL_RE)}",
                       violation("conform.email.format", item.name, "is not an e-mail address")))
    elif item.format == "grid_component_id":
        checks += grid_component_checks(c, item.name, catalog)
    if item.code_list and item.code_list != DIVISIONS:
        codes = catalog.codes(item.code_list)
        shown = ", ".join(codes[:12]) + (", ..." if len(codes) > 12 else "")
        checks.append((f"NOT {in_list(c, codes)}",
                       violation("conform.code_list", item.name, f"is not in code list {item.code_list} ({shown})")))
    checks += range_checks(c, item)
    return checks


def typed_checks(resource: ResourceDef, catalog: ConformCatalog) -> list[Check]:
    return [chk for it in resource.items for chk in item_checks(it, resource, catalog)]


def add_violations(df: DataFrame, checks: list[Check]) -> DataFrame:
    """Append the violations of ``checks`` to the ``_violations`` column (created when absent)."""
    new = collect(checks)
    if VIOLATIONS in df.columns:
        new = f"concat({col(VIOLATIONS)}, {new})"
    return df.withColumn(VIOLATIONS, to_column(new))


def transform_text(df: DataFrame, resource: ResourceDef, catalog: ConformCatalog | None = None) -> DataFrame:
    """Required, length and encoding rules on standardised text (before the cast turns bad text into nulls)."""
    return add_violations(df, text_checks(resource, catalog, RAW if RAW in df.columns else None))


def transform(df: DataFrame, resource: ResourceDef, catalog: ConformCatalog) -> DataFrame:
    """Typed rules (identifiers, divisions, formats, code lists, ranges); needs ``_batch_date`` and ``_as_of``."""
    return add_violations(df, typed_checks(resource, catalog))


# -- referential rules --------------------------------------------------------------------------


def with_reference_checks(df: DataFrame, resource: ResourceDef, ref_keys: dict[str, DataFrame]) -> DataFrame:
    """``references: resource.item`` rules: the value must be a key the referenced resource holds.

    ``ref_keys`` maps "resource.item" to a one-column DataFrame (``_ref_value``) of known values;
    a reference whose target is absent (not yet conformed) is not checked.
    """
    checks = []
    flags = []
    for i, it in enumerate(resource.items):
        keys = ref_keys.get(it.references) if it.references else None
        if keys is None:
            continue
        flag, key_col = f"_ref_found_{i}", f"_ref_key_{i}"
        values = df.select(F.col(it.name).cast("string").alias("_ref_value")).where("_ref_value IS NOT NULL").distinct()
        # the referenced keys (a whole silver table) stream past the batch's few values, so only the values found
        # are de-duplicated: no shuffle of the referenced table
        found = keys.select("_ref_value").join(values, "_ref_value", "left_semi").distinct()
        found = found.select(F.col("_ref_value").alias(key_col), F.lit(True).alias(flag))
        df = df.join(found, F.col(it.name).cast("string") == F.col(key_col), "left").drop(key_col)
        # a value already failing its own rules (e.g. a wrong check character) is not also an orphan
        own = f"exists({col(VIOLATIONS)}, v -> v.item = {lit(it.name)})" if VIOLATIONS in df.columns else "false"
        checks.append((f"{col(it.name)} IS NOT NULL AND {col(flag)} IS NULL AND NOT {own}",
                       violation("conform.reference", it.name, f"is not a known {it.references}")))
        flags.append(flag)
    if not checks:
        return df
    return add_violations(df, checks).drop(*flags)
