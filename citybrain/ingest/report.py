"""Ingestion results for people: one rich table row per resource (demo, `citybrain status`)."""

from __future__ import annotations

from collections.abc import Iterable

STATUS_STYLE = {"loaded": "green", "skipped": "dim", "empty": "dim", "rejected": "bold yellow", "failed": "bold red",
                "not run": "dim"}


def _num(value) -> str:
    return "" if value is None else f"{value:,}"


def _time(value) -> str:
    return "" if value is None else f"{value:%Y-%m-%d %H:%M:%S}"


def batch_story(batch: dict) -> str:
    """A batch in one line for a task log: id, source, outcome, the row figures that reconcile, reason."""
    figures = [f"{k.removeprefix('rows_')} {batch[k]:,}" for k in ("rows_pulled", "rows_loaded", "rows_quarantined")
               if batch.get(k) is not None]
    parts = [f"batch {batch.get('batch_id')} ({batch.get('source')})", batch.get("status", "?"), ", ".join(figures)]
    if batch.get("watermark_to"):
        parts.append(f"watermark {batch.get('watermark_from') or '-'} -> {batch['watermark_to']}")
    if batch.get("reason"):
        parts.append(f"reason: {batch['reason']}")
    return " | ".join(p for p in parts if p)


def ingestion_table(results: Iterable[dict], title: str = "Ingestion", *, watermarks: bool = False):
    """A rich Table: resource, department, status, rows pulled/loaded/quarantined, rejected files, drift."""
    from rich.table import Table

    results = list(results)
    table = Table(title=title, show_footer=len(results) > 1)
    totals = {k: sum(r.get(k) or 0 for r in results)
              for k in ("rows_pulled", "rows_loaded", "rows_quarantined", "files_rejected")}
    table.add_column("resource", footer=f"{len(results)} resources", no_wrap=True)
    table.add_column("dept", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("date", no_wrap=True)
    for key, label in (("rows_pulled", "pulled"), ("rows_loaded", "loaded"), ("rows_quarantined", "quarantined"),
                       ("files_rejected", "rejected files")):
        table.add_column(label, justify="right", footer=_num(totals[key]), no_wrap=True)
    if watermarks:
        table.add_column("watermark")
        table.add_column("finished (UTC)")
    table.add_column("notes", overflow="fold", max_width=60)
    for r in results:
        style = STATUS_STYLE.get(r["status"], "")
        notes = " | ".join(x for x in (r.get("drift") and f"drift: {r['drift']}", r.get("reason")) if x)
        cells = [r["resource"], r["department"], f"[{style}]{r['status']}[/]" if style else r["status"],
                 str(r.get("logical_date") or ""), _num(r.get("rows_pulled")), _num(r.get("rows_loaded")),
                 _num(r.get("rows_quarantined")), _num(r.get("files_rejected"))]
        if watermarks:
            cells += [r.get("watermark") or "", _time(r.get("finished_at"))]
        table.add_row(*cells, notes)
    return table


def print_ingestion_report(results: Iterable[dict], title: str = "Ingestion: rows per resource", console=None) -> None:
    """Print the per-resource results of run_ingestion (what `make demo` shows)."""
    if console is None:
        from citybrain.cli.output import console
    console.print(ingestion_table(results, title))
