"""`citybrain catalog ...`: validate, list, show and publish the data catalogue (catalog/)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from citybrain.cli.params import CitybrainGroup, one_of

catalog_app = typer.Typer(
    name="catalog",
    help="The data catalogue as code: validate it, list and show resources, the authority matrix, HTML docs.",
    no_args_is_help=True,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    cls=CitybrainGroup,
)

DirOpt = Annotated[
    Path | None,
    typer.Option("--dir", help="catalogue folder (default: the repo's catalog/ or $CITYBRAIN_CATALOG_DIR)"),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="machine-readable JSON on stdout")]


def _console() -> Console:
    return Console(width=200)


def _echo_json(data) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def _load(catalog_dir: Path | None, as_json: bool = False):
    """Load the catalogue or exit 1 printing every error (file: entry: field: message)."""
    from citybrain.catalog import CatalogError, get_catalog, load_catalog

    try:
        return load_catalog(catalog_dir) if catalog_dir else get_catalog()
    except CatalogError as exc:
        if as_json:
            _echo_json({"valid": False, "errors": [issue.__dict__ for issue in exc.issues]})
        else:
            typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None


@catalog_app.command("validate")
def validate(catalog_dir: DirOpt = None, as_json: JsonOpt = False) -> None:
    """Validate the catalogue strictly; print its counts, or every error with file, entry and field."""
    cat = _load(catalog_dir, as_json)
    counts = cat.counts()
    if as_json:
        _echo_json({"valid": True, "catalog_dir": str(cat.root), "counts": counts})
        return
    typer.echo(f"catalogue {cat.root} is valid")
    for key, value in counts.items():
        typer.echo(f"  {key.replace('_', ' '):<20} {value}")


@catalog_app.command("list")
def list_resources(
    catalog_dir: DirOpt = None,
    as_json: JsonOpt = False,
    library: Annotated[str | None, typer.Option(help="only this library code")] = None,
    department: Annotated[str | None, typer.Option(help="only this provider department code")] = None,
) -> None:
    """List the resources (code, name, title, library, provider, kind, sharing, opening)."""
    cat = _load(catalog_dir)
    if library is not None:
        one_of(library, cat.libraries, "library", param_hint="'--library'")
    if department is not None:
        one_of(department, cat.departments, "department", param_hint="'--department'")
    rows = [
        {"code": r.code, "name": r.name, "title_zh": r.title_zh, "library": r.library, "provider": r.provider,
         "kind": r.kind, "update_cycle": r.update_cycle, "share": r.share.type, "open": r.open.type,
         "items": len(r.items)}
        for r in cat.resources.values()
        if (library is None or r.library == library) and (department is None or r.provider == department)
    ]
    if as_json:
        _echo_json(rows)
        return
    table = Table(title=f"{len(rows)} resources")
    for col in ["code", "name", "title_zh", "library", "provider", "kind", "share", "open", "items"]:
        table.add_column(col)
    for row in rows:
        table.add_row(*(str(row[c]) for c in ["code", "name", "title_zh", "library", "provider", "kind", "share",
                                              "open", "items"]))
    _console().print(table)


@catalog_app.command("show")
def show(
    code: Annotated[str, typer.Argument(help="resource code (101001/0001) or name (pop_resident)")],
    catalog_dir: DirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show one resource: metadata, source binding, sharing and opening, data items."""
    cat = _load(catalog_dir)
    try:
        r = cat.resource(code)
    except KeyError as exc:
        typer.echo(exc.args[0], err=True)
        raise typer.Exit(2) from None
    if as_json:
        _echo_json(r.model_dump(mode="json"))
        return
    dept = cat.departments[r.provider]
    console = _console()
    console.print(f"[bold]{r.code} {r.title_zh}[/bold] ({r.title_en})  name={r.name}")
    for label, value in [
        ("library", f"{r.library} ({cat.libraries[r.library].name_zh})"),
        ("provider", f"{dept.code} {dept.name_zh} ({dept.org_code})"),
        ("abstract", r.abstract), ("format", r.format), ("update cycle", r.update_cycle), ("kind", r.kind),
        ("grain", r.grain), ("primary key", ", ".join(r.primary_key)), ("incremental key", r.incremental_key),
        ("event time", r.event_time),
        ("sharing", " ".join(filter(None, [r.share.type, r.share.condition, r.share.legal_basis, r.share.method]))),
        ("open", " ".join(filter(None, [r.open.type, r.open.condition]))),
        ("published", r.published), ("related", ", ".join(r.related)),
        ("source", ", ".join(f"{k}={v}" for k, v in r.source.model_dump(exclude_none=True).items())),
        ("deidentify", r.deidentify),
    ]:
        console.print(f"  {label:<16} {'' if value is None else value}", highlight=False)
    table = Table(title=f"{len(r.items)} data items")
    for col in ["name", "label", "type", "len", "null", "pii", "format", "code list", "references"]:
        table.add_column(col)
    for it in r.items:
        table.add_row(it.name, it.label, it.type, "" if it.length is None else str(it.length),
                      "Y" if it.nullable else "N", it.pii, it.format or "", it.code_list or "", it.references or "")
    console.print(table)


@catalog_app.command("authority")
def authority(
    catalog_dir: DirOpt = None,
    as_json: JsonOpt = False,
    entity: Annotated[str | None, typer.Option(help="only this entity (person, legal_entity, ...)")] = None,
) -> None:
    """Authority matrix: entity attribute -> authoritative department and item -> verification copies."""
    cat = _load(catalog_dir)
    if entity is not None:
        one_of(entity, cat.authority_map(), "entity", param_hint="'--entity'")
    rows = []
    for ent, attrs in cat.authority_map().items():
        if entity and ent != entity:
            continue
        for attr, (auth, copies) in attrs.items():
            rows.append({
                "entity": ent, "attribute": attr, "authority": auth,
                "department": cat.department_of(auth.split(".")[0]).code,
                "copies": [{"item": c, "department": cat.department_of(c.split(".")[0]).code} for c in copies],
            })
    if as_json:
        _echo_json(rows)
        return
    table = Table(title="一数一源 authority matrix")
    for col in ["entity", "attribute", "department", "authority", "verification copies"]:
        table.add_column(col)
    for row in rows:
        copies = "\n".join(f"{c['item']} ({c['department']})" for c in row["copies"])
        table.add_row(row["entity"], row["attribute"], row["department"], row["authority"], copies)
    _console().print(table)


@catalog_app.command("docs")
def docs(
    catalog_dir: DirOpt = None,
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="site root; pages go to <out>/catalog (default: settings.site_dir)")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Render the browsable HTML catalogue and catalog.md to <site>/catalog/."""
    from citybrain.catalog.docs import render_site

    cat = _load(catalog_dir)
    paths = render_site(cat, _site_dir(out_dir) / "catalog")
    if as_json:
        _echo_json({k: str(v) for k, v in paths.items()})
        return
    typer.echo(f"HTML catalogue: {paths['index']}")
    typer.echo(f"Markdown:       {paths['markdown']}")


def _site_dir(out_dir: Path | None) -> Path:
    if out_dir is not None:
        return out_dir
    try:
        from citybrain.settings import get_settings
    except ImportError:  # settings not wired yet: the documented default
        return Path("var/site")
    return Path(get_settings().site_dir)
