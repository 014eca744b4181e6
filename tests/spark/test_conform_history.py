"""Conform over three simulated days of inline bronze: SCD2 history (moves, a death, a re-registration),
golden records from the authority only, discrepancies and agreement rates, accounting, idempotent re-runs."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest

pytestmark = pytest.mark.spark

D1, D2, D3 = dt.date(2026, 11, 1), dt.date(2026, 11, 2), dt.date(2026, 11, 3)
TS = dt.datetime


def pid(body17: str) -> str:
    from citybrain.standards.identifiers import id_number_check_char

    return body17 + id_number_check_char(body17)


A, B, C, D = pid("11010519491231002"), pid("37061119900307123"), pid("37060219800101001"), pid("37060219850505002")


def resident(id_number, name, address, district, status="1", updated="2026-11-01 08:00:00", **kw):
    """A pop_resident bronze row as a department sends it (text, its own date formats)."""
    born = f"{id_number[6:10]}/{int(id_number[10:12])}/{int(id_number[12:14])}"
    row = dict(id_number=id_number, name=name, sex="1", ethnicity="01", birth_date=born, marital_status="20",
               education_level="20", phone="13812345678", household_id="H" + id_number[-4:], relation_to_head="02",
               address=address, district_code=district, register_date="2000-01-02", residence_status=status,
               updated_at=updated)
    return {**row, **kw}


def insured(id_number, name, address, updated="2026-11-01 09:00:00"):
    born = f"{id_number[6:10]}-{id_number[10:12]}-{id_number[12:14]}"
    return dict(id_number=id_number, name=name, sex="1", birth_date=born, phone="138 1234 5678", address=address,
                insurance_type="110", insured_status="1", start_date="2010-01-01", district_code="370602",
                updated_at=updated)


DAYS = {
    D1: {
        "pop_resident": [
            resident(A, "张三", "芝罘区1号", "370602"),
            resident(B, "李娜", "福山区2号", "370611"),
            resident(C, "王五", "芝罘区5号", "370602"),
            resident(A, "张三", "芝罘区1号", "370602"),  # the same row twice: a superseded duplicate
            resident(pid("37060219700101003")[:17] + "0", "赵六", "芝罘区7号", "370602"),  # wrong check char
        ],
        "si_insured": [
            insured(A, "张三", "芝罘区1号"),
            insured(B, "李那", "福山区2号"),  # the copy misspells the name
            insured(D, "孙七", "芝罘区9号"),  # a person the authority does not know
        ],
    },
    D2: {
        "pop_resident": [
            resident(A, "张三", "福山区8号", "370611", updated="2026-11-02 09:00:00"),  # moves
            resident(B, "李娜", "福山区2号", "370611", status="2", updated="2026-11-02 11:00:00"),  # moves away
            resident(C, "王五", "芝罘区5号", "370602", status="3", updated="2026-11-02 10:00:00"),  # dies
        ],
        "pop_death": [dict(death_id="DTH-1", id_number=C, name="王五", sex="1", death_date="2026年11月2日",
                           death_place="1", death_cause="1", district_code="370602",
                           updated_at="2026-11-02 12:00:00")],
        "si_insured": [insured(A, "张叁", "芝罘区1号", updated="2026-11-02 09:30:00")],  # copy changes the name
    },
    D3: {
        "pop_resident": [
            resident(B, "李娜", "莱山区3号", "370613", updated="2026-11-03 09:30:00"),  # re-registers
            resident(A, "张三", "福山区8号", "370611", updated="2026-11-03 08:00:00"),  # touched, unchanged
        ],
        "si_insured": [insured(B, "李娜", "莱山区3号", updated="2026-11-03 10:00:00")],  # copy corrected
    },
}


def write_bronze(spark, settings, resource: str, day: dt.date, rows: list[dict]) -> None:
    from citybrain.conform.catalog import load_catalog
    from citybrain.lake import spark_io

    cols = load_catalog().resource(resource).item_names
    data = [tuple(r.get(c) for c in cols) + (f"{resource}:{day:%Y%m%d}:t", day, i + 1) for i, r in enumerate(rows)]
    schema = ", ".join(f"`{c}` string" for c in cols) + ", _batch_id string, _batch_date date, _row_number long"
    spark_io.append(spark.createDataFrame(data, schema), f"bronze.{resource}", partition_by=["_batch_date"],
                    settings=settings)


@pytest.fixture(scope="module")
def lake(spark, tmp_path_factory):
    """Three days conformed one after the other; returns (settings, the three run summaries)."""
    from citybrain.conform.job import run_conform
    from citybrain.settings import Settings, get_settings

    settings = Settings(var_dir=get_settings().var_dir, lake_uri=str(tmp_path_factory.mktemp("conform") / "lake"))
    runs = []
    for day, resources in DAYS.items():
        for resource, rows in resources.items():
            write_bronze(spark, settings, resource, day, rows)
        runs.append(run_conform(["pop_resident", "pop_death", "si_insured"], settings=settings,
                                now=TS.combine(day, dt.time(23))))
    return settings, runs


def table(spark, settings, name):
    from citybrain.lake import spark_io

    return spark_io.read_table(spark, name, settings=settings)


def test_scd2_history_over_three_days(spark, lake):
    settings, _ = lake
    got = sorted(tuple(r) for r in table(spark, settings, "silver.pop_resident").select(
        "id_number", "address", "residence_status", "valid_from", "valid_to", "is_current").collect())
    assert got == sorted([
        (A, "芝罘区1号", "1", TS(2026, 11, 1, 8), TS(2026, 11, 2, 9), False),
        (A, "福山区8号", "1", TS(2026, 11, 2, 9), None, True),  # moved; the day-3 touch made no version
        (B, "福山区2号", "1", TS(2026, 11, 1, 8), TS(2026, 11, 2, 11), False),
        (B, "福山区2号", "2", TS(2026, 11, 2, 11), TS(2026, 11, 3, 9, 30), False),  # moved away
        (B, "莱山区3号", "1", TS(2026, 11, 3, 9, 30), None, True),  # re-registered
        (C, "芝罘区5号", "1", TS(2026, 11, 1, 8), TS(2026, 11, 2, 10), False),
        (C, "芝罘区5号", "3", TS(2026, 11, 2, 10), None, True),  # died: the last version stays current
    ])


def test_day_one_accounting_and_quarantine(spark, lake):
    settings, runs = lake
    assert runs[0]["resources"]["pop_resident"]["batches"] == {
        "pop_resident:20261101:t": {"rows_in": 5, "rows_silver": 3, "rows_quarantined": 1, "rows_duplicate": 1}}
    from pyspark.sql import functions as F

    q = table(spark, settings, "quarantine.rejected_rows").where(F.col("stage") == "conform")
    assert [tuple(r) for r in q.select("resource", "batch_id", "row_number", "rule_id", "item").collect()] == [
        ("pop_resident", "pop_resident:20261101:t", 5, "conform.id_number.check_char", "id_number")]
    reason = q.first()["reason"]
    assert "silver.pop_resident" in reason and "conform.id_number.check_char" in reason and "id_number" in reason
    dups = table(spark, settings, "silver.superseded_duplicates").select("batch_id", "row_number", "record_key",
                                                                       "kept_row_number")
    assert [tuple(r) for r in dups.collect()] == [("pop_resident:20261101:t", 4, A, 1)]


def test_conformed_batches_record_every_batch(spark, lake):
    settings, _ = lake
    got = sorted(tuple(r) for r in table(spark, settings, "control.conformed_batches").select(
        "resource", "batch_id", "rows_in", "rows_silver", "rows_quarantined", "rows_duplicate").collect())
    assert got == [
        ("pop_death", "pop_death:20261102:t", 1, 1, 0, 0),
        ("pop_resident", "pop_resident:20261101:t", 5, 3, 1, 1),
        ("pop_resident", "pop_resident:20261102:t", 3, 3, 0, 0),
        ("pop_resident", "pop_resident:20261103:t", 2, 2, 0, 0),
        ("si_insured", "si_insured:20261101:t", 3, 3, 0, 0),
        ("si_insured", "si_insured:20261102:t", 1, 1, 0, 0),
        ("si_insured", "si_insured:20261103:t", 1, 1, 0, 0),
    ]


def test_events_are_partitioned_by_event_date(spark, lake):
    settings, _ = lake
    got = [tuple(r) for r in table(spark, settings, "silver.pop_death").select("death_id", "id_number", "death_date",
                                                                               "event_date").collect()]
    assert got == [("DTH-1", C, dt.date(2026, 11, 2), dt.date(2026, 11, 2))]  # 2026年11月2日 standardised


def test_golden_records_come_from_the_authority_only(spark, lake):
    settings, _ = lake
    got = sorted(tuple(r) for r in table(spark, settings, "silver.person_golden").select(
        "id_number", "name", "address", "death_date", "name__source", "death_date__source").collect())
    assert got == sorted([
        (A, "张三", "福山区8号", None, "pop_resident.name", None),  # si_insured says 张叁: ignored
        (B, "李娜", "莱山区3号", None, "pop_resident.name", None),  # si_insured said 李那 on day 1: ignored
        (C, "王五", "芝罘区5号", dt.date(2026, 11, 2), "pop_resident.name", "pop_death.death_date"),
    ])  # D is only in a copy: no golden record


def test_discrepancies_and_agreement_rates(spark, lake):
    settings, runs = lake
    disc = table(spark, settings, "silver.discrepancies")
    got = sorted(tuple(r) for r in disc.select("entity", "entity_key", "attribute", "authority_resource",
                                               "authority_department", "authority_value", "copy_resource",
                                               "copy_department", "copy_value", "kind").collect())
    p = ("person",)
    auth = ("pop_resident", "PSB")
    si = ("si_insured", "HRSS")
    assert got == sorted([
        (*p, A, "address", *auth, "福山区8号", *si, "芝罘区1号", "mismatch"),  # the copy did not follow the move
        (*p, A, "name", *auth, "张三", *si, "张叁", "mismatch"),
        (*p, D, "address", *auth, None, *si, "芝罘区9号", "missing_in_authority"),
        (*p, D, "birth_date", *auth, None, *si, "1985-05-05", "missing_in_authority"),
        (*p, D, "name", *auth, None, *si, "孙七", "missing_in_authority"),
        (*p, D, "phone", *auth, None, *si, "13812345678", "missing_in_authority"),
        (*p, D, "sex", *auth, None, *si, "1", "missing_in_authority"),
    ])  # B's misspelt name was corrected on day 3: its discrepancy is gone
    rates = sorted(tuple(r) for r in table(spark, settings, "silver.agreement_rates").select(
        "entity", "attribute", "copy_department", "copy_resource", "compared", "agreed", "rate").collect())
    assert rates == sorted([
        ("person", "address", "HRSS", "si_insured", 2, 1, 0.5),  # A and B compared (D unknown), A differs
        ("person", "birth_date", "HRSS", "si_insured", 2, 2, 1.0),
        ("person", "name", "HRSS", "si_insured", 2, 1, 0.5),
        ("person", "phone", "HRSS", "si_insured", 2, 2, 1.0),  # '138 1234 5678' standardised to the same digits
        ("person", "sex", "HRSS", "si_insured", 2, 2, 1.0),
        ("person", "name", "CIVIL", "pop_death", 1, 1, 1.0),
        ("person", "sex", "CIVIL", "pop_death", 1, 1, 1.0),
    ])
    # the rates are the sums of each key's share, kept up to date day by day for the touched keys only
    shares = sorted(tuple(r) for r in table(spark, settings, "silver.agreement_keys").where(
        "copy_resource = 'si_insured' AND attribute IN ('address', 'name')").select(
        "entity_key", "attribute", "compared", "agreed").collect())
    assert shares == sorted([(A, "address", 1, 0), (A, "name", 1, 0), (B, "address", 1, 1), (B, "name", 1, 1)])


def content_hash(spark, settings, name: str) -> str:
    rows = sorted(repr(tuple(r)) for r in table(spark, settings, name).collect())
    return hashlib.sha256("\n".join(rows).encode()).hexdigest()


SILVER = ["silver.pop_resident", "silver.pop_death", "silver.si_insured", "silver.person_golden",
          "silver.discrepancies", "silver.agreement_rates", "silver.agreement_keys", "silver.superseded_duplicates"]


def test_rerunning_a_day_changes_nothing(spark, lake):
    from citybrain.conform.job import run_conform

    settings, _ = lake
    before = {t: content_hash(spark, settings, t) for t in SILVER}
    nothing = run_conform(["pop_resident", "pop_death", "si_insured"], settings=settings, now=TS(2026, 11, 5))
    assert nothing["resources"] == {}  # every batch is conformed already
    again = run_conform(["pop_resident", "pop_death", "si_insured"], rerun=[D2], settings=settings,
                        now=TS(2026, 11, 5))
    assert sorted(again["resources"]) == ["pop_death", "pop_resident", "si_insured"]
    assert {t: content_hash(spark, settings, t) for t in SILVER} == before


def test_a_lake_without_agreement_shares_gets_them_back_on_the_next_run(spark, lake):
    """A lake conformed before silver.agreement_keys existed: the next run sums every key, not just its own."""
    from citybrain.conform.job import run_conform
    from citybrain.lake import spark_io

    settings, _ = lake
    before = {t: content_hash(spark, settings, t) for t in ("silver.agreement_rates", "silver.agreement_keys")}
    shares = table(spark, settings, "silver.agreement_keys")
    spark_io.replace_where(shares.limit(0), "silver.agreement_keys", "entity = 'person'", settings=settings)
    assert table(spark, settings, "silver.agreement_keys").count() == 0
    run_conform(["pop_resident", "pop_death", "si_insured"], rerun=[D2], settings=settings, now=TS(2026, 11, 5))
    assert {t: content_hash(spark, settings, t) for t in before} == before


# Runs last: it delivers a fourth day of copies into the module's lake.
def test_a_copy_can_never_change_a_golden_attribute(spark, lake):
    """Deliver only copies with other values for every copied attribute: the golden table does not change."""
    from citybrain.conform.job import run_conform

    settings, _ = lake
    before = content_hash(spark, settings, "silver.person_golden")
    day = dt.date(2026, 11, 4)
    write_bronze(spark, settings, "si_insured", day, [
        {**insured(A, "冒名", "别处1号", updated="2026-11-04 09:00:00"), "sex": "2", "birth_date": "1950-01-01",
         "phone": "13900000000"},
        insured(C, "改名", "别处2号", updated="2026-11-04 09:00:00"),
    ])
    run = run_conform(["si_insured"], settings=settings, now=TS(2026, 11, 4, 23))
    assert run["resources"]["si_insured"]["rows_silver"] == 2
    assert content_hash(spark, settings, "silver.person_golden") == before
    from pyspark.sql import functions as F

    disc = table(spark, settings, "silver.discrepancies").where(F.col("entity_key") == A).where(
        F.col("attribute") == "sex")
    assert [tuple(r) for r in disc.select("authority_value", "copy_value", "kind").collect()] == [("1", "2", "mismatch")]


# Runs after the fourth day: delivers a fifth.
def test_a_run_cut_off_between_the_rates_and_the_shares_is_set_right_by_its_rerun(spark, lake, monkeypatch):
    """The agreement rates and the per-key shares they sum are two commits: whichever comes second, a run
    cut off between them must leave nothing its re-run cannot see (the re-run must not keep stale rates)."""
    from pyspark.sql import functions as F

    from citybrain.conform import job

    settings, _ = lake
    write_bronze(spark, settings, "si_insured", dt.date(2026, 11, 5), [
        insured(A, "张三", "福山区8号", updated="2026-11-05 09:00:00")])  # the copy now agrees with the authority
    writes = []

    def cut_off_second(real):
        def write(*args, **kwargs):
            writes.append(real.__name__)
            if len(writes) == 2:
                raise RuntimeError("run cut off between the agreement writes")
            return real(*args, **kwargs)
        return write

    with monkeypatch.context() as patch:
        for name in ("write_shares", "write_agreement"):
            patch.setattr(job, name, cut_off_second(getattr(job, name)))
        with pytest.raises(RuntimeError, match="cut off"):
            job.run_conform(["si_insured"], settings=settings, now=TS(2026, 11, 5, 23))
    assert sorted(writes) == ["write_agreement", "write_shares"]
    job.run_conform(["si_insured"], settings=settings, now=TS(2026, 11, 5, 23))  # the re-run

    group = ["copy_resource", "attribute"]
    shares = table(spark, settings, "silver.agreement_keys").where("entity = 'person'")
    assert {tuple(r) for r in shares.where(F.col("entity_key") == A).where("copy_resource = 'si_insured'").where(
        F.col("attribute").isin("name", "address")).select("attribute", "compared", "agreed").collect()} == {
        ("name", 1, 1), ("address", 1, 1)}
    summed = {(r[0], r[1]): (r[2], r[3]) for r in shares.groupBy(*group).agg(
        F.sum("compared"), F.sum("agreed")).collect()}
    rates = {(r[0], r[1]): (r[2], r[3]) for r in table(spark, settings, "silver.agreement_rates").where(
        "entity = 'person' AND compared > 0").select(*group, "compared", "agreed").collect()}
    assert rates == summed


# Runs after the fifth day: delivers a sixth.
def test_a_day_that_only_adds_keys_appends_and_its_rerun_changes_nothing(spark, lake):
    """A person new to every table: their versions, golden record and agreement shares are appended (a MERGE
    would rewrite every file holding a matched row), the rates count them, and re-running the day changes
    nothing."""
    from pyspark.sql import functions as F

    from citybrain.conform.job import run_conform
    from citybrain.lake import arrow_io

    settings, _ = lake
    day, e = dt.date(2026, 11, 6), pid("37060219900101003")
    rates_before = {(r[0], r[1]): r[2] for r in table(spark, settings, "silver.agreement_rates").where(
        "entity = 'person' AND copy_resource = 'si_insured'").select("attribute", "copy_resource", "compared").collect()}
    write_bronze(spark, settings, "pop_resident", day, [resident(e, "周八", "芝罘区6号", "370602",
                                                                 updated="2026-11-06 08:00:00")])
    write_bronze(spark, settings, "si_insured", day, [insured(e, "周八", "芝罘区6号", updated="2026-11-06 09:00:00")])
    run_conform(["pop_resident", "si_insured"], settings=settings, now=TS(2026, 11, 6, 23))

    def last_operation(name: str) -> str:
        return arrow_io.delta_table(name, settings=settings).history(1)[0]["operation"]

    for name in ("silver.pop_resident", "silver.si_insured", "silver.person_golden", "silver.agreement_keys"):
        assert last_operation(name) == "WRITE", name
    golden = table(spark, settings, "silver.person_golden").where(F.col("id_number") == e)
    assert [tuple(r) for r in golden.select("name", "address", "name__source").collect()] == [
        ("周八", "芝罘区6号", "pop_resident.name")]
    rates = {(r[0], r[1]): (r[2], r[3]) for r in table(spark, settings, "silver.agreement_rates").where(
        "entity = 'person' AND copy_resource = 'si_insured'").select("attribute", "copy_resource", "compared",
                                                                     "agreed").collect()}
    assert {k: v[0] for k, v in rates.items()} == {k: n + 1 for k, n in rates_before.items()}  # E compared once
    shares = table(spark, settings, "silver.agreement_keys").where("entity = 'person'")
    summed = {(r[0], r[1]): (r[2], r[3]) for r in shares.where("copy_resource = 'si_insured'").groupBy(
        "attribute", "copy_resource").agg(F.sum("compared"), F.sum("agreed")).collect()}
    assert rates == summed

    before = {t: content_hash(spark, settings, t) for t in SILVER}
    run_conform(["pop_resident", "si_insured"], rerun=[day], settings=settings, now=TS(2026, 11, 6, 23))
    assert {t: content_hash(spark, settings, t) for t in SILVER} == before


def test_a_run_writes_quarantine_and_duplicates_in_one_commit_each_and_its_rerun_replaces_them(
        spark, tmp_path_factory):
    """Two resources with rejected rows and duplicates: the run commits once to each side table (not once per
    resource), and a re-run of the day replaces those rows instead of adding to them."""
    from delta.tables import DeltaTable

    from citybrain.conform.job import run_conform
    from citybrain.lake import spark_io
    from citybrain.settings import Settings, get_settings

    settings = Settings(var_dir=get_settings().var_dir, lake_uri=str(tmp_path_factory.mktemp("side") / "lake"))
    bad = pid("37060219700101003")[:17] + "0"  # wrong check character
    write_bronze(spark, settings, "pop_resident", D1, [resident(A, "张三", "芝罘区1号", "370602"),
                                                       resident(A, "张三", "芝罘区1号", "370602"),
                                                       resident(bad, "赵六", "芝罘区7号", "370602")])
    write_bronze(spark, settings, "si_insured", D1, [insured(B, "李娜", "福山区2号"), insured(B, "李娜", "福山区2号"),
                                                     insured(bad, "赵六", "芝罘区7号")])

    def commits(name: str) -> list[str]:
        uri = spark_io.table_uri(name, settings)
        return [r["operation"] for r in DeltaTable.forPath(spark, uri).history().orderBy("version").collect()]

    def side_rows() -> list[tuple]:
        q = table(spark, settings, "quarantine.rejected_rows").select("resource", "row_number", "rule_id")
        d = table(spark, settings, "silver.superseded_duplicates").select("resource", "row_number", "kept_row_number")
        return sorted(tuple(r) for r in q.collect()), sorted(tuple(r) for r in d.collect())

    def held_rdds() -> set[int]:
        """Persisted RDDs (caches, checkpoints) other than Delta's cached table states."""
        rdds = spark.sparkContext._jsc.getPersistentRDDs()
        return {int(i) for i in rdds.keySet() if "Delta Table State" not in str(rdds.get(i).name())}

    expected = ([("pop_resident", 3, "conform.id_number.check_char"), ("si_insured", 3, "conform.id_number.check_char")],
                [("pop_resident", 2, 1), ("si_insured", 2, 1)])
    held = held_rdds()
    run = run_conform(["pop_resident", "si_insured"], settings=settings, workers=2, now=TS.combine(D1, dt.time(23)))
    assert run["side_rows_seconds"] >= 0
    # the checkpoints of each resource's rows and of its side rows are freed, not left for a JVM GC to find
    assert held_rdds() <= held, sorted(held_rdds() - held)
    assert side_rows() == expected
    quarantine_commits, duplicate_commits = commits("quarantine.rejected_rows"), commits("silver.superseded_duplicates")
    # the empty table made before resources run in parallel, then the run's one write of both resources' rows
    assert len(quarantine_commits) == 2 and len(duplicate_commits) == 2, (quarantine_commits, duplicate_commits)

    run_conform(["pop_resident", "si_insured"], rerun=[D1], settings=settings, workers=2,
                now=TS.combine(D1, dt.time(23, 30)))
    assert side_rows() == expected  # replaced, not appended again
    assert len(commits("quarantine.rejected_rows")) == 3 and len(commits("silver.superseded_duplicates")) == 3


# Runs last: delivers an eighth day.
def test_a_run_cut_off_after_both_agreement_writes_is_marked_done_by_its_rerun(spark, lake, monkeypatch):
    """A daily run adds its share changes to the stored rates unless the entity's last agreement writes were
    cut off (control.agreement_sums says "started"): then it sums every share. Cut off after both writes, the
    re-run finds no share moving, keeps the (right) rates and marks the writes done."""
    from pyspark.sql import functions as F

    from citybrain.conform import job

    settings, _ = lake
    person = job.load_catalog().entity("person")
    ctx = type("Ctx", (), {"settings": settings})()
    write_bronze(spark, settings, "si_insured", dt.date(2026, 11, 8), [
        insured(A, "张三", "福山区9号", updated="2026-11-08 10:00:00")])  # the copy's address differs again
    real = job._mark_sums

    def cut_off_when_done(entity, state, ctx):
        if state == "done":
            raise RuntimeError("run cut off before marking the agreement writes done")
        return real(entity, state, ctx)

    with monkeypatch.context() as patch:
        patch.setattr(job, "_mark_sums", cut_off_when_done)
        with pytest.raises(RuntimeError, match="cut off"):
            job.run_conform(["si_insured"], settings=settings, now=TS(2026, 11, 8, 23))
    assert job._sums_pending(person, ctx)
    job.run_conform(["si_insured"], settings=settings, now=TS(2026, 11, 8, 23))  # the re-run
    assert not job._sums_pending(person, ctx)
    group = ["copy_resource", "attribute"]
    shares = table(spark, settings, "silver.agreement_keys").where("entity = 'person'")
    summed = {(r[0], r[1]): (r[2], r[3]) for r in shares.groupBy(*group).agg(
        F.sum("compared"), F.sum("agreed")).collect()}
    rates = {(r[0], r[1]): (r[2], r[3]) for r in table(spark, settings, "silver.agreement_rates").where(
        "entity = 'person' AND compared > 0").select(*group, "compared", "agreed").collect()}
    assert rates == summed


def test_a_small_run_looks_reference_values_up_and_finds_what_the_join_finds(spark, lake):
    """pop_death.id_number references pop_resident: a small run reads only the batch's values of silver and
    quarantine (through deltalake); they must be those the join with every stored value finds."""
    from citybrain.conform.catalog import load_catalog
    from citybrain.conform.job import RunContext, batch_values, reference_keys, utcnow

    settings, _ = lake
    catalog = load_catalog()
    death = catalog.resource("pop_death")
    ctx = RunContext(spark, catalog, settings, utcnow())
    wrong = pid("37060219700101003")[:17] + "0"  # quarantined on day 1: sent, so no orphan
    batch = spark.createDataFrame([(A,), (C,), (C,), (wrong,), (D,), (None,)], "id_number string")
    values = batch_values(batch, death)
    assert values == {"pop_resident.id_number": sorted([A, C, D, wrong])}
    looked = {r[0] for r in reference_keys(death, ctx, values)["pop_resident.id_number"].collect()}
    joined = {r[0] for r in reference_keys(death, ctx)["pop_resident.id_number"].collect()}
    assert looked == joined & set(values["pop_resident.id_number"]) == {A, C, wrong}  # D: si_insured only
    assert batch_values(batch, death, limit=3) == {}  # too many values: the join instead


# Runs after the eighth day: delivers a ninth and a tenth.
def test_a_person_with_two_records_of_a_copy_gets_a_discrepancy_per_record_and_their_removal_runs(spark, lake):
    """si_insured is keyed (id_number, insurance_type): a person insured twice holds two copy records. Both
    take a new phone the authority lacks: two discrepancies, each naming its record, with distinct ids; the
    authority then follows and the run deleting both must succeed (ids without the record's key made one
    id of the two, and the delete MERGE failed on every later run)."""
    from pyspark.sql import functions as F

    from citybrain.conform.job import run_conform

    settings, _ = lake
    p, d9, d10 = pid("37060219750101005"), dt.date(2026, 11, 9), dt.date(2026, 11, 10)
    write_bronze(spark, settings, "pop_resident", d9, [resident(p, "吴九", "芝罘区3号", "370602", phone="13800000001",
                                                                updated="2026-11-09 08:00:00")])
    write_bronze(spark, settings, "si_insured", d9, [
        {**insured(p, "吴九", "芝罘区3号", updated="2026-11-09 09:00:00"), "phone": "13900000009"},
        {**insured(p, "吴九", "芝罘区4号", updated="2026-11-09 09:00:00"), "phone": "13900000009",
         "insurance_type": "120"}])  # the second record's address differs too
    run_conform(["pop_resident", "si_insured"], settings=settings, now=TS(2026, 11, 9, 23))

    def found() -> list[tuple]:
        disc = table(spark, settings, "silver.discrepancies")
        ids = [r[0] for r in disc.select("_disc_id").collect()]
        assert len(ids) == len(set(ids))  # every discrepancy has an id of its own
        return sorted(tuple(r) for r in disc.where(F.col("entity_key") == p).select(
            "copy_record_key", "attribute", "authority_value", "copy_value").collect())

    assert found() == [(f"{p}|110", "phone", "13800000001", "13900000009"),
                       (f"{p}|120", "address", "芝罘区3号", "芝罘区4号"),
                       (f"{p}|120", "phone", "13800000001", "13900000009")]
    shares = table(spark, settings, "silver.agreement_keys").where(F.col("entity_key") == p).where(
        "copy_resource = 'si_insured' AND attribute IN ('phone', 'address')")
    assert sorted(tuple(r) for r in shares.select("attribute", "compared", "agreed").collect()) == [
        ("address", 2, 1), ("phone", 2, 0)]  # both records compared, each once
    write_bronze(spark, settings, "pop_resident", d10, [resident(p, "吴九", "芝罘区3号", "370602", phone="13900000009",
                                                                 updated="2026-11-10 08:00:00")])
    run_conform(["pop_resident", "si_insured"], settings=settings, now=TS(2026, 11, 10, 23))
    assert found() == [(f"{p}|120", "address", "芝罘区3号", "芝罘区4号")]  # both phone discrepancies deleted
