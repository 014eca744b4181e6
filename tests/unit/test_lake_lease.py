"""Stage leases: one writer per stage, a second run waits or refuses naming the holder, a dead holder's lease
is taken over (issue 25: two conform runs at once duplicated silver rows and control-log entries)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from citybrain.lake.lease import LeaseHeld, lease_dir, stage_lease, try_acquire
from citybrain.settings import Settings

pytestmark = pytest.mark.unit

HOLD = """
import sys, time
from citybrain.lake.lease import stage_lease
from citybrain.settings import Settings
with stage_lease("conform", Settings(var_dir=sys.argv[1], lake_uri=sys.argv[2]), purpose="child"):
    print("held", flush=True)
    time.sleep(float(sys.argv[3]))
"""


@pytest.fixture
def lake(tmp_path):
    return Settings(var_dir=tmp_path, lake_uri=str(tmp_path / "lake"))


def _child(lake, seconds):
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(lake.var_dir), lake.lake_uri, str(seconds)],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_a_second_run_is_refused_with_the_holder_named_and_gets_the_lease_once_it_ends(lake):
    child = _child(lake, 2.0)
    try:
        with pytest.raises(LeaseHeld, match=rf"conform is already running: pid {child.pid} .*child"):
            with stage_lease("conform", lake, wait=0.2):
                pass
        started = time.monotonic()
        with stage_lease("conform", lake, wait=30, purpose="second") as lease:  # waits for the child's end
            assert time.monotonic() - started > 0.5
            assert json.loads(lease.path.read_text())["purpose"] == "second"
    finally:
        child.wait(timeout=30)
    assert not any(lease_dir(lake).iterdir())  # released


def test_the_lease_of_a_killed_run_is_taken_over(lake):
    child = _child(lake, 60)
    child.kill()  # kill -9: no release
    child.wait()
    assert (lease_dir(lake) / "conform.lease").exists()
    with stage_lease("conform", lake) as lease:
        assert json.loads(lease.path.read_text())["pid"] == os.getpid()


def test_a_lease_whose_heartbeat_stopped_is_taken_over(lake):
    folder = lease_dir(lake)
    folder.mkdir(parents=True)
    path = folder / "publish.lease"
    path.write_text(json.dumps({"pid": 1, "host": "another-host", "token": "x", "started_at": "2026-01-01"}))
    assert not hasattr(try_acquire("publish", lake, ttl=60), "token")  # a fresh heartbeat: held
    old = time.time() - 120
    os.utime(path, (old, old))
    assert try_acquire("publish", lake, ttl=60).stage == "publish"


def test_stages_do_not_block_each_other_and_a_lease_is_released_on_error(lake):
    with stage_lease("ingest.PSB", lake), stage_lease("ingest.AMR", lake):
        pass
    with pytest.raises(RuntimeError, match="boom"), stage_lease("conform", lake):
        raise RuntimeError("boom")
    with stage_lease("conform", lake):
        pass
