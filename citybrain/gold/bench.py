"""Bench stage "gold": the gold stage over the lake's current silver, timed by citybrain.bench."""

from __future__ import annotations

from citybrain.bench.harness import stage


@stage("gold")
def gold(scale: float, ctx: dict) -> dict:
    """Full then no-change run of run_gold (the second shows the cost of an idle incremental run)."""
    import time

    from citybrain.gold.job import run_gold

    settings = ctx["settings"]
    first = run_gold(settings, dashboard=True, screenshot=False)
    started = time.perf_counter()
    again = run_gold(settings, dashboard=False)
    return {"themes": len([t for t in first["tables_built"] if ".theme_" in t]),
            "indicators": len(first["indicators_computed"]), "indicator_rows": first["indicator_rows"],
            "periods": first["periods_recomputed"], "skipped": len(first["indicators_skipped"]),
            "idle_rerun_s": round(time.perf_counter() - started, 2), "idle_rerun_periods": again["periods_recomputed"]}
