"""A small lake written with deltalake only (no Spark) for the open-data tests, notebooks and docs:
silver.le_enterprise, silver.health_hospital, silver.pop_resident (SCD2 shape, valid identifiers), a
gold.indicator_values slice and optionally silver.geo_address, with gate results recorded as passed for their current versions."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import TYPE_CHECKING

from citybrain.standards.identifiers import credit_code_check_char, id_number_check_char

if TYPE_CHECKING:
    import pyarrow as pa

    from citybrain.settings import Settings

DISTRICTS = ("370602", "370611", "370612")
SURNAMES = "王李张刘陈杨黄赵"
GIVEN = "伟芳娜敏静丽强磊军洋"
WHEN = dt.datetime(2026, 11, 1, 8, tzinfo=dt.UTC)


def credit_code(i: int, kind: str = "91") -> str:
    body = f"{kind}370602{i:08d}X"[:17]
    return body + credit_code_check_char(body)


def id_number(i: int, born: dt.date) -> str:
    body = f"370602{born:%Y%m%d}{i % 1000:03d}"
    return body + id_number_check_char(body)


def enterprises(n: int = 30) -> list[dict]:
    return [dict(credit_code=credit_code(i), name=f"烟台示例{i}号科技有限公司", enterprise_type="1100",
                 legal_rep_name=SURNAMES[i % 8] + GIVEN[i % 10], legal_rep_id=id_number(i, dt.date(1980, 1, 1)),
                 registered_capital=Decimal("100.0000"), established_date=dt.date(2020, 1, 1 + i % 28),
                 industry_code="I", status="1", address=f"山东省烟台市芝罘区凤城街道解放路{i}号",
                 district_code=DISTRICTS[i % 3], phone=f"1381234{i:04d}", business_scope="软件开发",
                 approval_date=dt.date(2020, 1, 1), updated_at=WHEN) for i in range(n)]


def hospitals() -> list[dict]:
    return [dict(credit_code=credit_code(900 + i, "12"), name=f"烟台市第{i + 1}人民医院", hospital_type="A1",
                 level="3" if i == 0 else "2", grade="A", ownership="1", beds=500 + 100 * i,
                 physicians=150 + 10 * i, nurses=300, emr_enabled=True, emr_level=4, internet_hospital=i == 0,
                 address=f"山东省烟台市芝罘区毓璜顶街道{i}号", district_code=DISTRICTS[i % 3],
                 phone=f"1390535{i:04d}", updated_at=WHEN) for i in range(4)]


def address_code(i: int) -> str:
    return f"370602001001{i:05d}"


def addresses(n: int = 40) -> list[dict]:
    """Standard addresses (public geo_address): the exact address of each code."""
    return [dict(address_code=address_code(i), full_address=f"山东省烟台市芝罘区凤城街道幸福路{i}号",
                 district_code=DISTRICTS[0], street_code="370602001", community_code="370602001001",
                 road_name="幸福路", house_number=f"{i}号", building_code=None, address_level="4",
                 longitude=Decimal("121.400000"), latitude=Decimal("37.500000"), status="1", updated_at=WHEN)
            for i in range(n)]


def residents(n: int = 120, *, with_address_codes: bool = False) -> list[dict]:
    """Residents in households of 3 (household i // 3 at address i // 3 when ``with_address_codes``); born in
    1980-1982 and registered on their birth date, as a birth registry records them."""
    rng = random.Random(7)
    rows = []
    for i in range(n):
        born = dt.date(1980 + rng.randrange(3), 1 + rng.randrange(12), 1 + rng.randrange(28))
        rows.append(dict(id_number=id_number(i, born), name=rng.choice(SURNAMES) + rng.choice(GIVEN),
                         sex="1" if i % 2 else "2", ethnicity="01", birth_date=born, marital_status="20",
                         education_level="20", phone=f"1391234{i:04d}", household_id=f"H{i // 3:08d}",
                         relation_to_head="02", address=f"山东省烟台市芝罘区凤城街道幸福路{i}号",
                         address_code=address_code(i // 3) if with_address_codes else None,
                         district_code=DISTRICTS[0], street_code="370602001",
                         register_date=born, residence_status="1", updated_at=WHEN))
    return rows


def indicator_rows() -> list[dict]:
    rows = []
    for day in range(1, 31):
        period = dt.date(2026, 11, day)
        for j, district in enumerate((*DISTRICTS, "370600")):
            denominator = 5.0 + 4 * j + day % 3
            rows.append(dict(indicator_code="IND_GRID_ONTIME_CLOSE", district_code=district, period_type="day",
                             period=period, numerator=denominator - 1, denominator=denominator,
                             value=(denominator - 1) / denominator * 100, unit="%", target=90.0,
                             status="amber", reason=None, source_versions='{"silver.grid_event": 0}'))
    return rows


def entity_table(name: str, rows: list[dict]) -> pa.Table:
    """Rows of an entity resource in silver's SCD2 shape (all current)."""
    import pyarrow as pa

    from citybrain.catalog import get_catalog

    schema = get_catalog().resource(name).arrow_schema()
    scd2 = [("valid_from", pa.timestamp("us", "UTC")), ("valid_to", pa.timestamp("us", "UTC")),
            ("is_current", pa.bool_()), ("_row_hash", pa.string()), ("_batch_id", pa.string())]
    full = pa.schema([*schema, *(pa.field(n, t) for n, t in scd2)])
    extra = dict(valid_from=WHEN, valid_to=None, is_current=True, _row_hash="x", _batch_id=f"{name}:20261101:s")
    return pa.Table.from_pylist([{**r, **extra} for r in rows], full)


def indicator_table(rows: list[dict]) -> pa.Table:
    import pyarrow as pa

    schema = pa.schema([("indicator_code", pa.string()), ("district_code", pa.string()),
                        ("period_type", pa.string()), ("period", pa.date32()), ("numerator", pa.float64()),
                        ("denominator", pa.float64()), ("value", pa.float64()), ("unit", pa.string()),
                        ("target", pa.float64()), ("status", pa.string()), ("reason", pa.string()),
                        ("source_versions", pa.string())])
    return pa.Table.from_pylist(rows, schema)


def write_table(name: str, table: pa.Table, settings: Settings, mode: str = "overwrite") -> int:
    """Write (overwrite) a lake table with deltalake; returns the new Delta version."""
    from deltalake import write_deltalake

    from citybrain.lake import arrow_io
    from citybrain.lake.names import table_uri

    write_deltalake(table_uri(name, settings), table, mode=mode, schema_mode="overwrite" if mode == "overwrite"
                    else None)
    return arrow_io.delta_table(name, settings=settings).version()


def mark_passed(tables: list[str], settings: Settings, passed: bool = True, run_id: str = "sample") -> None:
    """Record a gate outcome for the current version of each table (control.quality_results)."""
    from citybrain.lake import arrow_io
    from citybrain.quality.results import GateResult, record_results

    record_results([GateResult(table=t, delta_version=arrow_io.delta_table(t, settings=settings).version(),
                               suite="sample", run_id=run_id, passed=passed, evaluated=1) for t in tables],
                   settings)


def write_sample_lake(settings: Settings, *, passed: bool = True, addresses_table: bool = False) -> list[str]:
    """Write the sample tables; with ``passed`` their current versions are recorded as quality-passed. With
    ``addresses_table`` silver.geo_address (public) is written too and residents carry its address codes (the
    linkage a release must not allow)."""
    tables = {
        "silver.le_enterprise": entity_table("le_enterprise", enterprises()),
        "silver.health_hospital": entity_table("health_hospital", hospitals()),
        "silver.pop_resident": entity_table("pop_resident", residents(with_address_codes=addresses_table)),
        "gold.indicator_values": indicator_table(indicator_rows()),
    }
    if addresses_table:
        tables["silver.geo_address"] = entity_table("geo_address", addresses())
    for name, table in tables.items():
        write_table(name, table, settings)
    if passed:
        mark_passed(list(tables), settings)
    return list(tables)
