"""Storage by logical name: Delta tables addressed as layer.table, read by Spark or Arrow."""

from citybrain.lake.names import LAYERS, TableName, table_uri

__all__ = ["LAYERS", "TableName", "table_uri"]
