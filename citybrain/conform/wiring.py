"""What the conform DAG is scheduled on and produces, from the catalogue (YAML only: cheap at DAG-parse time)."""

from __future__ import annotations

# Silver tables conform writes besides one per resource and one golden table per base entity.
DERIVED_TABLES = ("silver.discrepancies", "silver.agreement_rates", "silver.agreement_keys",
                  "silver.superseded_duplicates")


def bronze_assets() -> list:
    """The Asset of every bronze table (each department's ingestion DAG produces its resources')."""
    from citybrain.conform.catalog import get_conform_catalog
    from citybrain.orchestration.assets import lake_asset

    return [lake_asset(f"bronze.{name}") for name in sorted(get_conform_catalog().resources)]


def silver_tables() -> list[str]:
    """Every silver table the stage writes."""
    from citybrain.conform.catalog import get_conform_catalog

    cat = get_conform_catalog()
    return ([f"silver.{name}" for name in sorted(cat.resources)]
            + [f"silver.{e.name}_golden" for e in cat.entities] + list(DERIVED_TABLES))


def silver_outlets() -> list:
    from citybrain.orchestration.assets import lake_asset

    return [lake_asset(name) for name in silver_tables()]


def summary(result: dict) -> dict:
    """A run's result for XCom and logs: per-resource row accounting and per-entity figures."""
    keys = ("rows_in", "rows_silver", "rows_quarantined", "rows_duplicate", "rows_upserted")
    return {
        "resources": {name: {"batches": len(res["batches"]), **{k: res[k] for k in keys}}
                      for name, res in result["resources"].items()},
        "entities": result["entities"],
        "seconds": result["seconds"],
    }


def log_progress(kind: str, name: str, done: int, total: int, result) -> None:
    """run_conform's progress callback for the DAG task: a log line per resource and entity as it finishes."""
    import logging

    r = result if isinstance(result, dict) else {}
    figures = {k: v for k, v in r.items() if isinstance(v, int | float | str)}
    logging.getLogger("citybrain.conform").info("conform %s %d/%d %s: %s", kind, done, total, name, figures)
