"""Department-source simulator: one coherent city published as every catalogue resource, with faults.

The API: ``generate_sources(...) -> GenerationReport`` (databases and file drops under
``var/sources``) and ``hash_sources(folder)`` (content hash). Identifier check characters live in
``citybrain.standards.identifiers``. Imports are lazy so that importing a submodule stays light.
"""

from __future__ import annotations

__all__ = ["GenerationReport", "generate_sources", "hash_sources"]


def __getattr__(name: str):
    if name in ("GenerationReport", "generate_sources"):
        from citybrain.sources import generate

        return getattr(generate, name)
    if name == "hash_sources":
        from citybrain.sources.hashing import hash_sources

        return hash_sources
    raise AttributeError(f"module 'citybrain.sources' has no attribute {name!r}")
