"""Quality gates end to end on a small Spark-free lake: a clean version passes, an injected critical fault
blocks the new version (expectation, counts and sample keys named) while the previous version stays the
last passed one; Data Docs are built; the GB/T 36344 scorecard is ~100 when clean and drops on the right
dimensions when faulted."""

from __future__ import annotations

import datetime as dt

import pytest

pytestmark = pytest.mark.integration

RESOURCE = "pop_resident"
TABLE = f"silver.{RESOURCE}"
DAY = dt.date(2026, 11, 2)


def _value(item, i: int, catalog):
    """A value satisfying every catalogue rule of ``item`` for row ``i`` (the key varies with i)."""
    from citybrain.standards.identifiers import id_number_check_char

    if item.references:
        return None if item.nullable else f"REF{i:05d}"
    if item.format == "id_number":
        body = f"37060219800101{i:03d}"
        return body + id_number_check_char(body)
    if item.format == "division_code" or item.code_list == "divisions":
        return "370602"
    if item.format == "phone":
        return "13800000000"
    if item.code_list:
        return sorted(catalog.code_list(item.code_list))[0]
    if item.type == "D":
        return dt.date(1980, 1, 1)
    if item.type == "T":
        return dt.datetime(2026, 11, 2, 8, 0, tzinfo=dt.UTC)
    if item.type in ("I", "N", "Y", "F", "B"):
        return 1 if item.range is None or item.range.min is None else item.range.min
    return f"v{i}"


def _silver(catalog, n: int, broken: int | None = None):
    import pyarrow as pa

    res = catalog.resource(RESOURCE)
    rows = []
    for i in range(n):
        row = {it.name: _value(it, i, catalog) for it in res.items}
        row.update(valid_from=dt.datetime(2026, 11, 2, tzinfo=dt.UTC), valid_to=None, is_current=True,
                   _row_hash="h", _batch_id=f"{RESOURCE}:20261102:abc")
        rows.append(row)
    if broken is not None:  # an ID number with a wrong check character slips into silver
        good = rows[broken]["id_number"]
        rows[broken]["id_number"] = good[:17] + ("0" if good[17] != "0" else "1")
    schema = res.arrow_schema()
    for name, typ in (("valid_from", pa.timestamp("us", "UTC")), ("valid_to", pa.timestamp("us", "UTC")),
                      ("is_current", pa.bool_()), ("_row_hash", pa.string()), ("_batch_id", pa.string())):
        schema = schema.append(pa.field(name, typ))
    return pa.Table.from_pylist(rows, schema), rows


def _batches(statuses: list[str], rows: int):
    import pyarrow as pa

    return pa.Table.from_pylist([
        {"resource": RESOURCE, "department": "PSB", "batch_id": f"{RESOURCE}:20261102:{i}", "logical_date": DAY,
         "rows_pulled": rows, "rows_loaded": rows, "rows_quarantined": 0, "status": s} for i, s in enumerate(statuses)])


@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    from citybrain.catalog import get_catalog
    from citybrain.lake import arrow_io
    from citybrain.settings import Settings

    root = tmp_path_factory.mktemp("quality")
    settings = Settings(var_dir=root, lake_uri=str(root / "lake"))
    catalog = get_catalog()
    table, _ = _silver(catalog, 40)
    arrow_io.append_arrow(TABLE, table, settings=settings)
    arrow_io.append_arrow(f"bronze.{RESOURCE}", table.select(["id_number"]), settings=settings)
    arrow_io.append_arrow("control.batches", _batches(["loaded"], 40), settings=settings)
    return settings, catalog


@pytest.fixture(scope="module")
def clean_run(lake):
    from citybrain.quality.gates import run_gates

    settings, _ = lake
    return run_gates([TABLE], settings=settings, run_id="clean")


def test_clean_version_passes_and_builds_data_docs(lake, clean_run):
    from citybrain.quality.results import last_passed_version

    settings, _ = lake
    (result,) = clean_run
    assert result.passed, result.describe()
    assert result.evaluated >= 15
    assert last_passed_version(TABLE, settings) == 0
    docs = settings.site_dir / "quality" / "index.html"
    assert docs.is_file() and "silver__pop_resident" in docs.read_text(encoding="utf-8")


def test_a_version_already_checked_is_not_validated_again(lake, clean_run):
    from citybrain.lake import arrow_io
    from citybrain.quality.gates import run_gates
    from citybrain.quality.results import RESULTS_TABLE

    settings, _ = lake
    before = arrow_io.read_arrow(RESULTS_TABLE, settings=settings).num_rows
    (again,) = run_gates([TABLE], settings=settings, run_id="publish", reuse_checked=True)
    assert (again.run_id, again.delta_version, again.passed, again.evaluated) == \
        ("clean", clean_run[0].delta_version, True, clean_run[0].evaluated)
    assert arrow_io.read_arrow(RESULTS_TABLE, settings=settings).num_rows == before  # nothing re-validated


def test_clean_scorecard_is_about_100(lake, clean_run):
    from citybrain.quality.scorecard import build_scorecard

    settings, _ = lake
    (row,) = [r for r in build_scorecard(settings) if r["resource"] == RESOURCE]
    assert row["score"] >= 99.0, row
    assert row["timeliness_ratio"] == 1.0 and row["completeness_ratio"] == 1.0


def test_injected_critical_fault_blocks_new_version_previous_stays(lake, clean_run):
    from citybrain.lake import arrow_io
    from citybrain.quality.gates import run_gates
    from citybrain.quality.results import last_passed_version, latest_results

    settings, catalog = lake
    table, rows = _silver(catalog, 40, broken=7)
    arrow_io.overwrite_arrow(TABLE, table, settings=settings)
    (result,) = run_gates([TABLE], settings=settings, run_id="faulted")
    assert result.delta_version == 1 and not result.passed
    (failure,) = [f for f in result.critical if "valid_id_number" in f.expectation]
    assert failure.expectation == "expect_column_values_to_be_valid_id_number(id_number)"
    assert failure.unexpected_count == 1 and failure.element_count == 40
    assert failure.sample_keys == [rows[7]["id_number"]]
    assert "BLOCKED" in result.describe() and rows[7]["id_number"] in result.describe()
    assert last_passed_version(TABLE, settings) == 0  # publishing keeps serving version 0
    assert latest_results(settings)[TABLE]["passed"] is False


def test_faulted_scorecard_drops_on_the_right_dimensions(lake, clean_run):
    import pyarrow as pa

    from citybrain.lake import arrow_io
    from citybrain.quality.scorecard import build_scorecard

    settings, _ = lake
    quarantine = pa.Table.from_pylist([
        {"resource": RESOURCE, "stage": "conform", "batch_id": f"{RESOURCE}:20261102:0", "row_number": i,
         "record_key": f"k{i}", "rule_id": "conform.required", "item": "name", "value": None, "reason": "r",
         "payload": "{}", "quarantined_at": dt.datetime(2026, 11, 2, tzinfo=dt.UTC)} for i in range(4)])
    arrow_io.append_arrow("quarantine.rejected_rows", quarantine, settings=settings)
    arrow_io.append_arrow("control.batches", _batches(["failed"], 0), settings=settings)
    (row,) = [r for r in build_scorecard(settings) if r["resource"] == RESOURCE]
    assert row["completeness_a"] == 36 and row["completeness_b"] == 40  # 4 rows missing a required item
    assert row["timeliness_ratio"] == 0.5  # one of two batches of the day failed
    assert row["conformity_ratio"] == 1.0 and row["consistency_ratio"] == 1.0
    assert row["score"] < 95
