"""A Spark standalone cluster (one master, N workers) from the pyspark install: jobs run on it unchanged."""

from __future__ import annotations

import json
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from citybrain.spark.processes import Daemon, SparkDaemonError, daemon_env, free_port, spark_bin

MASTER_CLASS = "org.apache.spark.deploy.master.Master"
WORKER_CLASS = "org.apache.spark.deploy.worker.Worker"


def master_command(host: str = "127.0.0.1", port: int = 7077, webui_port: int = 8081) -> list[str]:
    """The command line of a standalone master bound to `host`."""
    return [spark_bin("spark-class"), MASTER_CLASS, "--host", host, "--port", str(port),
            "--webui-port", str(webui_port)]


def worker_command(master_url: str, *, host: str = "127.0.0.1", cores: int = 1, memory: str = "1g",
                   work_dir: Path | str | None = None, webui_port: int = 8082) -> list[str]:
    """The command line of a worker offering `cores` and `memory` to the master at `master_url`."""
    argv = [spark_bin("spark-class"), WORKER_CLASS, master_url, "--host", host, "--cores", str(cores),
            "--memory", memory, "--webui-port", str(webui_port)]
    if work_dir is not None:
        argv += ["--work-dir", str(work_dir)]  # executors' scratch space; never inside the venv
    return argv


@dataclass
class StandaloneCluster:
    """A running master and its workers; `master_url` is what CITYBRAIN_SPARK_MASTER gets."""

    host: str
    port: int
    webui_port: int
    master: Daemon
    workers: list[Daemon] = field(default_factory=list)

    @property
    def master_url(self) -> str:
        return f"spark://{self.host}:{self.port}"

    def status(self) -> dict:
        """The master's JSON status page ({} while it is not up)."""
        try:
            with urllib.request.urlopen(f"http://{self.host}:{self.webui_port}/json/", timeout=2) as resp:
                return json.load(resp)
        except OSError:
            return {}

    def alive_workers(self) -> int:
        """Workers the master has registered."""
        return int(self.status().get("aliveworkers", 0))

    def applications(self) -> dict[str, int]:
        """How many applications (drivers) are running on the cluster and how many have finished."""
        status = self.status()
        return {"active": len(status.get("activeapps", [])), "completed": len(status.get("completedapps", []))}

    def wait_for_workers(self, count: int, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.alive_workers() >= count:
                return
            dead = [w for w in self.workers if not w.running]
            if dead:
                raise SparkDaemonError(
                    f"{dead[0].name} exited before registering with {self.master_url}; "
                    f"log {dead[0].log_path}:\n{dead[0].log_tail()}"
                )
            time.sleep(0.25)
        raise SparkDaemonError(
            f"only {self.alive_workers()} of {count} workers registered with {self.master_url} within "
            f"{timeout:.0f}s; logs: {', '.join(str(w.log_path) for w in self.workers)}"
        )

    def stop(self) -> None:
        """Stop workers first (they would try to reconnect), then the master."""
        for worker in self.workers:
            worker.stop()
        self.master.stop()

    def __enter__(self) -> StandaloneCluster:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def start_standalone(
    *,
    workers: int = 1,
    host: str = "127.0.0.1",
    port: int | None = None,
    worker_cores: int = 1,
    worker_memory: str = "1g",
    log_dir: Path | str | None = None,
    timeout: float = 90.0,
) -> StandaloneCluster:
    """Start a master and `workers` workers on `host` (free ports by default) and wait until all registered."""
    base = Path(log_dir) if log_dir else Path(tempfile.mkdtemp(prefix="citybrain-standalone-"))
    port = port or free_port(host)
    webui_port = free_port(host)
    env = daemon_env(host=host)
    master = Daemon("spark master", master_command(host, port, webui_port), host, port,
                    base / "master.log", env=env)
    cluster = StandaloneCluster(host, port, webui_port, master.start())
    try:
        master.wait_until_listening(timeout)
        for index in range(workers):
            work_dir = base / f"worker-{index}"
            work_dir.mkdir(parents=True, exist_ok=True)
            argv = worker_command(cluster.master_url, host=host, cores=worker_cores, memory=worker_memory,
                                  work_dir=work_dir, webui_port=free_port(host))
            worker = Daemon(f"spark worker {index}", argv, host, 0, base / f"worker-{index}.log", env=env)
            cluster.workers.append(worker.start())
        cluster.wait_for_workers(workers, timeout)
    except BaseException:
        cluster.stop()
        raise
    return cluster
