"""Long-running Spark daemons (master, worker, Connect server) started, awaited and stopped without orphans."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pyspark

from citybrain.settings import Settings, get_settings
from citybrain.spark.session import s3_credentials_env

SPARK_HOME = Path(pyspark.__file__).parent
LOG4J_CONF = Path(__file__).with_name("log4j2.properties")


class SparkDaemonError(RuntimeError):
    """A Spark daemon did not come up: names the daemon, its log and what to check."""


def spark_bin(name: str) -> str:
    """A script of the pyspark install (spark-class, spark-submit), so daemons match the client's Spark."""
    path = SPARK_HOME / "bin" / name
    if not path.exists():
        raise SparkDaemonError(f"{path} is missing: pyspark is not installed completely; run `make venv`")
    return str(path)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def is_loopback(host: str) -> bool:
    return host == "localhost" or host.startswith("127.")


# Master and worker only coordinate: the C1 compiler and serial GC start faster and cost less CPU.
COORDINATOR_JAVA_OPTS = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"


def daemon_env(extra: dict[str, str] | None = None, *, host: str = "127.0.0.1", coordinator: bool = True,
               settings: Settings | None = None) -> dict[str, str]:
    """Environment of a daemon serving on `host`: this Python for PySpark workers, Spark's own home, quiet logs,
    the lake's S3 key pair (s3_credentials_env: a worker passes its environment to its executors).

    `coordinator` (master, worker) adds light JVM options; the Connect server is a driver doing real work,
    and spark-submit passes the daemon options to it too, so it keeps the driver's own.
    """
    env = dict(os.environ)
    if is_loopback(host):
        env["SPARK_LOCAL_IP"] = host
    elif is_loopback(env.get("SPARK_LOCAL_IP", "")):
        # The embedded defaults pin Spark to loopback; a daemon serving other hosts must not inherit that.
        del env["SPARK_LOCAL_IP"]
    env = {
        **env,
        "SPARK_HOME": str(SPARK_HOME),
        "PYSPARK_PYTHON": os.environ.get("PYSPARK_PYTHON", sys.executable),
        "PYSPARK_DRIVER_PYTHON": os.environ.get("PYSPARK_DRIVER_PYTHON", sys.executable),
        # Master and worker daemons need little heap; executors get their own.
        "SPARK_DAEMON_MEMORY": os.environ.get("SPARK_DAEMON_MEMORY", "512m"),
        "SPARK_DAEMON_JAVA_OPTS": f"-Dlog4j2.configurationFile={LOG4J_CONF}"
                                  + (f" {COORDINATOR_JAVA_OPTS}" if coordinator else ""),
        "SPARK_NO_DAEMONIZE": "1",
        **s3_credentials_env(settings or get_settings()),
    }
    env.update(extra or {})
    return env


@dataclass
class Daemon:
    """One started JVM daemon: its process (own process group), the address it serves and its log."""

    name: str
    argv: list[str]
    host: str
    port: int
    log_path: Path
    env: dict[str, str] = field(default_factory=dict, repr=False)
    proc: subprocess.Popen | None = field(default=None, repr=False)

    def start(self) -> Daemon:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            # A new session: stop() signals the whole group (spark-class's java child included).
            self.proc = subprocess.Popen(self.argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         env=self.env or None, start_new_session=True)
        return self

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def wait_until_listening(self, timeout: float = 90.0) -> Daemon:
        """Block until the daemon accepts TCP connections; raise with its log tail if it dies or times out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if port_open(self.host, self.port):
                return self
            if not self.running:
                code = self.proc.returncode if self.proc else None
                raise SparkDaemonError(
                    f"{self.name} exited (code {code}) before listening on {self.host}:{self.port}; "
                    f"log {self.log_path}:\n{self.log_tail()}"
                )
            time.sleep(0.25)
        self.stop()
        raise SparkDaemonError(
            f"{self.name} did not listen on {self.host}:{self.port} within {timeout:.0f}s (stopped it); "
            f"log {self.log_path}:\n{self.log_tail()}"
        )

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM the daemon's process group, SIGKILL it after `timeout` seconds; idempotent."""
        if self.proc is None or self.proc.poll() is not None:
            return
        _signal_group(self.proc, signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _signal_group(self.proc, signal.SIGKILL)
            self.proc.wait(timeout=10)
        # spark-class execs java, but a wrapper shell may leave children behind: clear the group.
        _signal_group(self.proc, signal.SIGKILL)

    def __enter__(self) -> Daemon:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)  # the pid leads its own group (start_new_session)
    except (ProcessLookupError, PermissionError):
        pass


def run_foreground(argv: list[str], env: dict[str, str]) -> None:
    """Replace this process with the daemon (containers and the CLI): signals reach the JVM directly."""
    os.execvpe(argv[0], argv, env)
