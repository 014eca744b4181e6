"""`citybrain sources generate|hash`: help, a JSON report and a stable hash from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from citybrain.cli.sources_cmd import sources_app

pytestmark = pytest.mark.unit
CATALOG = Path(__file__).resolve().parents[2] / "catalog"
runner = CliRunner()


@pytest.mark.parametrize("command", [["--help"], ["generate", "--help"], ["hash", "--help"]])
def test_help(command):
    result = runner.invoke(sources_app, command)
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


def test_generate_json_and_hash(tmp_path):
    args = ["generate", "--scale", "0.001", "--days", "2", "--seed", "3", "--out", str(tmp_path / "s"),
            "--catalog", str(CATALOG), "--json"]
    result = runner.invoke(sources_app, args)
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["rows"]["pop_resident"] >= 200 and report["faults_total"] > 0
    assert set(report["faults_by_kind"]) <= {
        "invalid_check_char", "impossible_date", "exact_duplicate", "near_duplicate", "copy_disagreement",
        "missing_required", "out_of_range", "code_not_in_list", "orphan_reference", "encoding_damage",
        "late_arriving", "schema_drift", "truncated_csv", "header_only", "empty_file", "wrong_delimiter"}
    first = runner.invoke(sources_app, ["hash", "--out", str(tmp_path / "s"), "--json"])
    assert first.exit_code == 0, first.output
    assert len(json.loads(first.output)["total"]) == 64


def test_bad_fault_rate_is_an_error(tmp_path):
    result = runner.invoke(sources_app, ["generate", "--faults", "lots", "--out", str(tmp_path), "--catalog",
                                         str(CATALOG)])
    assert result.exit_code != 0


def test_hash_of_a_missing_folder_says_what_to_do(tmp_path):
    result = runner.invoke(sources_app, ["hash", "--out", str(tmp_path / "nothing")])
    assert result.exit_code == 1
    assert "citybrain sources generate" in result.output
