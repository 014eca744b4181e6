"""Run conform work items concurrently on one SparkSession, each after the items it depends on.

Small incremental batches leave the executors idle while the driver plans queries and commits Delta
logs; a few resources in flight at once overlap that latency. Spark runs jobs from several threads.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

log = logging.getLogger(__name__)


def dependants(waits: dict[str, set[str]]) -> dict[str, int]:
    """For each name, how many names wait for it, directly or through others."""
    below: dict[str, set[str]] = {n: set() for n in waits}
    changed = True
    while changed:  # transitive closure; the graphs are a catalogue's few dozen resources
        changed = False
        for name, needs in waits.items():
            for need in needs:
                grown = below[need] | {name} | below[name]
                if grown != below[need]:
                    below[need] = grown
                    changed = True
    return {n: len(b - {n}) for n, b in below.items()}


def run_ordered(names: list[str], deps: dict[str, Iterable[str]], fn: Callable[[str], object],
                workers: int = 3) -> dict[str, object]:
    """fn(name) for every name, at most ``workers`` at a time, each after its deps (names not listed are
    ignored); returns {name: result}. The first failure stops new work and is raised when running work ends."""
    todo = list(names)
    waits = {n: {d for d in deps.get(n, ()) if d in todo and d != n} for n in todo}
    # items others wait on (directly or not) first: a long chain of dependants started late is run one by one
    # at the end while workers idle (a day's pop_household -> pop_resident -> pop_birth); ties keep the given order
    weight = dependants(waits)
    todo.sort(key=lambda n: (-weight[n], names.index(n)))
    results: dict[str, object] = {}
    if workers <= 1:
        for name in todo:
            results[name] = fn(name)
        return results
    running: dict[Future, str] = {}
    done: set[str] = set()
    failure: BaseException | None = None
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="conform") as pool:
        while todo or running:
            if failure is None:
                for name in [n for n in todo if waits[n] <= done][: workers - len(running)]:
                    todo.remove(name)
                    running[pool.submit(fn, name)] = name
            elif not running:
                break
            if not running:
                raise RuntimeError(f"conform: dependency cycle among {todo}")  # conform_order breaks cycles
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for fut in finished:
                name = running.pop(fut)
                try:
                    results[name] = fut.result()
                    done.add(name)
                except BaseException as exc:  # keep the first; let the others finish cleanly
                    log.error("conform: %s failed: %s", name, exc)
                    failure = failure or exc
    if failure is not None:
        raise failure
    return results
