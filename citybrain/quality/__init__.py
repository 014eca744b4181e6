"""Quality gates (Great Expectations) and GB/T 36344 quality scores."""
