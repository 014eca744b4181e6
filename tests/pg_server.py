"""A throwaway PostgreSQL server for tests: initdb + pg_ctl in a temp dir on a free 127.0.0.1 port.

Use it from a test module with ``from pg_server import pg_url  # noqa: F401`` (the fixture is
session-scoped). The server binaries come from the Debian package ``postgresql``
(/usr/lib/postgresql/<version>/bin); without them the fixture fails (it never skips) and says
which package to install. As root the server runs as the ``postgres`` user through runuser,
because initdb refuses to run as root.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

INSTALL_HINT = "install the Debian package: apt-get update && apt-get install -y postgresql"


def pg_bin_dir() -> Path:
    """The newest /usr/lib/postgresql/*/bin that has initdb and pg_ctl."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if not found:
        pytest.fail(f"PostgreSQL server binaries (initdb, pg_ctl) not found under /usr/lib/postgresql/*/bin; "
                    f"{INSTALL_HINT}", pytrace=False)
    return Path(found[-1]).parent


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _runner() -> tuple[list[str], int | None, int | None]:
    """Command prefix, uid and gid to run the server as (postgres via runuser when we are root)."""
    if os.geteuid() != 0:
        return [], None, None
    try:
        user = pwd.getpwnam("postgres")
    except KeyError:
        pytest.fail(f"running as root but there is no 'postgres' user to run the server as; {INSTALL_HINT}",
                    pytrace=False)
    runuser = shutil.which("runuser") or "/usr/sbin/runuser"
    return [runuser, "-u", "postgres", "--"], user.pw_uid, user.pw_gid


class PgServer:
    """A running throwaway cluster; ``url`` is a SQLAlchemy URL for its ``postgres`` database."""

    def __init__(self) -> None:
        self.bin = pg_bin_dir()
        self.prefix, uid, gid = _runner()
        self.root = Path(tempfile.mkdtemp(prefix="citybrain-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        if uid is not None:
            os.chown(self.root, uid, gid)
        self.url = f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        cmd = [*self.prefix, *args]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            log = (self.root / "server.log")
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr or proc.stdout}\n{tail}")

    def start(self) -> PgServer:
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
                  "--locale=C", "--no-sync")
        opts = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", opts, "-l", str(self.root / "server.log"),
                  "-w", "-t", "60", "start")
        return self

    def stop(self) -> None:
        try:
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """SQLAlchemy URL of a PostgreSQL server that exists for this test session only."""
    server = PgServer().start()
    try:
        yield server.url
    finally:
        server.stop()
