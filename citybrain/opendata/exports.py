"""Restricted (有条件开放) datasets leave only through a logged export: who, what, when and why
(control.open_exports), copied from the restricted release `latest`."""

from __future__ import annotations

import datetime as dt
import getpass
import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from citybrain.opendata.datasets import RESTRICTED
from citybrain.opendata.release import MANIFEST, area, latest_dir
from citybrain.settings import get_settings

if TYPE_CHECKING:
    from citybrain.settings import Settings

EXPORTS_TABLE = "control.open_exports"


def _schema():
    import pyarrow as pa

    return pa.schema([("dataset", pa.string()), ("release", pa.string()), ("who", pa.string()),
                      ("purpose", pa.string()), ("agreement", pa.string()), ("destination", pa.string()),
                      ("files", pa.string()), ("rows", pa.int64()), ("exported_at", pa.timestamp("us", "UTC"))])


def export_restricted(dataset: str, destination: Path, *, purpose: str, agreement: str, who: str | None = None,
                      settings: Settings | None = None) -> dict:
    """Copy a restricted dataset out of the latest restricted release and log the export."""
    import pyarrow as pa

    from citybrain.lake import arrow_io

    settings = settings or get_settings()
    release = latest_dir(area(settings.open_dir, RESTRICTED))
    if release is None:
        raise FileNotFoundError(f"no restricted release under {area(settings.open_dir, RESTRICTED)}")
    entry = json.loads((release / MANIFEST).read_text(encoding="utf-8"))["datasets"].get(dataset)
    if entry is None:
        raise KeyError(f"restricted release {release.name} has no dataset {dataset!r}")
    if not purpose.strip() or not agreement.strip():
        raise ValueError("a restricted export needs a purpose and the data-use agreement reference")
    destination = Path(destination) / dataset
    shutil.copytree(release / dataset, destination, dirs_exist_ok=True)
    row = {"dataset": dataset, "release": release.name, "who": who or getpass.getuser(), "purpose": purpose,
           "agreement": agreement, "destination": str(destination), "files": json.dumps(sorted(entry["files"])),
           "rows": entry.get("rows"), "exported_at": dt.datetime.now(dt.UTC)}
    arrow_io.append_arrow(EXPORTS_TABLE, pa.Table.from_pylist([row], _schema()), settings=settings)
    return row


def export_log(settings: Settings | None = None) -> list[dict]:
    from citybrain.lake import arrow_io

    settings = settings or get_settings()
    if not arrow_io.table_exists(EXPORTS_TABLE, settings):
        return []
    return arrow_io.read_arrow(EXPORTS_TABLE, settings=settings).to_pylist()
