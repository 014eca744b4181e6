"""A table exists once it has a first commit: a `_delta_log/` left by a writer killed before version 0 is no
table (issue 25: readers failed on such folders until a re-run, and the next load failed on them)."""

from __future__ import annotations

import pyarrow as pa
import pytest

from citybrain.lake import arrow_io
from citybrain.lake.names import TableName, table_uri
from citybrain.settings import Settings

pytestmark = pytest.mark.unit


@pytest.fixture
def lake(tmp_path):
    return Settings(var_dir=tmp_path, lake_uri=str(tmp_path / "lake"))


def _folder(name: str, lake: Settings):
    from pathlib import Path

    return Path(table_uri(name, lake).removeprefix("file://"))


@pytest.mark.parametrize("leftovers", [[], ["_commit_3f2a.json.tmp"], ["00000000000000000000.crc.tmp"]])
def test_a_log_folder_without_a_commit_is_no_table_and_the_next_write_creates_it(lake, leftovers):
    name = "silver.geo_building"
    log = _folder(name, lake) / "_delta_log"
    log.mkdir(parents=True)
    (log.parent / "part-00000-orphan.parquet").write_bytes(b"PAR1 half-written")
    for leftover in leftovers:
        (log / leftover).write_text("{}")

    assert not arrow_io.table_exists(name, lake)
    assert TableName("silver", "geo_building") not in arrow_io.list_tables(["silver"], lake)
    assert arrow_io.read_rows(name, lake) == []

    arrow_io.append_arrow(name, pa.table({"building_code": ["B1"]}), settings=lake)
    assert arrow_io.table_exists(name, lake)
    assert arrow_io.list_tables(["silver"], lake) == [TableName("silver", "geo_building")]
    assert arrow_io.read_rows(name, lake) == [{"building_code": "B1"}]  # the orphan file is not part of it


def test_a_checkpoint_alone_makes_a_table_readable_in_name(lake):
    assert arrow_io.is_commit_file("00000000000000000010.checkpoint.parquet")
    assert arrow_io.is_commit_file("00000000000000000010.checkpoint.0000000001.0000000002.parquet")
    assert arrow_io.is_commit_file("00000000000000000003.json")
    assert not arrow_io.is_commit_file("_last_checkpoint")
    assert not arrow_io.is_commit_file("00000000000000000003.crc")
    assert not arrow_io.is_commit_file("_commit_00000000000000000003.json.tmp")
    assert not arrow_io.is_commit_file("0003.json")
