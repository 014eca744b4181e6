"""Spark jars beyond pyspark: Delta Lake (always), hadoop-aws for an s3a:// lake, Delta Connect for a server.

Each bundle is resolved once from Maven Central with Spark's own Ivy into its own folder under var/jars,
marked complete, and used offline afterwards.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path

from citybrain.settings import Settings, get_settings

MARKER = ".complete"


def _spark_minor() -> str:
    import pyspark

    return ".".join(pyspark.__version__.split(".")[:2])


def delta_coordinates() -> str:
    """Maven coordinates of the Delta jar matching the installed pyspark and delta-spark."""
    return f"io.delta:delta-spark_{_spark_minor()}_2.13:{metadata.version('delta-spark')}"


def delta_connect_coordinates() -> str:
    """Maven coordinates of the Delta plugin a Spark Connect server needs to serve DeltaTable calls."""
    return f"io.delta:delta-connect-server_{_spark_minor()}_2.13:{metadata.version('delta-spark')}"


def hadoop_version() -> str:
    """The Hadoop version pyspark ships (hadoop-aws must match it exactly)."""
    for jar in _pyspark_jars():
        match = re.fullmatch(r"hadoop-client-api-(\d[\w.\-]*)\.jar", jar.name)
        if match:
            return match.group(1)
    raise RuntimeError("pyspark ships no hadoop-client-api jar: reinstall pyspark (`make venv`)")


def s3a_coordinates() -> str:
    """Maven coordinates of hadoop-aws for Spark's Hadoop (pulls the matching AWS SDK bundle)."""
    return f"org.apache.hadoop:hadoop-aws:{hadoop_version()}"


def _artifact(jar_name: str) -> str:
    """Artifact name without version: 'jackson-core-2.13.5.jar' -> 'jackson-core'."""
    return re.sub(r"-\d[\w.\-]*\.jar$", "", jar_name)


def _ivy_artifact(jar_name: str) -> str:
    """Artifact of an Ivy-named jar: 'com.fasterxml.jackson.core_jackson-core-2.13.5.jar' -> 'jackson-core'."""
    return _artifact(jar_name.split("_", 1)[-1])


def _pyspark_jars() -> list[Path]:
    import pyspark

    return list(Path(pyspark.__file__).parent.joinpath("jars").glob("*.jar"))


def bundle_dir(coordinates: str, settings: Settings | None = None) -> Path:
    """Folder of one cached bundle: <jars_dir>/<group>_<artifact>_<version>."""
    settings = settings or get_settings()
    return settings.jars_dir / coordinates.replace(":", "_")


def jars_dir(settings: Settings | None = None) -> Path:
    """Folder of the cached Delta jars."""
    return bundle_dir(delta_coordinates(), settings)


def installed_bundle(coordinates: str, settings: Settings | None = None) -> list[Path]:
    """The cached jars of one bundle, or [] when it has not been fetched (completely) yet."""
    folder = bundle_dir(coordinates, settings)
    if not (folder / MARKER).exists():
        return []
    return sorted(folder.glob("*.jar"))


def required_coordinates(settings: Settings | None = None) -> list[str]:
    """The bundles a session of these settings needs: Delta, plus hadoop-aws when the lake is s3a://."""
    settings = settings or get_settings()
    coords = [delta_coordinates()]
    if settings.lake_uri.startswith("s3a://"):
        coords.append(s3a_coordinates())
    return coords


def installed_jars(settings: Settings | None = None) -> list[Path]:
    """The cached jars a session needs (Delta, and hadoop-aws for s3a), or [] when set-up has not fetched them."""
    jars: list[Path] = []
    for coords in required_coordinates(settings):
        bundle = installed_bundle(coords, settings)
        if not bundle:
            return []
        jars += bundle
    return jars


def fetch_bundle(coordinates: str, settings: Settings | None = None, *, exclude: list[Path] = ()) -> list[Path]:
    """Resolve one bundle with Spark's Ivy and keep its jars; a no-op (offline) once cached.

    Jars pyspark ships, and those in `exclude` (bundles loaded alongside), are left out so only one
    version of each artifact is on the classpath.
    """
    existing = installed_bundle(coordinates, settings)
    if existing:
        return existing
    folder = bundle_dir(coordinates, settings)
    folder.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="citybrain-ivy-") as ivy:
        # A throwaway JVM resolves the packages; Spark exits once the session is up.
        code = (
            "from pyspark.sql import SparkSession;"
            f"s=SparkSession.builder.master('local[1]').config('spark.jars.packages','{coordinates}')"
            f".config('spark.jars.ivy','{ivy}').config('spark.ui.enabled','false').getOrCreate();s.stop()"
        )
        env = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1"}
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
        if proc.returncode != 0:
            raise RuntimeError(
                f"Could not fetch {coordinates} from Maven Central (exit {proc.returncode}). "
                "Check network access to Maven Central and retry `make jars` (or `citybrain spark jars`).\n"
                + proc.stderr[-2000:]
            )
        fetched = sorted(Path(ivy, "jars").glob("*.jar"))
        if not fetched:
            raise RuntimeError(f"Ivy resolved no jars for {coordinates}; see {ivy}")
        # Spark already ships some transitive dependencies (Jackson, Parquet, Hadoop, log4j): keep
        # Spark's copies, and the copies of bundles loaded together with this one.
        skip = {_artifact(j.name) for j in _pyspark_jars()} | {_ivy_artifact(j.name) for j in exclude}
        fetched = [j for j in fetched if _ivy_artifact(j.name) not in skip]
        # Build in a sibling folder and rename: a concurrent or interrupted fetch never leaves a
        # half-filled bundle marked complete.
        staging = Path(tempfile.mkdtemp(prefix=folder.name + ".", dir=folder.parent))
        try:
            for jar in fetched:
                shutil.copy2(jar, staging / jar.name)
            (staging / MARKER).write_text("\n".join(j.name for j in fetched) + "\n")
            if folder.exists() and not (folder / MARKER).exists():
                shutil.rmtree(folder)  # left over by an interrupted fetch of an older version of this code
            try:
                staging.rename(folder)
            except OSError:
                if not (folder / MARKER).exists():  # not a lost race with another fetch: a real error
                    raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return installed_bundle(coordinates, settings)


def fetch_delta_jars(settings: Settings | None = None, *, quiet: bool = True) -> list[Path]:
    """Fetch every bundle a session needs (Delta; hadoop-aws when the lake is s3a://); a no-op when cached."""
    settings = settings or get_settings()
    delta = fetch_bundle(delta_coordinates(), settings)
    for coords in required_coordinates(settings)[1:]:
        fetch_bundle(coords, settings, exclude=delta)
    return installed_jars(settings)


def fetch_s3a_jars(settings: Settings | None = None) -> list[Path]:
    """Fetch hadoop-aws and the AWS SDK bundle matching Spark's Hadoop (for any s3a:// lake); cached after."""
    settings = settings or get_settings()
    return fetch_bundle(s3a_coordinates(), settings, exclude=fetch_bundle(delta_coordinates(), settings))


def fetch_connect_server_jars(settings: Settings | None = None) -> list[Path]:
    """Fetch the Delta Connect server plugin (and its dependencies beyond Delta); cached after."""
    settings = settings or get_settings()
    return fetch_bundle(delta_connect_coordinates(), settings, exclude=fetch_bundle(delta_coordinates(), settings))


def connect_server_jars(settings: Settings | None = None, *, fetch: bool = True) -> list[Path]:
    """Every jar a Spark Connect server with Delta needs: the session's jars plus the Delta Connect plugin."""
    settings = settings or get_settings()
    session = fetch_delta_jars(settings) if fetch else installed_jars(settings)
    plugin = fetch_connect_server_jars(settings) if fetch else installed_bundle(delta_connect_coordinates(), settings)
    if not session or not plugin:
        raise RuntimeError(
            f"Spark Connect server jars are not cached in {settings.jars_dir}: run `citybrain spark jars` once "
            "with access to Maven Central; later starts work offline."
        )
    return session + plugin
