"""A throwaway PostgreSQL cluster for integration tests: initdb in a temp dir, 127.0.0.1, a free port.

Needs the server binaries of Debian's `postgresql` package (/usr/lib/postgresql/*/bin); .ci/run installs
it. PostgreSQL refuses to run as root, so as root the cluster runs as the `postgres` system user.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

APT_PACKAGE = "postgresql"


class PgUnavailable(RuntimeError):
    """The PostgreSQL server binaries are missing or the cluster did not start: says how to fix it."""


def pg_bindir() -> Path:
    """The newest installed server bin directory (holds initdb, pg_ctl, postgres)."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if candidates:
        return Path(candidates[-1]).parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    raise PgUnavailable(
        "PostgreSQL server binaries (initdb, pg_ctl) are not installed: install the Debian package "
        f"`{APT_PACKAGE}` (apt-get install -y {APT_PACKAGE}); .ci/run does this when "
        "/usr/lib/postgresql/*/bin/initdb is missing."
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class PgCluster:
    """A running throwaway cluster; `url(db)` is its SQLAlchemy URL (trust auth on 127.0.0.1 only)."""

    root: Path
    port: int
    user: str = "citybrain"
    bindir: Path = field(default_factory=pg_bindir)
    _as_postgres: bool = field(default=False, repr=False)

    @property
    def datadir(self) -> Path:
        return self.root / "data"

    @property
    def logfile(self) -> Path:
        return self.root / "postgres.log"

    def url(self, database: str = "postgres", driver: str = "postgresql+psycopg2") -> str:
        return f"{driver}://{self.user}@127.0.0.1:{self.port}/{database}"

    def _run(self, *argv: str, timeout: float = 60) -> subprocess.CompletedProcess:
        cmd = [str(self.bindir / argv[0]), *argv[1:]]
        if self._as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        if proc.returncode != 0:
            log = self.logfile.read_text(errors="replace")[-2000:] if self.logfile.exists() else ""
            raise PgUnavailable(f"`{' '.join(argv)}` failed (exit {proc.returncode}): {proc.stderr[-2000:]}\n{log}")
        return proc

    def start(self) -> PgCluster:
        self._as_postgres = os.geteuid() == 0
        if self._as_postgres:
            try:
                pw = pwd.getpwnam("postgres")
            except KeyError as exc:
                raise PgUnavailable(
                    "running as root but there is no `postgres` system user to run the server as: "
                    f"install the Debian package `{APT_PACKAGE}` (it creates the user)"
                ) from exc
            os.chown(self.root, pw.pw_uid, pw.pw_gid)
        self._run("initdb", "-D", str(self.datadir), "-U", self.user, "--auth=trust", "--encoding=UTF8",
                  "--no-sync", "--locale=C")
        # Sockets in our own dir (not /var/run/postgresql, which may be absent or owned by another cluster);
        # fsync off: a throwaway cluster trades durability for speed.
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=50")
        self._run("pg_ctl", "-D", str(self.datadir), "-o", options, "-l", str(self.logfile), "-w", "-t", "60",
                  "start", timeout=90)
        return self

    def create_database(self, name: str) -> str:
        """Create a database owned by the cluster's superuser; returns its SQLAlchemy URL."""
        import psycopg2

        conn = psycopg2.connect(host="127.0.0.1", port=self.port, user=self.user, dbname="postgres")
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(f'CREATE DATABASE "{name}"')
        finally:
            conn.close()
        return self.url(name)

    def query(self, database: str, sql: str, params: tuple = ()) -> list[tuple]:
        import psycopg2

        conn = psycopg2.connect(host="127.0.0.1", port=self.port, user=self.user, dbname=database)
        try:
            with conn.cursor() as cur:
                cur.execute(sql, params)
                return cur.fetchall()
        finally:
            conn.close()

    def stop(self) -> None:
        """Immediate shutdown (bounded wait) and removal of the cluster's files; idempotent."""
        if (self.datadir / "postmaster.pid").exists():
            try:
                self._run("pg_ctl", "-D", str(self.datadir), "-m", "immediate", "-w", "-t", "20", "stop", timeout=30)
            except (PgUnavailable, subprocess.TimeoutExpired):
                _kill_postmaster(self.datadir)
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> PgCluster:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def _kill_postmaster(datadir: Path) -> None:
    try:
        pid = int((datadir / "postmaster.pid").read_text().split()[0])
        os.kill(pid, 9)
        time.sleep(0.5)
    except (OSError, ValueError, IndexError):
        pass


def start_pg_cluster(prefix: str = "citybrain-pg-") -> PgCluster:
    """Start a fresh cluster in a new temp dir; the caller stops it (or uses it as a context manager)."""
    bindir = pg_bindir()
    root = Path(tempfile.mkdtemp(prefix=prefix))
    os.chmod(root, 0o700)
    cluster = PgCluster(root=root, port=_free_port(), bindir=bindir)
    try:
        return cluster.start()
    except BaseException:
        cluster.stop()
        raise
