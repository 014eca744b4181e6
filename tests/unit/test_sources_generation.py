"""The source simulator: determinism, valid identifiers, cross-department coherence, manifest truth."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from pathlib import Path

import pytest

from citybrain.sources.generate import generate_sources
from citybrain.sources.hashing import hash_sources
from citybrain.sources.manifest import FILE_KINDS, read_manifest
from citybrain.sources.readback import read_all, read_resource, row_key, text
from citybrain.sources.spec import load_spec
from citybrain.standards.identifiers import is_valid_credit_code, is_valid_id_number

pytestmark = pytest.mark.unit
CATALOG = Path(__file__).resolve().parents[2] / "catalog"
SCALE, DAYS, SEED = 0.003, 4, 11
LAST_DAY = dt.date(2026, 11, 1) + dt.timedelta(days=DAYS)


def _gen(folder: Path, faults) -> Path:
    generate_sources({"sources_dir": folder, "catalog_dir": CATALOG}, scale=SCALE, seed=SEED, days=DAYS, faults=faults)
    return folder


@pytest.fixture(scope="module")
def spec():
    return load_spec(CATALOG)


@pytest.fixture(scope="module")
def faulty(tmp_path_factory) -> Path:
    return _gen(tmp_path_factory.mktemp("faulty"), 0.05)


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> Path:
    return _gen(tmp_path_factory.mktemp("clean"), "none")


@pytest.fixture(scope="module")
def manifest(faulty) -> list[dict]:
    return read_manifest(faulty / "manifest")


@pytest.fixture(scope="module")
def damaged_files(manifest) -> set[str]:
    return {m["file"] for m in manifest if m["kind"] in FILE_KINDS}


@pytest.fixture(scope="module")
def faulty_rows(faulty, spec, damaged_files):
    return read_all(faulty, spec, skip_files=damaged_files)


def test_same_inputs_give_identical_sources(faulty, tmp_path):
    again = _gen(tmp_path / "again", 0.05)
    first, second = hash_sources(faulty), hash_sources(again)
    assert first["parts"].keys() == second["parts"].keys()
    assert first["total"] == second["total"]


def test_a_different_seed_gives_different_sources(clean, tmp_path):
    other = tmp_path / "other"
    generate_sources({"sources_dir": other, "catalog_dir": CATALOG}, scale=SCALE, seed=SEED + 1, days=1,
                     faults="none")
    assert hash_sources(other)["total"] != hash_sources(clean)["total"]


def test_every_resource_has_exactly_its_catalogue_items(clean, spec):
    for name, res in spec.resources.items():
        rows = read_resource(clean, res)
        if res.update_cycle in ("每日", "实时") or res.source.kind == "database":
            assert rows, f"{name}: no rows generated"
        for row in rows[:1]:
            assert [c for c in row if c != "_file"] == res.item_names, name


def test_file_drops_are_named_by_day(clean, spec):
    for res in spec.resources.values():
        if res.source.kind == "file" and res.update_cycle in ("每日", "实时"):
            for day in range(DAYS):
                stamp = (dt.date(2026, 11, 1) + dt.timedelta(days=day)).strftime("%Y%m%d")
                ext = res.source.format
                assert (clean / "files" / res.source.folder / f"{res.source.stem}_{stamp}.{ext}").exists()


def test_clean_sources_have_an_empty_manifest(clean):
    assert read_manifest(clean / "manifest") == []


def _identifier_items(res):
    return [i.name for i in res.items if i.format in ("id_number", "credit_code")]


def _check(fmt: str, value: str) -> bool:
    return is_valid_id_number(value, today=LAST_DAY) if fmt == "id_number" else is_valid_credit_code(value)


def test_clean_identifiers_are_all_valid(clean, spec):
    for name, res in spec.resources.items():
        items = {i.name: i.format for i in res.items if i.format in ("id_number", "credit_code")}
        for row in read_resource(clean, res):
            for item, fmt in items.items():
                v = text(row.get(item))
                assert v is None or _check(fmt, v), f"{name}.{item} = {v!r} is invalid in clean sources"


def test_invalid_identifiers_are_all_in_the_manifest(spec, faulty_rows, manifest):
    faulted = {(m["resource"], m["key"], m["item"]) for m in manifest}
    found = 0
    for name, rows in faulty_rows.items():
        res = spec.resources[name]
        items = {i.name: i.format for i in res.items if i.format in ("id_number", "credit_code")}
        for row in rows:
            for item, fmt in items.items():
                v = text(row.get(item))
                if v is not None and not _check(fmt, v):
                    found += 1
                    assert (name, row_key(res, row), item) in faulted, f"{name} {row_key(res, row)} {item}={v!r}"
    assert found > 0, "the fault rate should have produced invalid identifiers"


def test_every_insured_person_is_a_registered_resident(clean, faulty, spec, manifest, faulty_rows):
    residents = {r["id_number"] for r in read_resource(clean, spec.resources["pop_resident"])}
    insured = read_resource(clean, spec.resources["si_insured"])
    assert insured and all(r["id_number"] in residents for r in insured)
    # with faults: an insured id missing from the registry is explained by a fault on either side
    registry = {r["id_number"] for r in faulty_rows["pop_resident"]}
    explained = {m["injected_value"] for m in manifest if m["resource"] == "si_insured" and m["item"] == "id_number"}
    explained |= {m["true_value"] for m in manifest if m["resource"] == "pop_resident" and m["item"] == "id_number"}
    for r in faulty_rows["si_insured"]:
        assert r["id_number"] in registry or r["id_number"] in explained, r


def test_copies_agree_with_their_authority_in_clean_sources(clean, spec):
    rows = {}
    compared = 0
    for key, authority, copy, key_item in spec.copies:
        a_res, a_item = authority.split(".")
        c_res, c_item = copy.split(".")
        for r in (a_res, c_res):
            rows.setdefault(r, read_resource(clean, spec.resources[r]))
        auth = {row[key]: text(row[a_item]) for row in rows[a_res]}
        checked = 0
        for row in rows[c_res]:
            k = row.get(key_item)
            if k in auth:
                checked += 1
                assert text(row[c_item]) == auth[k], f"{copy} of {k}: {row[c_item]!r} != {authority} {auth[k]!r}"
        compared += checked
    assert compared > 1000, "copies should share many keys with their authority"


def test_references_resolve_in_clean_sources(clean, spec):
    keys: dict[str, set] = {}
    for name, res in spec.resources.items():
        for item in res.items:
            if not item.references:
                continue
            t_res, t_item = item.references.split(".")
            if t_res not in keys:
                keys[t_res] = {text(r[t_item]) for r in read_resource(clean, spec.resources[t_res])}
            for row in read_resource(clean, res):
                v = text(row.get(item.name))
                assert v is None or v in keys[t_res], f"{name}.{item.name}={v!r} not in {item.references}"


def test_every_row_fault_is_found_where_the_manifest_says(spec, faulty_rows, manifest, damaged_files):
    index = defaultdict(list)
    for name, rows in faulty_rows.items():
        res = spec.resources[name]
        for row in rows:
            index[(name, row_key(res, row), row.get("_file"))].append(row)
    kinds = set()
    for m in manifest:
        if m["kind"] in FILE_KINDS or m["superseded_day"] is not None or m["file"] in damaged_files:
            continue
        kinds.add(m["kind"])
        found = index.get((m["resource"], m["key"], m["file"]), [])
        assert found, f"manifest row not found in the sources: {m}"
        if m["kind"] == "exact_duplicate":
            assert len(found) >= 2, m
        elif m["kind"] == "late_arriving":
            assert m["injected_value"] > (found[0].get(spec.resources[m["resource"]].event_time) or "")[:10], m
        else:
            values = [text(r.get(m["item"])) for r in found]
            assert _same(m["injected_value"], values), f"{m}: found {values}"
    assert {"invalid_check_char", "impossible_date", "exact_duplicate", "near_duplicate", "missing_required",
            "out_of_range", "code_not_in_list", "orphan_reference", "copy_disagreement", "encoding_damage",
            "late_arriving"} <= kinds


def _same(injected, values) -> bool:
    for v in values:
        if injected is None and v is None:
            return True
        if injected is not None and v is not None:
            if v == injected:
                return True
            try:
                if abs(float(v) - float(injected)) < 1e-6:
                    return True
            except ValueError:
                pass
    return False


def test_file_faults_damage_what_they_say(faulty, manifest):
    kinds = {m["kind"]: m for m in manifest if m["kind"] in FILE_KINDS}
    assert {"schema_drift", "truncated_csv", "header_only", "empty_file"} <= kinds.keys()
    assert (faulty / kinds["empty_file"]["file"]).stat().st_size == 0
    header = (faulty / kinds["header_only"]["file"]).read_bytes()
    assert header.count(b"\n") == 1
    drift = next(m for m in manifest if m["kind"] == "schema_drift" and m["item"] == "remark")
    first_line = (faulty / drift["file"]).read_bytes().split(b"\n")[0]
    assert b"remark" in first_line and b"_new" in first_line


def test_incremental_pull_by_watermark_sees_exactly_the_last_days_changes(clean, spec, tmp_path):
    # the same run one day shorter is the source as it was before the last day
    before = clean
    shorter = tmp_path / "shorter"
    generate_sources({"sources_dir": shorter, "catalog_dir": CATALOG}, scale=SCALE, seed=SEED, days=DAYS - 1,
                     faults="none")
    wm = (dt.datetime(2026, 11, 1) + dt.timedelta(days=DAYS - 1)).isoformat(sep=" ")
    day_end = (dt.datetime(2026, 11, 1) + dt.timedelta(days=DAYS)).isoformat(sep=" ")
    changed = 0
    for name, res in spec.resources.items():
        if res.source.kind != "database" or not res.incremental_key:
            continue
        old = {tuple(r.values()) for r in read_resource(shorter, res)}
        new_rows = read_resource(before, res)
        inc = res.incremental_key
        pulled = {row_key(res, r) for r in new_rows if r[inc] >= wm}
        for r in new_rows:
            assert r[inc] < day_end, f"{name}: updated_at {r[inc]} after the last day"
            if r[inc] < wm:
                assert tuple(r.values()) in old, f"{name}: row changed without a new updated_at: {r}"
        new = {tuple(r.values()) for r in new_rows}
        for r in old - new:
            key = "|".join(str(r[res.item_names.index(k)]) for k in res.primary_key)
            assert key in pulled, f"{name}: {key} changed on the last day but its updated_at is older"
        changed += len(pulled)
    assert changed > 0
    # file drops of earlier days do not change when the run is longer
    a, b = hash_sources(shorter)["parts"], hash_sources(before)["parts"]
    files = [k for k in a if k.startswith("files/")]
    assert files and all(a[k] == b[k] for k in files)


def test_grid_events_follow_their_lifecycle(clean, spec):
    rows = read_resource(clean, spec.resources["grid_event"])
    order = ["reported_at", "registered_at", "dispatched_at", "disposed_at", "checked_at", "closed_at"]
    overdue = 0
    for r in rows:
        stamps = [r[c] for c in order if r[c]]
        assert stamps == sorted(stamps), r
        if r["status"] == "closed":
            assert r["closed_at"] and r["checked_at"]
            overdue += r["disposed_at"] > r["deadline_at"]
        if r["status"] == "not_registered":
            assert not r["registered_at"] and not r["deadline_at"]
    assert overdue > 0, "some closed events should have missed their time limit"


def _conforms(item, value: str, codes: dict) -> str | None:
    """Why a clean value breaks its catalogue item, or None."""
    if item.code_list and value not in codes[item.code_list]:
        return f"{value!r} not in code list {item.code_list}"
    if item.type == "C" and item.length and len(value) > item.length:
        return f"{value!r} longer than {item.length}"
    if item.type == "D":
        try:
            dt.date.fromisoformat(value)
        except ValueError:
            return f"{value!r} is no date"
    if item.type == "T":
        try:
            dt.datetime.strptime(value[:19], "%Y-%m-%d %H:%M:%S")
        except ValueError:
            return f"{value!r} is no timestamp"
    if item.type in ("I", "N", "Y", "F", "B"):
        number = float(value)
        rg = item.range or {}
        if (rg.get("min") is not None and number < float(rg["min"])) or (
                rg.get("max") is not None and number > float(rg["max"])):
            return f"{value} outside {rg}"
    elif item.type == "D" and item.range and item.range.get("min") and value < item.range["min"]:
        return f"{value} before {item.range['min']}"
    if item.format == "phone" and not (value.isdigit() and len(value) == 11 and value[0] == "1"):
        return f"{value!r} is no mobile number"
    if item.format == "grid_component_id" and not (value.isdigit() and len(value) == 16):
        return f"{value!r} is no 16-digit component id"
    if item.format == "division_code" and value not in codes["divisions"]:
        return f"{value!r} is no division of the city"
    return None


def test_clean_values_conform_to_their_catalogue_items(clean, spec):
    problems = []
    for name, res in sorted(spec.resources.items()):
        for row in read_resource(clean, res):
            for item in res.items:
                v = text(row.get(item.name))
                if v is None:
                    if not item.nullable:
                        problems.append(f"{name}.{item.name}: missing in a clean row {row_key(res, row)}")
                    continue
                why = _conforms(item, v, spec.code_lists)
                if why:
                    problems.append(f"{name}.{item.name}: {why}")
    assert not problems, "\n".join(sorted(set(problems))[:40])
