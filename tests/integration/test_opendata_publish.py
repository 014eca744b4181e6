"""Publishing end to end on a small lake (deltalake only): frictionless-valid packages, manifest, DCAT,
quality-gated time travel, a planted identifier blocking the release, logged restricted exports."""

import json

import pytest

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    from citybrain.opendata.sample import write_sample_lake
    from citybrain.settings import Settings, get_settings

    root = tmp_path_factory.mktemp("open-lake")
    settings = Settings(var_dir=get_settings().var_dir, lake_uri=str(root / "lake"), open_dir=root / "open")
    write_sample_lake(settings, addresses_table=True)  # with the public geo_address the residents link to
    return settings


@pytest.fixture(scope="module")
def first(lake):
    from citybrain.opendata.publish import run_publish

    return run_publish(lake)


def _manifest(path):
    return json.loads((path / "manifest.json").read_text(encoding="utf-8"))


def test_release_layout_manifest_and_latest(lake, first):
    from citybrain.opendata.release import sha256

    release = lake.open_dir / "latest"
    assert release.resolve() == lake.open_dir / "releases" / first["version"]
    assert set(first["datasets"]) >= {"le_enterprise", "health_hospital", "indicator_values", "geo_address",
                                      "restricted/pop_resident"}
    manifest = _manifest(release)
    ent = manifest["datasets"]["le_enterprise"]
    assert ent["rows"] == 30 and ent["inputs"] == {"silver.le_enterprise": 0}
    for rel, meta in ent["files"].items():
        assert sha256(release / rel) == meta["sha256"]
    assert {"le_enterprise/le_enterprise.csv", "le_enterprise/le_enterprise.parquet",
            "le_enterprise/le_enterprise.json", "le_enterprise/datapackage.json"} == set(ent["files"])
    assert "pop_resident" not in manifest["datasets"]  # 有条件开放: restricted release only
    assert "pop_resident" in _manifest(lake.open_dir / "restricted" / "latest")["datasets"]
    assert "silver.pop_birth" not in json.dumps(manifest)  # 不予开放 never leaves the lake
    assert "pop_birth" in first["withheld"]


def test_frictionless_validates_every_package_and_dcat_lists_them(lake, first):
    from frictionless import Package

    packages = sorted(lake.open_dir.glob("latest/*/datapackage.json")) + sorted(
        lake.open_dir.glob("restricted/latest/*/datapackage.json"))
    assert len(packages) == len(first["datasets"]) == 5
    for path in packages:
        report = Package(str(path)).validate()
        assert report.valid, f"{path}: {report.flatten(['rowNumber', 'fieldName', 'type', 'note'])}"
    dcat = json.loads((lake.open_dir / "latest" / "catalog.jsonld").read_text(encoding="utf-8"))
    ids = {d["@id"] for d in dcat["dcat:dataset"]}
    assert {"#le_enterprise", "#indicator_values"} <= ids
    ent = next(d for d in dcat["dcat:dataset"] if d["@id"] == "#le_enterprise")
    assert ent["dct:identifier"] and ent["dct:accessRights"]["@id"].endswith("PUBLIC")
    assert all(d["spdx:checksum"]["spdx:checksumValue"] for d in ent["dcat:distribution"])


def test_published_rows_are_deidentified(lake, first):
    from citybrain.lake.arrow_io import read_arrow

    rows = read_arrow("open.le_enterprise", settings=lake).to_pylist()
    assert all(r["legal_rep_name"].endswith("*") for r in rows)
    assert "legal_rep_id" not in rows[0] and "phone" not in rows[0]
    hospitals = read_arrow("open.health_hospital", settings=lake).to_pylist()
    assert all("****" in r["phone"] for r in hospitals)
    restricted = _manifest(lake.open_dir / "restricted" / "latest")["datasets"]["pop_resident"]
    assert restricted["form"] == "microdata" and "k=5" in restricted["notes"][0]  # classes of ~20 residents
    people = read_arrow("open.restricted_pop_resident", settings=lake).to_pylist()
    assert all(len(p["id_number"]) == 64 and p["name"].endswith("*") and "phone" not in p for p in people)
    assert "ethnicity" in people[0] and "birth_year" in people[0] and "birth_date" not in people[0]
    # register_date is the birth date for these residents: published as its year like birth_date
    assert all(p["register_year"] == p["birth_year"] for p in people) and "register_date" not in people[0]
    assert "address_code" not in people[0] and "household_id" not in people[0]  # exact address, household


def test_no_published_join_isolates_fewer_than_k(lake, first):
    """Each published microdata dataset joined to every other published dataset (public and restricted) on
    the items they share (same quasi item, catalogue references): every joined class holds >= k people."""
    from citybrain.catalog import get_catalog
    from citybrain.lake.arrow_io import read_arrow
    from citybrain.opendata.build import Built, PrivacyPolicy, linkage_checks
    from citybrain.opendata.datasets import PUBLIC, plan

    published = []
    for ds in plan(get_catalog())[0]:
        root = lake.open_dir if ds.access == PUBLIC else lake.open_dir / "restricted"
        entry = _manifest(root / "latest")["datasets"].get(ds.name)
        if entry is not None:
            published.append((ds, Built(read_arrow(ds.open_table, settings=lake), entry["form"])))
    checks = linkage_checks(published, PrivacyPolicy())
    joined = {(ds.name, other.name, check.quasi_identifiers) for ds, other, check in checks}
    assert ("pop_resident", "geo_address", ("street_code",)) in joined  # shared quasi items are joined
    assert not [c for c in checks if not c[2].holds], [c[2].describe() for c in checks if not c[2].holds]


def test_k_anonymity_failure_publishes_suppressed_counts(lake, first):
    from citybrain.catalog import get_catalog
    from citybrain.opendata.build import PrivacyPolicy
    from citybrain.opendata.datasets import RESTRICTED, plan
    from citybrain.opendata.publish import build_dataset

    ds = next(d for d in plan(get_catalog())[0] if d.name == "pop_resident" and d.access == RESTRICTED)
    built, _ = build_dataset(ds, get_catalog(), lake, PrivacyPolicy(k_restricted=25, small_cell_threshold=19))
    assert built.form == "aggregate" and "k=25" in built.notes[0]
    counts = built.table.to_pylist()
    # k checked on every published quasi item, counts by the catalogue's k_anonymity dimensions
    assert "education_level, street_code, register_year) with k=25" in built.notes[0]
    assert built.table.column_names == ["district_code", "birth_year", "sex", "count", "suppressed"]
    assert sum(1 for c in counts if c["suppressed"]) >= 1
    assert all(c["count"] is None or c["count"] >= 19 for c in counts)


def test_small_indicator_cells_are_suppressed(lake, first):
    from citybrain.lake.arrow_io import read_arrow

    values = read_arrow("open.indicator_values", settings=lake).to_pylist()
    small = [r for r in values if r["suppressed"]]
    assert small and all(r["value"] is None and r["reason"].startswith("suppressed") for r in small)


def test_planted_identifier_blocks_release_and_latest_stays(lake, first):
    import pyarrow as pa

    from citybrain.lake.arrow_io import read_arrow
    from citybrain.opendata.publish import PublishFailed, run_publish
    from citybrain.opendata.sample import mark_passed, write_table

    before = (lake.open_dir / "latest").resolve()
    table = read_arrow("silver.le_enterprise", settings=lake)
    scope = table.column("business_scope").to_pylist()
    scope[4] = "联系人身份证 11010519491231002X"
    write_table("silver.le_enterprise", table.set_column(
        table.column_names.index("business_scope"), "business_scope", pa.array(scope)), lake)
    mark_passed(["silver.le_enterprise"], lake)
    with pytest.raises(PublishFailed) as err:
        run_publish(lake)
    assert "le_enterprise/le_enterprise.csv: column business_scope, row 5: pii.id_number" in str(err.value)
    assert (lake.open_dir / "latest").resolve() == before
    assert not list((lake.open_dir / "releases").glob(".staging-*"))
    assert "11010519491231002X" not in str(read_arrow("open.le_enterprise", settings=lake).to_pylist())
    # repair the source: the next release goes through
    scope[4] = "软件开发"
    write_table("silver.le_enterprise", table.set_column(
        table.column_names.index("business_scope"), "business_scope", pa.array(scope)), lake)
    mark_passed(["silver.le_enterprise"], lake)
    assert run_publish(lake)["datasets"]


def test_failed_gate_reads_last_passed_version_or_carries_previous_copy(lake, first):
    import pyarrow as pa

    from citybrain.lake.arrow_io import delta_table, read_arrow
    from citybrain.opendata.publish import run_publish
    from citybrain.opendata.sample import mark_passed, write_table

    passed = delta_table("silver.le_enterprise", settings=lake).version()
    table = read_arrow("silver.le_enterprise", settings=lake)
    names = table.column("name").to_pylist()
    names[0] = "新版本名称有限公司"
    write_table("silver.le_enterprise", table.set_column(1, "name", pa.array(names)), lake)
    mark_passed(["silver.le_enterprise"], lake, passed=False)
    summary = run_publish(lake)
    entry = _manifest(lake.open_dir / "latest")["datasets"]["le_enterprise"]
    assert entry["inputs"] == {"silver.le_enterprise": passed}  # time travel to the passed version
    assert entry["inputs_current"] == {"silver.le_enterprise": passed + 1}
    assert "新版本名称有限公司" not in (lake.open_dir / "latest/le_enterprise/le_enterprise.csv").read_text("utf-8")
    assert "le_enterprise" in summary["datasets"]


def test_blocked_dataset_keeps_previous_copy(lake, first):
    import shutil

    from citybrain.lake.arrow_io import read_arrow
    from citybrain.lake.names import table_uri
    from citybrain.opendata.publish import run_publish
    from citybrain.opendata.sample import entity_table, write_table

    previous = _manifest(lake.open_dir / "latest")
    write_table("silver.culture_venue", entity_table("culture_venue", []), lake)  # never gated
    shutil.rmtree(table_uri("silver.health_hospital", lake))  # published before, gone now
    summary = run_publish(lake)
    assert "no quality-passed Delta version" in summary["blocked"]["culture_venue"]
    assert "not in the lake" in summary["blocked"]["health_hospital"]
    assert "health_hospital" in summary["carried"] and "culture_venue" not in summary["datasets"]
    entry = _manifest(lake.open_dir / "latest")["datasets"]["health_hospital"]
    assert entry["status"] == "carried" and entry["carried_from"] == previous["version"]
    assert (lake.open_dir / "latest" / "health_hospital" / "health_hospital.csv").is_file()
    assert read_arrow("open.health_hospital", settings=lake).num_rows == 4


def test_restricted_export_is_logged(lake, first, tmp_path):
    from citybrain.opendata.exports import export_log, export_restricted

    with pytest.raises(KeyError, match="le_enterprise"):
        export_restricted("le_enterprise", tmp_path, purpose="p", agreement="a", settings=lake)
    row = export_restricted("pop_resident", tmp_path, purpose="人口研究", agreement="DUA-2026-001", who="analyst1",
                            settings=lake)
    assert (tmp_path / "pop_resident" / "pop_resident.csv").is_file()
    log = export_log(lake)
    assert [(r["who"], r["dataset"], r["agreement"]) for r in log] == [("analyst1", "pop_resident", "DUA-2026-001")]
    assert log[0]["exported_at"] is not None and row["rows"] == log[0]["rows"]


def test_a_publish_killed_midway_leaves_no_staging_folder_after_the_next_run(lake, first):
    from citybrain.opendata.publish import run_publish

    left = [lake.open_dir / "releases" / ".staging-20261101T000000000000Z",
            lake.open_dir / "restricted" / "releases" / ".staging-20261101T000000000000Z"]
    for folder in left:  # what kill -9 between staging and finalise leaves
        (folder / "pop_resident").mkdir(parents=True)
        (folder / "pop_resident" / "pop_resident.csv").write_text("half a file")
    run_publish(lake)
    assert not [p for p in left if p.exists()]
    assert not list(lake.open_dir.rglob(".staging-*"))
