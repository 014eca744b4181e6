"""Texts a data engineer reads (quarantine reasons, reject reasons) and the DAG factory's catalogue mapping."""

import pytest

from citybrain.ingest.drift import detect_drift
from citybrain.ingest.quarantine import RULE_LENGTH, RULE_PK_NULL, render_reason
from citybrain.orchestration.dag_factory import department_doc_md, department_schedule

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def catalog():
    from citybrain.catalog import get_catalog

    return get_catalog()


def test_primary_key_reason_names_table_row_key_item_rule_and_action():
    text = render_reason(RULE_PK_NULL, table="bronze.hotline_ticket", row=17, key="none", item="ticket_no")
    assert text == ("bronze.hotline_ticket row 17 (key none): primary-key item ticket_no is empty; rule "
                    "ingest.primary_key_null: the record cannot be identified; the department must supply ticket_no")


def test_length_reason_states_the_limit():
    text = render_reason(RULE_LENGTH, table="bronze.pop_resident", row=3, key="370602199001011234",
                         item="sex", value_length=9, length=1, limit=2)
    assert "item sex holds 9 characters, the catalogue allows 1 (quarantined above 2)" in text
    assert "rule ingest.length" in text


def test_missing_primary_key_column_is_unreadable_and_names_the_likely_rename(catalog):
    from citybrain.ingest.load import missing_required_reason

    res = catalog.resource("hotline_ticket")
    columns = ["ticket_number" if c == "ticket_no" else c for c in res.item_names]
    reason = missing_required_reason(res, detect_drift(columns, res.item_names))
    assert reason.startswith("required column(s) ticket_no of bronze.hotline_ticket (primary key) are missing; "
                             "'ticket_number' looks like a rename of ticket_no (name similarity")
    # a drifted non-key column is loaded, not rejected
    columns = [c + "_new" if c == "content" else c for c in res.item_names]
    assert missing_required_reason(res, detect_drift(columns, res.item_names)) is None


@pytest.mark.parametrize(
    "cycles, schedule",
    [
        (["每日"], "@daily"),
        (["每日", "实时"], "@hourly"),  # the most frequent resource sets the pace
        (["每月", "每季度"], "@monthly"),
        (["每季度"], "@quarterly"),
        (["每年", "其他"], "@daily"),  # irregular deliveries are looked for daily
    ],
)
def test_department_schedule(cycles, schedule):
    assert department_schedule(cycles) == schedule


def test_unknown_cycle_is_named():
    with pytest.raises(ValueError, match="'每两天'"):
        department_schedule(["每两天"])


def test_doc_md_names_the_department_and_tabulates_its_resources(catalog):
    resources = catalog.resources_by_department("CMB")
    doc = department_doc_md(catalog.departments["CMB"], resources, "@daily")
    assert doc.startswith(f"# Ingestion: {catalog.departments['CMB'].name_zh} (")
    for res in resources:
        assert f"| `{res.name}` | {res.code} | {res.title_zh}" in doc
    assert "database `cmb.t_grid_event` by `updated_at`" in doc
    assert "file drop `cmb/components_*.csv` (csv, gbk)" in doc
