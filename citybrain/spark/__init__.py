"""Spark access: Delta jars and the one shared SparkSession per process."""

from citybrain.spark.session import get_spark, stop_spark

__all__ = ["get_spark", "stop_spark"]
