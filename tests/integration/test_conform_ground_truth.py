"""Conform against the simulator's ground truth: the tiny faulted city of the integration fixtures (every
department, every day, default fault rate) ingested day by day and conformed; recall and precision per kind."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration

TARGET = 0.98
MIN_JUDGED = 5  # a kind with fewer judged faults says little; the table still shows it


@pytest.fixture(scope="module")
def scores(faulted_city):
    from citybrain.conform.evaluate import evaluate, format_table

    result = evaluate(settings=faulted_city)
    print("\n" + format_table(result))
    return result


def test_every_owned_kind_is_scored(scores):
    from citybrain.conform.evaluate import OWNED

    assert set(OWNED) <= set(scores)
    judged = {k: s["judged"] for k, s in scores.items()}
    assert sum(judged.values()) >= 50, judged


@pytest.mark.parametrize("kind", ["invalid_check_char", "impossible_date", "missing_required", "out_of_range",
                                  "code_not_in_list", "orphan_reference", "encoding_damage", "exact_duplicate",
                                  "near_duplicate", "copy_disagreement", "late_arriving"])
def test_recall_and_precision_per_kind(scores, kind):
    s = scores[kind]
    if s["judged"] < MIN_JUDGED:
        pytest.fail(f"{kind}: only {s['judged']} fault(s) reached conform at this scale; raise the scale or days")
    assert s["recall"] >= TARGET, f"{kind}: recall {s['recall']} ({s['detected']} of {s['judged']}); missed {s['missed']}"
    if s["precision"] is not None:
        assert s["precision"] >= TARGET, (f"{kind}: precision {s['precision']} ({s['correct']} of {s['flagged']}); "
                                          f"wrongly flagged {s['wrongly_flagged']}")
