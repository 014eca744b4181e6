"""Open data: de-identified, quality-passed releases (Delta open.<dataset>, CSV/Parquet/JSON, Frictionless
data packages, a DCAT-AP catalogue) with a PII leak scan before a release becomes `latest`.

    from citybrain.opendata.publish import run_publish
    summary = run_publish()   # {'release_dir': ..., 'datasets': [...], 'blocked': {...}}
"""
