"""The course as a static book (README, "Read it as a book"): built, then read in headless Chromium.

``python -m book`` builds the site into a temporary folder from the chapters' committed outputs.
One browser reads every page once at 1280x900, and once more at a phone's 390x844, and the tests
below check what it found:

- the start page and every chapter page load with no console error and no request leaving the
  machine, every image loads, every link between pages resolves (to a page that exists and, for
  ``#anchor`` links, to an element with that id), and chapters are chained by previous/next links;
- a reader scrolls no code sideways (no ``pre``, a cell's input or output, wider than its box),
  not even a folded library listing once opened, and no page sideways (a wide table scrolls
  inside its own box);
- on a phone no page is wider than the screen: what is wider (code, a table, math) scrolls inside
  its own box, nothing is cut off, and every image is scaled to the column;
- no nbval marker reaches a reader, every item of a References section is a link, every figure
  is drawn from at least as many pixels as it is shown at, each chapter page links its notebook
  for download, and the cells that show library source (their output) or only check claims
  (their input) are folded, as the chapters' cell tags ask (the rule and the check that the
  notebooks carry those tags are in ``test_chapters_structure.py``).

An explorer shows as a still picture with a line saying how to run it live. A screenshot of
chapter 1's task explorer goes to ``build/screenshots/``. The staging (``book/__main__.py``) on small made-up notebooks.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from browser import ROOT, SCREENSHOTS, PageProblems, chromium
from test_chapters_structure import FOLDS, folds_wanted, notebook_cells

pytestmark = pytest.mark.browser

CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))
BUILD_SECONDS = 300
FOLDED_PART = {"hide-output": "output", "hide-input": "input"}  # what each fold tag hides


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
    # A cover figure taken from a chapter's outputs, and each chapter's running time in a table.
    assert re.search(r'<img [^>]*src="_images/cover\.png"', start), "the start page has no cover figure"
    times = re.findall(r"<td><p>about\u00a0\d+\u00a0min</p></td>", start)
    assert len(times) == len(CHAPTERS), f"{len(times)} running times for {len(CHAPTERS)} chapters"
    for chapter in CHAPTERS:
        page = chapter_page(site, chapter)
        assert page.is_file(), f"no page for {chapter.name}"
        assert f'href="chapters/{page.name}"' in start, f"the table of contents has no link to {page.name}"
        html = page.read_text(encoding="utf-8")
        # Markdown outputs (chapter 8's published numbers, say) are rendered, tables included.
        assert not re.search(r"<p>[^<]*\|\s*-{3}", html), f"{page.name}: a raw table"
        # Every chapter ends with a summary and exercises: each in its box.
        for box in ("Key points", "Try it yourself"):
            assert f'<p class="admonition-title">{box}</p>' in html, f"{page.name}: no box {box!r}"


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


# What a reader meets on one page, measured in the page: returned by READ_PAGE as a dict.
READ_PAGE = """() => {
  const article = document.querySelector("article") || document.body;
  const cells = [...article.querySelectorAll("div.cell")];
  const cellOf = element => cells.indexOf(element.closest("div.cell"));
  // Folded: inside a closed <details> (whose content Chromium may still lay out, unseen).
  const folded = element => element.closest("details:not([open])") !== null;
  const shown = element => !folded(element) && element.getClientRects().length > 0;
  const longestLine = text => text.split("\\n").reduce((a, b) => (b.length > a.length ? b : a), "");
  const scrolls = element => ["auto", "scroll"].includes(getComputedStyle(element).overflowX);
  const insideScrollBox = element => {
    for (let parent = element.parentElement; parent && parent !== article; parent = parent.parentElement) {
      if (scrolls(parent)) return true;
    }
    return false;
  };
  const heading = section => (section.querySelector(":scope > h2")?.textContent || "").replace(/[#\\u00b6]$/, "");
  const references = [...article.querySelectorAll("section")].filter(s => heading(s).trim() === "References");
  return {
    unloaded: [...document.images].filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src.slice(0, 120)),
    hrefs: [...document.querySelectorAll("a[href]")].map(a => a.href),
    prev: [...document.querySelectorAll("a.prev-page")].map(a => a.href),
    next: [...document.querySelectorAll("a.next-page")].map(a => a.href),
    wideCode: [...article.querySelectorAll("pre")].filter(pre => shown(pre) && pre.scrollWidth > pre.clientWidth + 1)
      .map(pre => ({cell: cellOf(pre), part: pre.closest(".cell_output") ? "output" : "input",
                    over: pre.scrollWidth - pre.clientWidth, line: longestLine(pre.textContent).slice(0, 60)})),
    pageOverflow: document.documentElement.scrollWidth - document.documentElement.clientWidth,
    wideTables: [...article.querySelectorAll("table")]
      .filter(t => shown(t) && t.getBoundingClientRect().width > article.clientWidth + 1 && !insideScrollBox(t))
      .map(t => ({cell: cellOf(t), width: Math.round(t.getBoundingClientRect().width)})),
    text: article.textContent,
    references: references.map(s => [...s.querySelectorAll(":scope > ul > li, :scope > ol > li")]
      .map(li => ({linked: li.querySelector('a[href^="http"]') !== null, text: li.textContent.trim().slice(0, 70)}))),
    smallImages: [...article.querySelectorAll("img")]
      .filter(i => shown(i) && !/^data:image\\/svg|\\.svg($|[?#])/.test(i.src))
      .filter(i => i.naturalWidth + 0.5 < i.getBoundingClientRect().width)
      .map(i => ({cell: cellOf(i), natural: i.naturalWidth, shown: Math.round(i.getBoundingClientRect().width)})),
    cells: cells.map(cell => {
      const input = cell.querySelector(".cell_input"), output = cell.querySelector(".cell_output");
      return {input: input ? folded(input) : null, output: output ? folded(output) : null};
    }),
    downloads: [...article.querySelectorAll("a.download")].map(a => a.href),
  };
}"""

# Code blocks that scroll sideways once every folded part is opened: the library listings.
OPENED_CODE = """() => {
  const article = document.querySelector("article") || document.body;
  article.querySelectorAll("details").forEach(details => { details.open = true; });
  const cells = [...article.querySelectorAll("div.cell")];
  return [...article.querySelectorAll("details pre")]
    .filter(pre => pre.getClientRects().length > 0 && pre.scrollWidth > pre.clientWidth + 1)
    .map(pre => ({cell: cells.indexOf(pre.closest("div.cell")), over: pre.scrollWidth - pre.clientWidth,
                  line: pre.textContent.split("\\n").sort((a, b) => b.length - a.length)[0].slice(0, 60)}));
}"""

# A page on a phone: how far it scrolls sideways, what reaches past the screen's edge without a
# scroll box of its own to hold it (so it is cut off or widens the page), and images wider than
# the column.
PHONE_PAGE = """() => {
  const article = document.querySelector("article") || document.body;
  const screen = document.documentElement.clientWidth;
  const overflowX = element => getComputedStyle(element).overflowX;
  const holder = element => {
    for (let parent = element.parentElement; parent; parent = parent.parentElement) {
      if (["auto", "scroll"].includes(overflowX(parent))) return parent;
      if (["hidden", "clip"].includes(overflowX(parent))) return null;
    }
    return null;
  };
  const past = element => element.getClientRects().length > 0 && element.getBoundingClientRect().right > screen + 1;
  const within = element => element.getBoundingClientRect().right <= screen + 1;
  return {
    pageOverflow: document.documentElement.scrollWidth - document.documentElement.clientWidth,
    cutOff: [...article.querySelectorAll("*")].filter(past)
      .filter(element => { const box = holder(element); return box === null || !within(box); })
      .slice(0, 5).map(element => `${element.tagName.toLowerCase()}.${element.className}`.slice(0, 80)),
    wideImages: [...article.querySelectorAll("img")]
      .filter(image => image.getClientRects().length > 0)
      .filter(image => image.getBoundingClientRect().width > article.clientWidth + 1)
      .map(image => image.src.split("/").pop().slice(0, 60)),
  };
}"""
PHONE = {"width": 390, "height": 844}


@dataclass
class PageRead:
    """One page as the browser found it: the problems while loading, and READ_PAGE's findings."""

    name: str
    path: Path
    problems: list[str]
    outside: list[str]
    facts: dict


@pytest.fixture(scope="module")
def pages_read(browser, site) -> list[PageRead]:
    """Every page of the book (the start page, then the chapters), each read once at 1280x900."""
    paths = [site / "index.html", *(chapter_page(site, chapter) for chapter in CHAPTERS)]
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    outside: list[str] = []

    def refuse(route) -> None:  # the book must read offline
        outside.append(route.request.url)
        route.abort()

    context.route(re.compile(r"^(https?|wss?)://"), refuse)
    page = context.new_page()
    problems = PageProblems(page)
    reads = []
    for path in paths:
        page.goto(path.as_uri(), wait_until="load")
        facts = page.evaluate(READ_PAGE)
        reads.append(PageRead(path.relative_to(site).as_posix(), path, problems.take(), outside[:], facts))
        outside.clear()
        if path == chapter_page(site, CHAPTERS[0]):
            still = page.locator(".oneshot-explorer-still").last
            still.scroll_into_view_if_needed()
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=SCREENSHOTS / f"book_{CHAPTERS[0].stem}_task_explorer.png")
            reads[-1].problems += problems.take()
        facts["wideOpened"] = page.evaluate(OPENED_CODE)  # last: it opens the folds
    context.close()
    return reads


@pytest.fixture(scope="module")
def phone_pages_read(browser, site) -> list[tuple[str, dict]]:
    """Every page of the book read at a phone's width: (page name, PHONE_PAGE's findings)."""
    paths = [site / "index.html", *(chapter_page(site, chapter) for chapter in CHAPTERS)]
    context = browser.new_context(viewport=PHONE)
    context.route(re.compile(r"^(https?|wss?)://"), lambda route: route.abort())
    page = context.new_page()
    reads = []
    for path in paths:
        page.goto(path.as_uri(), wait_until="load")
        reads.append((path.relative_to(site).as_posix(), page.evaluate(PHONE_PAGE)))
    context.close()
    return reads


def chapter_reads(pages_read: list[PageRead]) -> list[tuple[Path, PageRead]]:
    return list(zip(CHAPTERS, pages_read[1:], strict=True))


def code_cell_numbers(chapter: Path) -> list[int]:
    """The notebook index of each code cell, in order: the page shows one ``div.cell`` for each."""
    return [index for index, cell in enumerate(notebook_cells(chapter)) if cell["cell_type"] == "code"]


def where(chapter: Path, cell: int) -> str:
    """A page's ``div.cell`` number as the notebook's cell index, for messages."""
    numbers = code_cell_numbers(chapter)
    return f"cell {numbers[cell]}" if 0 <= cell < len(numbers) else "outside the cells"


def test_every_page_loads_in_a_browser_with_its_images_and_links(pages_read, site):
    for index, read in enumerate(pages_read):
        assert read.problems == [], f"{read.name}: errors while loading"
        assert read.outside == [], f"{read.name} asks for something outside the book: {read.outside}"
        assert read.facts["unloaded"] == [], f"{read.name}: images that did not load: {read.facts['unloaded']}"
        assert broken_links(site, read.facts["hrefs"]) == [], f"{read.name}: links that lead nowhere"
        for kind, neighbour in (("prev", index - 1), ("next", index + 1)):
            expected = [pages_read[neighbour].path.as_uri()] if 0 <= neighbour < len(pages_read) else []
            assert read.facts[kind] == expected, f"{read.name}: wrong {kind}-page link"


def test_no_code_is_wider_than_its_column(pages_read):
    """A reader at 1280 px scrolls no code block sideways, input or output (88 characters fit)."""
    wide = [
        f"{read.name} {where(chapter, block['cell']) if chapter else ''} {block['part']}: "
        f"{block['over']} px too wide, {block['line']!r}"
        for chapter, read in zip([None, *CHAPTERS], pages_read, strict=True)
        for block in read.facts["wideCode"]
    ]
    assert wide == [], f"{len(wide)} code blocks scroll sideways:\n" + "\n".join(wide)


def test_no_opened_listing_is_wider_than_its_column(pages_read):
    """A folded library listing (lines of up to 120 characters), once opened, wraps instead of scrolling."""
    wide = [
        f"{read.name} {where(chapter, block['cell'])}: {block['over']} px too wide, {block['line']!r}"
        for chapter, read in chapter_reads(pages_read)
        for block in read.facts["wideOpened"]
    ]
    assert wide == [], f"{len(wide)} opened listings scroll sideways:\n" + "\n".join(wide)


def test_on_a_phone_no_page_is_wider_than_the_screen_and_images_fit_the_column(phone_pages_read):
    problems = []
    for name, facts in phone_pages_read:
        if facts["pageOverflow"] > 1:
            problems.append(f"{name}: the page scrolls {facts['pageOverflow']} px sideways at {PHONE['width']} px")
        problems += [f"{name}: {element} reaches past the screen, in no scroll box" for element in facts["cutOff"]]
        problems += [f"{name}: image {image} is wider than the column" for image in facts["wideImages"]]
    assert problems == [], "\n".join(problems)


def test_no_page_scrolls_sideways_and_tables_fit_or_scroll_in_their_box(pages_read):
    wide = [f"{read.name}: the page scrolls {read.facts['pageOverflow']} px sideways" for read in pages_read
            if read.facts["pageOverflow"] > 1]  # fmt: skip
    wide += [
        f"{read.name} {where(chapter, table['cell'])}: a table {table['width']} px wide, not in a scroll box"
        for chapter, read in chapter_reads(pages_read)
        for table in read.facts["wideTables"]
    ]
    assert wide == [], "\n".join(wide)


def test_no_nbval_marker_reaches_a_reader(pages_read):
    marked = [read.name for read in pages_read if "nbval" in read.facts["text"].lower()]
    assert marked == [], f"pages that show an nbval marker: {marked}"


def test_every_reference_is_a_link(pages_read):
    for read in pages_read[1:]:
        sections = read.facts["references"]
        assert sections and all(sections), f"{read.name}: no References section with items"
        unlinked = [item["text"] for section in sections for item in section if not item["linked"]]
        assert unlinked == [], f"{read.name}: references without a link: {unlinked}"


def test_every_figure_is_drawn_at_least_at_its_displayed_size(pages_read):
    """An image shown wider than it was drawn is blurred: figure text becomes unreadable."""
    small = [
        f"{read.name} {where(chapter, image['cell'])}: {image['natural']} px shown at {image['shown']} px"
        for chapter, read in zip([None, *CHAPTERS], pages_read, strict=True)
        for image in read.facts["smallImages"]
    ]
    assert small == [], f"{len(small)} figures drawn smaller than shown:\n" + "\n".join(small)


def test_source_listings_and_checks_are_folded(pages_read):
    """A ``show_source`` cell's listing and a check-only cell's code are folded behind a button."""
    shown = []
    for chapter, read in chapter_reads(pages_read):
        cells = code_cell_numbers(chapter)
        assert len(read.facts["cells"]) == len(cells), f"{read.name}: {len(cells)} code cells, page shows others"
        notebook = notebook_cells(chapter)
        for number, folded in zip(cells, read.facts["cells"], strict=True):
            for tag in folds_wanted("".join(notebook[number]["source"])):
                part = FOLDED_PART[tag]
                if folded[part] is False:
                    shown.append(f"{chapter.name} cell {number} {FOLDS[tag]}, its {part} shown (tag it {tag})")
    assert shown == [], f"{len(shown)} cells not folded:\n" + "\n".join(shown)


def test_every_chapter_page_links_its_notebook_for_download(pages_read, site):
    for chapter, read in chapter_reads(pages_read):
        downloads = read.facts["downloads"]
        assert len(downloads) == 1 and downloads[0].endswith(f"/{chapter.name}"), f"{read.name}: {downloads}"
        target = Path(unquote(urlsplit(downloads[0]).path))
        assert target.read_bytes() == chapter.read_bytes(), f"{read.name}: the download is not the committed notebook"


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


def made_up_notebook(*cells: tuple[str, str], execution: list[tuple[str, str]] | None = None) -> dict:
    """A notebook of (cell type, source) cells; code cells get ``execution`` times, one pair each."""
    times = iter(execution or [])
    notebook = {"cells": [], "metadata": {"widgets": {"state": {}}}, "nbformat": 4, "nbformat_minor": 5}
    for kind, source in cells:
        cell = {"cell_type": kind, "metadata": {}, "source": source}
        if kind == "code":
            cell["outputs"] = []
            start, end = next(times, (None, None))
            if start:
                cell["metadata"]["execution"] = {"iopub.execute_input": start, "shell.execute_reply": end}
        notebook["cells"].append(cell)
    return notebook


def test_staging_readies_a_chapter_for_reading_and_leaves_the_notebook_alone():
    build = _book_module()
    notebook = made_up_notebook(
        ("markdown", "# Chapter 9: made up\n\nWhat it is about."),
        ("code", "# NBVAL_IGNORE_OUTPUT\nx = 1  # NBVAL_SKIP\n\nprint(x)  # a comment"),
        ("markdown", "## Summary\n\n- one point, `code`\n\n## Exercises\n\n1. Run:\n   ```python\n   x\n   ```\n"
                     "\n## References\n\n- https://example.org"),
    )  # fmt: skip
    original = json.dumps(notebook)
    staged = build.for_the_book(notebook, "09_made_up.ipynb")
    assert json.dumps(notebook) == original, "the notebook itself was changed"
    assert "widgets" not in staged["metadata"]
    title, code, closing = (cell["source"] for cell in staged["cells"])
    assert title.startswith("# Chapter 9: made up\n") and title.endswith("What it is about.")
    assert "[Download this chapter's notebook](path:../notebooks/09_made_up.ipynb)" in title
    assert code == "x = 1\n\nprint(x)  # a comment"
    assert "## Summary\n\n```{admonition} Key points\n:class: tip\n\n- one point, `code`\n```" in closing
    assert "## Exercises\n\n````{admonition} Try it yourself\n:class: note\n\n1. Run:\n   ```python" in closing
    assert closing.endswith("## References\n\n- https://example.org")


def test_a_library_listing_is_staged_one_line_to_an_element_with_its_indentation():
    build = _book_module()
    source = "def f(x):\n    return x\n\n\nclass A:\n    pass\n"
    listing = {"output_type": "display_data", "data": {"text/html": "<pre>f</pre>", "text/plain": source}}
    notebook = made_up_notebook(("markdown", "# Chapter 4: made up"), ("code", "show_source(f)"))
    notebook["cells"][1]["outputs"] = [listing]
    html = build.for_the_book(notebook, "04_made_up.ipynb")["cells"][1]["outputs"][0]["data"]["text/html"]
    assert html.startswith('<div class="oneshot-listing">')
    indents = re.findall(r'<span class="oneshot-line" style="--indent: (\d+)">', html)
    assert indents == ["0", "4", "0", "0", "0", "4"]  # one per line, empty lines included
    assert re.sub(r"<[^>]+>", "", html).replace("&quot;", '"') == source
    assert notebook["cells"][1]["outputs"][0]["data"]["text/html"] == "<pre>f</pre>"  # the notebook is untouched


def test_a_figure_caption_below_its_code_cell_is_set_as_a_caption():
    build = _book_module()
    notebook = made_up_notebook(
        ("markdown", "# Chapter 2: made up"),
        ("code", "draw()"),
        ("markdown", "**Figure 2.1.** A task: the query `q` and its support set."),
        ("markdown", "**Figure 2.1** is not below a code cell: prose."),
    )
    caption, prose = (cell["source"] for cell in build.for_the_book(notebook, "02_made_up.ipynb")["cells"][2:])
    assert caption == (
        "```{container} oneshot-caption\n**Figure 2.1.** A task: the query `q` and its support set.\n```"
    )
    assert prose == "**Figure 2.1** is not below a code cell: prose."


def test_the_running_time_is_read_from_the_cells_execution_times():
    build = _book_module()
    notebook = made_up_notebook(
        ("markdown", "# Chapter 3: timed"),
        ("code", "a"),
        ("code", "b"),
        execution=[
            ("2026-01-01T10:00:00.0Z", "2026-01-01T10:00:05.5Z"),
            ("2026-01-01T10:00:06Z", "2026-01-01T10:02:35Z"),
        ],
    )
    assert build.running_seconds(notebook) == 155
    assert build.running_seconds(made_up_notebook(("code", "a"))) is None
    readme = "| 3 | `03_timed.ipynb` | how timing works |\n"
    table = build.chapter_table(
        {Path("03_timed.ipynb"): notebook, Path("04_untimed.ipynb"): made_up_notebook()}, readme
    )
    rows = table.splitlines()
    about_3_min = "about\N{NO-BREAK SPACE}3\N{NO-BREAK SPACE}min"
    assert rows[2] == f"| [Chapter 3: timed](chapters/03_timed.ipynb) | how timing works | {about_3_min} |"
    assert rows[3] == "| [04_untimed](chapters/04_untimed.ipynb) |  | not recorded |"


def test_a_first_chapter_without_a_figure_has_no_cover_and_says_so():
    build = _book_module()
    with pytest.raises(SystemExit, match=r"01_empty\.ipynb shows no figure"):
        build.cover_figure(Path("01_empty.ipynb"), made_up_notebook(("code", "1")))
