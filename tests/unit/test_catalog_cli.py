"""`citybrain catalog` sub-app, driven through typer's CliRunner (the lead mounts it as `catalog`)."""

from __future__ import annotations

import json

import pytest
from catalog_fixtures import PATIENT, variant, write_catalog
from typer.testing import CliRunner

from citybrain.catalog import get_catalog
from citybrain.cli.catalog_cmd import catalog_app

pytestmark = pytest.mark.unit
runner = CliRunner()


def _run(*args):
    return runner.invoke(catalog_app, list(args))


def test_validate_prints_counts():
    res = _run("validate")
    assert res.exit_code == 0, res.output
    counts = get_catalog().counts()
    for key in ["departments", "libraries", "resources", "items", "entity_attributes", "verification_copies",
                "indicators"]:
        assert f"{key.replace('_', ' '):<20} {counts[key]}" in res.output


def test_validate_json():
    res = _run("validate", "--json")
    data = json.loads(res.output)
    assert data["valid"] is True and data["counts"]["resources"] == len(get_catalog().resources)


def test_validate_reports_every_error_and_exits_1(tmp_path):
    files = variant()
    files[PATIENT]["provider"] = "NHC"
    files[PATIENT]["open"] = {"type": "有条件开放", "condition": None}
    write_catalog(tmp_path, files)
    res = _run("validate", "--dir", str(tmp_path))
    assert res.exit_code == 1
    assert "has 3 error(s)" in res.output
    assert "resources/health/health_patient_index.yaml: resource health_patient_index: provider: unknown " \
           "department 'NHC' (not in departments.yaml)" in res.output
    res = _run("validate", "--dir", str(tmp_path), "--json")
    data = json.loads(res.stdout)
    assert data["valid"] is False
    assert {e["field"] for e in data["errors"]} == {"provider", "open.condition", "deidentify"}


def test_list_json_and_filters():
    rows = json.loads(_run("list", "--json").output)
    assert len(rows) == len(get_catalog().resources)
    civil = json.loads(_run("list", "--json", "--department", "CIVIL").output)
    assert {r["provider"] for r in civil} == {"CIVIL"} and len(civil) >= 4
    res = _run("list")
    assert res.exit_code == 0 and "pop_resident" in res.output


@pytest.mark.parametrize("key", ["101001/0001", "pop_resident"])
def test_show_by_code_or_name(key):
    res = _run("show", key)
    assert res.exit_code == 0, res.output
    assert "常住人口户籍信息" in res.output and "id_number" in res.output and "无条件共享" in res.output
    data = json.loads(_run("show", key, "--json").output)
    assert data["code"] == "101001/0001" and data["items"][0]["name"] == "id_number"


def test_show_unknown_resource_exits_2():
    res = _run("show", "no_such_thing")
    assert res.exit_code == 2
    assert "no catalogue resource named or coded 'no_such_thing'" in res.output


def test_authority_matrix():
    rows = json.loads(_run("authority", "--json").output)
    name = next(r for r in rows if r["entity"] == "person" and r["attribute"] == "name")
    assert name["authority"] == "pop_resident.name" and name["department"] == "PSB"
    assert {"item": "si_insured.name", "department": "HRSS"} in name["copies"]
    res = _run("authority", "--entity", "legal_entity")
    assert res.exit_code == 0 and "le_enterprise.legal_rep_id" in res.output and "person" not in res.output


def test_docs_writes_html_and_markdown(tmp_path):
    res = _run("docs", "--out", str(tmp_path))
    assert res.exit_code == 0, res.output
    site = tmp_path / "catalog"
    assert (site / "index.html").is_file() and (site / "catalog.md").is_file()
    assert len(list((site / "resources").glob("*.html"))) == len(get_catalog().resources)
    assert (site / "departments" / "PSB.html").is_file()


def test_docs_default_goes_to_settings_site_dir():
    from citybrain.settings import get_settings

    data = json.loads(_run("docs", "--json").output)
    assert data["index"] == str(get_settings().site_dir / "catalog" / "index.html")


@pytest.mark.parametrize("command", [[], ["validate"], ["list"], ["show"], ["authority"], ["docs"]])
def test_every_command_has_help(command):
    res = _run(*command, "--help")
    assert res.exit_code == 0 and "Usage" in res.output
