"""`citybrain spark`: run the pipeline's Spark beyond one machine (standalone cluster, Spark Connect server)."""

from __future__ import annotations

import signal
import threading

import typer

from citybrain.cli.output import console
from citybrain.cli.params import CitybrainGroup, one_of

spark_app = typer.Typer(
    help="Spark beyond one machine: a standalone cluster, a Spark Connect server with Delta, their jars.",
    no_args_is_help=True, cls=CitybrainGroup,
)


@spark_app.command("connect-server")
def connect_server(
    port: int = typer.Option(15002, help="gRPC port clients connect to (sc://HOST:PORT)"),
    host: str = typer.Option("127.0.0.1", help="address to listen on; 0.0.0.0 in a container"),
    master: str = typer.Option("local[*]", help="where the server's work runs: local[*] or spark://HOST:7077"),
    cores_max: int = typer.Option(0, help="cores the server takes from a cluster (0 = the master's default)"),
    delta_plugin: str = typer.Option("auto", help="Delta Connect plugin: auto (if cached), require, off"),
) -> None:
    """Serve Spark Connect with Delta Lake in the foreground; jobs use it with CITYBRAIN_SPARK_MASTER=sc://HOST:PORT."""
    from citybrain.spark.connect_server import connect_server_command, connect_server_env
    from citybrain.spark.jars import fetch_delta_jars
    from citybrain.spark.processes import run_foreground

    one_of(delta_plugin, ("auto", "require", "off"), "Delta plugin mode", param_hint="'--delta-plugin'")
    fetch_delta_jars()  # offline no-op once cached
    argv = connect_server_command(host=host, port=port, master=master, delta_plugin=delta_plugin,
                                  cores_max=cores_max or None)
    shown = "127.0.0.1" if host == "0.0.0.0" else host
    console.print(f"[bold]Spark Connect[/] on {host}:{port} (master {master}); "
                  f"jobs: CITYBRAIN_SPARK_MASTER=sc://{shown}:{port}; Ctrl-C stops it.")
    run_foreground(argv, connect_server_env(host))


@spark_app.command("standalone")
def standalone(
    workers: int = typer.Option(1, min=0, help="workers to start next to the master"),
    port: int = typer.Option(7077, help="master port (spark://HOST:PORT)"),
    host: str = typer.Option("127.0.0.1", help="address master and workers listen on"),
    worker_cores: int = typer.Option(1, min=1, help="cores each worker offers"),
    worker_memory: str = typer.Option("2g", help="memory each worker offers to executors"),
) -> None:
    """Start a Spark standalone master and workers on this machine until Ctrl-C; jobs use CITYBRAIN_SPARK_MASTER."""
    from citybrain.spark.standalone import start_standalone

    with console.status(f"starting a Spark master and {workers} worker(s) on {host}…"):
        cluster = start_standalone(workers=workers, host=host, port=port, worker_cores=worker_cores,
                                   worker_memory=worker_memory)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        console.print(f"[bold]Spark master[/] {cluster.master_url} (UI http://{host}:{cluster.webui_port}), "
                      f"{workers} worker(s); jobs: CITYBRAIN_SPARK_MASTER={cluster.master_url}; "
                      f"logs in {cluster.master.log_path.parent}; Ctrl-C stops them.")
        while not stop.wait(1.0):
            dead = [d.name for d in [cluster.master, *cluster.workers] if not d.running]
            if dead:
                console.print(f"[red]{', '.join(dead)} stopped unexpectedly[/]; see {cluster.master.log_path.parent}")
                raise typer.Exit(1)
    finally:
        cluster.stop()


@spark_app.command("master")
def master(
    host: str = typer.Option("127.0.0.1", help="address to listen on and advertise (a container: its hostname)"),
    port: int = typer.Option(7077),
    webui_port: int = typer.Option(8080),
) -> None:
    """Run one standalone master in the foreground (a container's main process)."""
    from citybrain.spark.processes import daemon_env, run_foreground
    from citybrain.spark.standalone import master_command

    run_foreground(master_command(host, port, webui_port), daemon_env(host=host))


@spark_app.command("worker")
def worker(
    master_url: str = typer.Argument(..., help="spark://MASTER:7077"),
    host: str = typer.Option("127.0.0.1", help="address to listen on and advertise (a container: its hostname)"),
    cores: int = typer.Option(1, min=1),
    memory: str = typer.Option("2g"),
    work_dir: str = typer.Option("/tmp/spark-work", help="executors' scratch space"),
    webui_port: int = typer.Option(8081),
) -> None:
    """Run one standalone worker in the foreground (a container's main process)."""
    from citybrain.spark.processes import daemon_env, run_foreground
    from citybrain.spark.standalone import worker_command

    argv = worker_command(master_url, host=host, cores=cores, memory=memory, work_dir=work_dir,
                          webui_port=webui_port)
    run_foreground(argv, daemon_env(host=host))


@spark_app.command("jars")
def jars(
    s3a: bool = typer.Option(True, help="hadoop-aws + AWS SDK bundle for an s3a:// lake (~650 MB)"),
    connect: bool = typer.Option(True, help="the Delta Connect server plugin, when Maven Central has it"),
) -> None:
    """Fetch the jars of the scale-out deployment once (Delta, s3a, Delta Connect); later runs work offline."""
    from citybrain.spark.jars import (
        delta_connect_coordinates,
        fetch_bundle,
        fetch_connect_server_jars,
        fetch_s3a_jars,
        s3a_coordinates,
    )
    from citybrain.spark.jars import delta_coordinates as delta

    with console.status(f"fetching {delta()}…"):
        console.print(f"{delta()}: {len(fetch_bundle(delta()))} jars")
    if s3a:
        with console.status(f"fetching {s3a_coordinates()}…"):
            console.print(f"{s3a_coordinates()}: {len(fetch_s3a_jars())} jars")
    if connect:
        try:
            with console.status(f"fetching {delta_connect_coordinates()}…"):
                console.print(f"{delta_connect_coordinates()}: {len(fetch_connect_server_jars())} jars")
        except RuntimeError as exc:
            # Not published for every Spark/Delta pair: the server still serves Delta through SQL.
            console.print(f"[yellow]{delta_connect_coordinates()} is not available[/] ({str(exc).splitlines()[0]}); "
                          "the Connect server runs without it and spark_io uses Delta SQL through Connect.")
