"""City-brain data lake: catalogue-driven ingestion, conform, indicators, quality and open data."""

__version__ = "0.1.0"
