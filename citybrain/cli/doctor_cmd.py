"""`citybrain doctor`: check the installation and say how to fix what is missing."""

from __future__ import annotations

import typer

from citybrain.cli.output import console, print_json


def doctor(
    as_json: bool = typer.Option(False, "--json", help="machine-readable output"),
    spark: bool = typer.Option(True, "--spark/--no-spark", help="also start Spark and write a Delta table"),
) -> None:
    """Check Java, Python, packages, Delta jars, Spark, Airflow home, paths and versions."""
    from citybrain.doctor import as_dicts, run_checks

    with console.status("checking the installation…", spinner="dots"):
        checks = run_checks(spark=spark)
    failed = [c for c in checks if not c.ok]
    warned = [c for c in checks if c.ok and c.warn]
    if as_json:
        print_json({"ok": not failed, "warnings": len(warned), "checks": as_dicts(checks)})
    else:
        for c in checks:
            mark = "[red]✘[/]" if not c.ok else "[yellow]![/]" if c.warn else "[green]✔[/]"
            console.print(f"{mark} [bold]{c.name}[/]: {c.detail}" + (f"\n    [yellow]fix:[/] {c.fix}" if c.fix else ""))
        console.print(f"[red]{len(failed)} check(s) failed[/]" if failed else
                      f"[green]all checks passed[/] ([yellow]{len(warned)} warning(s)[/])" if warned else
                      "[green]all checks passed[/]")
    raise typer.Exit(1 if failed else 0)
