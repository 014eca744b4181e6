"""Item lookup shared by the catalogue's resource model and the stages' views of a resource."""

from __future__ import annotations


class ItemLookup:
    """``item(name)``, ``has_item(name)`` and ``item_names`` over ``self.items`` (each item has a ``name``)."""

    def item(self, name: str):
        """The item called ``name`` (KeyError naming the resource and its YAML when absent)."""
        for it in self.items:
            if it.name == name:
                return it
        raise KeyError(f"resource {self.name} has no item {name!r} (catalog/resources/**/{self.name}.yaml)")

    def has_item(self, name: str) -> bool:
        return any(it.name == name for it in self.items)

    @property
    def item_names(self) -> list[str]:
        return [it.name for it in self.items]
