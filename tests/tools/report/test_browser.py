"""The browser check itself: it must tell a broken page from a good one (Debian's chromium, `make report-test-deps`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.tools.report import browser

pytestmark = pytest.mark.requirements("R16")

GOOD = (
    """<!DOCTYPE html><html><head><meta charset="utf-8"><style>body{font:16px sans-serif}</style></head><body>
<nav><a href="#one">one</a> <a href="#two">two</a></nav>
<h1 id="one">A heading with text</h1><details id="two"><summary>closed</summary><p>inside</p></details>
<table>"""
    + "".join(f"<tr><td>row {i}</td><td>value {i * 7}</td></tr>" for i in range(60))
    + """</table></body></html>"""
)


def _page(tmp_path: Path, html: str) -> Path:
    page = tmp_path / "page.html"
    page.write_text(html)
    return page


def test_a_good_page_passes(tmp_path: Path) -> None:
    measured = browser.layout(_page(tmp_path, GOOD), tmp_path)
    assert (measured.overflows, measured.broken, measured.links) == (False, (), 2)
    assert measured.client_width == browser.WIDTH
    stats = browser.png_stats(browser.screenshot(tmp_path / "page.html", tmp_path))
    assert stats.colours > 10 and stats.non_background > 0.01


def test_a_blank_page_is_told_from_a_rendered_one(tmp_path: Path) -> None:
    stats = browser.png_stats(browser.screenshot(_page(tmp_path, "<!DOCTYPE html><html><body></body></html>"), tmp_path))
    assert (stats.width, stats.colours, stats.non_background) == (browser.WIDTH, 1, 0.0)


def test_horizontal_overflow_is_found(tmp_path: Path) -> None:
    measured = browser.layout(_page(tmp_path, GOOD.replace("<nav>", '<div style="width:2000px">wide</div><nav>')), tmp_path)
    assert measured.overflows and measured.scroll_width >= 2000


def test_overflow_inside_a_closed_section_is_found_too(tmp_path: Path) -> None:
    html = GOOD.replace("<p>inside</p>", '<p style="white-space:nowrap">' + "x" * 400 + "</p>")
    measured = browser.layout(_page(tmp_path, html), tmp_path)
    assert measured.scroll_width == browser.WIDTH and measured.open_scroll_width > browser.WIDTH
    assert measured.overflows


def test_a_link_to_a_missing_anchor_is_found(tmp_path: Path) -> None:
    measured = browser.layout(_page(tmp_path, GOOD.replace('href="#two"', 'href="#three"')), tmp_path)
    assert measured.broken == ("#three",)
