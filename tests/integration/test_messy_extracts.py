"""Extracts the way departments really send them (issue 24), through the real ingestion DAGs and conform.

After a catch-up of AMR (a database and a spreadsheet drop) and HOTLINE (a CSV drop), a later day brings a
hand-made spreadsheet (title row, labels as headers, invisible marks, a repeated header, an ID number stored
as a number, Chinese dates, null markers), a hand-edited CSV (a trailing delimiter, a repeated header,
time-of-day forms glued to the day, offsets, compact forms, an impossible month, conflicting duplicates) and
late database commits (an update committed under the watermark, a NULL and a slash-written incremental key).
Each row's outcome is checked, and every batch still reconciles.
"""

from __future__ import annotations

import datetime as dt
import shutil
import sqlite3

import pytest

pytestmark = pytest.mark.integration

DEPARTMENTS = ["AMR", "HOTLINE"]
RESOURCES = ["le_enterprise", "le_individual_business", "hotline_ticket"]


def _xlsx_rows(path):
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True)
    rows = [list(r) for r in book.worksheets[0].iter_rows(values_only=True)]
    book.close()
    return rows[0], [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]


def _write_messy_spreadsheet(folder, day, base_file, clean):
    """Title row and a blank row above the header; labels and decorated names as headers; a repeated header.
    Rows start from the simulator's ``clean`` ones (in silver: none of its own faults)."""
    from openpyxl import Workbook

    from citybrain.catalog import get_catalog

    names, base = _xlsx_rows(base_file)
    labels = {it.name: it.label for it in get_catalog().resource("le_individual_business").items}
    rows = [r for r in base if str(r["operator_id_number"]).isdigit() and r["credit_code"] in clean][:4]
    assert len(rows) == 4, "the simulator's spreadsheet has too few rows with all-digit ID numbers"
    header = [labels["credit_code"], "\u200bname", "operator_name\u00a0", labels["operator_id_number"], "ｆｏｒｍ",
              *names[5:]]
    precision, null_name, marker, dated = (dict(r) for r in rows)
    precision["operator_id_number"] = float(precision["operator_id_number"])  # Excel kept 15 digits of 18
    null_name["name"], null_name["established_date"] = "NULL", "2019年3月7日"
    marker["operator_name"] = "N/A"
    dated["established_date"], dated["district_code"] = dt.datetime(2020, 1, 5), int(dated["district_code"])
    book = Workbook()
    sheet = book.active
    sheet.append(["某市个体工商户登记信息（2026年11月）"])
    sheet.append([])
    sheet.append(header)
    for row in (precision, null_name, marker):
        sheet.append([row[n] for n in names])
    sheet.append(header)  # a second export pasted below the first
    sheet.append([dated[n] for n in names])
    target = folder / f"individual_{day:%Y%m%d}.xlsx"
    book.save(target)
    return {"precision_lost": precision, "null_name": null_name, "marker": marker, "dated": dated}


def _write_messy_csv(folder, day, base_file, clean):
    """A trailing delimiter on every line, a no-break space in a header name, a header repeated mid-file."""
    import csv
    import io

    base = [r for r in csv.DictReader(io.StringIO(base_file.read_text(encoding="utf-8"))) if r["ticket_no"] in clean]
    names = list(base[0])
    template = {**base[0], "grid_event_id": "", "closed_at": "", "satisfaction": ""}

    def ticket(i, received, **changes):
        return {**template, "ticket_no": f"12345{day:%Y%m%d}9999{i:04d}", "received_at": received,
                "deadline_at": "", **changes}

    tickets = {
        "glued": ticket(1, "2026年11月5日8:15:00", closed_at="2026年11月5日9时30分"),
        "offset_local": ticket(2, "2026-11-05T08:15:00+08:00"),
        "offset_utc": ticket(3, "2026-11-05T00:15:00Z"),
        "compact": ticket(4, "202611050815", topic="无", caller_phone="—"),
        "conflict_a": ticket(5, "2026-11-05 10:00:00", status=template["status"]),
        "conflict_b": ticket(5, "2026-11-05 10:00:00", status="1" if template["status"] != "1" else "2"),
        "impossible": ticket(6, "2026-13-05 08:15"),
    }
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    header = [*(n.replace("address", "address\u00a0") for n in names), ""]
    writer.writerow(header)
    for key, row in tickets.items():
        if key == "conflict_a":
            writer.writerow(header)
        writer.writerow([*(row[n] for n in names), ""])
    (folder / f"tickets_{day:%Y%m%d}.csv").write_text(out.getvalue(), encoding="utf-8")
    return tickets


def _late_commits(db_path, watermark, day, clean):
    """An update committed under the watermark (inside the look-back), one with a NULL and one with a
    slash-written incremental key: each changes content, so each must become a version."""
    db = sqlite3.connect(db_path)
    codes = [r[0] for r in db.execute("SELECT credit_code FROM t_enterprise ORDER BY credit_code") if r[0] in clean][:3]
    late = (dt.datetime.fromisoformat(watermark) - dt.timedelta(hours=2)).isoformat(sep=" ")
    changes = {codes[0]: ("13900000001", late), codes[1]: ("13900000002", None),
               codes[2]: ("13900000003", f"{day:%Y/%m/%d} 10:05:00")}
    with db:
        for code, (phone, updated) in changes.items():
            db.execute("UPDATE t_enterprise SET phone = ?, updated_at = ? WHERE credit_code = ?", (phone, updated, code))
    db.close()
    return changes


@pytest.fixture(scope="module")
def messy_day(airflow_db, generated_sources, source_days, tmp_path_factory):
    from citybrain.conform.job import run_conform
    from citybrain.ingest import run_ingestion
    from citybrain.ingest.watermarks import read_watermarks
    from citybrain.settings import get_settings, reset_settings

    root = tmp_path_factory.mktemp("messy")
    sources = root / "sources"
    shutil.copytree(get_settings().sources_dir, sources)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CITYBRAIN_LAKE_URI", str(root / "lake"))
        mp.setenv("CITYBRAIN_SOURCES_DIR", str(sources))
        reset_settings()
        try:
            settings = get_settings()
            run_ingestion(source_days[-1], DEPARTMENTS, strict=True)  # the catch-up: every day so far
            run_conform(RESOURCES, settings=settings, workers=2)
            day = source_days[-1] + dt.timedelta(days=1)
            files = sources / "files"
            clean = {r: _current(r, key, settings) for r, key in
                     (("le_individual_business", "credit_code"), ("hotline_ticket", "ticket_no"),
                      ("le_enterprise", "credit_code"))}
            sheet = _write_messy_spreadsheet(files / "amr", day, sorted((files / "amr").glob("individual_*.xlsx"))[0],
                                             clean["le_individual_business"])
            tickets = _write_messy_csv(files / "hotline", day, sorted((files / "hotline").glob("tickets_*.csv"))[0],
                                       clean["hotline_ticket"])
            late = _late_commits(sources / "db" / "amr.sqlite", read_watermarks()["le_enterprise"]["watermark"], day,
                                 clean["le_enterprise"])
            results = {r["resource"]: r for r in run_ingestion(day, DEPARTMENTS, strict=True)}
            conformed = run_conform(RESOURCES, settings=settings, workers=2)
            yield {"settings": settings, "day": day, "sheet": sheet, "tickets": tickets, "late": late,
                   "results": results, "conformed": conformed}
        finally:
            reset_settings()


def _quarantine(resource, settings):
    from citybrain.lake import arrow_io

    return [r for r in arrow_io.read_rows("quarantine.rejected_rows", settings) if r["resource"] == resource]


def _current(resource, key, settings):
    from citybrain.lake import arrow_io

    rows = arrow_io.read_rows(f"silver.{resource}", settings)
    if rows and "is_current" in rows[0]:
        rows = [r for r in rows if r["is_current"]]
    return {r[key]: r for r in rows}


def _wall_clock(value: dt.datetime) -> dt.datetime:
    """A lake timestamp as the wall-clock time it stores (Arrow reads it labelled UTC: docs/lake-contract.md)."""
    return value.replace(tzinfo=None)


def test_every_batch_of_the_messy_day_reconciles(messy_day):
    from citybrain.ingest.audit import BATCHES_TABLE
    from citybrain.ingest.control_io import read_rows

    day_batches = [r for r in read_rows(BATCHES_TABLE, None, messy_day["settings"]) if r["logical_date"] == messy_day["day"]]
    assert {r["resource"] for r in day_batches if r["status"] == "loaded"} == set(RESOURCES), day_batches
    for batch in day_batches:
        assert batch["rows_pulled"] == (batch["rows_loaded"] + batch["rows_quarantined"]
                                        + (batch.get("header_rows_dropped") or 0)), batch
    sheet = next(b for b in day_batches if b["resource"] == "le_individual_business")
    tickets = next(b for b in day_batches if b["resource"] == "hotline_ticket")
    assert sheet["header_rows_dropped"] == 2  # the title row and the repeated header (a blank row is no row)
    assert tickets["header_rows_dropped"] == 1
    assert sheet["rows_loaded"] + sheet["rows_quarantined"] == 4 and tickets["rows_loaded"] + tickets["rows_quarantined"] == 7
    conformed = messy_day["conformed"]["resources"]
    assert set(conformed) == set(RESOURCES)
    for resource, acc in conformed.items():  # conform itself refuses to record a batch that does not add up
        assert acc["rows_in"] == acc["rows_silver"] + acc["rows_quarantined"] + acc["rows_duplicate"], resource


def test_an_id_number_excel_stored_as_a_number_is_quarantined_never_converted(messy_day):
    row = messy_day["sheet"]["precision_lost"]
    [hit] = [q for q in _quarantine("le_individual_business", messy_day["settings"])
             if q["rule_id"] == "ingest.precision_lost"]
    assert hit["item"] == "operator_id_number" and "E+17" in hit["value"].upper()
    assert row["credit_code"] in (hit["record_key"] or "") or row["credit_code"] in (hit["payload"] or "")
    silver = _current("le_individual_business", "credit_code", messy_day["settings"])
    # the key kept its earlier version: no invented ID number reached silver
    assert silver[row["credit_code"]]["operator_id_number"] != str(int(row["operator_id_number"]))


def test_spreadsheet_dates_markers_and_labels_read_to_the_right_values(messy_day):
    silver = _current("le_individual_business", "credit_code", messy_day["settings"])
    sheet = messy_day["sheet"]
    assert silver[sheet["null_name"]["credit_code"]]["name"] is None  # 'NULL' in a nullable item
    assert silver[sheet["null_name"]["credit_code"]]["established_date"] == dt.date(2019, 3, 7)
    assert silver[sheet["dated"]["credit_code"]]["established_date"] == dt.date(2020, 1, 5)
    [required] = [q for q in _quarantine("le_individual_business", messy_day["settings"])
                  if q["rule_id"] == "conform.required" and q["item"] == "operator_name"
                  and sheet["marker"]["credit_code"] in (q["record_key"] or "")]
    assert "N/A" in required["reason"] and required["value"] == "N/A"


def test_csv_times_read_as_the_local_clock_time_written(messy_day):
    silver = _current("hotline_ticket", "ticket_no", messy_day["settings"])
    t = messy_day["tickets"]
    eight_fifteen = dt.datetime(2026, 11, 5, 8, 15)
    for key in ("glued", "offset_local", "offset_utc", "compact"):
        assert _wall_clock(silver[t[key]["ticket_no"]]["received_at"]) == eight_fifteen, key
    assert _wall_clock(silver[t["glued"]["ticket_no"]]["closed_at"]) == dt.datetime(2026, 11, 5, 9, 30)
    assert silver[t["compact"]["ticket_no"]]["topic"] is None and silver[t["compact"]["ticket_no"]]["caller_phone"] is None
    [impossible] = [q for q in _quarantine("hotline_ticket", messy_day["settings"])
                    if q["record_key"] and t["impossible"]["ticket_no"] in q["record_key"]]
    assert impossible["item"] == "received_at" and impossible["value"] == "2026-13-05 08:15"


def test_conflicting_duplicates_are_both_quarantined_and_neither_kept(messy_day):
    t = messy_day["tickets"]
    key = t["conflict_a"]["ticket_no"]
    conflicts = [q for q in _quarantine("hotline_ticket", messy_day["settings"])
                 if q["rule_id"] == "conform.conflicting_duplicate" and key in (q["record_key"] or "")]
    assert len(conflicts) == 2 and all("status" in q["reason"] for q in conflicts), conflicts
    assert key not in _current("hotline_ticket", "ticket_no", messy_day["settings"])


def test_late_null_and_slash_keyed_database_commits_are_pulled_and_reconciled(messy_day):
    from citybrain.ingest.reconcile import latest_reconciliations

    silver = _current("le_enterprise", "credit_code", messy_day["settings"])
    late, null_key, slash = messy_day["late"].items()
    for code, (phone, _) in (late, slash):  # pulled in the right window: a new version each
        assert silver[code]["phone"] == phone, code
    # a NULL updated_at is pulled (by its own predicate) and flagged; the catalogue requires the item, so conform
    # quarantines the row naming it, and the earlier version stays current
    code, (phone, _) = null_key
    assert silver[code]["phone"] != phone
    [required] = [q for q in _quarantine("le_enterprise", messy_day["settings"])
                  if q["rule_id"] == "conform.required" and code in (q["record_key"] or "")]
    assert required["item"] == "updated_at"
    check = latest_reconciliations(messy_day["settings"])["le_enterprise"]
    assert check["missing_keys"] == 0 and check["null_key_rows"] >= 1, check
