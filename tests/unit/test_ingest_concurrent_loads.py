"""Two ingestion runs of one date at once (issue 25): the second loader waits for the first (a stage lease per
resource) and then records the batches the first loaded as skipped, naming that run, instead of loading them
again (two "loaded" audit rows per batch, watermarks that differed from a single run)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from citybrain.ingest import audit
from citybrain.ingest.batches import LOADED, PENDING, SKIPPED, Batch
from citybrain.ingest.load import skip_loaded_meanwhile
from citybrain.settings import Settings

pytestmark = pytest.mark.unit

T0 = datetime(2026, 11, 2, 1, 0, 0)


def _batch(run_id: str, started: datetime, **kw) -> Batch:
    return Batch("grid_event", "CMB", "grid_event:20261101:abc123", date(2026, 11, 1), "db:cmb.t_grid_event",
                 status=kw.pop("status", PENDING), checksum="sha-1", run_id=run_id, started_at=started, **kw)


@pytest.fixture
def lake(tmp_path):
    return Settings(var_dir=tmp_path, lake_uri=str(tmp_path / "lake"))


def test_a_batch_another_run_loaded_after_this_pull_is_skipped_naming_that_run(lake):
    audit.record_batches([_batch("manual__1", T0, status=LOADED, rows_pulled=3, rows_loaded=3,
                                 finished_at=T0 + timedelta(seconds=40))], lake)
    second = _batch("scheduled__1", T0 + timedelta(seconds=5))  # pulled while the first was still loading
    skip_loaded_meanwhile([second], lake)
    assert second.status == SKIPPED and "already loaded by run manual__1" in second.reason


@pytest.mark.parametrize("case", ["reload after the load", "same run retried", "other delivery"])
def test_reloads_retries_and_other_deliveries_still_load(lake, case):
    audit.record_batches([_batch("manual__1", T0, status=LOADED, finished_at=T0 + timedelta(seconds=40))], lake)
    batch = {"reload after the load": _batch("manual__2", T0 + timedelta(hours=1)),
             "same run retried": _batch("manual__1", T0 + timedelta(seconds=5)),
             "other delivery": _batch("scheduled__1", T0 + timedelta(seconds=5), file_name="x")}[case]
    if case == "other delivery":
        batch.checksum = "sha-2"
    skip_loaded_meanwhile([batch], lake)
    assert batch.status == PENDING
