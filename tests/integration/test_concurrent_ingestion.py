"""Two ingestion runs of one department for the same date at once (issue 25: both succeeded and wrote two
"loaded" audit rows per batch, and the watermark differed from a single run): the same bronze, one loaded
row per batch and the same watermark as one run."""

from __future__ import annotations

import threading
from collections import Counter

import pytest

pytestmark = pytest.mark.integration

RESOURCE = "city_bridge_tunnel"  # HUD: one small database resource


def _lake(settings, root):
    from citybrain.settings import Settings

    return Settings(var_dir=settings.var_dir, lake_uri=str(root / "lake"), sources_dir=settings.sources_dir)


def _ingest(day, run_id, lake, start=None):
    from citybrain.ingest.load import load_resource
    from citybrain.ingest.pull import pull_resource

    if start is not None:
        start.wait()
    return load_resource(pull_resource(RESOURCE, day, run_id=run_id, settings=lake), lake)


def _state(lake):
    from citybrain.ingest import audit
    from citybrain.ingest.watermarks import current_watermark
    from citybrain.lake import arrow_io

    rows = sorted(repr(sorted((k, v) for k, v in r.items() if k not in ("_ingest_time", "_extract_time", "_batch_id")))  # times of the pull
                  for r in arrow_io.read_rows(f"bronze.{RESOURCE}", lake))
    loaded = [r["batch_id"] for r in audit.read_rows(audit.BATCHES_TABLE, RESOURCE, lake) if r["status"] == "loaded"]
    return rows, loaded, current_watermark(RESOURCE, lake)


def test_two_runs_of_one_date_at_once_load_once(generated_sources, source_days, tmp_path, settings):
    day = source_days[0]
    single = _lake(settings, tmp_path / "single")
    _ingest(day, "single", single)
    expected_rows, expected_loaded, expected_mark = _state(single)

    both = _lake(settings, tmp_path / "both")
    start, outcomes, errors = threading.Barrier(2), {}, []

    def run(run_id):
        try:
            outcomes[run_id] = _ingest(day, run_id, both, start)
        except Exception as exc:  # noqa: BLE001 (asserted below)
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(f"manual__{i}",)) for i in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    assert not errors, errors
    rows, loaded, mark = _state(both)
    assert rows == expected_rows and mark == expected_mark
    assert len(loaded) == len(expected_loaded) and not [b for b, n in Counter(loaded).items() if n > 1]
    # the runs queue on the resource's lease: the second either pulled before the first loaded (its load then
    # skips the batch, naming the first run) or after (its pull finds nothing new)
    [first, second] = sorted((b for run in outcomes.values() for b in run), key=lambda b: b["status"] != "loaded")
    assert first["status"] == "loaded" and second["status"] in ("skipped", "empty"), outcomes
    if second["status"] == "skipped":
        assert "already loaded by run manual__" in second["reason"]
