"""Bench stage "generate": every resource of the catalogue, one day, at a given scale.

``bench_generate(scale)`` runs the generation in a fresh interpreter so that its peak memory is
its own, and returns wall time, CPU time, peak RSS and volumes. ``python -m citybrain.sources.bench
--scale 1`` prints the same figures as JSON.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _measure(scale: float, out: Path, seed: int, faults: str) -> dict:
    from citybrain.sources.generate import generate_sources

    t0 = time.perf_counter()
    report = generate_sources({"sources_dir": out}, scale=scale, seed=seed, days=1, faults=faults)
    wall = time.perf_counter() - t0
    usage = resource.getrusage(resource.RUSAGE_SELF)
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    rows = sum(report.rows.values())
    return {
        "stage": "generate", "scale": scale, "days": 1, "seconds": round(wall, 2),
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2), "peak_rss_mib": round(usage.ru_maxrss / 1024, 1),
        "resources": len(report.rows), "rows": rows, "rows_per_second": round(rows / wall) if wall else None,
        "faults": report.faults_total, "files": len(report.files), "bytes_on_disk": size,
        "largest": dict(sorted(report.rows.items(), key=lambda kv: -kv[1])[:5]),
    }


def bench_generate(scale: float, seed: int = 42, faults: str = "0.02", out_dir: Path | None = None) -> dict:
    """Generate every source for one day at ``scale`` in a child process; time, CPU, peak RSS, volumes."""
    if out_dir is not None:
        Path(out_dir).mkdir(parents=True, exist_ok=True)  # a fresh CITYBRAIN_VAR_DIR has no bench/ yet
    tmp = Path(tempfile.mkdtemp(prefix="citybrain-bench-generate-", dir=out_dir))
    try:
        cmd = [sys.executable, "-m", "citybrain.sources.bench", "--scale", str(scale), "--seed", str(seed),
               "--faults", faults, "--out", str(tmp)]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"bench generate at scale {scale} failed ({proc.returncode}): {proc.stderr[-3000:]}")
        return json.loads(proc.stdout.strip().splitlines()[-1])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--faults", default="0.02")
    parser.add_argument("--out", type=Path, default=None, help="sources folder (kept); default: a temp dir")
    args = parser.parse_args(argv)
    if args.out is None:
        print(json.dumps(bench_generate(args.scale, args.seed, args.faults)))
    else:
        print(json.dumps(_measure(args.scale, args.out, args.seed, args.faults)))


if __name__ == "__main__":
    main()
