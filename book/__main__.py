"""Build the course as a static HTML book, from the chapters' committed outputs (nothing is run).

    python -m book                 # from the repository's root: writes build/book/index.html
    python -m book OUTPUT_DIR      # anywhere else

Sphinx reads its sources from one folder, so the start page, the README it quotes and every
``chapters/*.ipynb`` are first staged into a folder beside the output, ``OUTPUT_DIR-src``, which
also keeps Sphinx's cache. A staged file is rewritten only when its content changes, so a rebuild
redoes only the pages whose chapter changed. The configuration is ``book/conf.py``.

Staging prepares each chapter for reading; the notebooks themselves stay plain Jupyter:

- the widgets' saved state is left out: no widget runs in the book, where each explorer shows
  its still picture;
- a line left in a code cell that only talks to nbval (``# NBVAL_SKIP``, say) is dropped, since
  nbval's markers are for the test run, never for a reader;
- the "Summary" and "Exercises" sections are set in admonitions (boxes);
- a figure's caption (a Markdown cell that starts with a bold "Figure N.k." right below the code
  cell that draws it) is set as a caption, in a container that ``static/oneshot.css`` styles;
- a library listing (the output of ``show_source``, whose lines run to 120 characters) is
  highlighted again one line to an element, so that ``static/oneshot.css`` can wrap a long line
  under its own indentation instead of making the reader scroll sideways;
- under the title, a link downloads the chapter's notebook as committed (staged unchanged in
  ``notebooks/``).

The start page gets two generated parts: ``cover.png``, the first figure of the first chapter's
committed outputs, and ``chapter_table.md``, a table of the chapters with what each teaches (from
the README's table) and its running time, read from the cells' execution times recorded in the
committed notebook.
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import sys
from datetime import datetime
from pathlib import Path

BOOK = Path(__file__).resolve().parent
ROOT = BOOK.parent

NBVAL_MARKER = re.compile(r"[ \t]*#[ \t]*NBVAL_[A-Z_]+[ \t]*$", re.IGNORECASE)
# A level-2 section of a Markdown cell set in a box: heading -> (the box's title, its class).
BOXED_SECTIONS = {"Summary": ("Key points", "tip"), "Exercises": ("Try it yourself", "note")}
# A figure's caption: "**Figure 6.3.** ..." or "**Figures 1.8, 1.9 and 1.10.** ...".
CAPTION = re.compile(r"\*\*Figures? \d+\.\d+[^*]*\*\*")
# A line of a listing as Pygments writes it with linespans: its id is replaced by its indentation.
LISTING_LINE = re.compile(r'<span id="line-(\d+)">')
SECTION = re.compile(r"^## +(?P<title>[^\n]+?) *\n(?P<body>.*?)(?=^#{1,2} |\Z)", re.MULTILINE | re.DOTALL)


def stage(source: Path) -> list[Path]:
    """Stage the start page, README.md and every chapter into ``source``; return the chapters staged."""
    chapters = sorted((ROOT / "chapters").glob("*.ipynb"))
    if not chapters:
        raise SystemExit(f"no chapters found in {ROOT / 'chapters'}")
    notebooks = {chapter: read_notebook(chapter) for chapter in chapters}
    for folder in ("chapters", "notebooks"):
        (source / folder).mkdir(parents=True, exist_ok=True)
        for stale in (source / folder).glob("*.ipynb"):
            if not (ROOT / "chapters" / stale.name).exists():
                stale.unlink()
    write_if_changed(source / "index.md", (BOOK / "index.md").read_bytes())
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    write_if_changed(source / "README.md", readme.encode())
    for chapter, notebook in notebooks.items():
        write_if_changed(source / "notebooks" / chapter.name, chapter.read_bytes())
        staged = for_the_book(notebook, chapter.name)
        write_if_changed(source / "chapters" / chapter.name, json.dumps(staged, ensure_ascii=False).encode())
    write_if_changed(source / "chapter_table.md", chapter_table(notebooks, readme).encode())
    write_if_changed(source / "cover.png", cover_figure(chapters[0], notebooks[chapters[0]]))
    return chapters


def write_if_changed(path: Path, content: bytes) -> None:
    """Write ``content`` to ``path`` unless it holds that already (Sphinx re-reads what is newer)."""
    if not path.is_file() or path.read_bytes() != content:
        path.write_bytes(content)


def read_notebook(chapter: Path) -> dict:
    """The JSON of notebook ``chapter``; SystemExit naming the file if it is not a notebook."""
    try:
        notebook = json.loads(chapter.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise SystemExit(
            f"{chapter} is not a valid notebook ({error}); restore it (git checkout -- {chapter.name} in "
            "chapters/) or save it again from Jupyter"
        ) from error
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
        raise SystemExit(f"{chapter} is JSON but not a notebook (no list of cells); restore it or save it again")
    return notebook


def source_text(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def for_the_book(notebook: dict, name: str) -> dict:
    """A copy of ``notebook`` (file ``name``) as the book shows it (see the module's docstring)."""
    notebook = json.loads(json.dumps(notebook))
    notebook.get("metadata", {}).pop("widgets", None)
    cells = notebook["cells"]
    for index, cell in enumerate(cells):
        if cell.get("cell_type") == "code":
            cell["source"] = without_nbval_markers(source_text(cell))
            if "show_source(" in cell["source"]:
                for output in cell.get("outputs", []):
                    as_listing(output)
        elif cell.get("cell_type") == "markdown":
            cell["source"] = boxed_sections(source_text(cell))
            if index and cells[index - 1].get("cell_type") == "code" and CAPTION.match(cell["source"]):
                cell["source"] = as_caption(cell["source"])
    title = next((index for index, cell in enumerate(cells) if cell.get("cell_type") == "markdown"), None)
    if title is not None:
        cells[title]["source"] = with_download_link(cells[title]["source"], name)
    return notebook


def as_listing(output: dict) -> None:
    """Give a ``show_source`` output (highlighted HTML and the source as text/plain) HTML whose every
    line is a ``span.oneshot-line`` carrying its indentation (``--indent``, in characters)."""
    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import PythonLexer

    data = output.get("data", {})
    if "text/html" not in data or "text/plain" not in data:
        return
    plain = data["text/plain"]
    source = "".join(plain) if isinstance(plain, list) else plain
    indents = [len(line) - len(line.lstrip(" ")) for line in source.split("\n")]
    html = highlight(source, PythonLexer(), HtmlFormatter(linespans="line"))

    def line(match: re.Match) -> str:
        return f'<span class="oneshot-line" style="--indent: {indents[int(match[1]) - 1]}">'

    data["text/html"] = f'<div class="oneshot-listing">{LISTING_LINE.sub(line, html).strip()}</div>'


def without_nbval_markers(code: str) -> str:
    """``code`` without nbval's comments: a line that holds only one goes, one at a line's end is cut."""
    lines = [(line, NBVAL_MARKER.sub("", line)) for line in code.split("\n")]
    return "\n".join(kept for line, kept in lines if kept.strip() or not line.strip())


def boxed_sections(markdown: str) -> str:
    """``markdown`` with the body of each section named in BOXED_SECTIONS set in an admonition."""

    def box(section: re.Match) -> str:
        title, body = section["title"], section["body"].strip("\n")
        if title not in BOXED_SECTIONS or not body:
            return section[0]
        caption, kind = BOXED_SECTIONS[title]
        fence = fence_around(body)
        return f"## {title}\n\n{fence}{{admonition}} {caption}\n:class: {kind}\n\n{body}\n{fence}\n\n"

    return SECTION.sub(box, markdown)


def fence_around(body: str) -> str:
    """A directive's fence of backticks, longer than any run of backticks in ``body``."""
    return "`" * max(3, 1 + max((len(run) for run in re.findall(r"`+", body)), default=0))


def as_caption(markdown: str) -> str:
    """``markdown`` (a figure's caption) in a container of class ``oneshot-caption``."""
    fence = fence_around(markdown)
    return f"{fence}{{container}} oneshot-caption\n{markdown.strip()}\n{fence}"


def with_download_link(markdown: str, name: str) -> str:
    """``markdown`` (the chapter's first cell) with a link to the notebook under its title."""
    link = f"```{{container}} oneshot-download\n[Download this chapter's notebook](path:../notebooks/{name})\n```"
    lines = markdown.split("\n")
    heading = next((index for index, line in enumerate(lines) if line.startswith("# ")), -1)
    return "\n".join([*lines[: heading + 1], "", link, "", *lines[heading + 1 :]])


def running_seconds(notebook: dict) -> float | None:
    """Seconds from the first code cell's start to the last one's end, as the notebook recorded them.

    Jupyter records each cell's times in ``metadata.execution`` (``iopub.execute_input``,
    ``shell.execute_reply``) when the notebook is run by nbconvert or JupyterLab; None without them.
    """
    starts, ends = [], []
    for cell in notebook["cells"]:
        times = cell.get("metadata", {}).get("execution", {})
        if cell.get("cell_type") == "code" and "iopub.execute_input" in times and "shell.execute_reply" in times:
            starts.append(datetime.fromisoformat(times["iopub.execute_input"].replace("Z", "+00:00")))
            ends.append(datetime.fromisoformat(times["shell.execute_reply"].replace("Z", "+00:00")))
    if not starts:
        return None
    return (max(ends) - min(starts)).total_seconds()


def chapter_title(notebook: dict, name: str) -> str:
    for cell in notebook["cells"]:
        heading = (
            re.search(r"^# +(.+?) *$", source_text(cell), re.MULTILINE) if cell.get("cell_type") == "markdown" else None
        )
        if heading:
            return heading[1]
    return name


def chapter_table(notebooks: dict[Path, dict], readme: str) -> str:
    """A Markdown table of the chapters: linked title, what it teaches (the README's table), running time."""
    teaches = dict(re.findall(r"^\| *\d+ *\| *`([^`]+\.ipynb)` *\| *(.+?) *\|$", readme, re.MULTILINE))
    rows = ["| Chapter | What you learn | Running time |", "| --- | --- | --- |"]
    for chapter, notebook in notebooks.items():
        seconds = running_seconds(notebook)
        time = (
            "not recorded"
            if seconds is None
            else f"about\N{NO-BREAK SPACE}{max(1, round(seconds / 60))}\N{NO-BREAK SPACE}min"
        )
        title = chapter_title(notebook, chapter.stem).replace("|", "\\|")
        rows.append(f"| [{title}](chapters/{chapter.name}) | {teaches.get(chapter.name, '')} | {time} |")
    return "\n".join(rows) + "\n"


def cover_figure(chapter: Path, notebook: dict) -> bytes:
    """The PNG bytes of the first figure among ``chapter``'s committed outputs."""
    for cell in notebook["cells"]:
        for output in cell.get("outputs", []) if cell.get("cell_type") == "code" else []:
            png = output.get("data", {}).get("image/png")
            if png:
                return base64.b64decode("".join(png) if isinstance(png, list) else png)
    raise SystemExit(f"{chapter} shows no figure for the start page's cover: run it and save its outputs")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m book", description=__doc__.split("\n\n")[0])
    parser.add_argument("output", nargs="?", type=Path, default=ROOT / "build" / "book", help="default: build/book")
    args = parser.parse_args(argv)
    output = args.output.resolve()
    if output.exists() and not output.is_dir():
        parser.error(f"{output} is a file: name a folder for the book (it is created if missing)")
    source = output.with_name(output.name + "-src")
    stage(source)
    from sphinx.cmd.build import build_main

    status = build_main(
        ["-b", "html", "-c", str(BOOK), "-d", str(source / ".doctrees"), "-q", "-W", "--keep-going",
         str(source), str(output)]
    )  # fmt: skip
    if status == 0:
        print(f"the book is at {output / 'index.html'}")
    return status


if __name__ == "__main__":
    sys.exit(main())
