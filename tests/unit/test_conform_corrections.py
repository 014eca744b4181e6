"""Correction lists from silver.discrepancies (written here with deltalake, read without Spark)."""

from __future__ import annotations

import csv
import datetime as dt
import json

import pytest

pytestmark = pytest.mark.unit

WHEN = dt.datetime(2026, 11, 3, 23, tzinfo=dt.UTC)
ROWS = [
    # entity, key, attribute, authority (resource, dept, value), copy (resource, dept, value), kind
    ("person", "A", "name", "pop_resident", "PSB", "张三", "si_insured", "HRSS", "张叁", "mismatch"),
    ("person", "A", "phone", "pop_resident", "PSB", "13812345678", "si_insured", "HRSS", None, "missing_in_copy"),
    ("person", "D", "name", "pop_resident", "PSB", None, "si_insured", "HRSS", "孙七", "missing_in_authority"),
    ("person", "E", "name", "pop_resident", "PSB", "钱八", "edu_student", "EDU", "钱捌", "mismatch"),
]
CONFLICT = "silver.pop_resident key P: item phone = '138' fails conform.conflicting_duplicate: ... row(s) 4 ..."
QUARANTINED = [  # resource, stage, row, key, rule, item, value, reason
    ("pop_resident", "conform", 3, "P", "conform.conflicting_duplicate", "phone", "138", CONFLICT),
    ("pop_resident", "conform", 4, "P", "conform.conflicting_duplicate", "phone", "139", "... row(s) 3 ..."),
    ("pop_resident", "conform", 5, "Q", "conform.code_list", "sex", "7", "not a conflict"),  # not in the list
    ("si_insured", "conform", 2, "R|110", "conform.conflicting_duplicate", "phone", "137", "..."),  # HRSS's
]


@pytest.fixture
def lake(tmp_path):
    import pyarrow as pa
    from deltalake import write_deltalake

    from citybrain.lake.names import table_uri
    from citybrain.settings import Settings, get_settings

    settings = Settings(var_dir=get_settings().var_dir, lake_uri=str(tmp_path / "lake"), site_dir=tmp_path / "site")
    cols = ["entity", "entity_key", "attribute", "authority_resource", "authority_department", "authority_value",
            "copy_resource", "copy_department", "copy_value", "kind"]
    data = [dict(zip(cols, r, strict=True)) | {"batch_id": "b1", "detected_at": WHEN, "_disc_id": str(i),
                                               "copy_record_key": f"{r[1]}|110" if r[6] == "si_insured" else r[1]}
            for i, r in enumerate(ROWS)]
    schema = pa.schema([(c, pa.string()) for c in cols] + [("batch_id", pa.string()),
                                                            ("detected_at", pa.timestamp("us", "UTC")),
                                                            ("_disc_id", pa.string()), ("copy_record_key", pa.string())])
    write_deltalake(table_uri("silver.discrepancies", settings), pa.Table.from_pylist(data, schema))
    from citybrain.ingest.quarantine import COLUMNS

    kinds = {"string": pa.string(), "long": pa.int64(), "timestamp": pa.timestamp("us", "UTC")}
    names = ("resource", "stage", "row_number", "record_key", "rule_id", "item", "value", "reason")
    quarantined = [dict(zip(names, q, strict=True)) | {"batch_id": f"{q[0]}:20261103:t", "payload": "{}",
                                                       "quarantined_at": WHEN} for q in QUARANTINED]
    write_deltalake(table_uri("quarantine.rejected_rows", settings), pa.Table.from_pylist(
        quarantined, pa.schema([(n, kinds[k]) for n, k in COLUMNS])), partition_by=["resource"])
    return settings


def test_copy_holder_gets_its_disagreements_and_the_authority_its_gaps(lake):
    from citybrain.conform.corrections import correction_rows

    hrss = [(r["entity_key"], r["attribute"], r["kind"], r["your_value"], r["authority_value"])
            for r in correction_rows("hrss", lake) if r["entity"]]
    assert hrss == [
        ("A", "name", "mismatch", "张叁", "张三"),  # HRSS holds a copy that differs
        ("A", "phone", "missing_in_copy", None, "13812345678"),  # HRSS lacks a value PSB has
        ("D", "name", "missing_in_authority", "孙七", None),  # HRSS holds a person PSB does not
    ]
    assert [r["your_record_key"] for r in correction_rows("hrss", lake) if r["entity"]] == ["A|110", "A|110", "D|110"]
    psb = [(r["entity_key"], r["kind"], r["other_department"], r["other_record_key"], r["other_value"])
           for r in correction_rows("PSB", lake) if r["kind"] == "authority_gap"]
    assert psb == [("D", "authority_gap", "HRSS", "D|110", "孙七")]  # PSB is told its register lacks D
    assert correction_rows("EEB", lake) == []  # no copies, no authority gaps


def test_a_department_gets_the_conflicting_duplicates_of_its_own_extracts(lake):
    """Rows conform quarantined as conflicting duplicates are the sender's to settle: they are listed with the
    record's key, row, values and the reason naming the other rows; other quarantine rules are not listed."""
    from citybrain.conform import dedupe
    from citybrain.conform.corrections import ACTIONS, QUARANTINE_KINDS, correction_rows

    assert set(QUARANTINE_KINDS) == {dedupe.CONFLICT_RULE}  # the rule id conform writes
    psb = [(r["kind"], r["your_resource"], r["your_record_key"], r["row_number"], r["attribute"], r["your_value"],
            r["batch_id"]) for r in correction_rows("PSB", lake) if r["kind"] == "conflicting_duplicate"]
    assert psb == [("conflicting_duplicate", "pop_resident", "P", 3, "phone", "138", "pop_resident:20261103:t"),
                   ("conflicting_duplicate", "pop_resident", "P", 4, "phone", "139", "pop_resident:20261103:t")]
    [first] = [r for r in correction_rows("PSB", lake) if r["row_number"] == 3]
    assert first["detail"] == CONFLICT and first["action"] == ACTIONS["conflicting_duplicate"]
    hrss = [r["your_record_key"] for r in correction_rows("HRSS", lake) if r["kind"] == "conflicting_duplicate"]
    assert hrss == ["R|110"]


def test_write_corrections_csv_and_summary(lake):
    from citybrain.conform.corrections import write_corrections

    summary = write_corrections("HRSS", settings=lake)
    path = lake.site_dir / "corrections" / "HRSS.csv"
    assert summary == {"department": "HRSS", "path": str(path), "rows": 4,
                       "by_kind": {"conflicting_duplicate": 1, "missing_in_authority": 1, "missing_in_copy": 1,
                                   "mismatch": 1},
                       "by_resource_attribute": {"si_insured.name": 2, "si_insured.phone": 2},
                       "entities": {"person": 3}}
    with path.open(encoding="utf-8-sig") as fh:  # BOM: Excel opens the Chinese text correctly
        rows = list(csv.DictReader(fh))
    assert [(r["entity_key"], r["attribute"], r["your_value"], r["authority_value"]) for r in rows] == [
        ("", "phone", "137", ""), ("A", "name", "张叁", "张三"), ("A", "phone", "", "13812345678"),
        ("D", "name", "孙七", "")]


def test_cli_writes_csv_and_prints_json(lake, tmp_path, monkeypatch):
    import typer
    from typer.testing import CliRunner

    from citybrain.cli.corrections_cmd import corrections
    from citybrain.settings import reset_settings

    monkeypatch.setenv("CITYBRAIN_LAKE_URI", lake.lake_uri)
    monkeypatch.setenv("CITYBRAIN_SITE_DIR", str(lake.site_dir))
    reset_settings()
    try:
        app = typer.Typer()
        app.command("corrections")(corrections)
        app.command("noop")(lambda: None)  # two commands: typer keeps the sub-command name
        out = tmp_path / "edu.csv"
        result = CliRunner().invoke(app, ["corrections", "EDU", "--out", str(out), "--json"])
        assert result.exit_code == 0, result.output
        assert json.loads(result.output)["rows"] == 1 and out.exists()
        result = CliRunner().invoke(app, ["corrections", "NOPE"])
        assert result.exit_code == 2 and "unknown department" in result.output
    finally:
        reset_settings()
