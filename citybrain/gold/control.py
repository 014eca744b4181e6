"""control.gold_inputs: what the last gold run read (silver versions and partition fingerprints), which
indicator and theme definitions it applied, and the lake's last data day; the next run diffs against it."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from citybrain.gold.inputs import TableState

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from citybrain.settings import Settings

CONTROL_TABLE = "control.gold_inputs"
SCHEMA = "input string, kind string, version long, fingerprint string, detail string, updated_at timestamp"


@dataclass
class GoldState:
    """The inputs and definitions a gold run used."""

    tables: dict[str, TableState] = field(default_factory=dict)  # silver input name -> state
    indicators: dict[str, str] = field(default_factory=dict)  # code -> definition fingerprint
    themes: dict[str, str] = field(default_factory=dict)  # theme name -> sql + input versions fingerprint
    data_date: dt.date | None = None


def load_state(spark: SparkSession, settings: Settings) -> GoldState:
    from citybrain.lake import spark_io

    state = GoldState()
    if not spark_io.table_exists(spark, CONTROL_TABLE, settings):
        return state
    for r in spark_io.read_table(spark, CONTROL_TABLE, settings=settings).collect():
        if r.kind == "silver":
            state.tables[r.input] = TableState(int(r.version), json.loads(r.detail or "{}"))
        elif r.kind == "indicator":
            state.indicators[r.input] = r.fingerprint
        elif r.kind == "theme":
            state.themes[r.input] = r.fingerprint
        elif r.kind == "run" and r.input == "data_date" and r.detail:
            state.data_date = dt.date.fromisoformat(r.detail)
    return state


def save_state(spark: SparkSession, state: GoldState, settings: Settings) -> None:
    """Replace the control table with this run's state (a few hundred rows at most)."""
    from citybrain.lake import spark_io

    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    rows = [(name, "silver", s.version, None, json.dumps(s.partitions, sort_keys=True), now)
            for name, s in sorted(state.tables.items())]
    rows += [(code, "indicator", None, fp, None, now) for code, fp in sorted(state.indicators.items())]
    rows += [(name, "theme", None, fp, None, now) for name, fp in sorted(state.themes.items())]
    rows.append(("data_date", "run", None, None, state.data_date.isoformat() if state.data_date else None, now))
    spark_io.overwrite(spark.createDataFrame(rows, SCHEMA), CONTROL_TABLE, settings=settings)
