import json

import pytest

from citybrain.bench.harness import measure, write_report

pytestmark = pytest.mark.unit


def test_measure_records_time_memory_and_figures():
    def allocate(scale, ctx):
        block = bytearray(int(50 * 2**20 * scale))  # 50 MiB at scale 1
        return {"bytes": len(block)}

    result = measure("alloc", allocate, 1.0, {})
    assert result.extra == {"bytes": 50 * 2**20}
    assert result.seconds >= 0
    assert result.peak_rss_mb > 50  # the sampler saw the allocation on top of the interpreter


def test_report_written_as_json_and_markdown(settings):
    result = measure("noop", lambda s, c: {"rows": 3}, 0.5, {})
    md = write_report([result], 0.5, settings)
    payload = json.loads(md.with_suffix(".json").read_text())
    assert payload["scale"] == 0.5 and payload["results"][0]["stage"] == "noop"
    assert "| noop |" in md.read_text()
    assert (settings.bench_dir / "latest-scale0.5.md").exists()


def test_the_generate_stage_runs_on_a_fresh_var_dir(tmp_path):
    from citybrain.sources.bench import bench_generate

    fresh = tmp_path / "new-var" / "bench"  # nothing under new-var/ exists yet (was FileNotFoundError)
    result = bench_generate(0.0005, out_dir=fresh)
    assert result["resources"] > 0 and result["rows"] > 0
    assert fresh.is_dir() and not any(fresh.iterdir())  # its scratch sources are removed afterwards
