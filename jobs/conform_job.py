"""spark-submit entry point of the conform stage: `spark-submit jobs/conform_job.py [--resource R] [--until D]`."""

import argparse
import json

from citybrain.conform.job import run_conform
from citybrain.conform.wiring import summary

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--resource", action="append", help="conform only this resource (repeatable)")
    parser.add_argument("--until", help="only batches up to this date (YYYY-MM-DD)")
    parser.add_argument("--rerun", action="append", help="conform this date's batches again (repeatable)")
    parser.add_argument("--workers", type=int, default=3, help="resources in flight at once")
    args = parser.parse_args()
    result = run_conform(args.resource, until=args.until, rerun=args.rerun, workers=args.workers)
    print(json.dumps(summary(result), ensure_ascii=False, indent=2))
