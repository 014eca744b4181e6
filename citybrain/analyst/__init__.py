"""Analyst access without Spark: DuckDB over the silver, gold and open Delta tables (views layer.table),
with time travel, and DuckDB database files for other tools.

    from citybrain.analyst.sql import connect, query
    con = connect(as_of="2026-11-20 00:00")
    query("SELECT * FROM gold.indicator_values LIMIT 5")
"""
