"""`citybrain bench`: time the pipeline stages at a scale factor."""

from __future__ import annotations

import typer

from citybrain.cli.output import console, print_json
from citybrain.cli.params import bench_stage, scale_factor


def bench(
    scale: float = typer.Option(1.0, parser=scale_factor, help="scale factor (1 = a city of 1,000,000 residents)"),
    stage: list[str] = typer.Option(None, "--stage", "-s", parser=bench_stage,
                                    help="run only these stages (repeatable)"),
    as_json: bool = typer.Option(False, "--json", help="print results as JSON"),
) -> None:
    """Run the bench stages; write var/bench/*.json and a Markdown table."""
    from dataclasses import asdict

    from citybrain.bench import run_bench

    def show(result) -> None:
        if not as_json:
            console.print(f"[bold]{result.stage}[/] {result.seconds:.2f}s, peak {result.peak_rss_mb:.0f} MiB {result.extra}")

    results, report = run_bench(scale, stage or None, on_result=show)
    if as_json:
        print_json({"report": str(report), "results": [asdict(r) for r in results]})
    else:
        console.print(f"report: {report}")
