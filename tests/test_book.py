"""The course as a static book (README, "Read it as a book"): built, then read in headless Chromium.

``python -m book`` builds the site into a temporary folder from the chapters' committed outputs.
The start page and every chapter page must load with no console error and no request leaving
the machine, every image must have loaded, every link between pages must resolve (to a page
that exists and, for ``#anchor`` links, to an element with that id), and chapters must be
chained by previous/next links. An explorer shows as a still picture with a line saying how to
run it live. A screenshot of chapter 1's task explorer goes to ``build/screenshots/``.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from functools import cache
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from browser import ROOT, SCREENSHOTS, PageProblems, chromium

pytestmark = pytest.mark.browser

CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))
BUILD_SECONDS = 300


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    output = tmp_path_factory.mktemp("site") / "book"
    result = subprocess.run(
        [sys.executable, "-m", "book", str(output)], cwd=ROOT, capture_output=True, text=True, timeout=BUILD_SECONDS
    )
    assert result.returncode == 0, f"python -m book failed:\n{result.stdout}\n{result.stderr}"
    return output


def chapter_page(site: Path, chapter: Path) -> Path:
    return site / "chapters" / f"{chapter.stem}.html"


def explorer_cells(chapter: Path) -> int:
    """How many of the chapter's code cells show an explorer (the drawing pad is one too)."""
    cells = json.loads(chapter.read_text(encoding="utf-8"))["cells"]
    return sum(
        cell["cell_type"] == "code"
        and re.search(r"widgets\.\w+_explorer\(|drawing_pad\.drawing_pad\(", "".join(cell["source"])) is not None
        for cell in cells
    )


def test_the_book_has_the_readme_introduction_and_a_page_per_chapter(site):
    assert CHAPTERS, "no chapters"
    start = (site / "index.html").read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    introduction = readme.split("\n\n")[1].split("\n")[0]  # the README's first line of prose
    assert introduction in start
    for chapter in CHAPTERS:
        page = chapter_page(site, chapter)
        assert page.is_file(), f"no page for {chapter.name}"
        assert f'href="chapters/{page.name}"' in start, f"the table of contents has no link to {page.name}"
        # Markdown outputs (chapter 7's published numbers, say) are rendered, tables included.
        assert not re.search(r"<p>[^<]*\|\s*-{3}", page.read_text(encoding="utf-8")), f"{page.name}: a raw table"


def test_explorers_show_a_still_picture_and_how_to_run_them(site):
    with_explorers = [chapter for chapter in CHAPTERS if explorer_cells(chapter)]
    assert with_explorers, "no chapter shows an explorer: update this test"
    for chapter in with_explorers:
        page = chapter_page(site, chapter).read_text(encoding="utf-8")
        stills = page.count('class="oneshot-explorer-still"')
        explorers = explorer_cells(chapter)
        assert stills == explorers, f"{chapter.name}: {explorers} explorers, {stills} still pictures"
        assert page.count("<code>jupyter lab chapters/</code>") >= stills
        assert "Explorer('" not in page and "DrawingPad(" not in page, f"{chapter.name} shows a repr, not a picture"
        assert "widget-view+json" not in page and "widget-state+json" not in page


@cache
def element_ids(path: Path) -> frozenset[str]:
    return frozenset(re.findall(r'\sid="([^"]+)"', path.read_text(encoding="utf-8")))


def broken_links(site: Path, hrefs: list[str]) -> list[str]:
    """The links among ``hrefs`` (absolute URLs) into the site that lead nowhere."""
    broken = []
    for href in hrefs:
        url = urlsplit(href)
        if url.scheme != "file":
            continue  # a link out of the book (the dataset's repository, say): not followed offline
        target = Path(unquote(url.path))
        if target.is_dir():
            target = target / "index.html"
        if not target.is_relative_to(site) or not target.is_file():
            broken.append(href)
        elif url.fragment and target.suffix == ".html" and unquote(url.fragment) not in element_ids(target):
            broken.append(href)
    return broken


@pytest.fixture(scope="module")
def browser():
    with chromium() as browser:
        yield browser


def test_every_page_loads_in_a_browser_with_its_images_and_links(browser, site):
    pages = [site / "index.html", *(chapter_page(site, chapter) for chapter in CHAPTERS)]
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    outside: list[str] = []

    def refuse(route) -> None:  # the book must read offline
        outside.append(route.request.url)
        route.abort()

    context.route(re.compile(r"^(https?|wss?)://"), refuse)
    page = context.new_page()
    problems = PageProblems(page)
    for path in pages:
        name = path.relative_to(site).as_posix()
        page.goto(path.as_uri(), wait_until="load")
        assert problems.take() == [], f"{name}: errors while loading"
        assert outside == [], f"{name} asks for something outside the book: {outside}"
        unloaded = page.eval_on_selector_all(
            "img", "images => images.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src.slice(0, 120))"
        )
        assert unloaded == [], f"{name}: images that did not load: {unloaded}"
        hrefs = page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)")
        assert broken_links(site, hrefs) == [], f"{name}: links that lead nowhere"
        index = pages.index(path)
        for kind, neighbour in (("prev-page", index - 1), ("next-page", index + 1)):
            link = page.locator(f"a.{kind}")
            if 0 <= neighbour < len(pages):
                assert link.evaluate("a => a.href") == pages[neighbour].as_uri(), f"{name}: wrong {kind} link"
            else:
                assert link.count() == 0, f"{name} has a {kind} link past the ends of the book"

    page.goto(chapter_page(site, CHAPTERS[0]).as_uri())
    still = page.locator(".oneshot-explorer-still").last
    still.scroll_into_view_if_needed()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"book_{CHAPTERS[0].stem}_task_explorer.png")
    assert problems.take() == []
    context.close()


def _book_module():
    """``book/__main__.py`` as a module (the ``book`` package need not be importable from here)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("book_build", ROOT / "book" / "__main__.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("text", "message"), [("{not json", "is not a valid notebook"), ("[1, 2]", "is JSON but not a notebook")]
)
def test_a_chapter_that_is_no_notebook_is_named(tmp_path, monkeypatch, text, message):
    build = _book_module()
    (tmp_path / "chapters").mkdir()
    (tmp_path / "README.md").write_text("# oneshot\n", encoding="utf-8")
    (tmp_path / "chapters" / "09_broken.ipynb").write_text(text, encoding="utf-8")
    monkeypatch.setattr(build, "ROOT", tmp_path)
    with pytest.raises(SystemExit, match=rf"09_broken\.ipynb {message}"):
        build.stage(tmp_path / "staged")


def test_an_output_that_is_a_file_is_refused_before_anything_is_written(tmp_path, capsys):
    output = tmp_path / "book.html"
    output.write_text("", encoding="utf-8")
    with pytest.raises(SystemExit):
        _book_module().main([str(output)])
    assert "book.html is a file: name a folder" in capsys.readouterr().err
    assert sorted(path.name for path in tmp_path.iterdir()) == ["book.html"]  # no staging folder beside it
