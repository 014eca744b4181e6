"""docker/docker-compose.yml is a coherent scale-out deployment, checked as far as a machine without a Docker
engine allows: `docker compose config` when the CLI plugin is there (it needs no engine), else the same
checks on the YAML resolved here (anchors, env files, ${VAR} interpolation)."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml

from citybrain.settings import REPO_ROOT, Settings

pytestmark = pytest.mark.integration

DOCKER = REPO_ROOT / "docker"
COMPOSE = DOCKER / "docker-compose.yml"
SERVICES = {
    "postgres", "minio", "minio-init", "spark-master", "spark-worker-1", "spark-worker-2", "spark-connect",
    "airflow-init", "airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer",
}
AIRFLOW_COMPONENTS = {"airflow-apiserver": "api-server", "airflow-scheduler": "scheduler",
                      "airflow-dag-processor": "dag-processor", "airflow-triggerer": "triggerer"}
SECRETS = ["POSTGRES_PASSWORD", "MINIO_ROOT_USER", "MINIO_ROOT_PASSWORD", "AIRFLOW_ADMIN_PASSWORD",
           "AIRFLOW_FERNET_KEY", "AIRFLOW_JWT_SECRET", "AIRFLOW_API_SECRET_KEY", "CITYBRAIN_HMAC_KEY"]
DUMMY_SECRETS = {name: f"test-{name.lower().replace('_', '-')}" for name in SECRETS}


def _compose_cli() -> bool:
    try:
        return subprocess.run(["docker", "compose", "version"], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


# --- the fallback resolver: what `docker compose config` does, for the features the file uses -------------

_VAR = re.compile(r"\$\$|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")


def _interpolate(value, env: dict[str, str]):
    if isinstance(value, dict):
        return {k: _interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [_interpolate(v, env) for v in value]
    if not isinstance(value, str):
        return value

    def replace(match: re.Match) -> str:
        if match.group(0) == "$$":
            return "$"
        name, op, arg = match["name"], match["op"], match["arg"]
        current = env.get(name)
        unset = current is None or (op is not None and op.startswith(":") and current == "")
        if op and op.endswith("?") and unset:
            raise ValueError(f"required variable {name} is missing a value: {arg}")
        if op and op.endswith("-") and unset:
            return arg
        return current or ""

    return _VAR.sub(replace, value)


def _env_file(path: Path) -> dict[str, str]:
    out = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            out[key.strip()] = value.strip()
    return out


def _resolve_in_python(env: dict[str, str]) -> dict:
    raw = _interpolate(yaml.safe_load(COMPOSE.read_text()), env)
    for service in raw["services"].values():
        merged: dict[str, str] = {}
        env_files = service.get("env_file", [])
        for name in [env_files] if isinstance(env_files, str) else env_files:
            merged.update(_env_file(DOCKER / name))
        environment = service.get("environment") or {}
        if isinstance(environment, list):
            environment = dict(item.split("=", 1) for item in environment)
        merged.update({k: "" if v is None else str(v) for k, v in environment.items()})
        service["environment"] = merged
        depends = service.get("depends_on") or {}
        service["depends_on"] = {d: {"condition": "service_started"} for d in depends} if isinstance(depends, list) \
            else depends
        if "build" in service:
            service["build"]["context"] = str((DOCKER / service["build"]["context"]).resolve())
    return raw


def _cli_env(env: dict[str, str]) -> dict[str, str]:
    """Only the given variables (no secrets leak in from the caller's shell), plus what docker itself needs."""
    keep = {k: os.environ[k] for k in ("PATH", "HOME", "DOCKER_CONFIG") if k in os.environ}
    return {**keep, **env}


def _resolve_with_cli(env: dict[str, str]) -> dict:
    proc = subprocess.run(
        ["docker", "compose", "-f", str(COMPOSE), "--env-file", os.devnull, "config", "--format", "json"],
        capture_output=True, text=True, timeout=60, env=_cli_env(env),
    )
    assert proc.returncode == 0, f"docker compose config rejected {COMPOSE}:\n{proc.stderr}"
    return json.loads(proc.stdout)


# The Python resolution always runs; the CLI (schema validation included) too wherever it is installed.
RESOLVERS = ["python", "docker-compose"] if _compose_cli() else ["python"]


@pytest.fixture(scope="module", params=RESOLVERS)
def config(request):
    """The effective configuration with dummy secrets."""
    env = dict(DUMMY_SECRETS)
    return _resolve_with_cli(env) if request.param == "docker-compose" else _resolve_in_python(env)


def _build_services(config: dict) -> dict[str, dict]:
    return {name: svc for name, svc in config["services"].items() if "build" in svc}


def _command(service: dict) -> list[str]:
    command = service.get("command") or []
    return shlex.split(command) if isinstance(command, str) else [str(c) for c in command]


def test_every_service_is_there_with_an_image_or_a_build(config):
    services = config["services"]
    assert SERVICES <= set(services), SERVICES - set(services)
    for name, service in services.items():
        assert service.get("image") or service.get("build"), f"{name} has neither image nor build"
        if "build" in service:
            context = Path(service["build"]["context"])
            assert (context / service["build"]["dockerfile"]).is_file(), name
            assert context.resolve() == REPO_ROOT, f"{name} must build from the repository root"


def test_depends_on_targets_exist_and_one_shot_jobs_finish(config):
    services = config["services"]
    for name, service in services.items():
        for target, spec in (service.get("depends_on") or {}).items():
            assert target in services, f"{name} depends on unknown service {target}"
            condition = spec.get("condition", "service_started")
            assert condition in {"service_started", "service_healthy", "service_completed_successfully"}
            if condition == "service_healthy":
                assert services[target].get("healthcheck"), f"{name} waits for {target}'s health: it has no check"
            if condition == "service_completed_successfully":
                assert services[target].get("restart", "no") == "no", f"{target} is a one-shot job"
    # No cycles: a topological order exists.
    pending = {n: set(s.get("depends_on") or {}) for n, s in services.items()}
    while pending:
        ready = [n for n, deps in pending.items() if not deps & set(pending)]
        assert ready, f"dependency cycle among {sorted(pending)}"
        for n in ready:
            del pending[n]


def test_project_containers_get_settings_for_cluster_s3a_and_credentials(config, monkeypatch):
    services = config["services"]
    assert _build_services(config), "no service builds the project image"
    for name, service in _build_services(config).items():
        env = service["environment"]
        for key in list(os.environ):
            if key.startswith("CITYBRAIN_"):
                monkeypatch.delenv(key)
        for key, value in env.items():
            if key.startswith("CITYBRAIN_"):
                monkeypatch.setenv(key, value)
        settings = Settings()
        assert settings.env == "cluster", name
        master = urlparse(settings.spark_master)
        assert master.scheme == "spark" and master.hostname in services, f"{name}: master {settings.spark_master}"
        assert str(master.port) in _command(services[master.hostname]), "master port differs from its command"
        lake = urlparse(settings.lake_uri)
        assert lake.scheme == "s3a", f"{name}: lake {settings.lake_uri}"
        assert f"lake/{lake.hostname}" in " ".join(_command(services["minio-init"])), "lake bucket is never created"
        endpoint = urlparse(settings.s3_endpoint)
        assert endpoint.hostname == "minio" and endpoint.port == 9000, f"{name}: S3 endpoint {settings.s3_endpoint}"
        assert settings.s3_access_key.get_secret_value() == DUMMY_SECRETS["MINIO_ROOT_USER"], name
        assert settings.s3_secret_key.get_secret_value() == DUMMY_SECRETS["MINIO_ROOT_PASSWORD"], name
        assert settings.hmac_key.get_secret_value() == DUMMY_SECRETS["CITYBRAIN_HMAC_KEY"], name


def test_airflow_components_share_postgres_secrets_and_api(config):
    services = config["services"]
    airflow = {n: s for n, s in services.items() if n.startswith("airflow-")}
    for name, component in AIRFLOW_COMPONENTS.items():
        assert _command(services[name])[:1] == [component], name
    shared = {"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "AIRFLOW__CORE__FERNET_KEY", "AIRFLOW__API_AUTH__JWT_SECRET",
              "AIRFLOW__CORE__EXECUTION_API_SERVER_URL", "AIRFLOW__CORE__EXECUTOR", "AIRFLOW__CORE__DAGS_FOLDER"}
    for key in shared:
        values = {s["environment"].get(key) for s in airflow.values()}
        assert len(values) == 1 and None not in values, f"{key} differs between Airflow components: {values}"
    env = services["airflow-scheduler"]["environment"]
    db = urlparse(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
    assert db.scheme == "postgresql+psycopg2" and db.hostname == "postgres", db
    assert db.password == DUMMY_SECRETS["POSTGRES_PASSWORD"]
    assert urlparse(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC"]).scheme == "postgresql+asyncpg"
    api = urlparse(env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"])
    assert api.hostname == "airflow-apiserver" and str(api.port) == env["AIRFLOW__API__PORT"]
    assert env["AIRFLOW__CORE__DAGS_FOLDER"] == "/opt/citybrain/dags"  # where the Dockerfile copies dags/
    assert env["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"


def _published(service: dict) -> list[tuple[str, int, int]]:
    out = []
    for port in service.get("ports", []):
        if isinstance(port, dict):  # compose config's long form
            out.append((port.get("host_ip", ""), int(port["published"]), int(port["target"])))
        else:
            parts = str(port).split(":")
            out.append((parts[0] if len(parts) == 3 else "", int(parts[-2]), int(parts[-1])))
    return out


def test_ports_are_loopback_unique_and_match_what_services_listen_on(config):
    services = config["services"]
    seen: dict[int, str] = {}
    for name, service in services.items():
        for host_ip, published, _ in _published(service):
            assert host_ip == "127.0.0.1", f"{name} publishes {published} on all interfaces"
            assert published not in seen, f"host port {published} used by {seen.get(published)} and {name}"
            seen[published] = name
    targets = {name: {t for _, _, t in _published(s)} for name, s in services.items()}
    assert 8080 in targets["airflow-apiserver"]
    assert {9000, 9001} <= targets["minio"]
    connect = _command(services["spark-connect"])
    assert int(connect[connect.index("--port") + 1]) in targets["spark-connect"]
    master = _command(services["spark-master"])
    assert int(master[master.index("--webui-port") + 1]) in targets["spark-master"]


def test_volumes_are_declared_and_shared_where_needed(config):
    declared = set(config.get("volumes") or {})
    mounts: dict[str, set[str]] = {}
    for name, service in config["services"].items():
        for volume in service.get("volumes", []):
            if isinstance(volume, dict):
                source, target, kind = volume.get("source"), volume["target"], volume.get("type", "volume")
            else:
                source, target = volume.split(":")[:2]
                kind = "bind" if source.startswith((".", "/")) else "volume"
            if kind == "volume":
                assert source in declared, f"{name} mounts undeclared volume {source}"
            else:
                assert Path(source).exists(), f"{name} binds missing path {source}"
            mounts.setdefault(source, set()).add(target)
    # Task logs written by the scheduler are read by the API server; one lake-side var dir everywhere.
    assert mounts.get("airflow-home") == {"/opt/airflow"}
    assert mounts.get("citybrain-var") == {"/var/citybrain"}
    for name in [*AIRFLOW_COMPONENTS, "spark-worker-1", "spark-worker-2", "spark-connect"]:
        targets = {v["target"] if isinstance(v, dict) else v.split(":")[1] for v in config["services"][name]["volumes"]}
        assert "/var/citybrain" in targets, name


def test_spark_commands_are_real_cli_commands(config):
    """Every `citybrain spark ...` a container runs parses against the CLI (options and all)."""
    import typer.main

    from citybrain.cli.spark_cmd import spark_app

    group = typer.main.get_command(spark_app)
    for name, service in _build_services(config).items():
        argv = _command(service)
        if service.get("entrypoint") or not argv or argv[0] != "spark":
            continue
        command = group.get_command(None, argv[1])
        assert command is not None, f"{name}: no `citybrain spark {argv[1]}`"
        command.make_context(argv[1], argv[2:])  # raises on an unknown option or a bad value


def test_secrets_are_never_written_into_the_files():
    text = COMPOSE.read_text() + "".join(p.read_text() for p in (DOCKER / "env").glob("*.env"))
    for secret in SECRETS:
        assert re.search(rf"\$\{{{secret}:\?", COMPOSE.read_text()), f"{secret} is not required from the environment"
    assert not re.search(r"(PASSWORD|SECRET|FERNET)[A-Z_]*[:=] *[A-Za-z0-9]", re.sub(r"\$\{[^}]*\}", "", text)), \
        "a secret value is written into docker/"


@pytest.mark.parametrize("resolver", RESOLVERS)
def test_compose_refuses_to_start_without_secrets(resolver):
    env = {k: v for k, v in DUMMY_SECRETS.items() if k != "MINIO_ROOT_PASSWORD"}
    if resolver == "python":
        with pytest.raises(ValueError, match="MINIO_ROOT_PASSWORD"):
            _resolve_in_python(env)
        return
    argv = ["docker", "compose", "-f", str(COMPOSE), "--env-file", os.devnull, "config", "--quiet"]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=60, env=_cli_env(env))
    assert proc.returncode != 0 and "MINIO_ROOT_PASSWORD" in proc.stderr, proc.stderr


def test_image_holds_every_folder_the_package_reads_at_run_time():
    """Folders the code resolves next to the package (REPO_ROOT / "quality", home / "dags", ...) are in the
    image: a DAG or stage added with a new folder (quality/ for the gates) fails here, not in a container."""
    sources = "".join(p.read_text() for p in (REPO_ROOT / "citybrain").rglob("*.py"))
    folders = set(re.findall(r'(?:REPO_ROOT|home) / "([a-z_]+)"', sources)) - {"var"}  # var/ is a volume
    assert {"catalog", "dags", "jobs", "quality"} <= folders  # the scan still finds what it is for
    dockerfile = (DOCKER / "Dockerfile").read_text()
    ignored = {line.strip().rstrip("/") for line in (DOCKER / "Dockerfile.dockerignore").read_text().splitlines()}
    for folder in sorted(folders):
        assert re.search(rf"^COPY {folder} \./{folder}$", dockerfile, re.M), f"docker/Dockerfile does not COPY {folder}/"
        assert folder not in ignored, f"docker/Dockerfile.dockerignore excludes {folder}/"
