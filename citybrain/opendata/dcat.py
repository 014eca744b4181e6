"""The DCAT-AP catalogue of a release in JSON-LD (STANDARDS section 6 mapping from the catalogue)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from citybrain.catalog import Catalog
    from citybrain.opendata.datasets import Dataset

CONTEXT = {
    "dcat": "http://www.w3.org/ns/dcat#",
    "dct": "http://purl.org/dc/terms/",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "vcard": "http://www.w3.org/2006/vcard/ns#",
    "spdx": "http://spdx.org/rdf/terms#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
}
EU = "http://publications.europa.eu/resource/authority/"
PERIODICITY = {"实时": "CONT", "每日": "DAILY", "每周": "WEEKLY", "每月": "MONTHLY", "每季度": "QUARTERLY",
               "每年": "ANNUAL", "其他": "OTHER"}
ACCESS_RIGHTS = {"public": "PUBLIC", "restricted": "RESTRICTED"}
MEDIA = {"csv": ("CSV", "text/csv"), "parquet": ("PARQUET", "application/vnd.apache.parquet"),
         "json": ("JSON", "application/json")}
CITY = "370600"


def _distribution(name: str, fmt: str, entry: dict) -> dict:
    label, media = MEDIA[fmt]
    path = f"{name}/{name}.{fmt}"
    meta = entry["files"][path]
    return {
        "@id": f"#{name}-{fmt}", "@type": "dcat:Distribution",
        "dcat:accessURL": {"@id": path}, "dcat:downloadURL": {"@id": path},
        "dct:format": {"@id": f"{EU}file-type/{label}"}, "dcat:mediaType": media,
        "dct:license": {"@id": "https://creativecommons.org/licenses/by/4.0/"},
        "dcat:byteSize": {"@value": str(meta["bytes"]), "@type": "xsd:nonNegativeInteger"},
        "spdx:checksum": {"@type": "spdx:Checksum", "spdx:algorithm": {"@id": "spdx:checksumAlgorithm_sha256"},
                          "spdx:checksumValue": meta["sha256"]},
    }


def dataset_node(ds: Dataset, entry: dict, catalog: Catalog, issued: str) -> dict:
    res = ds.resource
    title_zh, title_en = ds.title
    node = {
        "@id": f"#{ds.name}", "@type": "dcat:Dataset",
        "dct:title": [{"@value": title_zh, "@language": "zh"}, {"@value": title_en, "@language": "en"}],
        "dct:description": {"@value": res.abstract if res else "城市运行指标(按区县、周期)", "@language": "zh"},
        "dct:accessRights": {"@id": f"{EU}access-right/{ACCESS_RIGHTS[ds.access]}"},
        "dct:spatial": {"@id": f"urn:gb2260:{CITY}"},
        "dct:modified": {"@value": issued, "@type": "xsd:dateTime"},
        "dcat:keyword": [k for k in ((res.library, res.kind) if res else ("indicators",))],
        "dcat:distribution": [_distribution(ds.name, fmt, entry) for fmt in MEDIA
                              if f"{ds.name}/{ds.name}.{fmt}" in entry["files"]],
    }
    if res is not None:
        dept = catalog.departments[res.provider]
        node.update({
            "dct:identifier": res.code,
            "dct:publisher": {"@type": "foaf:Organization", "foaf:name": dept.name_zh, "dct:identifier": dept.org_code},
            "dcat:contactPoint": {"@type": "vcard:Organization", "vcard:fn": dept.name_zh,
                                  **({"vcard:hasEmail": dept.contact} if dept.contact else {})},
            "dct:accrualPeriodicity": {"@id": f"{EU}frequency/{PERIODICITY[res.update_cycle]}"},
            "dct:issued": {"@value": res.published.isoformat(), "@type": "xsd:date"},
            "dcat:theme": {"@id": f"#library-{res.library}"},
        })
    else:
        node.update({"dct:identifier": f"indicators/{ds.access}",
                     "dct:accrualPeriodicity": {"@id": f"{EU}frequency/DAILY"}})
    return node


def catalogue(datasets: list[Dataset], manifest: dict, catalog: Catalog, title: str) -> dict:
    """The dcat:Catalog node with one dcat:Dataset per dataset in the manifest."""
    issued = manifest["created_at"]
    notice = manifest.get("notice")
    nodes = [dataset_node(ds, manifest["datasets"][ds.name], catalog, issued)
             for ds in datasets if ds.name in manifest["datasets"]]
    return {
        "@context": CONTEXT,
        "@id": "", "@type": "dcat:Catalog",
        "dct:title": {"@value": ("[DEMO] " if notice else "") + title, "@language": "zh"},
        "dct:description": {"@value": (notice + " " if notice else "")
                            + f"Release {manifest['version']} of the city's open data", "@language": "en"},
        "dct:issued": {"@value": issued, "@type": "xsd:dateTime"},
        "dct:spatial": {"@id": f"urn:gb2260:{CITY}"},
        "dcat:dataset": nodes,
    }
