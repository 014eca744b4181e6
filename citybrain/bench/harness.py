"""Run benchmark stages, sample memory of the whole process tree (Python + JVM), write JSON and Markdown."""

from __future__ import annotations

import json
import platform
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import psutil

from citybrain.settings import Settings, get_settings

StageFn = Callable[[float, dict], dict | None]
STAGES: dict[str, StageFn] = {}


def stage(name: str) -> Callable[[StageFn], StageFn]:
    """Register a bench stage: fn(scale, context) -> extra figures (rows, MB/s...)."""

    def register(fn: StageFn) -> StageFn:
        STAGES[name] = fn
        return fn

    return register


@dataclass
class BenchResult:
    stage: str
    scale: float
    seconds: float
    peak_rss_mb: float
    extra: dict = field(default_factory=dict)


class _PeakSampler:
    """Samples RSS of this process and its children (the Spark JVM) every 50 ms."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _rss(self) -> int:
        me = psutil.Process()
        total = me.memory_info().rss
        for child in me.children(recursive=True):
            try:
                total += child.memory_info().rss
            except psutil.Error:
                pass
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._rss())
            self._stop.wait(0.05)

    def __enter__(self) -> _PeakSampler:
        self.peak = self._rss()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._rss())


def measure(name: str, fn: StageFn, scale: float, context: dict) -> BenchResult:
    with _PeakSampler() as sampler:
        started = time.perf_counter()
        extra = fn(scale, context) or {}
        seconds = time.perf_counter() - started
    return BenchResult(name, scale, round(seconds, 3), round(sampler.peak / 2**20, 1), extra)


def run_bench(
    scale: float,
    stages: list[str] | None = None,
    settings: Settings | None = None,
    on_result: Callable[[BenchResult], None] | None = None,
) -> tuple[list[BenchResult], Path]:
    """Run stages in registration order (or the given ones) and write var/bench/ reports."""
    from citybrain.bench import stages as _registered  # noqa: F401  (registers the stages)

    settings = settings or get_settings()
    names = stages or list(STAGES)
    unknown = [n for n in names if n not in STAGES]
    if unknown:
        raise ValueError(f"Unknown bench stage(s) {unknown}; known: {', '.join(STAGES)}")
    context: dict = {"settings": settings}
    results = []
    for name in names:
        result = measure(name, STAGES[name], scale, context)
        results.append(result)
        if on_result:
            on_result(result)
    return results, write_report(results, scale, settings)


def write_report(results: list[BenchResult], scale: float, settings: Settings) -> Path:
    out_dir = settings.bench_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    meta = {
        "when": stamp,
        "scale": scale,
        "machine": {"cpus": psutil.cpu_count(), "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
                    "python": platform.python_version(), "platform": platform.platform()},
        "spark_master": settings.spark_master,
    }
    payload = {**meta, "results": [asdict(r) for r in results]}
    json_path = out_dir / f"bench-scale{scale:g}-{stamp}.json"
    json_path.write_text(json.dumps(payload, indent=2, ensure_ascii=False))
    lines = [f"# Bench at scale {scale:g} ({stamp})", "",
             f"{meta['machine']['cpus']} cores, {meta['machine']['memory_gb']} GiB, Spark {settings.spark_master}", "",
             "| stage | seconds | peak RSS (MiB, Python+JVM) | figures |", "|---|---:|---:|---|"]
    for r in results:
        figures = ", ".join(f"{k}={v}" for k, v in r.extra.items())
        lines.append(f"| {r.stage} | {r.seconds:.2f} | {r.peak_rss_mb:.0f} | {figures} |")
    md_path = json_path.with_suffix(".md")
    md_path.write_text("\n".join(lines) + "\n")
    (out_dir / f"latest-scale{scale:g}.json").write_text(json_path.read_text())
    (out_dir / f"latest-scale{scale:g}.md").write_text(md_path.read_text())
    return md_path
