"""kill -9 during conform (issue 25): at every instant each table is absent or readable (a `_delta_log/`
without a commit is no table), the killed run's lease is taken over, and a re-run converges to the content of
an uninterrupted run."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "spark"))  # the inline bronze of the conform history tests
from test_conform_history import D1, DAYS, SILVER, TS, content_hash, write_bronze  # noqa: E402

pytestmark = pytest.mark.integration

RESOURCES = ["pop_resident", "pop_death", "si_insured"]
NOW = TS(2026, 11, 1, 23)
RUN = """
import datetime as dt, sys
from citybrain.conform.job import run_conform
from citybrain.settings import Settings
settings = Settings(var_dir=sys.argv[1], lake_uri=sys.argv[2])
run_conform(sys.argv[3].split(","), settings=settings, now=dt.datetime.fromisoformat(sys.argv[4]), workers=1)
"""


def _every_table_absent_or_readable(lake) -> list[str]:
    from citybrain.lake import arrow_io
    from citybrain.lake.names import TableName

    root, read = Path(lake.lake_uri), []
    for log in sorted(root.glob("*/*/_delta_log")):
        name = TableName(log.parent.parent.name, log.parent.name)
        if arrow_io.table_exists(name, lake):
            arrow_io.read_arrow(name, settings=lake)  # raises if a committed table cannot be read
            read.append(str(name))
    return read


def test_a_conform_run_killed_anywhere_leaves_readable_tables_and_its_rerun_converges(spark, tmp_path):
    from citybrain.conform.job import run_conform
    from citybrain.lake.lease import lease_dir
    from citybrain.settings import Settings, get_settings

    var = get_settings().var_dir

    def lake_at(name):
        return Settings(var_dir=var, lake_uri=str(tmp_path / name))

    base = lake_at("base")
    for resource in RESOURCES:
        if resource in DAYS[D1]:
            write_bronze(spark, base, resource, D1, DAYS[D1][resource])
    reference = lake_at("reference")
    shutil.copytree(base.lake_uri, reference.lake_uri)
    run_conform(RESOURCES, settings=reference, now=NOW, workers=1)
    expected = {t: content_hash(spark, reference, t) for t in SILVER if t != "silver.pop_death"}

    # kill the instant the run creates its first silver table (a _delta_log/ being written), and a few seconds
    # into its writes (history MERGEs, golden records, control logs)
    for i, after in enumerate((0.0, 4.0)):
        lake = lake_at(f"killed-{i}")
        shutil.copytree(base.lake_uri, lake.lake_uri)
        proc = subprocess.Popen([sys.executable, "-c", RUN, str(var), lake.lake_uri, ",".join(RESOURCES),
                                 NOW.isoformat()])
        lease = lease_dir(lake) / "conform.lease"
        deadline = time.monotonic() + 300
        while (not list(Path(lake.lake_uri).glob("silver/*/_delta_log")) and proc.poll() is None
               and time.monotonic() < deadline):
            time.sleep(0.02)
        time.sleep(after)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        _every_table_absent_or_readable(lake)  # at the instant of the kill
        assert lease.exists() or proc.returncode == 0
        run_conform(RESOURCES, settings=lake, now=NOW, workers=1, wait=5)  # takes the dead run's lease over
        assert {t: content_hash(spark, lake, t) for t in expected} == expected, f"killed {after}s in"
        assert not lease.exists()
