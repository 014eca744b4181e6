"""Loading tiny inline file drops through Spark: lineage, quarantine, drift, accounting, idempotency, rejects."""

import json
from datetime import date

import pytest

pytestmark = pytest.mark.spark

DAY = date(2026, 11, 1)


@pytest.fixture
def drop(tmp_path):
    """Settings whose sources and lake live in tmp_path, and a writer of hotline drops."""
    from citybrain.catalog import get_catalog
    from citybrain.settings import Settings, get_settings

    settings = Settings(var_dir=get_settings().var_dir, lake_uri=str(tmp_path / "lake"),
                        sources_dir=tmp_path / "sources")
    items = get_catalog().resource("hotline_ticket").item_names

    def write(day: date, rows: list[dict], columns: list[str] | None = None, raw: bytes | None = None):
        path = settings.sources_dir / "files" / "hotline" / f"tickets_{day:%Y%m%d}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        cols = columns or items
        text = ",".join(cols) + "\n" + "".join(",".join(r.get(c, "") for c in cols) + "\n" for r in rows)
        path.write_bytes(raw if raw is not None else text.encode())
        return path

    return settings, write


def _ingest(settings, day=DAY, reload=False):
    from citybrain.ingest.load import load_resource
    from citybrain.ingest.pull import pull_resource

    return load_resource(pull_resource("hotline_ticket", day, run_id=f"test-{day}", reload=reload,
                                       settings=settings), settings)


def _bronze(spark, settings):
    from citybrain.lake import spark_io

    return spark_io.read_table(spark, "bronze.hotline_ticket", settings=settings)


def _content_hash(spark, settings):
    """Order-independent hash of bronze without the commit time (which a reload legitimately changes)."""
    from pyspark.sql import functions as F

    df = _bronze(spark, settings).drop("_ingest_time")
    row = df.select(F.count("*").alias("n"), F.sum(F.xxhash64(*df.columns).cast("decimal(38,0)")).alias("h")).first()
    return row["n"], row["h"]


def test_file_drop_lands_loads_with_lineage_and_accounts_for_every_row(spark, drop):
    from citybrain.ingest.audit import BATCHES_TABLE
    from citybrain.ingest.control_io import read_rows
    from citybrain.ingest.landing import landing_root, sha256_file

    settings, write = drop
    source = write(DAY, [{"ticket_no": "T1", "content": "路灯不亮"}, {"ticket_no": "T2", "channel": "12"},
                         {"content": "no key"}, {"ticket_no": "T4", "district_code": "3706021234567"}])
    [result] = _ingest(settings)
    assert (result["status"], result["rows_pulled"], result["rows_loaded"], result["rows_quarantined"]) == (
        "loaded", 4, 2, 2)
    checksum = sha256_file(source)
    landed = landing_root(settings) / "hotline" / "hotline_ticket" / f"20261101_{checksum[:12]}"
    assert (landed / "tickets_20261101.csv").read_bytes() == source.read_bytes()
    assert json.loads((landed / "manifest.json").read_text())["checksum"] == checksum

    rows = {r["ticket_no"]: r.asDict() for r in _bronze(spark, settings).collect()}
    assert set(rows) == {"T1", "T2"}
    t1 = rows["T1"]
    assert (t1["content"], t1["channel"]) == ("路灯不亮", None)
    assert t1["_batch_id"] == f"hotline_ticket:20261101:{checksum[:12]}"
    assert t1["_batch_date"] == DAY and t1["_row_number"] == 1
    assert t1["_source"] == "files/hotline/tickets_20261101.csv" and t1["_file_name"] == "tickets_20261101.csv"
    assert t1["_file_checksum"] == checksum
    assert t1["_source_system"].startswith("12345")
    assert t1["_extract_time"] <= t1["_ingest_time"]

    [audit] = read_rows(BATCHES_TABLE, "hotline_ticket", settings)
    assert (audit["rows_pulled"], audit["rows_loaded"], audit["rows_quarantined"], audit["status"]) == (4, 2, 2,
                                                                                                        "loaded")
    assert audit["department"] == "HOTLINE" and audit["logical_date"] == DAY and audit["file_checksum"] == checksum


def test_rerun_skips_and_reload_replaces_without_new_rows(spark, drop):
    settings, write = drop
    write(DAY, [{"ticket_no": f"T{i}"} for i in range(5)] + [{"content": "no key"}])
    _ingest(settings)
    first = _content_hash(spark, settings)
    [again] = _ingest(settings)  # same logical date: the drop is already handled
    assert (again["status"], again["reason"]) == ("skipped", "files/hotline/tickets_20261101.csv already handled "
                                                             "(same sha256)")
    [reloaded] = _ingest(settings, reload=True)  # forced: replaces its own slice
    assert (reloaded["status"], reloaded["rows_loaded"], reloaded["rows_quarantined"]) == ("loaded", 5, 1)
    assert _content_hash(spark, settings) == first == (5, first[1])
    from citybrain.ingest.control_io import count_rows

    assert count_rows("quarantine.rejected_rows", settings, resource="hotline_ticket") == 1


def test_drift_keeps_added_and_renamed_columns_and_reports_them(spark, drop):
    from citybrain.catalog import get_catalog

    settings, write = drop
    items = get_catalog().resource("hotline_ticket").item_names
    write(DAY, [{"ticket_no": "T1"}])
    _ingest(settings)
    drifted = ["content_new" if c == "content" else c for c in items] + ["remark"]
    next_day = date(2026, 11, 2)
    write(next_day, [{"ticket_no": "T2", "content_new": "改名的列", "remark": "新增"}], columns=drifted)
    [result] = _ingest(settings, next_day)
    assert result["status"] == "loaded" and result["rows_loaded"] == 1
    assert result["drift"]["added"] == ["remark"] and result["drift"]["missing"] == []
    assert [(r["missing"], r["found"]) for r in result["drift"]["renamed"]] == [("content", "content_new")]
    rows = {r["ticket_no"]: r.asDict() for r in _bronze(spark, settings).collect()}
    assert (rows["T2"]["content"], rows["T2"]["content_new"], rows["T2"]["remark"]) == (None, "改名的列", "新增")
    assert (rows["T1"]["content_new"], rows["T1"]["remark"]) == (None, None)  # older batches: null, not lost


def test_unreadable_and_keyless_files_are_rejected_with_a_reason(spark, drop):
    from citybrain.ingest.audit import REJECTED_FILES_TABLE
    from citybrain.ingest.control_io import read_rows
    from citybrain.ingest.landing import rejected_root

    settings, write = drop
    write(DAY, [], raw=b"")
    [result] = _ingest(settings)
    assert result["status"] == "rejected" and "(empty)" in result["reason"]
    moved = rejected_root(settings) / "hotline" / "tickets_20261101.csv"
    assert moved.exists()
    assert "is empty (0 bytes)" in moved.with_name(moved.name + ".reason.txt").read_text()
    [row] = read_rows(REJECTED_FILES_TABLE, "hotline_ticket", settings)
    assert (row["kind"], row["moved_to"], row["file"]) == ("empty", str(moved), "files/hotline/tickets_20261101.csv")
    # handled: the next run of the same date does not pick it again
    assert _ingest(settings)[0]["status"] == "skipped"

    from citybrain.catalog import get_catalog

    items = get_catalog().resource("hotline_ticket").item_names
    next_day = date(2026, 11, 2)
    write(next_day, [{"ticket_number": "T9"}], columns=["ticket_number" if c == "ticket_no" else c for c in items])
    [result] = _ingest(settings, next_day)
    assert result["status"] == "rejected"
    assert "required column(s) ticket_no of bronze.hotline_ticket (primary key) are missing" in result["reason"]
    assert result["drift"]["renamed"][0]["found"] == "ticket_number"


def test_title_and_repeated_header_rows_are_dropped_counted_and_reconciled(spark, drop):
    from citybrain.catalog import get_catalog
    from citybrain.ingest.audit import BATCHES_TABLE
    from citybrain.ingest.control_io import read_rows

    settings, write = drop
    items = get_catalog().resource("hotline_ticket").item_names
    header = ",".join(items) + "\n"
    title = "12345热线工单导出 2026年11月1日" + "," * (len(items) - 1) + "\n"
    record = {"ticket_no": "T1", "content": "路灯不亮"}
    row = "".join(",".join(r.get(c, "") for c in items) + "\n" for r in (record, {"ticket_no": "T2"}, {}))
    # a title above the header, then two exports concatenated; the empty record has no key (quarantined)
    write(DAY, [], raw=(title + header + row + header.replace("ticket_no", "ticket\u200b_no") + row).encode())
    [result] = _ingest(settings)
    assert (result["status"], result["rows_pulled"], result["rows_loaded"], result["rows_quarantined"],
            result["header_rows_dropped"]) == ("loaded", 8, 4, 2, 2)
    assert "1 title row(s) above the header dropped (rule ingest.title_row, no record): line 1" in result["reason"]
    assert "1 repeated header row(s) dropped (rule ingest.repeated_header, no record): line 6" in result["reason"]
    [audit] = read_rows(BATCHES_TABLE, "hotline_ticket", settings)
    assert (audit["rows_pulled"], audit["rows_loaded"], audit["rows_quarantined"], audit["header_rows_dropped"]) == (
        8, 4, 2, 2)
    assert sorted((r["ticket_no"], r["_row_number"]) for r in _bronze(spark, settings).collect()) == [
        ("T1", 1), ("T1", 4), ("T2", 2), ("T2", 5)]
