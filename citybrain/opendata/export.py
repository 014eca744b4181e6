"""Write one dataset's files (CSV UTF-8, Parquet, JSON) and its Frictionless data package; validate it."""

from __future__ import annotations

import csv
import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from citybrain.opendata.deidentify import column_plan
from citybrain.opendata.release import DEMO_NOTICE

if TYPE_CHECKING:
    import pyarrow as pa

    from citybrain.opendata.build import Built
    from citybrain.opendata.datasets import Dataset

ITEM_TYPES = {"C": "string", "M": "string", "N": "number", "Y": "number", "F": "number", "B": "number",
              "I": "integer", "D": "date", "T": "datetime", "L": "boolean", "G": "any"}
FORMATS = {"csv": "text/csv", "parquet": "application/vnd.apache.parquet", "json": "application/json"}


class PackageInvalid(Exception):
    """frictionless found errors in a data package; the message names the package, row, field and error."""


def text(value):
    """A cell as published: ISO dates, wall-clock datetimes without zone, true/false, plain decimals."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None).isoformat(timespec="seconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    return value


def _arrow_type(dtype) -> str:
    import pyarrow.types as t

    if t.is_boolean(dtype):
        return "boolean"
    if t.is_integer(dtype):
        return "integer"
    if t.is_floating(dtype) or t.is_decimal(dtype):
        return "number"
    if t.is_timestamp(dtype):
        return "datetime"
    if t.is_date(dtype):
        return "date"
    return "string"


def schema(ds: Dataset, built: Built) -> dict:
    """Table Schema of the published columns: types and titles from the catalogue, constraints where kept."""
    items, rules = {}, {}
    if ds.resource is not None:
        plan = column_plan(ds.resource, restricted=ds.access != "public")
        for item_name, (out, rule) in plan.items():
            items[out], rules[out] = ds.resource.item(item_name), rule
    fields = []
    for f in built.table.schema:
        item, rule = items.get(f.name), rules.get(f.name)
        field = {"name": f.name, "type": _arrow_type(f.type)}
        if item is not None:
            field["title"] = item.label + ("" if rule == "keep" else f" ({rule})")
            if rule == "keep":
                field["type"] = ITEM_TYPES[item.type] if field["type"] != "integer" else "integer"
            if not item.nullable and rule in ("keep", "hash") and built.form == "microdata":
                field["constraints"] = {"required": True}
        fields.append(field)
    out = {"fields": fields}
    if ds.resource is not None and built.form == "microdata":
        pk = ds.resource.primary_key
        if all(rules.get(k) in ("keep", "hash") for k in pk):
            out["primaryKey"] = list(pk)
    elif built.form == "indicators":
        out["primaryKey"] = ["indicator_code", "district_code", "period_type", "period"]
    return out


def records(table: pa.Table) -> list[dict]:
    return [{k: text(v) for k, v in row.items()} for row in table.to_pylist()]


def write_files(ds: Dataset, built: Built, folder: Path) -> dict[str, Path]:
    """<name>.csv, <name>.parquet, <name>.json in ``folder``."""
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    rows = records(built.table)
    paths = {fmt: folder / f"{ds.name}.{fmt}" for fmt in FORMATS}
    with paths["csv"].open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(built.table.column_names)
        writer.writerows([[("" if v is None else v) for v in r.values()] for r in rows])
    pq.write_table(built.table, paths["parquet"])
    paths["json"].write_text(json.dumps(rows, ensure_ascii=False, indent=0), encoding="utf-8")
    return paths


def datapackage(ds: Dataset, built: Built, folder: Path, version: str, *, demo: bool = False) -> Path:
    """datapackage.json: one tabular-data-resource (the CSV) with the schema, plus the Parquet/JSON copies;
    a demo release's package says so first in its title and description."""
    title_zh, title_en = ds.title
    res = ds.resource
    descriptor = {
        "name": ds.name.replace("_", "-"),
        "title": ("[DEMO] " if demo else "") + f"{title_zh} ({title_en})",
        "description": (DEMO_NOTICE + " " if demo else "")
                       + (res.abstract if res is not None else "指标值: 分子、分母、值、目标和状态.")
                       + (" " + " ".join(built.notes) if built.notes else ""),
        "version": version,
        "licenses": [{"name": "CC-BY-4.0", "path": "https://creativecommons.org/licenses/by/4.0/",
                      "title": "Creative Commons Attribution 4.0"}],
        "keywords": [k for k in (res.library if res else "indicators", ds.access, built.form) if k],
        "resources": [{
            "name": ds.name.replace("_", "-"),
            "path": f"{ds.name}.csv",
            "profile": "tabular-data-resource",
            "format": "csv",
            "mediatype": "text/csv",
            "encoding": "utf-8",
            "schema": schema(ds, built),
        }],
        "citybrain": {"access": ds.access, "form": built.form, "rows": built.table.num_rows, "demo": demo,
                      "copies": {fmt: f"{ds.name}.{fmt}" for fmt in ("parquet", "json")}},
    }
    path = folder / "datapackage.json"
    path.write_text(json.dumps(descriptor, ensure_ascii=False, indent=2), encoding="utf-8")
    return path


def validate_package(path: Path) -> None:
    """Validate with frictionless; PackageInvalid lists the first errors (row, field, note)."""
    from frictionless import Package

    package = Package(str(path))
    report = package.validate()
    if report.valid:
        return
    lines = []
    for task in report.tasks:
        for err in task.errors[:10]:
            where = ", ".join(f"{k} {getattr(err, k)}" for k in ("row_number", "field_name")
                              if getattr(err, k, None) is not None)
            lines.append(f"  {task.name}: {err.type}{' (' + where + ')' if where else ''}: {err.note}")
    for err in report.errors[:10]:
        lines.append(f"  package: {err.type}: {err.note}")
    raise PackageInvalid(f"{path}: frictionless validation failed:\n" + "\n".join(lines))
