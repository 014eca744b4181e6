"""Entry point of the open-data stage: `python jobs/publish_job.py [--no-gates]` (no Spark needed)."""

import argparse
import json
import logging

from citybrain.opendata.publish import run_publish
from citybrain.opendata.wiring import run_publish_gates

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--no-gates", action="store_true", help="publish from the gate results already recorded")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if not args.no_gates:
        print(json.dumps(run_publish_gates(), ensure_ascii=False, indent=2))
    print(json.dumps(run_publish(), ensure_ascii=False, indent=2))
