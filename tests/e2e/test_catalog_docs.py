"""The generated HTML catalogue works in a real browser: client-side search, then a resource page."""

from __future__ import annotations

import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote

import pytest
from typer.testing import CliRunner

from citybrain.catalog import get_catalog
from citybrain.cli.catalog_cmd import catalog_app

pytestmark = pytest.mark.e2e

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        pytest.fail("chromium is not installed, so the HTML catalogue cannot be checked in a browser: "
                    "run `apt-get update && apt-get install -y chromium` (CI: .ci/run must install it)")
    return found


def _dump_dom(url: str, profile: Path) -> str:
    """The DOM after the page's scripts ran (chromium --dump-dom)."""
    proc = subprocess.run(
        [_chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom", url],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0 and "<html" in proc.stdout, proc.stderr[-2000:]
    return proc.stdout


class _Rows(HTMLParser):
    """Rows of table#resources: data-name, hidden flag and the first link's href."""

    def __init__(self):
        super().__init__()
        self.in_table = False
        self.rows: list[dict] = []
        self.match_count = None
        self._in_count = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table":
            self.in_table = a.get("id") == "resources"
        elif tag == "tr" and self.in_table and "data-name" in a:
            self.rows.append({"name": a["data-name"], "hidden": "hidden" in a, "href": None})
        elif tag == "a" and self.in_table and self.rows and self.rows[-1]["href"] is None:
            self.rows[-1]["href"] = a.get("href")
        elif tag == "span" and a.get("id") == "match-count":
            self._in_count = True

    def handle_endtag(self, tag):
        if tag == "table":
            self.in_table = False
        self._in_count = False if tag == "span" else self._in_count

    def handle_data(self, data):
        if self._in_count:
            self.match_count = data.strip()


def _search(index: Path, query: str, profile: Path) -> _Rows:
    parser = _Rows()
    parser.feed(_dump_dom(f"{index.as_uri()}?q={quote(query)}", profile))
    return parser


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site")
    res = CliRunner().invoke(catalog_app, ["docs", "--out", str(out)])
    assert res.exit_code == 0, res.output
    return out / "catalog"


def test_search_then_open_resource_page(site, tmp_path):
    _chromium()
    cat = get_catalog()
    index = site / "index.html"
    rows = _search(index, "12345", tmp_path / "profile1")
    assert len(rows.rows) == len(cat.resources)
    visible = [r for r in rows.rows if not r["hidden"]]
    assert [r["name"] for r in visible] == ["hotline_ticket"]
    assert rows.match_count == f"1 / {len(cat.resources)}"

    page_url = (index.parent / visible[0]["href"]).resolve().as_uri()
    dom = _dump_dom(page_url, tmp_path / "profile2")
    res = cat.resource("hotline_ticket")
    assert res.title_zh in dom and res.code in dom and res.open.type in dom and res.share.type in dom
    for item in res.items:
        assert f"<code>{item.name}</code>" in dom
    assert "departments/HOTLINE.html" in dom


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("101001/0001", {"pop_resident"}),  # by resource code
        ("烟台市公安局", {"pop_resident", "pop_household", "pop_migration", "safety_camera"}),  # by department
        ("hospitals", {"health_hospital"}),  # by English title
    ],
)
def test_search_by_code_department_and_name(site, tmp_path, query, expected):
    rows = _search(site / "index.html", query, tmp_path / "profile")
    assert {r["name"] for r in rows.rows if not r["hidden"]} == expected
