"""File-drop patterns stay inside their department's folder: the catalogue refuses any other pattern, and the
puller refuses a drop that resolves outside the folder (a symlink), as a rejected batch that names it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path, PurePosixPath

import pytest
from catalog_fixtures import PATIENT, errors_of, variant
from hypothesis import given
from hypothesis import strategies as st

from citybrain.catalog.fields import DROP_PATTERN_RE
from citybrain.catalog.models import Resource

pytestmark = pytest.mark.unit
WHERE = "resources/health/health_patient_index.yaml: resource health_patient_index: source.pattern: "


def _file_source(pattern: str, fmt: str = "csv"):
    def breaker(files):
        files[PATIENT]["source"] = {"kind": "file", "pattern": pattern, "format": fmt}
        files[PATIENT]["incremental_key"] = None
    return breaker


@pytest.mark.parametrize(("pattern", "fmt", "expected"), [
    # the reported traversal: climbs out of files/ to another folder
    ("../../../outside/tickets_*.csv", "csv", "file pattern '../../../outside/tickets_*.csv' is not "
     "<department folder>/<stem>_*.<ext> (relative, one folder deep, lower-case snake_case names, e.g. "
     "hotline/tickets_*.csv)"),
    ("/etc/tickets_*.csv", "csv", "file pattern '/etc/tickets_*.csv' is not"),  # absolute
    ("health/../psb/tickets_*.csv", "csv", "file pattern 'health/../psb/tickets_*.csv' is not"),  # climbs inside
    ("health/sub/tickets_*.csv", "csv", "file pattern 'health/sub/tickets_*.csv' is not"),  # a second folder
    ("health/**/tickets_*.csv", "csv", "file pattern 'health/**/tickets_*.csv' is not"),  # recursive glob
    ("health\\tickets_*.csv", "csv", "file pattern 'health\\\\tickets_*.csv' is not"),  # Windows separator
    ("tickets_*.csv", "csv", "file pattern 'tickets_*.csv' is not"),  # no department folder
    ("health/tickets_*.c*", "csv", "file pattern 'health/tickets_*.c*' is not"),  # a second wildcard
    # well-formed but another department's folder, or an extension the format does not read
    ("psb/tickets_*.csv", "csv", "file pattern 'psb/tickets_*.csv' must lie in the provider's folder health/ "
     "(files/<provider lower>/<stem>_*.<ext>)"),
    ("health/tickets_*.csv", "jsonl", "file pattern 'health/tickets_*.csv' must end in .jsonl (source.format jsonl)"),
])
def test_catalogue_refuses_patterns_outside_the_department_folder(tmp_path, pattern, fmt, expected):
    files = variant()
    _file_source(pattern, fmt)(files)
    errors = errors_of(tmp_path, files)
    assert any(e.startswith(WHERE + expected) for e in errors), "\n".join(errors)


def test_a_pattern_in_the_providers_folder_is_valid(tmp_path):
    from catalog_fixtures import write_catalog

    from citybrain.catalog import load_catalog

    files = variant()
    _file_source("health/patients_*.csv")(files)
    assert load_catalog(write_catalog(tmp_path, files)).resource("health_patient_index").source.pattern == \
        "health/patients_*.csv"


_PIECES = st.sampled_from(["..", ".", "", "health", "psb", "a_b", "*", "**", "x*", "~", "\\", "tickets_*.csv",
                           "t_*.jsonl", "C", "é"])


@given(st.lists(_PIECES, min_size=1, max_size=5), st.booleans())
def test_every_accepted_pattern_globs_inside_one_folder(pieces, absolute):
    # Property: whatever a catalogue author writes, a pattern the model accepts names one relative folder and
    # a file name with a single wildcard, so joined to files/ it can only match files directly in that folder.
    pattern = ("/" if absolute else "") + "/".join(pieces)
    if not DROP_PATTERN_RE.match(pattern):
        return
    path = PurePosixPath(pattern)
    assert not path.is_absolute() and len(path.parts) == 2 and ".." not in path.parts
    assert path.parts[1].count("*") == 1 and "\\" not in pattern


def _resource(pattern: str = "health/births_*.csv") -> Resource:
    return Resource.model_validate({
        "code": "208001/0009", "name": "pop_birth", "title_zh": "出生", "title_en": "Births", "library": "health",
        "provider": "HEALTH", "abstract": "births", "format": "电子表格", "update_cycle": "每日", "kind": "event",
        "grain": "one row per birth", "primary_key": ["id"], "event_time": "born", "share": {"type": "无条件共享"},
        "open": {"type": "不予开放"}, "published": "2026-01-01",
        "source": {"kind": "file", "pattern": pattern, "format": "csv"},
        "items": [{"name": "id", "label": "编号", "type": "C", "length": 4, "nullable": False},
                  {"name": "born", "label": "出生日期", "type": "D"}],
    })


def test_puller_refuses_a_drop_that_resolves_outside_the_folder(tmp_path):
    from citybrain.ingest.batches import PENDING, REJECTED
    from citybrain.ingest.pull_files import pull_files
    from citybrain.settings import Settings

    settings = Settings(var_dir=tmp_path / "var", sources_dir=tmp_path / "sources", lake_uri=str(tmp_path / "lake"))
    folder = Path(settings.sources_dir) / "files" / "health"
    folder.mkdir(parents=True)
    secret = tmp_path / "outside" / "ids.csv"
    secret.parent.mkdir()
    secret.write_text("id,born\nSECRET,2026-01-01\n", encoding="utf-8")
    (folder / "births_20261101.csv").symlink_to(secret)  # a symlink out of the department folder
    (folder / "births_20261102.csv").write_text("id,born\nB1,2026-11-02\n", encoding="utf-8")

    batches = pull_files(_resource(), dt.date(2026, 11, 2), {}, settings)

    by_source = {b.source: b for b in batches}
    refused = by_source["files/health/births_20261101.csv"]
    assert refused.status == REJECTED and refused.landing_path is None and refused.rows_pulled == 0
    assert f"resolves to {secret}, outside the department folder {folder.resolve()}" in refused.reason
    landed = by_source["files/health/births_20261102.csv"]
    assert landed.status == PENDING and Path(landed.landing_path).read_text(encoding="utf-8").endswith("B1,2026-11-02\n")
    assert not any("SECRET" in p.read_text(encoding="utf-8") for p in Path(landed.landing_path).parents[3].rglob("*.csv"))
