"""Department-source simulator: one coherent city published as every catalogue resource, with faults.

The API: ``generate_sources(...) -> GenerationReport`` (databases and file drops under
``var/sources``) and ``hash_sources(folder)`` (content hash). Identifier check characters live in
``citybrain.standards.identifiers``.
"""

from citybrain.sources.generate import GenerationReport, generate_sources
from citybrain.sources.hashing import hash_sources

__all__ = ["GenerationReport", "generate_sources", "hash_sources"]
