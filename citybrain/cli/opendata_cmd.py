"""`citybrain publish` (an open-data release) and `citybrain releases ...` (list, show, scan, restricted exports)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from citybrain.cli.output import console, err_console, print_json, print_table

releases_app = typer.Typer(help="Open-data releases: list, show, leak-scan, restricted exports (logged).",
                           no_args_is_help=True)


def publish(
    threshold: int = typer.Option(10, "--threshold", help="small-cell suppression threshold"),
    k: int = typer.Option(10, "--k", help="k-anonymity for public microdata"),
    k_restricted: int = typer.Option(5, "--k-restricted", help="k-anonymity for restricted microdata"),
    as_json: bool = typer.Option(False, "--json", help="print the summary as JSON"),
) -> None:
    """Publish a release from the latest quality-passed versions; `latest` switches only if it is valid."""
    import logging

    from citybrain.opendata.build import PrivacyPolicy
    from citybrain.opendata.publish import PublishFailed, run_publish

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        summary = run_publish(policy=PrivacyPolicy(k, k_restricted, threshold))
    except PublishFailed as exc:
        err_console.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from exc
    if as_json:
        print_json(summary)
        return
    console.print(f"release {summary['version']}: {len(summary['datasets'])} datasets -> {summary['release_dir']}")
    console.print(f"restricted release -> {summary['restricted_dir']}")
    for name, reason in summary["blocked"].items():
        console.print(f"  [yellow]blocked[/] {name}: {reason}")


def _root(restricted: bool) -> Path:
    from citybrain.opendata.datasets import PUBLIC, RESTRICTED
    from citybrain.opendata.release import area
    from citybrain.settings import get_settings

    return area(get_settings().open_dir, RESTRICTED if restricted else PUBLIC)


@releases_app.command("list")
def list_releases(restricted: bool = typer.Option(False, "--restricted", help="the restricted releases")) -> None:
    """Every release with its dataset count; the one `latest` points to is marked."""
    from citybrain.opendata.release import MANIFEST, latest_dir

    root = _root(restricted)
    latest = latest_dir(root)
    rows = []
    for path in sorted((root / "releases").glob("[0-9]*")):
        manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
        rows.append({"version": path.name, "latest": "*" if latest == path else "",
                     "datasets": len(manifest["datasets"]), "created_at": manifest["created_at"]})
    print_table(f"releases under {root}", rows, ["version", "latest", "datasets", "created_at"])


@releases_app.command("show")
def show(version: str = typer.Argument("latest"),
         restricted: bool = typer.Option(False, "--restricted")) -> None:
    """The datasets of a release: status, form, rows, Delta versions read."""
    from citybrain.opendata.release import MANIFEST

    root = _root(restricted)
    path = root / "latest" if version == "latest" else root / "releases" / version
    if not (path / MANIFEST).is_file():
        err_console.print(f"[red]no release {version} under {root}[/]")
        raise typer.Exit(2)
    manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    rows = [{"dataset": name, "status": e["status"], "form": e.get("form"), "rows": e.get("rows"),
             "inputs": ", ".join(f"{t}@v{v}" for t, v in e.get("inputs", {}).items())}
            for name, e in manifest["datasets"].items()]
    print_table(f"release {manifest['version']} ({manifest['access']})", rows)


@releases_app.command("scan")
def scan(path: Path = typer.Argument(..., help="a release folder (or any folder of CSV files)")) -> None:
    """Run the PII leak scan on a folder; exit 1 with file, column, row and rule of every finding."""
    from citybrain.opendata.leakscan import LeakFound, scan_release

    try:
        scan_release(path)
    except LeakFound as exc:
        err_console.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from exc
    console.print(f"no direct identifiers found under {path}")


@releases_app.command("export")
def export(dataset: str = typer.Argument(..., help="a restricted (有条件开放) dataset"),
           to: Path = typer.Option(..., "--to", help="destination folder"),
           purpose: str = typer.Option(..., "--purpose", help="why the data is needed"),
           agreement: str = typer.Option(..., "--agreement", help="data-use agreement reference"),
           who: str | None = typer.Option(None, "--who", help="recipient (default: the OS user)")) -> None:
    """Export a restricted dataset from the latest restricted release; logged in control.open_exports."""
    from citybrain.opendata.exports import export_restricted

    try:
        row = export_restricted(dataset, to, purpose=purpose, agreement=agreement, who=who)
    except (KeyError, FileNotFoundError, ValueError) as exc:
        err_console.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from exc
    console.print(f"{dataset} ({row['rows']} rows, release {row['release']}) -> {row['destination']}; "
                  f"logged for {row['who']}")


@releases_app.command("exports")
def exports(as_json: bool = typer.Option(False, "--json")) -> None:
    """The restricted-export log: who took what, when and why."""
    from citybrain.opendata.exports import export_log

    rows = export_log()
    if as_json:
        print_json(rows)
    else:
        print_table("control.open_exports", rows, ["exported_at", "who", "dataset", "release", "rows", "purpose",
                                                   "agreement"])
