"""Department ingestion DAGs end to end with dag.test() on generated sources (faults at the default rate)."""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict

import pytest

pytestmark = pytest.mark.integration

FILE_FAULT_KINDS = {"truncated_csv": "truncated", "header_only": "header_only", "empty_file": "empty",
                    "wrong_delimiter": "delimiter"}  # simulator fault -> control.rejected_files.kind
RERUN_DEPARTMENTS = ["HOTLINE", "AMR", "NRP"]  # csv, database + xlsx, database + jsonl


@pytest.fixture(scope="module")
def catalog():
    from citybrain.catalog import get_catalog

    return get_catalog()


@pytest.fixture(scope="module")
def ingest_bag(settings):
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(settings.dags_dir / "citybrain_ingest.py"))


@pytest.fixture(scope="module")
def faults(generated_sources):
    import pyarrow.parquet as pq

    return pq.read_table(f"{generated_sources.manifest_dir}/faults.parquet").to_pylist()


@pytest.fixture(scope="module")
def caught_up(airflow_db, generated_sources, source_days):
    """Every department DAG run once for the last simulated day: all drops up to it and all database rows."""
    from citybrain.ingest import run_ingestion

    return run_ingestion(source_days[-1])


def bronze_fingerprints(names) -> dict[str, tuple[int, str]]:
    """Row count and an order-independent content hash per bronze table (commit time left out)."""
    from citybrain.lake import arrow_io

    out = {}
    for name in names:
        if not arrow_io.table_exists(f"bronze.{name}"):
            continue
        table = arrow_io.read_arrow(f"bronze.{name}")
        rows = sorted(repr(sorted(r.items())) for r in table.drop_columns(["_ingest_time"]).to_pylist())
        out[name] = (len(rows), hashlib.sha256("\n".join(rows).encode()).hexdigest())
    return out


def test_one_dag_per_department_built_from_the_catalogue(ingest_bag, catalog):
    from citybrain.orchestration.dag_factory import department_schedule

    assert ingest_bag.import_errors == {}
    providers = {r.provider for r in catalog.resources.values()}
    assert set(ingest_bag.dags) == {f"ingest_{code.lower()}" for code in providers}
    for code in providers:
        dag = ingest_bag.dags[f"ingest_{code.lower()}"]
        resources = catalog.resources_by_department(code)
        assert dag.schedule == department_schedule([r.update_cycle for r in resources])
        assert dag.catchup is False and dag.max_active_runs == 1
        assert {"citybrain", "ingest", code} <= set(dag.tags)
        assert catalog.departments[code].name_zh in dag.doc_md
        assert {t.task_id for t in dag.tasks} == {f"{r.name}.{step}" for r in resources for step in ("pull", "load")}
        for res in resources:
            load = dag.get_task(f"{res.name}.load")
            assert [a.name for a in load.outlets] == [f"bronze.{res.name}"]
            assert load.upstream_task_ids == {f"{res.name}.pull"}  # groups never wait on each other


def test_every_department_dag_runs_and_every_resource_has_an_outcome(caught_up, catalog):
    by_resource = {r["resource"]: r for r in caught_up}
    assert set(by_resource) == set(catalog.resources)
    failed = {r["resource"]: r["reason"] for r in caught_up if r["status"] == "failed"}
    assert failed == {}
    assert all(r["status"] in ("loaded", "rejected", "empty", "skipped") for r in caught_up)
    loaded = [r for r in caught_up if r["status"] == "loaded"]
    assert len(loaded) >= 0.8 * len(caught_up), Counter(r["status"] for r in caught_up)


def test_accounting_reconciles_for_every_batch_and_matches_bronze(caught_up):
    from citybrain.ingest.audit import BATCHES_TABLE
    from citybrain.ingest.control_io import read_rows
    from citybrain.lake import arrow_io

    rows = read_rows(BATCHES_TABLE)
    assert rows
    for r in rows:
        assert r["rows_pulled"] == r["rows_loaded"] + r["rows_quarantined"], r
    in_bronze: dict[str, int] = Counter()
    for name in {r["resource"] for r in rows if r["status"] == "loaded"}:
        for batch_id in arrow_io.read_arrow(f"bronze.{name}", columns=["_batch_id"])["_batch_id"].to_pylist():
            in_bronze[batch_id] += 1
    loaded = {r["batch_id"]: r["rows_loaded"] for r in rows if r["status"] == "loaded"}
    assert {b: in_bronze[b] for b in loaded} == loaded
    assert set(in_bronze) <= set(loaded)  # no bronze row without an audited batch


def test_every_malformed_file_ends_in_rejected_with_a_reason(caught_up, faults, settings):
    from citybrain.ingest.audit import REJECTED_FILES_TABLE
    from citybrain.ingest.control_io import read_rows
    from citybrain.ingest.landing import rejected_root

    rejected = {r["file"]: r for r in read_rows(REJECTED_FILES_TABLE)}
    malformed = [f for f in faults if f["kind"] in FILE_FAULT_KINDS]
    assert {f["kind"] for f in malformed} == set(FILE_FAULT_KINDS)  # the sources hold every kind
    for fault in malformed:
        row = rejected[fault["file"]]
        assert row["kind"] == FILE_FAULT_KINDS[fault["kind"]], (fault, row)
        provider = fault["file"].split("/")[1]
        moved = rejected_root() / provider / fault["file"].rsplit("/", 1)[1]
        assert row["moved_to"] == str(moved) and moved.exists()
        reason = moved.with_name(moved.name + ".reason.txt").read_text(encoding="utf-8")
        assert fault["file"] in reason and f"({row['kind']})" in reason


def test_schema_drift_is_reported_as_added_and_likely_renamed(caught_up, faults):
    import json

    from citybrain.ingest.audit import BATCHES_TABLE
    from citybrain.ingest.control_io import read_rows
    from citybrain.lake import arrow_io

    drifts = defaultdict(list)
    for f in faults:
        if f["kind"] == "schema_drift":
            drifts[(f["resource"], f["file"])].append(f)
    assert drifts
    for (resource, file), records in drifts.items():
        [audit] = [r for r in read_rows(BATCHES_TABLE, resource) if r["source"] == file]
        drift = json.loads(audit["drift"])
        renamed = {r["item"]: r["injected_value"].removeprefix("renamed to ") for r in records
                   if r["injected_value"].startswith("renamed to ")}
        assert {(r["missing"], r["found"]) for r in drift["renamed"]} == set(renamed.items())
        assert drift["added"] == ["remark"]
        if audit["status"] == "loaded":  # kept in bronze, never dropped
            columns = {f.name for f in arrow_io.delta_table(f"bronze.{resource}").schema().fields}
            assert {"remark", *renamed.values()} <= columns


def test_rerunning_the_same_date_adds_nothing_and_reload_replaces_identically(caught_up, catalog, source_days):
    from citybrain.ingest import run_ingestion
    from citybrain.orchestration.runner import run_dag

    names = [r.name for code in RERUN_DEPARTMENTS for r in catalog.resources_by_department(code)]
    before = bronze_fingerprints(names)
    assert before
    again = run_ingestion(source_days[-1], RERUN_DEPARTMENTS)
    assert {r["status"] for r in again} <= {"skipped", "empty"}
    assert sum(r["rows_loaded"] for r in again) == 0
    assert bronze_fingerprints(names) == before
    from citybrain.ingest.run import as_logical_date

    run_dag("ingest_hotline", logical_date=as_logical_date(source_days[0]), conf={"reload": True})
    assert bronze_fingerprints(names) == before


def test_backfill_of_successive_dates_slices_files_by_name_and_tables_by_watermark(
        airflow_db, generated_sources, source_days, tmp_path, monkeypatch, settings):
    import sqlite3

    from citybrain.ingest import run_ingestion
    from citybrain.ingest.audit import BATCHES_TABLE
    from citybrain.ingest.control_io import read_rows
    from citybrain.ingest.watermarks import read_watermarks, upper_bound, watermark_key
    from citybrain.lake import arrow_io
    from citybrain.settings import reset_settings

    monkeypatch.setenv("CITYBRAIN_LAKE_URI", str(tmp_path / "lake"))  # a lake of its own, same sources
    reset_settings()
    try:
        marks = []
        for day in source_days[:3]:
            results = {r["resource"]: r for r in run_ingestion(day, ["CMB"])}
            assert results["grid_component"]["logical_date"] == day  # the drop named for the day, no other
            marks.append(read_watermarks()["grid_event"]["watermark"])
            assert watermark_key(marks[-1]) < watermark_key(upper_bound(day))
        assert [watermark_key(m) for m in marks] == sorted(watermark_key(m) for m in marks)
        audit = read_rows(BATCHES_TABLE, "grid_event")
        assert sorted(r["logical_date"] for r in audit) == source_days[:3]
        db = sqlite3.connect(settings.sources_dir / "db" / "cmb.sqlite")
        expected = db.execute("SELECT count(*) FROM t_grid_event WHERE updated_at < ?",
                              [upper_bound(source_days[2])]).fetchone()[0]
        loaded = arrow_io.read_arrow("bronze.grid_event", columns=["_batch_id"]).num_rows
        assert loaded + sum(r["rows_quarantined"] for r in audit) == expected  # windows tile the history
    finally:
        monkeypatch.undo()
        reset_settings()


def test_a_failing_resource_does_not_block_its_siblings(airflow_db, generated_sources, source_days, tmp_path,
                                                        monkeypatch):
    from datetime import timedelta

    from citybrain.ingest import run_ingestion
    from citybrain.ingest.run import IngestionFailed
    from citybrain.orchestration import policy
    from citybrain.settings import reset_settings

    monkeypatch.setitem(policy.DEFAULT_ARGS, "retry_delay", timedelta(seconds=1))  # the retry fails alike: don't wait
    monkeypatch.setenv("CITYBRAIN_LAKE_URI", str(tmp_path / "lake"))
    # CMB's database is unreachable: its two database resources fail, its file drop still loads
    monkeypatch.setenv("CITYBRAIN_SOURCE_URL_CMB", f"sqlite:///{tmp_path}/no/such/dir/cmb.sqlite")
    reset_settings()
    try:
        with pytest.raises(IngestionFailed, match="ingest_cmb") as caught:
            run_ingestion(source_days[0], ["CMB"], strict=True)
        status = {r["resource"]: r["status"] for r in caught.value.results}
        assert status == {"grid_component": "loaded", "grid_event": "failed", "city_streetlight": "failed"}
    finally:
        monkeypatch.undo()
        reset_settings()
