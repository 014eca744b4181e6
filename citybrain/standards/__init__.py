"""National standards the lake enforces: identifier check characters and division codes."""
