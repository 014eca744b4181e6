"""Order and failure handling of the conform work scheduler (threads only: no Spark)."""

from __future__ import annotations

import threading
import time

import pytest

from citybrain.conform.parallel import dependants, run_ordered

pytestmark = pytest.mark.unit


def test_dependants_counts_names_waiting_directly_or_through_others():
    waits = {"parcel": set(), "building": {"parcel"}, "household": {"building"}, "resident": {"household"},
             "birth": {"resident"}, "bridge": set()}
    assert dependants(waits) == {"parcel": 4, "building": 3, "household": 2, "resident": 1, "birth": 0, "bridge": 0}


def test_a_cycle_does_not_hang_the_count():
    assert dependants({"a": {"b"}, "b": {"a"}}) == {"a": 1, "b": 1}


def test_items_with_dependants_start_first_and_each_after_its_deps():
    """Two workers; the chain head comes last in the given order but starts first, so the chain overlaps the
    independent items instead of running alone at the end."""
    started, lock = [], threading.Lock()

    def work(name):
        with lock:
            started.append(name)
        time.sleep(0.05)
        return name.upper()

    names = ["x1", "x2", "x3", "head", "mid", "tail"]
    deps = {"mid": ["head"], "tail": ["mid"]}
    out = run_ordered(names, deps, work, workers=2)
    assert out == {n: n.upper() for n in names}
    assert started[0] == "head"
    assert started.index("mid") > started.index("head") and started.index("tail") > started.index("mid")
    assert started.index("mid") < started.index("x3")  # the chain is not left to the end


def test_the_first_failure_is_raised_and_stops_new_work():
    ran = []

    def work(name):
        ran.append(name)
        if name == "a":
            raise ValueError("bad a")
        return name

    with pytest.raises(ValueError, match="bad a"):
        run_ordered(["a", "b", "c"], {"b": ["a"], "c": ["b"]}, work, workers=2)
    assert ran == ["a"]
