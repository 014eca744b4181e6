"""Read generated sources back as plain rows: what tests and fault-recall checks compare with the manifest."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from pathlib import Path

from citybrain.sources.spec import CatalogSpec, ResourceSpec


def read_table(sources_dir: Path, res: ResourceSpec) -> list[dict]:
    """Rows of a database-bound resource from its SQLite source file."""
    path = Path(sources_dir) / "db" / f"{res.source.database}.sqlite"
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        cur = con.execute(f'SELECT * FROM "{res.source.table}"')
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, row, strict=True)) for row in cur]
    finally:
        con.close()


def read_drop(path: Path, res: ResourceSpec) -> list[dict]:
    """Rows of one file drop (CSV in its encoding, JSON Lines or xlsx); damaged bytes are replaced."""
    fmt = res.source.format
    if fmt == "csv":
        text = path.read_bytes().decode(res.source.encoding, errors="replace")
        return list(csv.DictReader(io.StringIO(text), delimiter=res.source.delimiter))
    if fmt == "jsonl":
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if fmt == "xlsx":
        from openpyxl import load_workbook

        wb = load_workbook(path, read_only=True)
        rows = list(wb.worksheets[0].iter_rows(values_only=True))
        wb.close()
        if not rows:
            return []
        header = list(rows[0])
        return [dict(zip(header, r, strict=False)) for r in rows[1:]]
    raise ValueError(f"{path}: unknown format {fmt!r} of {res.name}")


def read_resource(sources_dir: Path, res: ResourceSpec, skip_files: set[str] = frozenset()) -> list[dict]:
    """Every row of a resource: its table, or all its drops (each row tagged with ``_file``)."""
    if res.source.kind == "database":
        return read_table(sources_dir, res)
    root = Path(sources_dir)
    out = []
    folder = root / "files" / res.source.folder
    for path in sorted(folder.glob(f"{res.source.stem}_*")):
        rel = path.relative_to(root).as_posix()
        if rel in skip_files:
            continue
        for row in read_drop(path, res):
            row["_file"] = rel
            out.append(row)
    return out


def read_all(sources_dir: Path, spec: CatalogSpec, skip_files: set[str] = frozenset()) -> dict[str, list[dict]]:
    """Rows of every resource of the catalogue."""
    return {name: read_resource(sources_dir, res, skip_files) for name, res in sorted(spec.resources.items())}


def row_key(res: ResourceSpec, row: dict) -> str:
    """The manifest key of a row read back (``|``-joined primary key values)."""
    return "|".join(text(row.get(k)) or "" for k in res.primary_key)


def text(value) -> str | None:
    """A value read back as comparable text: None and empty as None, integral floats without ``.0``."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)
