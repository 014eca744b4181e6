"""Run the quality gates: validate the current Delta version of each table with GX (pandas engine).

Each table is read ONCE through Arrow at a pinned Delta version (deltalake, no Spark), turned into a
pandas frame and validated by its checkpoint; every expectation of the suite runs over that one
in-memory frame. Values only known at run time are GX suite parameters: the referenced tables' keys,
row-count bounds from the previous version, the freshness limit of the update cycle. Results go to
``control.quality_results`` (publishing reads ``last_passed_version``) and
``control.quality_checks`` (per expectation counts, the scorecard's input); Data Docs are rebuilt
once per run into ``<site>/quality/``.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid

from citybrain.quality import policy
from citybrain.quality.results import (
    Failure,
    GateResult,
    checked_results,
    last_passed_version,
    record_results,
)
from citybrain.quality.suites import AGE_COLUMN, TableSpec, table_specs
from citybrain.settings import Settings, get_settings

log = logging.getLogger(__name__)
CHECKS_TABLE = "control.quality_checks"
NO_LIMIT = 10**12


def default_tables(settings: Settings, specs: dict[str, TableSpec]) -> list[str]:
    """Every silver and gold table the catalogue defines that exists in the lake (open ones too)."""
    from citybrain.lake import arrow_io

    return [t for t in specs if t.split(".")[0] in ("silver", "gold", "open") and arrow_io.table_exists(t, settings)]


def data_day(settings: Settings) -> dt.date:
    """The lake's last data day: the newest batch date in control.batches (else today)."""
    from citybrain.lake import arrow_io

    if arrow_io.table_exists("control.batches", settings):
        import pyarrow.compute as pc

        days = arrow_io.read_arrow("control.batches", columns=["logical_date"], settings=settings)["logical_date"]
        newest = pc.max(days).as_py()
        if newest:
            return newest
    return dt.date.today()


def _read(table: str, spec: TableSpec, version: int, settings: Settings, columns: list[str] | None = None):
    """The rows a suite validates (current SCD2 rows / newest bronze batch) as an Arrow table."""
    import pyarrow.compute as pc

    from citybrain.lake import arrow_io

    dtab = arrow_io.delta_table(table, version=version, settings=settings)
    names = set(dtab.schema().to_arrow().names)
    wanted = None if columns is None else [c for c in columns if c in names]
    if spec.current_only and "is_current" in names:
        data = arrow_io.snapshot_dataset(dtab).to_table(columns=wanted, filter=pc.field("is_current"))
    elif spec.latest_batch_only and "_batch_date" in names:
        dataset = arrow_io.snapshot_dataset(dtab)
        newest = pc.max(dataset.to_table(columns=["_batch_date"])["_batch_date"]).as_py()
        data = dataset.to_table(columns=wanted, filter=pc.field("_batch_date") == newest)
    else:
        data = arrow_io.snapshot_dataset(dtab).to_table(columns=wanted)
    return data


def _frame(spec: TableSpec, version: int, settings: Settings, today: dt.date, refs: dict):
    """The pandas frame of one table version, with the derived columns of freshness and reference checks."""
    import pandas as pd

    data = _read(spec.table, spec, version, settings)
    df = data.to_pandas()
    for column in df.columns:  # wall-clock timestamps stored as UTC: validate them naive
        if isinstance(df[column].dtype, pd.DatetimeTZDtype):
            df[column] = df[column].dt.tz_localize(None)
    if spec.age_from and spec.age_from in df.columns:
        stamp = pd.to_datetime(df[spec.age_from], errors="coerce")
        df[AGE_COLUMN] = (pd.Timestamp(today) - stamp.dt.floor("D")).dt.days
    elif spec.age_from:
        df[AGE_COLUMN] = pd.Series(dtype="float64")
    for column, how in spec.parameters.items():
        if how[0] == "reference":
            _, item, ref = how
            keys = _reference_keys(ref, settings, refs)
            values = df[item] if item in df.columns else pd.Series([None] * len(df), dtype="object")
            member = values.isin(keys) if keys is not None else pd.Series(False, index=df.index)
            df[column] = member.astype("object").where(values.notna(), None)
    return df


def _row_bounds(spec: TableSpec, version: int, settings: Settings) -> tuple[int, int]:
    """Row-count bounds from the last passed (else previous) version of the table."""
    rules = policy.policy()["row_count_change"]
    previous = last_passed_version(spec.table, settings)
    if previous is None or previous >= version:
        previous = version - 1
    if previous < 0:
        return 0, NO_LIMIT
    n = _read(spec.table, spec, previous, settings, columns=[]).num_rows
    if n < rules["min_previous_rows"]:
        return 0, NO_LIMIT
    return int(n * rules["min_ratio"]), int(n * rules["max_ratio"]) + 1


def _reference_keys(ref: str, settings: Settings, cache: dict) -> list:
    """Key values of ``resource.item`` in silver (current rows of an entity), for referential checks."""
    from citybrain.catalog import get_catalog
    from citybrain.lake import arrow_io

    if ref not in cache:
        res_name, item = ref.split(".")
        table = f"silver.{res_name}"
        if not arrow_io.table_exists(table, settings):
            cache[ref] = None
        else:
            res = get_catalog().resource(res_name)
            from citybrain.quality.suites import resource_spec

            spec = resource_spec(res, "silver", get_catalog())
            version = arrow_io.delta_table(table, settings=settings).version()
            col = _read(table, spec, version, settings, columns=[item])[item]
            cache[ref] = col.drop_null().unique().to_pandas()
    return cache[ref]


def _parameters(spec: TableSpec, version: int, settings: Settings) -> dict:
    out = {}
    for name, (kind, *args) in spec.parameters.items():
        if kind == "fresh_days":
            out[name] = args[0]
    if "rows_min" in spec.parameters:
        out["rows_min"], out["rows_max"] = _row_bounds(spec, version, settings)
    return out


def _sample_keys(result: dict, keys: list[str], n: int) -> list[str]:
    rows = result.get("partial_unexpected_index_list") or []
    if keys and rows and isinstance(rows[0], dict):
        return ["|".join(str(r.get(k)) for k in keys) for r in rows[:n]]
    return [str(v) for v in (result.get("partial_unexpected_list") or [])[:n]]


def _outcomes(spec: TableSpec, validation, n_samples: int) -> tuple[list[Failure], list[dict]]:
    """Failures (for GateResult) and per-expectation counts (for control.quality_checks)."""
    failures, checks = [], []
    for er in validation.results:
        meta = er.expectation_config.meta or {}
        result = er.result or {}
        label = meta.get("label") or er.expectation_config.type
        raised = (er.exception_info or {}).get("raised_exception")
        element = int(result.get("element_count") or 0)
        unexpected = int(result.get("unexpected_count") or 0)
        if "observed_value" in result and "element_count" not in result:  # aggregate expectation
            element, unexpected = 1, (0 if er.success else 1)
            label = f"{label} (observed {result['observed_value']})"
        if raised:
            label = f"{label} (error: {(er.exception_info or {}).get('exception_message', '')[:200]})"
        checks.append({"rule": meta.get("rule"), "dimension": meta.get("dimension"), "severity": meta.get("severity"),
                       "expectation": label, "element_count": element, "unexpected_count": unexpected,
                       "success": bool(er.success)})
        if not er.success:
            failures.append(Failure(label, meta.get("severity", "critical"), unexpected, element,
                                    _sample_keys(result, spec.keys, n_samples), meta.get("dimension")))
    return failures, checks


def _record_checks(rows: list[dict], settings: Settings) -> None:
    """Append per-expectation counts of a run to control.quality_checks (one Delta commit per run)."""
    import pyarrow as pa

    from citybrain.lake import arrow_io

    if not rows:
        return
    schema = pa.schema([("run_id", pa.string()), ("table", pa.string()), ("delta_version", pa.int64()),
                        ("rule", pa.string()), ("dimension", pa.string()), ("severity", pa.string()),
                        ("expectation", pa.string()), ("element_count", pa.int64()),
                        ("unexpected_count", pa.int64()), ("success", pa.bool_()),
                        ("checked_at", pa.timestamp("us", "UTC"))])
    arrow_io.append_arrow(CHECKS_TABLE, pa.Table.from_pylist(rows, schema), settings=settings)


def validate_table(context, spec: TableSpec, settings: Settings, run_id: str, today: dt.date,
                   refs: dict | None = None, checks_out: list[dict] | None = None) -> GateResult:
    """Validate the current version of one table with its checkpoint; returns its GateResult.

    Per-expectation counts are appended to ``checks_out`` (written by the caller in one commit), or
    written to control.quality_checks right away when it is None.
    """
    from citybrain.lake import arrow_io
    from citybrain.quality.project import ensure_checkpoint

    n_samples = int(policy.policy().get("sample_keys", 10))
    version = arrow_io.delta_table(spec.table, settings=settings).version()
    checkpoint = ensure_checkpoint(context, spec, n_samples)
    df = _frame(spec, version, settings, today, refs if refs is not None else {})
    params = _parameters(spec, version, settings)
    run = checkpoint.run(batch_parameters={"dataframe": df}, expectation_parameters=params)
    validation = next(iter(run.run_results.values()))
    failures, checks = _outcomes(spec, validation, n_samples)
    now = dt.datetime.now(dt.UTC)
    rows = [{"run_id": run_id, "table": spec.table, "delta_version": version, **c, "checked_at": now} for c in checks]
    if checks_out is None:
        _record_checks(rows, settings)
    else:
        checks_out.extend(rows)
    passed = not any(f.severity == "critical" for f in failures)
    return GateResult(spec.table, version, spec.suite, run_id, passed, len(checks), failures)


def run_gates(tables: list[str] | None = None, *, settings: Settings | None = None, spark=None,
              run_id: str | None = None, reuse_checked: bool = False) -> list[GateResult]:
    """Validate the current version of each table ("layer.table"; None = every silver/gold/open table of
    the catalogue in the lake), record the outcomes, rebuild Data Docs and return the results.

    With ``reuse_checked`` a table whose current Delta version was already validated by the same suite
    (e.g. by the quality DAG just before publishing) is not validated again: its recorded outcome is
    returned and nothing is written for it.

    ``spark`` is accepted for callers holding a session and unused: the gates read Delta through
    Arrow at a pinned version and validate with GX's pandas engine (one scan per table).
    """
    from citybrain.catalog import get_catalog
    from citybrain.quality.project import get_context, prune_validations

    del spark
    settings = settings or get_settings()
    run_id = run_id or f"quality-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    specs = table_specs(get_catalog())
    names = list(tables) if tables is not None else default_tables(settings, specs)
    unknown = [t for t in names if t not in specs]
    if unknown:
        raise KeyError(f"no quality suite for {unknown}: tables come from catalog/ (resources, themes, "
                       f"gold.indicator_values); known e.g. {', '.join(list(specs)[:5])}")
    done = checked_results(settings) if reuse_checked else {}
    reused = []
    for name in list(names):
        version = _current_version(name, settings) if done else None
        earlier = done.get((name, version, specs[name].suite)) if version is not None else None
        if earlier is not None:
            reused.append(earlier)
            names.remove(name)
            log.info("quality gate %s@v%d: already %s by run %s, not validated again", name, version,
                     "passed" if earlier.passed else "BLOCKED", earlier.run_id)
    if not names:
        return reused
    context = get_context(settings)
    today = data_day(settings)
    refs: dict = {}
    results, checks = [], []
    for i, name in enumerate(names, 1):
        started = time.perf_counter()
        result = validate_table(context, specs[name], settings, run_id, today, refs, checks)
        results.append(result)
        log.info("quality gate %d/%d %s@v%d: %s (%d expectations, %d failed) in %.1fs", i, len(names), name,
                 result.delta_version, "passed" if result.passed else "BLOCKED", result.evaluated,
                 len(result.failures), time.perf_counter() - started)
        if not result.passed:
            log.warning("%s", result.describe())
    record_results(results, settings)
    _record_checks(checks, settings)
    started = time.perf_counter()
    prune_validations(settings)
    context.build_data_docs()
    log.info("quality: Data Docs built in %.1fs", time.perf_counter() - started)
    return reused + results


def _current_version(table: str, settings: Settings) -> int:
    from citybrain.lake import arrow_io

    return arrow_io.delta_table(table, settings=settings).version()
