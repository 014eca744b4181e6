"""Task-level logic called by the thin DAGs and job entry points."""
