"""spark-submit entry point of portable stages on the configured master.

`python jobs/stages_job.py --stage smoke --stage upsert [--result out.json]`, with CITYBRAIN_SPARK_MASTER
set to local[*], spark://host:7077 or sc://host:15002 and CITYBRAIN_LAKE_URI to the lake.
"""

import sys

from citybrain.spark.stages import main

if __name__ == "__main__":
    sys.exit(main())
