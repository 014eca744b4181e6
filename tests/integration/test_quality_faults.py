"""Detection against the simulator's ground truth on the tiny faulted city of the integration fixtures (every
department, every day): each fault kind of the manifest is matched with the gate that catches it (ingest
rejection, drift audit, ingest and conform quarantine, dedupe, multi-source verification) and the overall
recall is >= 0.98; the GX gates and the scorecard then run over the same lake."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def city(faulted_city):
    return faulted_city


def test_every_fault_kind_has_a_gate(city):
    from citybrain.quality.faults import FILE_KINDS, detection, format_detection
    from citybrain.sources.manifest import read_manifest

    table = detection(settings=city)
    print("\n" + format_detection(table))
    kinds = {f["kind"] for f in read_manifest(city.sources_dir / "manifest")}
    assert kinds <= set(table)
    for kind in kinds:
        assert table[kind]["gate"] != "?", kind
    for kind in kinds & {*FILE_KINDS, "schema_drift"}:
        assert table[kind]["recall"] == 1.0, (kind, table[kind])
    assert table["_overall"]["judged"] >= 50


def test_overall_recall_reaches_the_target(city):
    from citybrain.quality.faults import detection, format_detection

    table = detection(settings=city)
    assert table["_overall"]["recall"] >= 0.98, format_detection(table)


def test_gates_and_scorecard_over_the_faulted_city(city):
    from citybrain.quality.gates import run_gates
    from citybrain.quality.scorecard import build_scorecard, league_table

    # three resources with every kind of rule (identifiers, code lists, references): the whole lake's ~100
    # tables take GX minutes each on CI, the full run is the bench stage "quality"
    tables = ["silver.pop_resident", "silver.le_enterprise", "silver.health_hospital"]
    results = run_gates(tables, settings=city)
    assert results and all(r.evaluated > 0 for r in results)
    assert (city.site_dir / "quality" / "index.html").is_file()
    rows = build_scorecard(city)
    league = league_table(rows)
    assert league and all(0 <= e["score"] <= 100 for e in league)
    # faults were injected: somewhere in the city a row-level dimension is below 100
    assert min(min(r["conformity_score"], r["completeness_score"], r["accuracy_score"]) for r in rows) < 100
