"""Browsable catalogue: static HTML (index with client-side search, resource and department pages) and Markdown."""

from __future__ import annotations

import json
from html import escape
from pathlib import Path

from citybrain.catalog.catalog import Catalog
from citybrain.catalog.models import Item, Resource
from citybrain.catalog.schemas import logical_type

CSS = """
body{font-family:-apple-system,"Segoe UI","Noto Sans CJK SC","PingFang SC",sans-serif;margin:0;color:#1f2933}
header{background:#0b4f6c;color:#fff;padding:12px 24px}header a{color:#fff;margin-right:16px}
main{padding:16px 24px;max-width:1400px}h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.6em}
table{border-collapse:collapse;width:100%;font-size:.9em}th,td{border:1px solid #d9e2ec;padding:4px 8px;
text-align:left;vertical-align:top}th{background:#f0f4f8}tr[hidden]{display:none}
dl.meta{display:grid;grid-template-columns:max-content auto;gap:4px 16px}dl.meta dt{font-weight:600}
.tag{display:inline-block;padding:0 6px;border-radius:4px;background:#e3f2fd;font-size:.85em}
.pii-direct{background:#ffe3e3}.pii-quasi{background:#fff3bf}.pii-sensitive{background:#ffd8a8}
input#search{font-size:1em;padding:6px 10px;width:420px;margin:8px 0}
"""

SEARCH_JS = """
(function(){
  const input = document.getElementById('search');
  const rows = Array.from(document.querySelectorAll('#resources tbody tr'));
  const count = document.getElementById('match-count');
  function apply(){
    const terms = input.value.trim().toLowerCase().split(/\\s+/).filter(Boolean);
    let shown = 0;
    rows.forEach(function(r){
      const hay = r.dataset.search;
      const hit = terms.every(function(t){ return hay.indexOf(t) >= 0; });
      r.hidden = !hit; if (hit) shown++;
    });
    count.textContent = shown + ' / ' + rows.length;
  }
  input.addEventListener('input', apply);
  const q = new URLSearchParams(window.location.search).get('q');
  if (q) { input.value = q; }
  apply();
})();
"""


def _e(value) -> str:
    return "" if value is None else escape(str(value))


def _page(title: str, body: str, depth: int = 0) -> str:
    up = "../" * depth
    return (
        f'<!DOCTYPE html>\n<html lang="zh-CN"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{CSS}</style></head><body>"
        f'<header><a href="{up}index.html">政务信息资源目录 Catalogue</a>'
        f'<a href="{up}entities.html">Entities</a><a href="{up}indicators.html">Indicators</a></header>'
        f"<main>{body}</main></body></html>\n"
    )


def _table(headers: list[str], rows: list[list[str]], table_id: str = "", row_attrs: list[str] | None = None) -> str:
    head = "".join(f"<th>{h}</th>" for h in headers)
    body = []
    for i, row in enumerate(rows):
        attrs = row_attrs[i] if row_attrs else ""
        body.append(f"<tr{attrs}>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>")
    tid = f' id="{table_id}"' if table_id else ""
    return f"<table{tid}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _range(it: Item) -> str:
    if not it.range:
        return ""
    return f"{'' if it.range.min is None else it.range.min} .. {'' if it.range.max is None else it.range.max}"


def _roles(cat: Catalog) -> dict[str, dict[str, str]]:
    """resource -> item -> 'authority of person.name' / 'copy of person.name'."""
    out: dict[str, dict[str, str]] = {}
    for entity, attrs in cat.authority_map().items():
        for attr, (auth, copies) in attrs.items():
            res, item = auth.split(".")
            out.setdefault(res, {})[item] = f"authority: {entity}.{attr}"
            for copy in copies:
                res, item = copy.split(".")
                out.setdefault(res, {}).setdefault(item, f"verification copy: {entity}.{attr} (vs {auth})")
    return out


def render_html(cat: Catalog, out_dir: Path) -> Path:
    """Write index.html, resources/<name>.html, departments/<code>.html, entities.html, indicators.html."""
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "resources").mkdir(exist_ok=True)
    (out_dir / "departments").mkdir(exist_ok=True)
    roles = _roles(cat)

    rows, attrs = [], []
    for r in cat.resources.values():
        dept = cat.departments[r.provider]
        lib = cat.libraries[r.library]
        rows.append([
            _e(r.code), f'<a href="resources/{_e(r.name)}.html">{_e(r.name)}</a>', _e(r.title_zh),
            f"{_e(lib.name_zh)}", f'<a href="departments/{_e(dept.code)}.html">{_e(dept.name_zh)}</a>',
            _e(r.kind), _e(r.share.type), _e(r.open.type), str(len(r.items)),
        ])
        hay = " ".join([r.code, r.name, r.title_zh, r.title_en, dept.code, dept.name_zh, dept.name_en,
                        lib.code, lib.name_zh]).lower()
        attrs.append(f' data-search="{_e(hay)}" data-name="{_e(r.name)}"')
    counts = cat.counts()
    summary = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in counts.items())
    libs = _table(["class", "code", "名称", "kind", "resources"], [
        [_e(lib.class_code), _e(lib.code), _e(lib.name_zh), _e(lib.kind), str(len(cat.resources_by_library(lib.code)))]
        for lib in cat.libraries.values()
    ])
    depts = _table(["code", "部门", "department", "resources"], [
        [f'<a href="departments/{_e(d.code)}.html">{_e(d.code)}</a>', _e(d.name_zh), _e(d.name_en),
         str(len(cat.resources_by_department(d.code)))]
        for d in cat.departments.values()
    ])
    body = (
        f"<h1>政务信息资源目录 · Government data catalogue</h1><p>{_e(summary)}</p>"
        '<label for="search">Search by name, code or department: </label>'
        '<input id="search" type="search" placeholder="e.g. 12345, 101001, 公安局, hospital" autofocus>'
        ' <span id="match-count"></span>'
        + _table(["code", "name", "信息资源名称", "library", "provider", "kind", "共享", "开放", "items"], rows,
                 "resources", attrs)
        + f"<h2>Libraries</h2>{libs}<h2>Departments</h2>{depts}"
        + f"<script>{SEARCH_JS}</script>"
    )
    (out_dir / "index.html").write_text(_page("政务信息资源目录", body), encoding="utf-8")

    for r in cat.resources.values():
        (out_dir / "resources" / f"{r.name}.html").write_text(_resource_page(cat, r, roles.get(r.name, {})),
                                                               encoding="utf-8")
    for d in cat.departments.values():
        res_rows = [[_e(r.code), f'<a href="../resources/{_e(r.name)}.html">{_e(r.name)}</a>', _e(r.title_zh),
                     _e(r.update_cycle), _e(r.share.type), _e(r.open.type)] for r in cat.resources_by_department(d.code)]
        body = (
            f"<h1>{_e(d.name_zh)} <small>{_e(d.code)}</small></h1>"
            f'<dl class="meta"><dt>English</dt><dd>{_e(d.name_en)}</dd><dt>提供方代码</dt><dd>{_e(d.org_code)}</dd>'
            f"<dt>system</dt><dd>{_e(d.system)}</dd><dt>contact</dt><dd>{_e(d.contact)}</dd></dl>"
            f"<h2>Resources ({len(res_rows)})</h2>"
            + _table(["code", "name", "信息资源名称", "更新周期", "共享", "开放"], res_rows)
        )
        (out_dir / "departments" / f"{d.code}.html").write_text(_page(d.name_zh, body, 1), encoding="utf-8")

    (out_dir / "entities.html").write_text(_entities_page(cat), encoding="utf-8")
    (out_dir / "indicators.html").write_text(_indicators_page(cat), encoding="utf-8")
    (out_dir / "catalog.json").write_text(
        json.dumps({"counts": counts, "resources": cat.catalog_rows()}, ensure_ascii=False, indent=1, default=str),
        encoding="utf-8",
    )
    return out_dir / "index.html"


def _resource_page(cat: Catalog, r: Resource, roles: dict[str, str]) -> str:
    dept = cat.departments[r.provider]
    lib = cat.libraries[r.library]
    src = r.source.model_dump(exclude_none=True)
    related = " ".join(
        f'<a href="{_e(cat.resource(c).name)}.html">{_e(c)}</a>' for c in r.related if cat.has_resource(c)
    )
    meta = [
        ("信息资源代码 code", _e(r.code)), ("名称 title", f"{_e(r.title_zh)} / {_e(r.title_en)}"),
        ("logical name", f"<code>{_e(r.name)}</code>"),
        ("分类 library", f"{_e(lib.name_zh)} ({_e(lib.kind)}, class {_e(lib.class_code)})"),
        ("提供方 provider", f'<a href="../departments/{_e(dept.code)}.html">{_e(dept.name_zh)}</a> '
                            f"({_e(dept.code)}, {_e(dept.org_code)})"),
        ("摘要 abstract", _e(r.abstract)), ("格式 format", _e(r.format)), ("更新周期", _e(r.update_cycle)),
        ("kind", _e(r.kind)), ("grain", _e(r.grain)), ("primary key", _e(", ".join(r.primary_key))),
        ("incremental key", _e(r.incremental_key)), ("event time", _e(r.event_time)),
        ("共享类型 sharing", f'<span class="tag">{_e(r.share.type)}</span> {_e(r.share.condition)} '
                             f"{_e(r.share.legal_basis)} · {_e(r.share.method)}"),
        ("开放属性 open", f'<span class="tag">{_e(r.open.type)}</span> {_e(r.open.condition)}'),
        ("发布日期", _e(r.published)), ("关联资源 related", related),
        ("source", "<code>" + _e(", ".join(f"{k}={v}" for k, v in src.items())) + "</code>"),
    ]
    dl = '<dl class="meta">' + "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in meta) + "</dl>"
    items = _table(
        ["name", "label", "type", "lake type", "len", "scale", "null", "PII", "format", "code list", "range",
         "references", "entity role", "description"],
        [[f"<code>{_e(it.name)}</code>", _e(it.label), _e(it.type), _e(logical_type(it)), _e(it.length),
          _e(it.scale), "yes" if it.nullable else "no", f'<span class="tag pii-{_e(it.pii)}">{_e(it.pii)}</span>',
          _e(it.format), _e(it.code_list), _e(_range(it)), _e(it.references), _e(roles.get(it.name)),
          _e(it.description)] for it in r.items],
        "items",
    )
    deid = ""
    if r.deidentify:
        deid = "<h2>De-identification for opening</h2>" + _table(
            ["item", "rule"], [[_e(k), _e(v)] for k, v in r.deidentify.items()])
    inds = [i for i in cat.indicators.values() if r.name in i.resources]
    ind_html = ""
    if inds:
        ind_html = "<h2>Indicators using this resource</h2><ul>" + "".join(
            f'<li><a href="../indicators.html#{_e(i.code)}">{_e(i.code)}</a> {_e(i.name_zh)}</li>' for i in inds
        ) + "</ul>"
    body = (f"<h1>{_e(r.title_zh)} <small>{_e(r.code)}</small></h1>{dl}"
            f"<h2>信息项 Data items ({len(r.items)})</h2>{items}{deid}{ind_html}")
    return _page(f"{r.title_zh} {r.code}", body, 1)


def _entities_page(cat: Catalog) -> str:
    rows = []
    for entity, attrs in cat.authority_map().items():
        for attr, (auth, copies) in attrs.items():
            dept = cat.department_of(auth.split(".")[0])
            copy_html = "<br>".join(
                f"{_e(c)} ({_e(cat.department_of(c.split('.')[0]).code)})" for c in copies)
            rows.append([_e(entity), _e(attr), _e(auth), _e(dept.name_zh), copy_html])
    body = ("<h1>Base entities: one datum, one source (一数一源, 多源校核)</h1>"
            + _table(["entity", "attribute", "authority", "authoritative department", "verification copies"], rows))
    return _page("Entities", body)


def _term(t) -> str:
    text = f"{t.measure}({t.resource})" + (f" WHERE {t.filter}" if t.filter else "")
    text += f" HAVING {t.having}" if t.having else ""
    return text + "".join(" + " + _term(p) for p in t.plus)


def _indicators_page(cat: Catalog) -> str:
    rows = [[f'<span id="{_e(i.code)}">{_e(i.code)}</span>', _e(i.name_zh), _e(i.unit), _e(_term(i.numerator)),
             _e(_term(i.denominator)), _e(", ".join(i.grain)), _e(i.target), _e(i.direction), _e(i.source_doc)]
            for i in cat.indicators.values()]
    body = "<h1>City indicators</h1>" + _table(
        ["code", "名称", "unit", "numerator", "denominator", "grain", "target", "direction", "source"], rows)
    return _page("Indicators", body)


def _md_cell(value) -> str:
    return "" if value is None else str(value).replace("|", "\\|").replace("\n", " ")


def render_markdown(cat: Catalog) -> str:
    """The whole catalogue as one Markdown document (reviewable in a pull request)."""
    lines = ["# 政务信息资源目录 · Government data catalogue", ""]
    lines += [", ".join(f"{v} {k.replace('_', ' ')}" for k, v in cat.counts().items()), ""]
    lines += ["## Departments", "", "| code | 部门 | department | 提供方代码 | resources |", "|---|---|---|---|---|"]
    for d in cat.departments.values():
        lines.append(f"| {d.code} | {d.name_zh} | {d.name_en} | {d.org_code} | "
                     f"{len(cat.resources_by_department(d.code))} |")
    lines += ["", "## Libraries", "", "| class | code | 名称 | kind |", "|---|---|---|---|"]
    for lib in cat.libraries.values():
        lines.append(f"| {lib.class_code} | {lib.code} | {lib.name_zh} | {lib.kind} |")
    lines += ["", "## Resources", ""]
    for r in cat.resources.values():
        dept = cat.departments[r.provider]
        lines += [
            f"### {r.code} {r.title_zh} (`{r.name}`)", "",
            f"- library: {cat.libraries[r.library].name_zh}; provider: {dept.name_zh} ({dept.code})",
            f"- abstract: {r.abstract}",
            f"- format: {r.format}; update cycle: {r.update_cycle}; kind: {r.kind}; grain: {r.grain}",
            f"- primary key: {', '.join(r.primary_key)}; incremental key: {r.incremental_key}; "
            f"event time: {r.event_time}",
            f"- sharing: {r.share.type} {r.share.condition or ''} {r.share.legal_basis or ''} ({r.share.method})",
            f"- open: {r.open.type} {r.open.condition or ''}",
            f"- published: {r.published}; related: {', '.join(r.related) or '-'}",
            "", "| item | label | type | len | null | PII | code list |", "|---|---|---|---|---|---|---|",
        ]
        for it in r.items:
            lines.append(f"| {it.name} | {_md_cell(it.label)} | {it.type} | {_md_cell(it.length)} | "
                         f"{'Y' if it.nullable else 'N'} | {it.pii} | {_md_cell(it.code_list)} |")
        lines.append("")
    lines += ["## Entities (authority and verification copies)", "",
              "| entity | attribute | authority | copies |", "|---|---|---|---|"]
    for entity, attrs in cat.authority_map().items():
        for attr, (auth, copies) in attrs.items():
            lines.append(f"| {entity} | {attr} | {auth} | {', '.join(copies)} |")
    lines += ["", "## Indicators", "", "| code | 名称 | unit | numerator | denominator | target |",
              "|---|---|---|---|---|---|"]
    for i in cat.indicators.values():
        lines.append(f"| {i.code} | {i.name_zh} | {i.unit} | {_md_cell(_term(i.numerator))} | "
                     f"{_md_cell(_term(i.denominator))} | {_md_cell(i.target)} |")
    return "\n".join(lines) + "\n"


def render_site(cat: Catalog, out_dir: Path) -> dict[str, Path]:
    """HTML site and catalog.md under out_dir (e.g. var/site/catalog)."""
    index = render_html(cat, out_dir)
    md = out_dir / "catalog.md"
    md.write_text(render_markdown(cat), encoding="utf-8")
    return {"index": index, "markdown": md}
