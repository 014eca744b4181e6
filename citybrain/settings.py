"""Typed settings: embedded defaults for one machine, overridable by CITYBRAIN_* variables."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parents[1]

Environment = Literal["local", "cluster", "connect", "test"]

# The built-in HMAC key is public (it is in this file): a keyed hash made with it is reversible by anyone who
# enumerates the identifiers (an ID number has ~10^8 values per birth year). Only a demo run (`citybrain demo`,
# which sets CITYBRAIN_DEMO=1) or a test run (CITYBRAIN_ENV=test) may publish with it.
BUILTIN_HMAC_KEY = "citybrain-demo-key-change-me"


class BuiltinKeyRefused(RuntimeError):
    """Publishing was asked for outside a demo/test run while CITYBRAIN_HMAC_KEY is the built-in demo key."""

# One variable (CITYBRAIN_ENV) picks a profile; each profile only changes defaults, and any
# CITYBRAIN_* variable still overrides a single setting.
PROFILES: dict[str, dict[str, object]] = {
    "local": {},
    "test": {"spark_shuffle_partitions": 2},
    "cluster": {"spark_master": "spark://spark-master:7077"},
    "connect": {"spark_master": "sc://spark-connect:15002"},
}


class Settings(BaseSettings):
    """Where the lake, sources and Airflow live and how Spark runs."""

    model_config = SettingsConfigDict(env_prefix="CITYBRAIN_", extra="ignore")

    env: Environment = "local"
    home: Path = Field(default=REPO_ROOT, description="project root (holds catalog/, dags/)")
    var_dir: Path | None = Field(default=None, description="generated data; default <home>/var")
    lake_uri: str | None = Field(default=None, description="Delta lake root: a path or s3a://bucket/prefix")
    sources_dir: Path | None = None
    airflow_home: Path | None = None
    jars_dir: Path | None = None
    site_dir: Path | None = None
    bench_dir: Path | None = None
    open_dir: Path | None = None
    catalog_dir: Path | None = None

    spark_master: str = "local[*]"
    spark_driver_memory: str = "6g"
    spark_shuffle_partitions: int = 4
    spark_log_level: str = "ERROR"
    spark_timezone: str = "UTC"
    spark_pool_slots: int = Field(default=2, ge=1, description="Airflow pool slots for concurrent Spark tasks")

    s3_endpoint: str | None = None
    s3_access_key: SecretStr | None = None
    s3_secret_key: SecretStr | None = None

    # Keyed hash for de-identification; the deployed value comes from the environment only.
    hmac_key: SecretStr = SecretStr(BUILTIN_HMAC_KEY)
    demo: bool = Field(default=False, description="a demo run (CITYBRAIN_DEMO=1, set by `citybrain demo`): "
                                                  "its releases are marked demo and may use the built-in key")

    @model_validator(mode="before")
    @classmethod
    def _apply_profile(cls, data: dict) -> dict:
        env = (data or {}).get("env") or os.environ.get("CITYBRAIN_ENV", "local")
        merged = dict(PROFILES.get(env, {}))
        env_keys = {k.removeprefix("CITYBRAIN_").lower() for k in os.environ if k.startswith("CITYBRAIN_")}
        for key in env_keys:
            merged.pop(key, None)
        merged.update(data or {})
        return merged

    @model_validator(mode="after")
    def _derive_paths(self) -> Settings:
        self.home = self.home.resolve()
        var = (self.var_dir or self.home / "var").resolve()
        self.var_dir = var
        self.lake_uri = self.lake_uri or str(var / "lake")
        self.sources_dir = self.sources_dir or var / "sources"
        self.airflow_home = self.airflow_home or var / "airflow"
        self.jars_dir = self.jars_dir or var / "jars"
        self.site_dir = self.site_dir or var / "site"
        self.bench_dir = self.bench_dir or var / "bench"
        self.open_dir = self.open_dir or var / "open"
        self.catalog_dir = self.catalog_dir or self.home / "catalog"
        return self

    @property
    def dags_dir(self) -> Path:
        return self.home / "dags"

    @property
    def lake_is_local(self) -> bool:
        return "://" not in self.lake_uri or self.lake_uri.startswith("file://")

    @property
    def demo_run(self) -> bool:
        """A run explicitly marked as demo (CITYBRAIN_DEMO=1) or test (CITYBRAIN_ENV=test)."""
        return self.demo or self.env == "test"

    @property
    def builtin_hmac_key(self) -> bool:
        """The HMAC key is the public built-in one (or empty): its hashes protect nothing."""
        return self.hmac_key.get_secret_value() in (BUILTIN_HMAC_KEY, "")

    def release_hmac_key(self) -> bytes:
        """The key that de-identifies a release; BuiltinKeyRefused for the built-in key outside a demo/test run."""
        if self.builtin_hmac_key and not self.demo_run:
            raise BuiltinKeyRefused(
                f"CITYBRAIN_HMAC_KEY is not set (the built-in demo key is in use): that key is public and may only publish in a demo or "
                f"test run (CITYBRAIN_ENV={self.env}, CITYBRAIN_DEMO not set); set a secret key, e.g. "
                "`export CITYBRAIN_HMAC_KEY=$(python -c 'import secrets; print(secrets.token_urlsafe(32))')` "
                "(docker: in docker/.env) and keep it (a new key changes every published hash); for demo data "
                "only, mark the run with CITYBRAIN_DEMO=1")
        return self.hmac_key.get_secret_value().encode("utf-8")

    def public_dict(self) -> dict[str, str]:
        """Settings as strings, secrets masked: for `citybrain doctor` and logs."""
        out = {}
        for key, value in self.model_dump().items():
            if isinstance(value, SecretStr) or key in {"hmac_key", "s3_access_key", "s3_secret_key"}:
                value = "***" if value else None
            out[key] = "" if value is None else str(value)
        return out


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (read once from the environment)."""
    return Settings()


def reset_settings() -> None:
    """Forget cached settings (tests change the environment)."""
    get_settings.cache_clear()
