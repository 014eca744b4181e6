"""spark-submit entry point of the gold stage: `spark-submit jobs/gold_job.py [--no-dashboard]`."""

import argparse
import json

from citybrain.gold.job import run_gold

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--no-dashboard", action="store_true", help="skip rendering var/site/dashboard/")
    parser.add_argument("--no-screenshot", action="store_true", help="skip the headless-Chromium screenshot")
    args = parser.parse_args()
    summary = run_gold(dashboard=not args.no_dashboard, screenshot=not args.no_screenshot)
    print(json.dumps(summary, ensure_ascii=False, indent=2))
