"""`citybrain publish` (an open-data release) and `citybrain releases ...` (list, show, scan, restricted exports)."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.markup import escape

from citybrain.cli.output import console, err_console, print_json, print_table
from citybrain.opendata.privacy import DEFAULT_K, DEFAULT_THRESHOLD, RESTRICTED_K

releases_app = typer.Typer(help="Open-data releases: list, show, leak-scan, restricted exports (logged).",
                           no_args_is_help=True)


# The CLI option of each privacy parameter (the values and floors live in the policy: citybrain.opendata.build).
POLICY_OPTIONS = {"k_public": "--k", "k_restricted": "--k-restricted", "small_cell_threshold": "--threshold"}


def publish(
    threshold: int = typer.Option(DEFAULT_THRESHOLD, "--threshold",
                                  help=f"small-cell suppression threshold (at least {DEFAULT_THRESHOLD})"),
    k: int = typer.Option(DEFAULT_K, "--k", help=f"k-anonymity for public microdata (at least {DEFAULT_K})"),
    k_restricted: int = typer.Option(RESTRICTED_K, "--k-restricted",
                                     help=f"k-anonymity for restricted microdata (at least {RESTRICTED_K})"),
    as_json: bool = typer.Option(False, "--json", help="print the summary as JSON"),
) -> None:
    """Publish a release from the latest quality-passed versions; `latest` switches only if it is valid."""
    import logging

    from citybrain.opendata.build import PolicyBelowFloor, PrivacyPolicy
    from citybrain.opendata.publish import PublishFailed, run_publish
    from citybrain.settings import BuiltinKeyRefused

    try:
        policy = PrivacyPolicy(k, k_restricted, threshold)
    except PolicyBelowFloor as exc:
        err_console.print("[red]refused: " + "; ".join(
            f"{POLICY_OPTIONS[name]} {value} is below the privacy policy's floor {floor} "
            f"({PrivacyPolicy.MEANING[name]}, STANDARDS section 7)" for name, (value, floor) in exc.below.items())
            + "[/]", soft_wrap=True)
        raise typer.Exit(2) from exc
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        summary = run_publish(policy=policy)
    except BuiltinKeyRefused as exc:
        err_console.print(f"[red]refused: {escape(str(exc))}[/]", soft_wrap=True)
        raise typer.Exit(2) from exc
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
                     "datasets": len(manifest["datasets"]), "created_at": manifest["created_at"],
                     "demo": "demo" if manifest.get("demo") else ""})
    print_table(f"releases under {root}", rows, ["version", "latest", "datasets", "created_at", "demo"])


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
    print_table(f"release {manifest['version']} ({manifest['access']})"
                + (" DEMO: " + manifest["notice"] if manifest.get("demo") else ""), rows)


@releases_app.command("scan")
def scan(path: Path = typer.Argument(..., help="a release folder (or any folder of CSV files)")) -> None:
    """Run the PII leak scan on a folder; exit 1 with file, column, row and rule of every finding."""
    from citybrain.opendata.leakscan import LeakFound, scan_release

    if not path.is_dir():
        err_console.print(f"[red]{path} is not a folder: give a release folder, e.g. var/open/latest[/]")
        raise typer.Exit(2)
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
