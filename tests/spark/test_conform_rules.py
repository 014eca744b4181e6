"""Conform standardisation and validation rules on tiny inline values: each expression as Spark evaluates it.

Each table of cases is evaluated in one Spark job (cached per table); every case is its own test with a
comment on why the expected result is right.
"""

from __future__ import annotations

import datetime as dt

import pytest

pytestmark = pytest.mark.spark

_EVALUATED: dict = {}


@pytest.fixture(scope="module")
def cspark(spark):
    """The session conform runs in (its SQL settings: no whole-stage codegen, GB 2312 charset)."""
    from citybrain.conform.job import conform_session

    return conform_session(spark)


def evaluate(spark, name: str, build, inputs: list, in_type: str = "string") -> dict:
    """{input: output} of the SQL expression ``build('`v`')`` over all inputs, one Spark job per table."""
    from pyspark.sql import functions as F

    if name not in _EVALUATED:
        df = spark.createDataFrame([(i, v) for i, v in enumerate(inputs)], f"i int, v {in_type}")
        rows = df.select("i", F.expr(build("`v`")).alias("out")).collect()
        _EVALUATED[name] = {inputs[r["i"]]: r["out"] for r in rows}
    return _EVALUATED[name]


# -- standardisation ---------------------------------------------------------------------------

DATES = [
    ("2024-01-05", "2024-01-05"),  # already ISO: unchanged
    ("2024/1/5", "2024-01-05"),  # slashes, one-digit month and day padded
    ("2024/01/05", "2024-01-05"),  # yyyy/MM/dd
    ("20240105", "2024-01-05"),  # compact yyyyMMdd
    ("2024年1月5日", "2024-01-05"),  # Chinese yyyy年M月d日
    ("2024年12月25日", "2024-12-25"),  # two-digit month and day in Chinese
    ("2024.1.5", "2024-01-05"),  # dots
    (" ２０２４－０１－０５ ", "2024-01-05"),  # full-width digits and hyphen, surrounding spaces
    ("2024-01-05 00:00:00", "2024-01-05"),  # a spreadsheet date cell's midnight is no time
    ("2024-02-30", "2024-02-30"),  # not a date: kept as sent, the cast rejects it
    ("05/01/2024", "05/01/2024"),  # day-first is ambiguous: not rewritten, the cast rejects it
    ("", None),  # empty text is no value
]

TIMESTAMPS = [
    ("2024-01-05 08:30:00", "2024-01-05 08:30:00"),  # already ISO
    ("2024-01-05 08:30", "2024-01-05 08:30:00"),  # HH:mm gets :00 seconds
    ("2024/1/5 8:30", "2024-01-05 08:30:00"),  # slashes, one-digit hour padded
    ("2024/1/5 8:3:7", "2024-01-05 08:03:07"),  # one-digit minute and second padded
    ("20240105 0830", "2024-01-05 08:30:00"),  # compact date and compact time
    ("202401050830", "2024-01-05 08:30:00"),  # compact date glued to compact time
    ("20240105083015", "2024-01-05 08:30:15"),  # compact with seconds
    ("2024年1月5日 8时30分", "2024-01-05 08:30:00"),  # Chinese date and time
    ("2024-01-05T08:30:15", "2024-01-05 08:30:15"),  # ISO 'T' separator
    ("2024-01-05", "2024-01-05 00:00:00"),  # a date alone is midnight
    ("2024-01-05 08:30:15.250", "2024-01-05 08:30:15.250"),  # fractions kept
    ("２０２４－０１－０５　０８：３０", "2024-01-05 08:30:00"),  # full-width throughout
    ("yesterday", "yesterday"),  # not a time: kept, the cast rejects it
]

ID_NUMBERS = [
    ("11010519491231002X", "11010519491231002X"),  # canonical already
    ("11010519491231002x", "11010519491231002X"),  # lower-case x stored upper (GB 11643)
    (" 1101 0519 4912 3100 2X ", "11010519491231002X"),  # spaces inside and around
    ("１１０１０５１９４９１２３１００２Ｘ", "11010519491231002X"),  # full-width
    ("110105491231002", "11010519491231002X"),  # old 15-digit: '19' inserted and check char computed
]

PHONES = [
    ("13812345678", "13812345678"),  # mobile
    ("138-1234-5678", "13812345678"),  # hyphens
    ("+86 138 1234 5678", "13812345678"),  # country code and spaces
    ("008613812345678", "13812345678"),  # 0086 prefix
    ("(0535)6612345", "05356612345"),  # landline with area code in brackets
    ("０５３５－６６１２３４５", "05356612345"),  # full-width landline
]


def _codes_sex(x):
    from citybrain.conform.standardise import code

    return code(x, ["0", "1", "2", "9"])


def _codes_ethnicity(x):
    from citybrain.conform.standardise import code

    return code(x, ["01", "02", "97"])


def _codes_industry(x):
    from citybrain.conform.standardise import code

    return code(x, ["A", "B", "C"])


CODES = [
    (_codes_ethnicity, "1", "01"),  # a spreadsheet dropped the leading zero: padded to the list's width
    (_codes_ethnicity, "01.0", "01"),  # spreadsheet number text
    (_codes_ethnicity, " 0 1 ", "01"),  # spaces
    (_codes_ethnicity, "１", "01"),  # full-width digit
    (_codes_ethnicity, "123", "123"),  # longer than any code: left for the code-list rule
    (_codes_sex, "1", "1"),  # one-digit list: nothing to pad
    (_codes_industry, "c", "C"),  # letter codes are upper case
]

NUMBERS = [
    ("1,234.50", "1234.50"),  # thousands separator
    ("¥ 88", "88"),  # currency mark and space
    ("１２３", "123"),  # full-width digits
    ("12.0元", "12.0"),  # unit word dropped
]

BOOLEANS = [
    ("是", "true"), ("否", "false"),  # Chinese yes / no
    ("1", "true"), ("0", "false"),  # digits
    ("Y", "true"), ("n", "false"),  # letters, any case
    ("TRUE", "true"),  # words
    ("maybe", "maybe"),  # unknown: kept for the cast to reject
]


@pytest.mark.parametrize(("raw", "expected"), DATES)
def test_date_text(cspark, raw, expected):
    from citybrain.conform.standardise import date_text

    assert evaluate(cspark, "dates", date_text, [r for r, _ in DATES])[raw] == expected


@pytest.mark.parametrize(("raw", "expected"), TIMESTAMPS)
def test_timestamp_text(cspark, raw, expected):
    from citybrain.conform.standardise import timestamp_text

    assert evaluate(cspark, "timestamps", timestamp_text, [r for r, _ in TIMESTAMPS])[raw] == expected


@pytest.mark.parametrize(("raw", "expected"), ID_NUMBERS)
def test_id_number_normalisation(cspark, raw, expected):
    from citybrain.conform.standardise import id_number

    assert evaluate(cspark, "id_numbers", id_number, [r for r, _ in ID_NUMBERS])[raw] == expected


@pytest.mark.parametrize(("raw", "expected"), PHONES)
def test_phone_normalisation(cspark, raw, expected):
    from citybrain.conform.standardise import phone

    assert evaluate(cspark, "phones", phone, [r for r, _ in PHONES])[raw] == expected


@pytest.mark.parametrize(("fn", "raw", "expected"), CODES)
def test_code_normalisation(cspark, fn, raw, expected):
    assert evaluate(cspark, f"codes_{fn.__name__}", fn, [r for f, r, _ in CODES if f is fn])[raw] == expected


@pytest.mark.parametrize(("raw", "expected"), NUMBERS)
def test_number_text(cspark, raw, expected):
    from citybrain.conform.standardise import number_text

    assert evaluate(cspark, "numbers", number_text, [r for r, _ in NUMBERS])[raw] == expected


@pytest.mark.parametrize(("raw", "expected"), BOOLEANS)
def test_boolean_text(cspark, raw, expected):
    from citybrain.conform.standardise import boolean_text

    assert evaluate(cspark, "booleans", boolean_text, [r for r, _ in BOOLEANS])[raw] == expected


def test_clean_text_trims_unicode_spaces_and_converts_full_width(cspark):
    from citybrain.conform.standardise import clean_text

    inputs = ["\u3000张三\u3000", "\ufeff芝罘区 1 号\u200b", "ＡＢＣ－１２３", "   "]
    got = evaluate(cspark, "clean", clean_text, inputs)
    assert [got[i] for i in inputs] == [
        "张三",  # ideographic spaces at both ends
        "芝罘区 1 号",  # BOM and zero-width space at the edges; inner spaces kept in free text
        "ABC-123",  # full-width letters, digits and hyphen
        None,  # only spaces: no value
    ]


def _mojibake(text: str) -> str:
    from citybrain.sources.faults import mojibake

    return mojibake(text)


ENCODING = [
    ("张三", False),  # common name characters
    ("烟台市芝罘区南大街123号", False),  # an address with digits
    ("鲁东机械有限公司", False),  # a firm name
    ("阿依古丽·买买提", False),  # the middle dot of a transliterated name
    ("王喆", False),  # a rare name character on the allow list
    ("Zhang San", False),  # Latin letters
    (_mojibake("烟台市芝罘区南大街123号"), True),  # UTF-8 bytes read as GBK: characters outside GB 2312
    (_mojibake("鲁东机械有限公司"), True),
    (_mojibake("欧阳娜娜"), True),
    ("鍒樻槑蹇", True),  # mojibake of 刘明志
]


def _encoding_rule(x):
    from citybrain.conform.validate import not_gb2312_text

    return not_gb2312_text(x)


@pytest.mark.parametrize(("text", "flagged"), ENCODING)
def test_text_encoding_rule(cspark, text, flagged):
    assert evaluate(cspark, "encoding", _encoding_rule, [t for t, _ in ENCODING])[text] is flagged


# -- check characters (STANDARDS.md vectors) ---------------------------------------------------

ID_VECTORS = [
    ("11010519491231002X", []),  # valid (STANDARDS.md)
    ("440524188001010014", []),  # valid, born 1880 (STANDARDS.md)
    ("330106199003071236", []),  # valid (STANDARDS.md)
    ("11010519491231003X", ["conform.id_number.check_char"]),  # check digit wrong (STANDARDS.md)
    ("110105194902300021", ["conform.id_number.birth_date", "conform.id_number.check_char"]),  # 1949-02-30
    ("110105209912310010", ["conform.id_number.birth_date"]),  # born 2099: in the future
    ("1101051949123100", ["conform.id_number.format"]),  # 16 characters
    ("11010519491231002Y", ["conform.id_number.format"]),  # Y is no check character
    ("990105194912310023", ["conform.id_number.address_code"]),  # province 99 does not exist
    ("370684202101010013", ["conform.id_number.address_code"]),  # 蓬莱市 was abolished 2020-06-05, birth 2021
    ("370684199001010011", []),  # 蓬莱市 was valid at birth in 1990
    ("370614199001010012", []),  # 蓬莱区 (2020) was valid by the registration window's end
    ("370631199001010019", []),  # 牟平县 (until 1994) valid at birth in 1990
    ("370631200001010014", ["conform.id_number.address_code"]),  # 牟平县 gone before the 2000 birth
    ("370602196109076321", []),  # born 1961, before 芝罘区's code (1983): the number was issued later
]


def _id_rules(x):
    from citybrain.conform.cast import collect
    from citybrain.conform.catalog import load_catalog
    from citybrain.conform.validate import id_number_checks

    checks = id_number_checks(x, "id_number", load_catalog().divisions, "DATE'2026-11-01'")
    return f"transform({collect(checks)}, v -> v.rule_id)"


@pytest.mark.parametrize(("value", "rules"), ID_VECTORS)
def test_id_number_rules(cspark, value, rules):
    assert evaluate(cspark, "id_rules", _id_rules, [v for v, _ in ID_VECTORS])[value] == rules


def test_id_number_check_char_matches_the_python_reference(cspark):
    from citybrain.conform.standardise import id_number_check_char
    from citybrain.standards.identifiers import id_number_check_char as reference

    bodies = ["11010519491231002", "44052418800101001", "33010619900307123", "37060219800101000",
              "00000000000000000", "99999999999999999"]
    got = evaluate(cspark, "id_check_chars", id_number_check_char, bodies)
    assert got == {b: reference(b) for b in bodies}


CREDIT_VECTORS = [
    ("91110000600037341L", []),  # valid (STANDARDS.md)
    ("91350100M000100Y43", []),  # valid (STANDARDS.md)
    ("91110000600073341L", ["conform.credit_code.check_char"]),  # two digits swapped (STANDARDS.md)
    ("91110000600037341I", ["conform.credit_code.format"]),  # I is not in the alphabet (STANDARDS.md)
    ("91110000600037341", ["conform.credit_code.format"]),  # 17 characters
    ("91110000O00037341L", ["conform.credit_code.format"]),  # letter O is not in the alphabet
]


def _credit_rules(x):
    from citybrain.conform.cast import collect
    from citybrain.conform.validate import credit_code_checks

    return f"transform({collect(credit_code_checks(x, 'credit_code'))}, v -> v.rule_id)"


@pytest.mark.parametrize(("value", "rules"), CREDIT_VECTORS)
def test_credit_code_rules(cspark, value, rules):
    assert evaluate(cspark, "credit_rules", _credit_rules, [v for v, _ in CREDIT_VECTORS])[value] == rules


def test_credit_code_check_char_matches_the_python_reference(cspark):
    from citybrain.conform.standardise import credit_code_check_char
    from citybrain.standards.identifiers import credit_code_check_char as reference

    bodies = ["91110000600037341", "91350100M000100Y4", "11370600MB1234567", "52370602MJ8888888"]
    got = evaluate(cspark, "credit_check_chars", credit_code_check_char, bodies)
    assert got == {b: reference(b) for b in bodies}


# -- divisions, formats, code lists, ranges ----------------------------------------------------

DIVISION_CASES = [
    ("370602", "2026-11-01", []),  # 芝罘区, valid
    ("370684", "2019-06-01", []),  # 蓬莱市 on a 2019 event: still valid then
    ("370684", "2026-11-01", ["conform.division_code.not_valid"]),  # abolished 2020-06-05
    ("370614", "2019-06-01", ["conform.division_code.not_valid"]),  # 蓬莱区 did not exist yet
    ("370699", "2026-11-01", ["conform.division_code.unknown"]),  # shaped like the city's codes, not listed
    ("99999", "2026-11-01", ["conform.division_code.format"]),  # five digits
    ("990000", "2026-11-01", ["conform.division_code.format"]),  # no province 99
]


def _division_rules(x):
    from citybrain.conform.cast import collect
    from citybrain.conform.catalog import ItemDef, load_catalog
    from citybrain.conform.validate import division_checks

    item = ItemDef("district_code", "C", 6, format="division_code", code_list="divisions")
    checks = division_checks("split(`v`, '@')[0]", item, load_catalog().divisions, "DATE(split(`v`, '@')[1])")
    return f"transform({collect(checks)}, v -> v.rule_id)"


@pytest.mark.parametrize(("code", "day", "rules"), DIVISION_CASES)
def test_division_code_rules(cspark, code, day, rules):
    got = evaluate(cspark, "division_rules", _division_rules, [f"{c}@{d}" for c, d, _ in DIVISION_CASES])
    assert got[f"{code}@{day}"] == rules


def test_division_code_outside_the_city_only_needs_a_known_province(cspark):
    from citybrain.conform.cast import collect
    from citybrain.conform.catalog import ItemDef, load_catalog
    from citybrain.conform.validate import division_checks

    item = ItemDef("from_division", "C", 6, format="division_code")  # a migration's origin, any county

    def rules(x):
        checks = division_checks(x, item, load_catalog().divisions, "DATE'2026-11-01'")
        return f"transform({collect(checks)}, v -> v.rule_id)"

    got = evaluate(cspark, "division_outside", rules, ["110105", "370699", "990105"])
    assert got == {"110105": [],  # Beijing 朝阳区: outside the reference list, province known
                   "370699": ["conform.division_code.unknown"],  # inside 烟台: must be listed
                   "990105": ["conform.division_code.format"]}  # no such province
    # the quality gate's scalar rule takes exactly the codes conform takes (one rule, two engines)
    from citybrain.standards.identifiers import covered_prefectures, is_known_division

    divisions = load_catalog().divisions
    codes, covered = {d.code for d in divisions}, covered_prefectures(divisions)
    assert {v: is_known_division(v, codes, covered) for v in got} == {v: not r for v, r in got.items()}


# One clean pop_resident row as a department sends it (every item as text).
RESIDENT = dict(id_number="11010519491231002X", name="张三", sex="1", ethnicity="01", birth_date="1949-12-31",
                marital_status="20", education_level="20", phone="13812345678", household_id="H1",
                relation_to_head="02", address="芝罘区1号", address_code=None, district_code="370602", street_code=None,
                register_date="2000-01-02", residence_status="1", updated_at="2026-11-01 08:00:00")


def _bronze(spark, res, batch: list[dict]):
    """A bronze batch of ``res`` from dict rows (items as text, row numbers from 1, one batch id and date)."""
    from pyspark.sql import functions as F

    cols = res.item_names
    bronze = spark.createDataFrame([tuple(r.get(c) for c in cols) + (i + 1,) for i, r in enumerate(batch)],
                                   ", ".join(f"`{c}` string" for c in cols) + ", _row_number long")
    return bronze.withColumn("_batch_id", F.lit(f"{res.name}:20261101:t")).withColumn(
        "_batch_date", F.lit(dt.date(2026, 11, 1)))


def test_the_entity_phase_evaluates_compiled_whole_stages(spark):
    """A small run interprets its row pipeline; its entity phase (narrow plans over whole tables) switches
    the run's session to compiled whole-stage code."""
    from citybrain.conform.job import conform_session, entity_phase

    cspark = conform_session(spark, interpreted=True)
    settings = ("spark.sql.codegen.wholeStage", "spark.sql.codegen.factoryMode")
    assert [cspark.conf.get(k) for k in settings] == ["false", "NO_CODEGEN"]
    entity_phase(cspark)
    assert [cspark.conf.get(k) for k in settings] == ["true", "FALLBACK"]


@pytest.mark.parametrize("mode", ["compiled", "interpreted"])
def test_rows_transform_types_values_and_names_every_violation(spark, mode):
    """A tiny pop_resident bronze batch through the whole row pipeline, compared whole; the same whether the
    expressions are compiled (a large run) or interpreted (a small run: ``conform.job.is_small_run``)."""

    from citybrain.conform import rows
    from citybrain.conform.catalog import load_catalog
    from citybrain.conform.job import conform_session

    cspark = conform_session(spark, interpreted=mode == "interpreted")
    assert cspark.conf.get("spark.sql.codegen.factoryMode") == ("NO_CODEGEN" if mode == "interpreted" else "FALLBACK")

    cat = load_catalog()
    res = cat.resource("pop_resident")
    base = {**RESIDENT, "register_date": "2000/1/2"}  # a department's date format
    batch = [
        base,  # clean
        {**base, "id_number": "330106199003071236", "birth_date": "1990年3月7日", "phone": "+86 138-1234-5678",
         "ethnicity": "1", "updated_at": "20261101 0915"},  # department formats, standardised, valid
        {**base, "id_number": "11010519491231003X"},  # wrong check character
        {**base, "id_number": "440524188001010014", "sex": "5", "birth_date": "1990-02-30"},  # two faults
        {**base, "id_number": "370602198001010012", "name": None},  # required name missing
        {**base, "id_number": "370602198001010039", "district_code": "370684"},  # abolished county
        {**base, "id_number": "370602198001010055", "name": "鍒樻槑蹇"},  # UTF-8 read as GBK (mojibake)
    ]
    bronze = _bronze(cspark, res, batch)
    out = rows.transform(bronze, res, cat)
    got = sorted((r["_row_number"], r["id_number"], r["birth_date"], r["phone"], r["ethnicity"], r["updated_at"],
                  [v["rule_id"] + ":" + v["item"] for v in r["_violations"]])
                 for r in out.collect())
    d, ts = dt.date, dt.datetime
    assert got == [
        (1, "11010519491231002X", d(1949, 12, 31), "13812345678", "01", ts(2026, 11, 1, 8), []),
        (2, "330106199003071236", d(1990, 3, 7), "13812345678", "01", ts(2026, 11, 1, 9, 15), []),
        (3, "11010519491231003X", d(1949, 12, 31), "13812345678", "01", ts(2026, 11, 1, 8),
         ["conform.id_number.check_char:id_number"]),
        (4, "440524188001010014", None, "13812345678", "01", ts(2026, 11, 1, 8),
         ["conform.type.date:birth_date", "conform.code_list:sex"]),
        (5, "370602198001010012", d(1949, 12, 31), "13812345678", "01", ts(2026, 11, 1, 8),
         ["conform.required:name"]),
        (6, "370602198001010039", d(1949, 12, 31), "13812345678", "01", ts(2026, 11, 1, 8),
         ["conform.division_code.not_valid:district_code"]),
        (7, "370602198001010055", d(1949, 12, 31), "13812345678", "01", ts(2026, 11, 1, 8),
         ["conform.text.encoding:name"]),
    ]


def test_reference_rule_flags_values_the_referenced_resource_lacks(cspark):
    """pop_resident.household_id references pop_household: a household nobody sent is an orphan."""
    from citybrain.conform import rows
    from citybrain.conform.catalog import load_catalog

    cat = load_catalog()
    res = cat.resource("pop_resident")
    batch = [RESIDENT,  # H1: pop_household holds it (twice: its history has two versions)
             {**RESIDENT, "id_number": "330106199003071236", "household_id": "H9"},  # nobody sent H9
             {**RESIDENT, "id_number": "370602198001010012", "household_id": None}]  # missing: required, not orphan
    known = cspark.createDataFrame([("H1",), ("H1",), ("H2",)], "_ref_value string")
    out = rows.transform(_bronze(cspark, res, batch), res, cat, {"pop_household.household_id": known})
    got = {r["_row_number"]: [v["rule_id"] + ":" + v["item"] for v in r["_violations"]] for r in out.collect()}
    assert got == {1: [], 2: ["conform.reference:household_id"], 3: ["conform.required:household_id"]}


def test_a_version_without_a_source_time_is_from_its_batch_day_not_from_the_pull(cspark):
    """meta_catalog_resource has no watermark: its version time is the extract time when the pull ran on the
    batch's day, else the start of that day (a backfill pulled a month later is not a version from the future)."""
    from pyspark.sql import functions as F

    from citybrain.conform import rows
    from citybrain.conform.catalog import load_catalog
    from citybrain.conform.dedupe import SOURCE_TS

    cat = load_catalog()
    res = cat.resource("meta_catalog_resource")
    batch = [{"code": "370600/1", "name": "a"}, {"code": "370600/2", "name": "b"}]
    bronze = _bronze(cspark, res, batch).withColumn("_extract_time", F.when(
        F.col("_row_number") == 1, F.lit(dt.datetime(2026, 11, 1, 6, 30))).otherwise(F.lit(dt.datetime(2026, 12, 2, 9))))
    got = {r["_row_number"]: r[SOURCE_TS] for r in rows.transform(bronze, res, cat).collect()}
    assert got == {1: dt.datetime(2026, 11, 1, 6, 30),  # pulled on the batch day: the pull's time
                   2: dt.datetime(2026, 11, 1)}  # pulled a month later: the batch day


def test_classify_quarantines_a_rejected_record_once_and_lists_its_copies_as_duplicates(cspark):
    """Dedupe by key within a batch applies to rejected rows too (latest quarantined, copies superseded);
    rejected rows without a key are never each other's duplicates; the accounting still adds up."""

    from citybrain.conform import rows
    from citybrain.conform.catalog import load_catalog
    from citybrain.conform.job import checkpointed

    cat = load_catalog()
    res = cat.resource("pop_resident")
    base = RESIDENT
    bad = {**base, "id_number": "11010519491231003X"}  # wrong check character
    batch = [base, base,  # a valid record twice
             bad, {**bad, "updated_at": "2026-11-01 09:00:00"},  # a rejected record, then its later version
             {**base, "id_number": None}, {**base, "id_number": None, "name": "李四"}]  # two rows without a key
    bronze = _bronze(cspark, res, batch)
    # checkpointed, as the job does: the outputs below are four plans over one classification
    classified = checkpointed(rows.classify(rows.transform(bronze, res, cat), res))
    now = dt.datetime(2026, 11, 1, 12)
    assert sorted(r["_row_number"] for r in rows.silver_rows(classified, res).collect()) == [1]
    assert sorted(r["row_number"] for r in rows.quarantine_rows(classified, res, now).collect()) == [4, 5, 6]
    assert sorted((r["row_number"], r["kept_row_number"]) for r in rows.duplicate_rows(classified, res).collect()) \
        == [(2, 1), (3, 4)]
    [acc] = rows.accounting(classified).collect()
    classified.unpersist()
    assert (acc["rows_in"], acc["rows_silver"], acc["rows_quarantined"], acc["rows_duplicate"]) == (6, 1, 3, 2)


RANGE_AND_FORMAT = [
    ({"floors_above": "250"}, ["conform.range:floors_above"]),  # above the catalogue maximum
    ({"floors_above": "-1"}, ["conform.range:floors_above"]),  # below the minimum
    ({"floors_above": "3.0"}, []),  # a spreadsheet number for an integer
    ({"floors_above": "three"}, ["conform.type.integer:floors_above"]),  # not a number
    ({"built_year": "1899"}, ["conform.range:built_year"]),  # before the minimum year
    ({"structure": "7"}, ["conform.code_list:structure"]),  # not in building_structure
    ({"district_code": None}, ["conform.required:district_code"]),  # required
]


@pytest.mark.parametrize(("change", "rules"), RANGE_AND_FORMAT)
def test_geo_building_ranges_types_and_code_lists(cspark, change, rules):
    got = _building_rules(cspark)
    assert got[repr(sorted(change.items()))] == rules


def _building_rules(spark):
    if "building" in _EVALUATED:
        return _EVALUATED["building"]
    from pyspark.sql import functions as F

    from citybrain.conform import rows
    from citybrain.conform.catalog import load_catalog

    cat = load_catalog()
    res = cat.resource("geo_building")
    base = _clean_building(res, cat)
    cols = res.item_names
    data = [tuple({**base, **chg}.get(c) for c in cols) + (i + 1,) for i, (chg, _) in enumerate(RANGE_AND_FORMAT)]
    bronze = spark.createDataFrame(data, ", ".join(f"`{c}` string" for c in cols) + ", _row_number long")
    bronze = bronze.withColumn("_batch_id", F.lit("b")).withColumn("_batch_date", F.lit(dt.date(2026, 11, 1)))
    out = rows.transform(bronze, res, cat).select("_row_number", "_violations").collect()
    case = {i + 1: repr(sorted(chg.items())) for i, (chg, _) in enumerate(RANGE_AND_FORMAT)}
    _EVALUATED["building"] = {case[r["_row_number"]]: [v["rule_id"] + ":" + v["item"] for v in r["_violations"]]
                              for r in out}
    return _EVALUATED["building"]


def _clean_building(res, cat) -> dict:
    """A valid geo_building row built from the catalogue (first code of each list, minimum of each range)."""
    out = {}
    for it in res.items:
        if it.code_list == "divisions" or it.format == "division_code":
            out[it.name] = "370602"
        elif it.code_list:
            out[it.name] = cat.codes(it.code_list)[0]
        elif it.type == "T":
            out[it.name] = "2026-11-01 08:00:00"
        elif it.type == "D":
            out[it.name] = "2000-01-01"
        elif it.type in ("I", "N", "Y", "F", "B"):
            low = it.range_min if it.range_min is not None else 1
            out[it.name] = str(int(low) + 1 if it.type == "I" else float(low) + 0.5)
        else:
            out[it.name] = "x"
    out["building_code"] = "370602001B00000001"
    return out
