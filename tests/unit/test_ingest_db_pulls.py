"""Database pulls lose nothing silently: look-back, NULL and other-form keys, re-reads, reconciliation.

Each test pulls from a tiny SQLite department database under tmp_path (its key column holds text, as the
simulator's and many real systems' do) and loads what landed the way the load task does for bronze, the audit and
the watermark, without Spark (one deltalake append per batch).
"""

from __future__ import annotations

import sqlite3
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import catalog_fixtures as cf  # noqa: E402

pytestmark = pytest.mark.unit

DAY1, DAY2 = date(2026, 11, 1), date(2026, 11, 2)


def make_resource(lookback: str | None = None):
    from citybrain.catalog.models import Resource

    items = [cf._item("id_number", "公民身份号码", "C", 18, nullable=False), cf._item("name", "姓名", "C", 50),
             cf._item("updated_at", "更新时间", "T", nullable=False)]
    raw = cf._resource("101001/0001", "pop_resident", "population", "PSB", items)
    if lookback is not None:
        raw["source"]["lookback"] = lookback
    return Resource.model_validate(raw)


class Department:
    """A department database (SQLite, key column as text) and a lake, pulled and loaded day by day."""

    def __init__(self, tmp_path: Path, lookback: str | None = None):
        from citybrain.settings import Settings

        self.settings = Settings(var_dir=tmp_path / "var", lake_uri=str(tmp_path / "lake"),
                                 sources_dir=tmp_path / "sources")
        self.resource = make_resource(lookback)
        (tmp_path / "sources" / "db").mkdir(parents=True)
        self.db = sqlite3.connect(tmp_path / "sources" / "db" / "psb.sqlite")
        self.db.execute("CREATE TABLE t_pop_resident (id_number VARCHAR(18), name VARCHAR(50), updated_at DATETIME)")

    def commit(self, *rows: tuple) -> None:
        self.db.executemany("INSERT INTO t_pop_resident VALUES (?, ?, ?)", rows)
        self.db.commit()

    def update(self, key: str, name: str) -> None:
        """A change of content that keeps the row's update time (a system that forgets to touch it)."""
        self.db.execute("UPDATE t_pop_resident SET name = ? WHERE id_number = ?", (name, key))
        self.db.commit()

    def pull(self, day: date, *, load: bool = True):
        """pull_resource's database branch (pull, reconcile), then the load's effects; (batch, reconciliation)."""
        from citybrain.ingest.pull_db import pull_database
        from citybrain.ingest.reconcile import reconcile_pull
        from citybrain.ingest.watermarks import current_watermark

        batch = pull_database(self.resource, day, current_watermark(self.resource.name, self.settings), self.settings)
        check = reconcile_pull(self.resource, batch, self.settings)
        if load:
            self.load(batch)
        return batch, check

    def load(self, batch) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        from citybrain.ingest import audit
        from citybrain.ingest.batches import LOADED, PENDING, utcnow
        from citybrain.lake import arrow_io

        if batch.status != PENDING:
            return
        data = pq.read_table(batch.landing_path)
        data = data.append_column("_batch_id", pa.array([batch.batch_id] * data.num_rows, pa.string()))
        arrow_io.append_arrow("bronze.pop_resident", data, settings=self.settings)
        batch.status, batch.rows_loaded, batch.finished_at = LOADED, data.num_rows, utcnow()
        audit.record_batches([batch], self.settings)  # the audit row is the watermark's advance

    def bronze(self) -> list[tuple]:
        from citybrain.lake import arrow_io

        rows = arrow_io.read_rows("bronze.pop_resident", self.settings)
        return sorted((r["id_number"], r["name"], r["updated_at"]) for r in rows)

    @staticmethod
    def landed(batch) -> list[str]:
        import pyarrow.parquet as pq

        return sorted(pq.read_table(batch.landing_path)["id_number"].to_pylist()) if batch.landing_path else []


@pytest.fixture
def dept(tmp_path):
    return Department(tmp_path)


def test_keys_in_other_text_forms_are_pulled_in_the_window_of_their_time(dept):
    dept.commit(("a", "A", "2026-11-01 10:00:00"), ("b", "B", "2026/11/01 12:00:00"), ("c", "C", "2026-11-01T23:00:00"),
                ("d", "D", "2026/11/2 1:05:00"), ("e", "E", "2026-11-02 08:00:00.5"), ("f", "F", "20261102093000"))
    first, _ = dept.pull(DAY1)
    # as text, '2026/11/01 12:00:00' sorts after '2026-11-02 00:00:00' and would never be pulled
    assert dept.landed(first) == ["a", "b", "c"]
    assert first.watermark_to == "2026-11-01T23:00:00"  # the latest moment, as pulled
    second, check = dept.pull(DAY2)
    assert dept.landed(second) == ["d", "e", "f"] and second.rows_reread == 3  # day 1 re-read, not landed
    assert [r[0] for r in dept.bronze()] == ["a", "b", "c", "d", "e", "f"]  # each row once
    assert (check["source_rows"], check["source_keys"], check["missing_keys"]) == (6, 6, 0)


def test_a_late_commit_inside_the_look_back_lands_and_identical_rereads_do_not(dept):
    dept.commit(("a", "A", "2026-11-01 09:00:00"), ("b", "B", "2026-11-01 18:00:00"))
    dept.pull(DAY1)  # watermark 2026-11-01 18:00:00
    dept.commit(("late", "L", "2026-11-01 12:00:00"),  # committed after the pull, with an earlier update time
                ("c", "C", "2026-11-02 10:00:00"))
    batch, check = dept.pull(DAY2)
    assert batch.watermark_from == "2026-10-31 18:00:00"  # watermark minus the default look-back of 1d
    assert dept.landed(batch) == ["c", "late"]
    assert batch.rows_pulled == 2 and batch.rows_reread == 2  # a and b re-read, identical: not pulled again
    assert check["missing_keys"] == 0 and check["pending_keys"] == 2
    again, _ = dept.pull(DAY2)  # the same day once more: everything re-read is already loaded
    assert (again.status, again.rows_pulled, again.rows_reread) == ("empty", 0, 3)  # a is before the new start
    assert "identical to rows already loaded" in again.reason
    assert [r[0] for r in dept.bronze()] == ["a", "b", "c", "late"]  # no copy, no new version


def test_changed_content_inside_the_look_back_is_pulled_again(dept):
    dept.commit(("a", "A", "2026-11-01 09:00:00"), ("b", "B", "2026-11-01 18:00:00"))
    dept.pull(DAY1)
    dept.update("a", "A2")  # same key, same update time, new content
    batch, _ = dept.pull(DAY2)
    assert dept.landed(batch) == ["a"] and batch.rows_reread == 1
    assert ("a", "A2", "2026-11-01 09:00:00") in dept.bronze()  # conform's SCD2 makes it the new reading


def test_a_late_commit_before_the_look_back_is_reported_by_the_reconciliation(tmp_path):
    dept = Department(tmp_path, lookback="6h")
    dept.commit(("a", "A", "2026-11-01 09:00:00"), ("b", "B", "2026-11-01 18:00:00"))
    dept.pull(DAY1)
    dept.commit(("lost", "L", "2026-11-01 08:00:00"))  # 10 h before the watermark, the look-back is 6 h
    batch, check = dept.pull(DAY2)
    assert batch.watermark_from == "2026-11-01 12:00:00" and batch.status == "empty"
    assert (check["source_keys"], check["bronze_keys"], check["missing_keys"]) == (3, 2, 1)
    assert check["missing_sample"] == "lost"
    from citybrain.ingest.reconcile import latest_reconciliations

    assert latest_reconciliations(dept.settings)["pop_resident"]["missing_keys"] == 1  # recorded in control.*


def test_null_key_rows_are_pulled_once_flagged_and_pulled_again_only_when_they_change(dept):
    dept.commit(("a", "A", "2026-11-01 09:00:00"), ("nokey", "N", None), ("junk", "J", "yesterday"))
    first, check = dept.pull(DAY1)
    assert dept.landed(first) == ["a", "junk", "nokey"] and first.null_key_rows == 2
    assert check["null_key_rows"] == 2 and check["missing_keys"] == 0
    second, check = dept.pull(DAY2)
    assert second.status == "empty" and second.rows_reread == 3  # the look-back and the two unplaced rows
    assert check["null_key_rows"] == 2  # still at the source: the reconciliation shows them every day
    dept.update("nokey", "N2")
    third, _ = dept.pull(DAY2 + timedelta(days=1))
    assert dept.landed(third) == ["nokey"] and third.null_key_rows == 1
    assert [r for r in dept.bronze() if r[0] == "nokey"] == [("nokey", "N", None), ("nokey", "N2", None)]


def test_a_batch_that_was_not_loaded_is_pulled_again(dept):
    dept.commit(("a", "A", "2026-11-01 09:00:00"))
    lost, _ = dept.pull(DAY1, load=False)  # the load failed: no watermark, no loaded window
    again, check = dept.pull(DAY1)
    assert again.batch_id == lost.batch_id and dept.landed(again) == ["a"] and again.rows_reread == 0
    assert check["pending_keys"] == 1 and check["missing_keys"] == 0


@pytest.mark.parametrize(
    "text, expected",
    [
        (None, timedelta(days=1)),  # the documented default
        ("6h", timedelta(hours=6)),
        ("90m", timedelta(minutes=90)),
        ("0", timedelta(0)),  # no look-back: the window starts at the watermark
        ("31d", timedelta(days=31)),  # the longest allowed
    ],
)
def test_lookback_durations(text, expected):
    assert make_resource(text).source.lookback == expected


@pytest.mark.parametrize("bad", ["1w", "-1d", "1.5h", "P1D", "32d", "d"])
def test_malformed_lookback_is_a_catalogue_error(bad):
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="look-back"):
        make_resource(bad)


def test_status_shows_each_database_resource_s_latest_reconciliation(tmp_path, monkeypatch):
    import json

    import typer
    from typer.testing import CliRunner

    from citybrain.cli.status_cmd import status
    from citybrain.ingest.batches import Batch
    from citybrain.ingest.control_io import append_rows
    from citybrain.ingest.reconcile import RECONCILIATION_COLUMNS, RECONCILIATION_TABLE
    from citybrain.settings import reset_settings

    monkeypatch.setenv("CITYBRAIN_LAKE_URI", str(tmp_path / "lake"))
    reset_settings()
    try:
        batch = Batch("pop_resident", "PSB", "pop_resident:20261102:abc", DAY2, "db:psb.t_resident")
        older = ("pop_resident", "pop_resident:20261101:abc", DAY1, batch.source, 9, 9, 9, 0, 0, 0, None, 0, 0,
                 cf_time(1))
        latest = ("pop_resident", batch.batch_id, DAY2, batch.source, 12, 11, 9, 1, 0, 1, "110105194912310021", 1,
                  3, cf_time(2))
        append_rows(RECONCILIATION_TABLE, RECONCILIATION_COLUMNS, [latest, older])
        app = typer.Typer()
        app.command()(status)
        rows = {r["resource"]: r for r in json.loads(CliRunner().invoke(app, ["--json"]).output)}
        check = rows["pop_resident"]["reconciliation"]
        assert (check["batch_date"], check["missing_keys"], check["missing_sample"]) == \
            ("2026-11-02", 1, "110105194912310021")
        assert rows["edu_school"]["reconciliation"] is None  # a database resource not pulled yet
        assert "reconciliation" not in rows["hotline_ticket"]  # a file drop: nothing to reconcile
        text = CliRunner().invoke(app, ["--resource", "pop_resident"], terminal_width=250).output
        assert "Database sources against bronze" in text and "110105194912310021" in text
    finally:
        monkeypatch.undo()
        reset_settings()


def cf_time(hour: int):
    from datetime import datetime

    return datetime(2026, 11, 3, hour)


def test_the_kept_window_holds_only_what_a_later_look_back_can_reread(dept, monkeypatch):
    import pyarrow.parquet as pq

    from citybrain.ingest import pull_db

    monkeypatch.setattr(pull_db, "FETCH_ROWS", 2)  # a first pull of a big table, in chunks of two rows
    dept.commit(*[(f"k{day}{hour}", "x", f"2026-10-{day:02d} {hour:02d}:00:00") for day in range(20, 32)
                  for hour in (6, 18)], ("nokey", "N", None))
    batch, _ = dept.pull(DAY1)
    assert batch.rows_pulled == 25 and batch.watermark_to == "2026-10-31 18:00:00"
    [kept] = pull_db.pulled_window_dir(dept.resource, dept.settings).glob("*.parquet")
    times = sorted(str(t) for t in pq.read_table(kept)["key_time"].to_pylist())
    assert times == ["2026-10-31 06:00:00", "2026-10-31 18:00:00", "None"]  # within 1d of the watermark, unplaced
