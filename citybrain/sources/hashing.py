"""Content hash of generated sources: file bytes and database table contents (engine independent)."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

IGNORED = {"generation.json"}


def _file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def table_digest(rows) -> str:
    """Digest of table rows, independent of physical order (rows are sorted by their text form)."""
    h = hashlib.sha256()
    for line in sorted("\x1f".join("\x00" if v is None else str(v) for v in row) for row in rows):
        h.update(line.encode("utf-8"))
        h.update(b"\n")
    return h.hexdigest()


def sqlite_digests(path: Path) -> dict[str, str]:
    """Digest per table of one SQLite source database."""
    out = {}
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        names = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
        for name in names:
            out[name] = table_digest(con.execute(f'SELECT * FROM "{name}"'))
    finally:
        con.close()
    return out


def hash_sources(sources_dir: Path) -> dict:
    """Hashes of every file drop, manifest file and database table, plus one total over them all."""
    root = Path(sources_dir)
    parts: dict[str, str] = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root).as_posix()
        if path.name in IGNORED:
            continue
        if path.suffix == ".sqlite":
            for table, digest in sqlite_digests(path).items():
                parts[f"{rel}:{table}"] = digest
        else:
            parts[rel] = _file_digest(path)
    total = hashlib.sha256("".join(f"{k}={v}\n" for k, v in sorted(parts.items())).encode()).hexdigest()
    return {"total": total, "parts": parts}
