"""The Great Expectations file-backed context: template quality/gx/, suites, definitions, checkpoints.

Each run works on ``<var>/quality/gx/`` (a copy of the committed template, so runs never dirty the
repository); Data Docs are written to ``<site>/quality/``. Suites, validation definitions and
checkpoints are (re)generated from the catalogue; a file is rewritten only when its suite changed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from pathlib import Path

from citybrain.quality.suites import Rule, TableSpec
from citybrain.settings import REPO_ROOT, Settings, get_settings

log = logging.getLogger(__name__)
TEMPLATE = REPO_ROOT / "quality" / "gx" / "great_expectations.yml"
DATASOURCE = "lake"


def project_root(settings: Settings) -> Path:
    return Path(settings.var_dir) / "quality"


def docs_dir(settings: Settings) -> Path:
    return Path(settings.site_dir) / "quality"


def get_context(settings: Settings | None = None, root: Path | None = None):
    """The file-backed GX context of this lake (created from the template on first use)."""
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    import great_expectations as gx

    import citybrain.quality.expectations  # noqa: F401  (registers the custom expectations)

    settings = settings or get_settings()
    root = root or project_root(settings)
    gx_dir = root / "gx"
    (gx_dir / "uncommitted").mkdir(parents=True, exist_ok=True)
    if not (gx_dir / "great_expectations.yml").exists():
        shutil.copy(TEMPLATE, gx_dir / "great_expectations.yml")
    docs_dir(settings).mkdir(parents=True, exist_ok=True)
    (gx_dir / "uncommitted" / "config_variables.yml").write_text(
        f"quality_site_dir: {json.dumps(str(docs_dir(settings)) + '/')}\n", encoding="utf-8")
    return gx.get_context(mode="file", project_root_dir=str(root))


def _expectation(rule: Rule):
    import great_expectations as gx

    from citybrain.quality import expectations as custom

    cls = getattr(custom, rule.expectation, None) or getattr(gx.expectations, rule.expectation)
    meta = {"severity": rule.severity, "rule": rule.rule, "dimension": rule.dimension, "label": rule.label}
    return cls(**rule.kwargs, meta=meta)


def _fingerprint(spec: TableSpec) -> str:
    payload = json.dumps([[r.expectation, r.kwargs, r.rule, r.severity] for r in spec.rules], sort_keys=True,
                         default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def ensure_checkpoint(context, spec: TableSpec, sample_keys: int = 10):
    """The checkpoint validating ``spec.table`` (suite, validation definition, checkpoint kept in sync)."""
    import great_expectations as gx

    name = spec.suite
    fingerprint = _fingerprint(spec)
    try:
        checkpoint = context.checkpoints.get(name)
        suite = context.suites.get(name)
        if (suite.meta or {}).get("fingerprint") == fingerprint:
            return checkpoint
    except Exception:  # DataContextError / StoreBackendError: not there yet
        pass
    try:
        source = context.data_sources.get(DATASOURCE)
    except (KeyError, ValueError):
        source = context.data_sources.add_pandas(DATASOURCE)
    try:
        asset = source.get_asset(name)
    except LookupError:
        asset = source.add_dataframe_asset(name)
    try:
        batch = asset.get_batch_definition(name)
    except KeyError:
        batch = asset.add_batch_definition_whole_dataframe(name)
    suite = gx.ExpectationSuite(name=name, meta={"fingerprint": fingerprint, "table": spec.table,
                                                 "generated_from": "catalog/ via citybrain.quality.suites"})
    for rule in spec.rules:
        suite.add_expectation(_expectation(rule))
    suite = context.suites.add_or_update(suite)
    vd = context.validation_definitions.add_or_update(gx.ValidationDefinition(name=name, data=batch, suite=suite))
    result_format = {"result_format": "SUMMARY", "partial_unexpected_count": sample_keys}
    if spec.keys:
        result_format["unexpected_index_column_names"] = list(spec.keys)
    return context.checkpoints.add_or_update(
        gx.Checkpoint(name=name, validation_definitions=[vd], result_format=result_format))


def write_suites(specs: dict[str, TableSpec], settings: Settings | None = None, root: Path | None = None) -> int:
    """Generate every suite/definition/checkpoint into the project at ``root`` (default var/quality)."""
    context = get_context(settings, root)
    for spec in specs.values():
        ensure_checkpoint(context, spec)
    return len(specs)


def prune_validations(settings: Settings | None = None, keep: int = 3) -> int:
    """Keep the newest ``keep`` validation results per suite, so Data Docs stay bounded as runs accumulate."""
    settings = settings or get_settings()
    store = project_root(settings) / "gx" / "uncommitted" / "validations"
    removed = 0
    if not store.is_dir():
        return 0
    for suite in store.iterdir():
        runs = sorted((p for p in suite.glob("*/*") if p.is_dir()), key=lambda p: p.name)
        for old in runs[:-keep] if keep else runs:
            shutil.rmtree(old, ignore_errors=True)
            removed += 1
    return removed
