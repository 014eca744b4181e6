"""Null markers in the catalogue: the list, its validation and a resource's change to it (pure Python)."""

from __future__ import annotations

import pytest
from catalog_fixtures import POP, baseline, errors_of, variant, write_catalog
from hypothesis import given
from hypothesis import strategies as st

from citybrain.catalog import load_catalog
from citybrain.catalog.fields import null_marker_key
from citybrain.catalog.models import NullMarker, NullMarkerOverride

pytestmark = pytest.mark.unit

MARKERS = "reference/null_markers.yaml"


def _markers(*texts: str) -> dict:
    return {"null_markers": [{"text": t, "meaning": "测试"} for t in texts]}


def _with(markers: dict | None = None, override: dict | None = None) -> dict:
    files = variant()
    if markers is not None:
        files[MARKERS] = markers
    if override is not None:
        files[POP]["null_markers"] = override
    return files


def _conform_markers(root):
    from citybrain.conform.catalog import load_catalog as conform_catalog

    return conform_catalog(root, use_loader=False).resource("pop_resident").items[0].null_markers


def test_the_shipped_list_holds_the_markers_departments_write():
    cat = load_catalog()
    assert {"NULL", "N/A", "#N/A", "无", "空", "-", "—"} <= set(cat.null_markers)
    assert len({null_marker_key(m) for m in cat.null_markers}) == len(cat.null_markers)  # unique ignoring case


def test_the_list_is_optional_and_a_resource_changes_it(tmp_path):
    assert load_catalog(write_catalog(tmp_path / "none", baseline())).null_markers == ()  # only blank is null
    root = write_catalog(tmp_path / "some", _with(_markers("NULL", "-", "无"), {"add": ["不详"], "remove": ["-"]}))
    assert load_catalog(root).null_markers == ("NULL", "-", "无")
    assert _conform_markers(root) == ("NULL", "无", "不详")  # '-' is a value in this resource, 不详 a marker


@pytest.mark.parametrize(("markers", "override", "error"), [
    (_markers("NULL", "null"), None,  # one marker twice, in another case
     f"{MARKERS}: null marker null: text: duplicate null marker: 'NULL' is listed already (markers compare ignoring "
     "case)"),
    (_markers("ＮＵＬＬ"), None,  # conform compares half-width text: this would never match
     f"{MARKERS}: null marker ＮＵＬＬ: text: null marker 'ＮＵＬＬ' must be non-blank half-width text"),
    (_markers("  "), None,  # blank is always null, not a marker
     f"{MARKERS}: null marker   : text: null marker '' must be non-blank half-width text"),
    ({"null_markers": [{"text": "N/A"}]}, None,  # every marker says what it means
     f"{MARKERS}: null marker N/A: meaning: required field is missing"),
    (_markers("NULL"), {"remove": ["-"]},  # removing a marker the catalogue does not list is a typo
     "resources/population/pop_resident.yaml: resource pop_resident: null_markers.remove: '-' is not a catalogue "
     "null marker (reference/null_markers.yaml: NULL)"),
    (_markers("NULL"), {"add": ["null"]},  # adding a catalogue marker again
     "resources/population/pop_resident.yaml: resource pop_resident: null_markers.add: 'null' is a catalogue null "
     "marker already (reference/null_markers.yaml)"),
    (_markers("NULL"), {"drop": ["NULL"]},  # unknown keys are errors
     "resources/population/pop_resident.yaml: resource pop_resident: null_markers.drop: unknown field"),
])
def test_invalid_markers_are_reported_with_file_entry_and_field(tmp_path, markers, override, error):
    errors = errors_of(tmp_path, _with(markers, override))
    assert any(e.startswith(error) for e in errors), errors


TEXT = st.text(st.sampled_from("NULAn/#-无空不详x"), min_size=1, max_size=4)


@given(markers=st.lists(TEXT, unique_by=null_marker_key, max_size=6), add=st.lists(TEXT, max_size=3),
       remove=st.lists(TEXT, max_size=3))
def test_an_override_removes_markers_ignoring_case_and_adds_its_own(markers, add, remove):
    out = NullMarkerOverride(add=add, remove=remove).apply(markers)
    removed = {null_marker_key(r) for r in remove}
    assert [m for m in out[:len(out) - len(add)]] == [m for m in markers if null_marker_key(m) not in removed]
    assert list(out[len(out) - len(add):]) == add  # added markers come last, as written


def test_a_marker_is_stripped_like_every_catalogue_text():
    assert NullMarker(text=" N/A ", meaning="不适用").text == "N/A"
