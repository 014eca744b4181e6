import time

import pytest

from citybrain.timing import Laps, summed

pytestmark = pytest.mark.unit


def test_laps_add_the_time_since_the_previous_lap_to_each_step():
    laps = Laps()
    time.sleep(0.05)
    laps.lap("rows")
    laps.lap("write")
    time.sleep(0.05)
    laps.lap("rows")
    assert set(laps) == {"rows", "write"}
    assert laps["rows"] >= 0.1
    assert laps["write"] < 0.05


def test_steps_are_summed_over_parts_and_missing_parts_are_skipped():
    assert summed([{"rows": 1.5, "write": 2.0}, None, {"rows": 0.25}]) == {"rows": 1.75, "write": 2.0}
