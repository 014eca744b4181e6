"""Bench stage "quality": the gates over the conform bench's lake, against the conform stage's time.

Runs after "conform" (which leaves the process settings pointed at its bench lake and puts
``conform_full_s`` in the context); alone, it runs the conform stage first. Figures: ``gates_s`` (run_gates
over every silver/gold table: Arrow read at a pinned version + GX pandas validation + results + Data
Docs), ``gx_import_s`` (the one-off import of Great Expectations), and ``gates_vs_conform`` =
gates_s / conform_s (the issue's cap: 0.25 at scale 1).
"""

from __future__ import annotations

import time

from citybrain.bench.harness import stage


@stage("quality")
def quality(scale: float, ctx: dict) -> dict:
    from citybrain.settings import get_settings

    if "conform_full_s" not in ctx:
        from citybrain.conform.bench import conform

        conform(scale, ctx)
    started = time.perf_counter()
    import great_expectations  # noqa: F401

    gx_import_s = round(time.perf_counter() - started, 1)
    from citybrain.quality.gates import run_gates
    from citybrain.quality.scorecard import build_scorecard

    started = time.perf_counter()
    results = run_gates(settings=get_settings())
    gates_s = round(time.perf_counter() - started, 1)
    started = time.perf_counter()
    rows = build_scorecard(get_settings())
    scorecard_s = round(time.perf_counter() - started, 1)
    conform_s = ctx["conform_full_s"]
    return {"gates_s": gates_s, "gx_import_s": gx_import_s, "scorecard_s": scorecard_s, "tables": len(results),
            "blocked": sum(not r.passed for r in results), "expectations": sum(r.evaluated for r in results),
            "scorecard_rows": len(rows), "conform_s": conform_s,
            "gates_vs_conform": round(gates_s / conform_s, 3) if conform_s else None}
