"""Delta Lake jars: fetched once from Maven Central into var/jars, then used offline."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path

from citybrain.settings import Settings, get_settings

MARKER = ".complete"


def delta_coordinates() -> str:
    """Maven coordinates of the Delta jar matching the installed pyspark and delta-spark."""
    import pyspark

    spark_minor = ".".join(pyspark.__version__.split(".")[:2])
    return f"io.delta:delta-spark_{spark_minor}_2.13:{metadata.version('delta-spark')}"


def _artifact(jar_name: str) -> str:
    """Artifact name without version: 'jackson-core-2.13.5.jar' -> 'jackson-core'."""
    return re.sub(r"-\d[\w.\-]*\.jar$", "", jar_name)


def _pyspark_jars() -> list[Path]:
    import pyspark

    return list(Path(pyspark.__file__).parent.joinpath("jars").glob("*.jar"))


def jars_dir(settings: Settings | None = None) -> Path:
    settings = settings or get_settings()
    return settings.jars_dir / delta_coordinates().replace(":", "_")


def installed_jars(settings: Settings | None = None) -> list[Path]:
    """The cached jars, or [] when set-up has not fetched them yet."""
    folder = jars_dir(settings)
    if not (folder / MARKER).exists():
        return []
    return sorted(folder.glob("*.jar"))


def fetch_delta_jars(settings: Settings | None = None, *, quiet: bool = True) -> list[Path]:
    """Resolve Delta and its dependencies with Spark's own Ivy and keep the jars; a no-op when cached."""
    existing = installed_jars(settings)
    if existing:
        return existing
    folder = jars_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="citybrain-ivy-") as ivy:
        # A throwaway JVM resolves the packages; Spark exits once the session is up.
        code = (
            "from pyspark.sql import SparkSession;"
            f"s=SparkSession.builder.master('local[1]').config('spark.jars.packages','{delta_coordinates()}')"
            f".config('spark.jars.ivy','{ivy}').config('spark.ui.enabled','false').getOrCreate();s.stop()"
        )
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(
                f"Could not fetch {delta_coordinates()} from Maven Central (exit {proc.returncode}). "
                "Check network access to Maven Central and retry `make jars`.\n" + proc.stderr[-2000:]
            )
        fetched = sorted(Path(ivy, "jars").glob("*.jar"))
        if not fetched:
            raise RuntimeError(f"Ivy resolved no jars for {delta_coordinates()}; see {ivy}")
        # Spark already ships some of Delta's transitive dependencies (Jackson, Parquet, Hadoop,
        # log4j): keep Spark's copies so only one version of each is on the classpath.
        bundled = {_artifact(j.name) for j in _pyspark_jars()}
        fetched = [j for j in fetched if _artifact(j.name.split("_", 1)[-1]) not in bundled]
        for jar in fetched:
            shutil.copy2(jar, folder / jar.name)
    (folder / MARKER).write_text("\n".join(j.name for j in fetched) + "\n")
    return installed_jars(settings)
