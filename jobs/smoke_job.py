"""spark-submit entry point of the smoke pipeline: `spark-submit jobs/smoke_job.py --rows 1000`."""

import argparse

from citybrain.pipelines.smoke import check_smoke, write_smoke

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--batch-id", default="manual")
    args = parser.parse_args()
    written = write_smoke(args.rows, args.batch_id)
    print(check_smoke(written["batch_id"], written["rows"]))
