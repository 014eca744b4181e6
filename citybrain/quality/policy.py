"""The gate policy of quality/gates.yml: severities, row-count bounds, freshness, scorecard weights."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import yaml

from citybrain.settings import REPO_ROOT

POLICY_FILE = REPO_ROOT / "quality" / "gates.yml"
POLICY_ENV = "CITYBRAIN_QUALITY_POLICY"
DIMENSIONS = ("conformity", "completeness", "accuracy", "consistency", "timeliness", "accessibility")
DIMENSION_ZH = {"conformity": "规范性", "completeness": "完整性", "accuracy": "准确性",
                "consistency": "一致性", "timeliness": "时效性", "accessibility": "可访问性"}


def _merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for key, value in over.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


@lru_cache(maxsize=4)
def _load(override: str | None) -> dict:
    policy = yaml.safe_load(POLICY_FILE.read_text(encoding="utf-8"))
    if override:
        path = Path(override)
        if not path.is_file():
            raise FileNotFoundError(f"{POLICY_ENV}={override}: no such quality policy file")
        policy = _merge(policy, yaml.safe_load(path.read_text(encoding="utf-8")) or {})
    return policy


def policy() -> dict:
    """quality/gates.yml merged with the file named by CITYBRAIN_QUALITY_POLICY (if any)."""
    return _load(os.environ.get(POLICY_ENV))


def severity(layer: str, rule: str) -> str:
    """critical | warning for a generated rule of a table in ``layer``."""
    by_layer = policy()["severity"].get(layer, {})
    value = by_layer.get(rule, by_layer.get("default", "warning"))
    if value not in ("critical", "warning"):
        raise ValueError(f"{POLICY_FILE}: severity {layer}.{rule} is {value!r}, expected critical or warning")
    return value


def weights(override: dict[str, float] | None = None) -> dict[str, float]:
    """Scorecard weights per dimension, normalised to sum 1."""
    raw = {**{d: 1.0 for d in DIMENSIONS}, **policy().get("scorecard_weights", {}), **(override or {})}
    unknown = set(raw) - set(DIMENSIONS)
    if unknown:
        raise ValueError(f"unknown scorecard dimension(s) {sorted(unknown)}; known: {', '.join(DIMENSIONS)}")
    total = sum(float(v) for v in raw.values())
    if total <= 0:
        raise ValueError("scorecard weights must sum to more than 0")
    return {d: float(raw[d]) / total for d in DIMENSIONS}
