"""What the gold DAG is scheduled on and produces, from the catalogue (YAML only: cheap at DAG-parse time)."""

from __future__ import annotations


def silver_assets() -> list:
    """Assets of every silver table gold reads (indicator resources and theme inputs)."""
    from citybrain.catalog import get_catalog
    from citybrain.gold.job import silver_inputs
    from citybrain.orchestration.assets import lake_asset

    return [lake_asset(f"silver.{name}") for name in silver_inputs(get_catalog())]


def gold_outlets() -> list:
    """Assets of every gold table the stage writes."""
    from citybrain.catalog import get_catalog
    from citybrain.gold.job import gold_tables
    from citybrain.orchestration.assets import lake_asset

    return [lake_asset(name) for name in gold_tables(get_catalog())]
