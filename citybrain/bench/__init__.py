"""Benchmark harness: named stages timed at a scale factor, wall time and peak memory recorded."""

from citybrain.bench.harness import STAGES, BenchResult, run_bench, stage

__all__ = ["STAGES", "BenchResult", "run_bench", "stage"]
