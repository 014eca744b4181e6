"""Two conform runs at once (issue 25: a manual run beside the scheduled one left a duplicated silver row and
duplicated control.conformed_batches entries): one writes, the other waits for its lease and then finds
nothing pending, or refuses naming the running one when it may not wait."""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest
from test_conform_history import D1, DAYS, write_bronze

pytestmark = pytest.mark.spark

RESOURCES = ["pop_resident", "si_insured"]


def test_two_conform_runs_at_once_write_once_and_a_third_that_may_not_wait_is_refused(spark, tmp_path):
    from citybrain.conform.job import run_conform
    from citybrain.lake import arrow_io
    from citybrain.lake.lease import LeaseHeld, lease_dir
    from citybrain.settings import Settings, get_settings

    settings = Settings(var_dir=get_settings().var_dir, lake_uri=str(tmp_path / "lake"))
    for resource in RESOURCES:
        write_bronze(spark, settings, resource, D1, DAYS[D1][resource])
    start, results, errors = threading.Barrier(2), {}, []

    def run(name):
        start.wait()
        try:
            results[name] = run_conform(RESOURCES, settings=settings, workers=1, wait=600)
        except Exception as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in ("scheduled", "manual")]
    for t in threads:
        t.start()
    lease = lease_dir(settings) / "conform.lease"
    deadline = time.monotonic() + 120
    while not lease.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    with pytest.raises(LeaseHeld, match="conform is already running"):
        run_conform(RESOURCES, settings=settings, wait=0)
    for t in threads:
        t.join(timeout=900)
    assert not errors, errors
    assert sorted(bool(r["resources"]) for r in results.values()) == [False, True]  # one wrote, one found nothing

    current = [r["id_number"] for r in arrow_io.read_rows("silver.pop_resident", settings) if r["is_current"]]
    assert current and not [k for k, n in Counter(current).items() if n > 1]
    logged = [(r["resource"], r["batch_id"]) for r in arrow_io.read_rows("control.conformed_batches", settings)]
    assert sorted(set(logged)) == sorted(logged) and {r for r, _ in logged} == set(RESOURCES)
    assert not lease.exists()
