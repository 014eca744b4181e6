"""Static catalogue pages and catalog.md carry the metadata reviewers and department stewards look for."""

from __future__ import annotations

import pytest

from citybrain.catalog import get_catalog
from citybrain.catalog.docs import render_markdown, render_site

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("site") / "catalog"
    render_site(get_catalog(), out)
    return out


def test_index_lists_every_resource_with_search_data(site):
    html = (site / "index.html").read_text(encoding="utf-8")
    cat = get_catalog()
    for r in cat.resources.values():
        assert f'href="resources/{r.name}.html"' in html
    assert 'id="search"' in html and "data-search=" in html
    assert "烟台市公安局" in html  # department names are searchable


def test_resource_page_shows_metadata_items_sharing_and_opening(site):
    html = (site / "resources" / "pop_resident.html").read_text(encoding="utf-8")
    for text in ["101001/0001", "常住人口户籍信息", "无条件共享", "有条件开放", "<code>id_number</code>",
                 "pii-direct", "De-identification", "authority: person.name", "../departments/PSB.html",
                 "timestamp"]:
        assert text in html, text
    copy_page = (site / "resources" / "si_insured.html").read_text(encoding="utf-8")
    assert "verification copy: person.name (vs pop_resident.name)" in copy_page


def test_department_page_lists_its_resources(site):
    html = (site / "departments" / "CIVIL.html").read_text(encoding="utf-8")
    for r in get_catalog().resources_by_department("CIVIL"):
        assert f"../resources/{r.name}.html" in html


def test_markdown_has_every_section_and_resource():
    cat = get_catalog()
    md = render_markdown(cat)
    for heading in ["## Departments", "## Libraries", "## Resources", "## Entities", "## Indicators"]:
        assert heading in md
    for r in cat.resources.values():
        assert f"### {r.code} {r.title_zh} (`{r.name}`)" in md
    assert "| IND_STREETLIGHT_SENSING | 路灯感知覆盖率 | % |" in md
