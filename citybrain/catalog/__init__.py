"""The data catalogue as code: load, validate and query catalog/ (the single source of truth).

    from citybrain.catalog import get_catalog
    cat = get_catalog()
    res = cat.resource("pop_resident")          # or "101001/0001"
    res.spark_schema(); res.arrow_schema(); res.direct_identifiers
"""

from citybrain.catalog.catalog import Catalog, VerificationCopy
from citybrain.catalog.errors import CatalogError, CatalogIssue
from citybrain.catalog.loader import (
    CATALOG_DIR_ENV,
    clear_cache,
    default_catalog_dir,
    get_catalog,
    load_catalog,
)
from citybrain.catalog.models import (
    CodeList,
    Department,
    Division,
    Entity,
    EntityAttribute,
    Indicator,
    IndicatorTerm,
    Item,
    Library,
    Resource,
)

__all__ = [
    "CATALOG_DIR_ENV",
    "Catalog",
    "CatalogError",
    "CatalogIssue",
    "CodeList",
    "Department",
    "Division",
    "Entity",
    "EntityAttribute",
    "Indicator",
    "IndicatorTerm",
    "Item",
    "Library",
    "Resource",
    "VerificationCopy",
    "clear_cache",
    "default_catalog_dir",
    "get_catalog",
    "load_catalog",
]
