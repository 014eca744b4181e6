"""Airflow Assets for lake tables: producers declare outlets, downstream DAGs schedule on them."""

from __future__ import annotations

from citybrain.lake.names import TableName


def lake_asset(name: str | TableName):
    """The Asset of a lake table, e.g. bronze.pop_resident -> citybrain://lake/bronze/pop_resident."""
    from airflow.sdk import Asset

    table = TableName.parse(name)
    return Asset(name=str(table), uri=f"citybrain://lake/{table.layer}/{table.table}", group=table.layer)
