"""What people read after a run: the per-resource summary, the demo table and `citybrain status`."""

import json
from datetime import UTC, date, datetime

import pytest

pytestmark = pytest.mark.unit


def _row(status, pulled=0, loaded=0, quarantined=0, **kw):
    base = {"resource": "hotline_ticket", "department": "HOTLINE", "batch_id": f"hotline_ticket:20261101:{status}",
            "logical_date": date(2026, 11, 1), "rows_pulled": pulled, "rows_loaded": loaded,
            "rows_quarantined": quarantined, "status": status, "reason": None, "drift": None, "run_id": "r1",
            "started_at": datetime(2026, 11, 1, 1, tzinfo=UTC), "finished_at": datetime(2026, 11, 1, 2, tzinfo=UTC)}
    return {**base, **kw}


def test_summary_adds_up_batches_and_keeps_rejects_and_drift():
    from citybrain.ingest.audit import summarise_resource

    drift = json.dumps({"summary": "added column(s) remark (kept in bronze)"})
    rows = [_row("loaded", 10, 9, 1, drift=drift),
            _row("rejected", reason="bronze.hotline_ticket: files/hotline/tickets_20261102.csv rejected (truncated)")]
    summary = summarise_resource("hotline_ticket", "HOTLINE", rows)
    assert {k: summary[k] for k in ("status", "batches", "rows_pulled", "rows_loaded", "rows_quarantined",
                                    "files_rejected", "drift")} == {
        "status": "loaded", "batches": 2, "rows_pulled": 10, "rows_loaded": 9, "rows_quarantined": 1,
        "files_rejected": 1, "drift": "added column(s) remark (kept in bronze)"}
    assert "rejected (truncated)" in summary["reason"]
    assert summarise_resource("x", "HOTLINE", [])["status"] == "not run"


def test_report_table_has_a_row_per_resource_and_totals():
    from rich.console import Console

    from citybrain.ingest.audit import summarise_resource
    from citybrain.ingest.report import print_ingestion_report

    results = [summarise_resource("hotline_ticket", "HOTLINE", [_row("loaded", 1200, 1190, 10)]),
               summarise_resource("pop_birth", "HEALTH", [_row("rejected", resource="pop_birth")])]
    console = Console(record=True, width=200)
    print_ingestion_report(results, console=console)
    text = console.export_text()
    assert "hotline_ticket" in text and "pop_birth" in text and "rejected" in text
    assert "1,190" in text and "2 resources" in text


def test_status_command_lists_every_resource_before_anything_ran(tmp_path, monkeypatch):
    import typer
    from typer.testing import CliRunner

    from citybrain.catalog import get_catalog
    from citybrain.cli.status_cmd import status
    from citybrain.settings import reset_settings

    monkeypatch.setenv("CITYBRAIN_LAKE_URI", str(tmp_path / "lake"))
    reset_settings()
    try:
        app = typer.Typer()
        app.command()(status)
        result = CliRunner().invoke(app, ["--json"])
        assert result.exit_code == 0, result.output
        rows = json.loads(result.output)
        assert {r["resource"] for r in rows} == set(get_catalog().resources)
        assert {r["status"] for r in rows} == {"not run"}
        one = CliRunner().invoke(app, ["--resource", "pop_resident"])
        assert "nothing ingested yet" in one.output and "pop_resident" in one.output
        assert CliRunner().invoke(app, ["--resource", "no_such"]).exit_code == 2
    finally:
        monkeypatch.undo()
        reset_settings()
