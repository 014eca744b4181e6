"""Stage leases: at most one writer of a stage (conform, one department's ingestion, publish...) at a time.

Airflow pools and `max_active_runs` only order the runs one scheduler makes; a manual `citybrain` run, a
second scheduler or a second worker bypass them. Every writer of a stage therefore takes the stage's lease
first: a file created atomically (O_CREAT | O_EXCL) beside the lake, holding who holds it and a heartbeat the
holder refreshes. A second run waits for it (up to ``wait`` seconds) and then refuses with a message naming
the holder. A lease whose holder died (its process is gone on this host, or its heartbeat is older than
``ttl``: a killed run, a lost machine) is taken over, so a crash never blocks the stage for good.

Where leases live: ``<lake>/_leases/`` for a local lake (every process that writes the lake sees it), else
``<var>/leases/`` (an object-store lake: leases are then per host, one scheduler host writes the lake).
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from citybrain.settings import Settings

DEFAULT_WAIT_SECONDS = 3600.0  # how long a second writer of a stage (conform, a resource's ingestion) waits
TTL_SECONDS = 120.0  # a holder refreshes its heartbeat every TTL/4; older than TTL means the holder is gone
POLL_SECONDS = 0.5


class LeaseHeld(RuntimeError):
    """The stage's lease is held by another live run (after waiting ``wait`` seconds)."""

    def __init__(self, stage: str, holder: dict, waited: float):
        self.stage, self.holder, self.waited = stage, holder, waited
        super().__init__(
            f"{stage} is already running: pid {holder.get('pid')} on {holder.get('host')} since "
            f"{holder.get('started_at')} ({holder.get('purpose') or 'no purpose given'}); waited {waited:.0f} s. "
            "Wait for it to finish, or stop it; a lease of a dead run is taken over automatically.")


@dataclass(frozen=True)
class Lease:
    stage: str
    path: Path
    token: str


def lease_dir(settings: Settings) -> Path:
    if settings.lake_is_local:
        return Path(settings.lake_uri.removeprefix("file://")) / "_leases"
    return Path(settings.var_dir) / "leases"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _read(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (json.JSONDecodeError, OSError):  # being written this instant: treat as held, look again
        return {}


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def holder_is_gone(holder: dict, path: Path, ttl: float = TTL_SECONDS) -> bool:
    """Whether a lease's holder is dead: its process is gone on this host, or its heartbeat is stale."""
    if holder.get("host") == socket.gethostname() and isinstance(holder.get("pid"), int):
        if not _pid_alive(holder["pid"]):
            return True
    try:
        age = time.time() - path.stat().st_mtime  # the heartbeat touches the file
    except FileNotFoundError:
        return True
    return age > ttl


def try_acquire(stage: str, settings: Settings, purpose: str = "", ttl: float = TTL_SECONDS) -> Lease | dict:
    """The lease, or the current holder's record when another live run holds it."""
    folder = lease_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{stage}.lease"
    token = uuid.uuid4().hex
    record = {"stage": stage, "pid": os.getpid(), "host": socket.gethostname(), "started_at": _now(),
              "purpose": purpose, "token": token}
    for _ in range(3):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            holder = _read(path)
            if holder is None:
                continue  # released meanwhile
            if holder and holder_is_gone(holder, path, ttl):
                # take over a dead run's lease: rename it away first, so two takers cannot both remove a live one
                stale = path.with_name(f"{path.name}.stale-{token}")
                try:
                    os.replace(path, stale)
                except FileNotFoundError:
                    continue
                taken = _read(stale)
                if taken and taken.get("token") != holder.get("token"):  # a new holder came in between
                    try:
                        os.link(stale, path)  # put it back, unless yet another run created one meanwhile
                    except FileExistsError:
                        pass
                    stale.unlink(missing_ok=True)
                    return taken
                stale.unlink(missing_ok=True)
                continue
            return holder
        with os.fdopen(fd, "w") as f:
            json.dump(record, f)
        return Lease(stage, path, token)
    return _read(path) or {}


def release(lease: Lease) -> None:
    """Remove the lease if it is still ours (a run taken over as dead must not remove its successor's)."""
    holder = _read(lease.path)
    if holder and holder.get("token") == lease.token:
        lease.path.unlink(missing_ok=True)


@contextmanager
def stage_lease(stage: str, settings: Settings, *, wait: float = 0.0, purpose: str = "",
                ttl: float = TTL_SECONDS) -> Iterator[Lease]:
    """Hold ``stage``'s lease for the block: wait up to ``wait`` seconds for a live holder, else LeaseHeld."""
    started = time.monotonic()
    while True:
        got = try_acquire(stage, settings, purpose, ttl)
        if isinstance(got, Lease):
            break
        waited = time.monotonic() - started
        if waited >= wait:
            raise LeaseHeld(stage, got, waited)
        time.sleep(min(POLL_SECONDS, max(0.0, wait - waited)))
    stop = threading.Event()

    def heartbeat() -> None:
        while not stop.wait(ttl / 4):
            try:
                os.utime(got.path)
            except FileNotFoundError:
                return

    beat = threading.Thread(target=heartbeat, name=f"lease-{stage}", daemon=True)
    beat.start()
    try:
        yield got
    finally:
        stop.set()
        beat.join(timeout=1)
        release(got)
