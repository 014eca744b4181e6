"""Installation checks: each names what is missing and how to fix it."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path

from citybrain.settings import Settings, get_settings

REQUIRED = [
    "apache-airflow", "pyspark", "delta-spark", "pandas", "great-expectations",
    "sqlalchemy", "pyarrow", "duckdb", "deltalake",
]


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""
    warn: bool = False  # passes, but says what to change before real use


def check_java() -> Check:
    java = shutil.which("java", path=os.path.join(os.environ.get("JAVA_HOME", ""), "bin") + os.pathsep +
                        os.environ.get("PATH", ""))
    if not java:
        return Check("java", False, "java not found on PATH or JAVA_HOME", "install a JDK 17+ (apt-get install openjdk-17-jre-headless)")
    out = subprocess.run([java, "-version"], capture_output=True, text=True).stderr
    match = re.search(r'version "(\d+)', out)
    major = int(match.group(1)) if match else 0
    ok = major >= 17
    return Check("java", ok, f"{java}: {out.splitlines()[0] if out else '?'}",
                 "" if ok else "Spark 4 needs Java 17 or 21: install openjdk-17 and set JAVA_HOME")


def check_python() -> Check:
    ok = sys.version_info[:2] == (3, 11)
    return Check("python", ok, sys.version.split()[0], "" if ok else "use Python 3.11 (make creates .venv with python3.11)")


def check_packages() -> list[Check]:
    checks = []
    for name in REQUIRED:
        try:
            checks.append(Check(f"package {name}", True, metadata.version(name)))
        except metadata.PackageNotFoundError:
            checks.append(Check(f"package {name}", False, "not installed", "run `make venv`"))
    try:
        import pyspark

        spark_minor = ".".join(pyspark.__version__.split(".")[:2])
        delta = metadata.version("delta-spark")
        reqs = metadata.requires("delta-spark") or []
        pin = next((r for r in reqs if r.startswith("pyspark")), "pyspark")
        checks.append(Check("pyspark/delta-spark match", True, f"pyspark {pyspark.__version__} (Spark {spark_minor}), "
                                                               f"delta-spark {delta} requires {pin}"))
    except Exception as exc:  # reported, not raised: doctor lists every problem
        checks.append(Check("pyspark/delta-spark match", False, str(exc), "run `make venv`"))
    return checks


def check_jars(settings: Settings) -> Check:
    from citybrain.spark.jars import delta_coordinates, installed_jars, jars_dir

    jars = installed_jars(settings)
    if not jars:
        return Check("delta jars", False, f"{delta_coordinates()} not cached in {jars_dir(settings)}",
                     "run `make jars` once with access to Maven Central")
    return Check("delta jars", True, f"{len(jars)} jars in {jars_dir(settings)}")


def check_spark(settings: Settings) -> Check:
    from citybrain.spark.session import build_spark

    try:
        spark = build_spark(settings, app_name="citybrain-doctor")
        with tempfile.TemporaryDirectory() as tmp:
            spark.range(3).write.format("delta").save(f"{tmp}/t")
            count = spark.read.format("delta").load(f"{tmp}/t").count()
        version = spark.version
        spark.stop()
        ok = count == 3
        return Check("spark + delta", ok, f"Spark {version} on {settings.spark_master}: Delta write/read {count} rows")
    except Exception as exc:
        return Check("spark + delta", False, f"{type(exc).__name__}: {str(exc)[:300]}",
                     "check the java and delta jars lines above; `make jars`")


def check_airflow(settings: Settings) -> list[Check]:
    home = settings.airflow_home
    migrated = (home / ".migrated").exists()
    out = [
        Check("airflow home", home.is_dir(), str(home), "" if home.is_dir() else "run `make airflow-init`"),
        Check("airflow metadata db", migrated, "migrated" if migrated else "not initialised",
              "" if migrated else "run `make airflow-init` (airflow db migrate on SQLite)"),
    ]
    dags = sorted(p.name for p in settings.dags_dir.glob("*.py"))
    out.append(Check("dags folder", bool(dags), f"{settings.dags_dir}: {len(dags)} files",
                     "" if dags else "dags/ is empty: is CITYBRAIN_HOME the repository root?"))
    return out + check_airflow_ui(settings)


def check_airflow_ui(settings: Settings) -> list[Check]:
    """What `make airflow` needs: `airflow` found from the project's environment (not the shell's PATH), the
    DAG files importing, the UI port free (or already Airflow's), the admin login file."""
    from citybrain.orchestration.airflow_env import process_env
    from citybrain.orchestration.processes import resolve

    env = process_env(settings)
    try:
        program = resolve(["airflow"], env)[0]
        out = [Check("airflow executable", True, program)]
    except FileNotFoundError as exc:
        out = [Check("airflow executable", False, str(exc), "run `make setup`")]
    port = int(env["AIRFLOW__API__PORT"])
    state = _port_state("127.0.0.1", port)
    out.append(Check("airflow UI port", state != "taken", f"127.0.0.1:{port} {state}",
                     "" if state != "taken" else f"another program listens on {port}: stop it or set "
                     "AIRFLOW__API__PORT (and AIRFLOW__API__BASE_URL) to a free port"))
    errors = _dag_import_errors(settings)
    out.append(Check("dags import", not errors, "every DAG file imports" if not errors else "; ".join(errors)[:600],
                     "" if not errors else "fix the file named (python dags/<file>.py shows the traceback)"))
    passwords = Path(env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"])
    out.append(Check("airflow login", passwords.exists(), f"admin / see {passwords}",
                     "" if passwords.exists() else "run `make airflow-init`"))
    return out


def _port_state(host: str, port: int) -> str:
    """'free', 'serving Airflow' (a running `make airflow`) or 'taken' (another program)."""
    import socket
    import urllib.request

    with socket.socket() as sock:
        sock.settimeout(1)
        if sock.connect_ex((host, port)) != 0:
            return "free"
    try:
        with urllib.request.urlopen(f"http://{host}:{port}/api/v2/monitor/health", timeout=3) as reply:
            return "serving Airflow" if reply.status == 200 else "taken"
    except Exception:
        return "taken"


def _dag_import_errors(settings: Settings) -> list[str]:
    """Import errors of the DAG files, parsed in a child process with the project's Airflow environment."""
    from citybrain.orchestration.airflow_env import process_env

    code = ("import json, sys\nfrom airflow.dag_processing.dagbag import DagBag\n"
            "bag = DagBag(dag_folder=sys.argv[1])\n"
            "print(json.dumps({k: v.strip().splitlines()[-1] for k, v in bag.import_errors.items()}))")
    proc = subprocess.run([sys.executable, "-c", code, str(settings.dags_dir)], env=process_env(settings),
                          capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        return [f"parsing the DAGs failed: {proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else '?'}"]
    import json

    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    return [f"{Path(k).name}: {v}" for k, v in json.loads(lines[-1] if lines else "{}").items()]


def check_paths(settings: Settings) -> list[Check]:
    checks = [Check("catalog dir", settings.catalog_dir.is_dir(), str(settings.catalog_dir),
                    "" if settings.catalog_dir.is_dir() else "set CITYBRAIN_CATALOG_DIR or CITYBRAIN_HOME")]
    for label, path in [("var dir", settings.var_dir), ("sources dir", settings.sources_dir)]:
        try:
            Path(path).mkdir(parents=True, exist_ok=True)
            writable = os.access(path, os.W_OK)
        except OSError:
            writable = False
        checks.append(Check(label, writable, str(path), "" if writable else f"make {path} writable"))
    if settings.lake_is_local:
        lake = Path(settings.lake_uri)
        lake.mkdir(parents=True, exist_ok=True)
        checks.append(Check("lake", os.access(lake, os.W_OK), str(lake)))
    else:
        checks.append(Check("lake", bool(settings.s3_endpoint), settings.lake_uri,
                            "" if settings.s3_endpoint else "set CITYBRAIN_S3_ENDPOINT for an s3a:// lake"))
    return checks


def check_hmac_key(settings: Settings) -> Check:
    """The de-identification key: the public built-in one warns in a demo/test run and fails otherwise (publishing
    refuses it there, see Settings.release_hmac_key)."""
    from citybrain.settings import BuiltinKeyRefused

    if not settings.builtin_hmac_key:
        return Check("hmac key", True, "CITYBRAIN_HMAC_KEY is set (not the built-in demo key)")
    try:
        settings.release_hmac_key()
    except BuiltinKeyRefused as exc:
        return Check("hmac key", False, "CITYBRAIN_HMAC_KEY is the built-in demo key: publishing refuses it",
                     str(exc).split("; ", 1)[-1])
    return Check("hmac key", True, "the built-in demo key (public): allowed only because this is a demo/test "
                 f"run (CITYBRAIN_ENV={settings.env}, CITYBRAIN_DEMO={int(settings.demo)}); releases are marked demo",
                 "set CITYBRAIN_HMAC_KEY to a secret before publishing real data", warn=True)


def run_checks(settings: Settings | None = None, *, spark: bool = True) -> list[Check]:
    """Every check, in the order a person would fix them."""
    settings = settings or get_settings()
    checks = [check_python(), check_java(), *check_packages(), check_jars(settings)]
    if spark and checks[1].ok and checks[-1].ok:
        checks.append(check_spark(settings))
    checks += check_airflow(settings) + check_paths(settings) + [check_hmac_key(settings)]
    return checks


def as_dicts(checks: list[Check]) -> list[dict]:
    return [asdict(c) for c in checks]
