"""The chapters' structure, read from the committed notebooks (no kernel, nothing run).

Every figure a chapter shows has a numbered caption right below it, as in a printed book: the
code cell that draws it is followed directly by a Markdown cell that starts with
``**Figure N.k.**`` (``**Figures N.k and N.k+1.**`` for a cell that draws two, ``**Figures N.k,
N.k+1 and N.k+2.**`` for three), N being the chapter's number (from its file name) and k counting
the chapter's figures from 1. A figure is an ``image/png`` output (a plot), an ``image/svg+xml`` one
(a diagram), or an explorer's still picture
(an HTML output holding ``oneshot-explorer-still``, which the drawing pad shows too).

Each chapter holds at most 3,500 words of prose (``prose_words`` says what counts): one idea per
chapter.

Cells that show library source, or only check claims, carry the tags that fold them in the book
(``folds_wanted``, read by ``test_book.py`` too); nbval is steered by cell tags, never comments.
"""

from __future__ import annotations

import ast
import json
import re
from functools import cache
from pathlib import Path

import nbformat
import pytest

CHAPTERS = sorted((Path(__file__).resolve().parents[1] / "chapters").glob("*.ipynb"))
STILL_PICTURE = "oneshot-explorer-still"
# The bold head of a caption cell and the text after it: "**Figure 6.3.** What is shown..."
CAPTION = re.compile(r"\*\*Figures? (?P<numbers>[^*]*?)\.\*\*(?P<text>.*)", re.DOTALL)
NUMBER = re.compile(r"(\d+)\.(\d+)")


def figures_drawn(cell: dict) -> int:
    """How many figures code ``cell``'s outputs show: PNG images, SVG diagrams and explorers' still pictures."""
    count = 0
    for output in cell.get("outputs", []):
        data = output.get("data", {})
        html = data.get("text/html", "")
        if (
            "image/png" in data
            or "image/svg+xml" in data
            or STILL_PICTURE in ("".join(html) if isinstance(html, list) else html)
        ):
            count += 1
    return count


def caption_numbers(cell: dict) -> list[tuple[int, int]] | None:
    """The (chapter, figure) numbers a caption cell names, or None if ``cell`` is no caption."""
    source = cell.get("source", "")
    source = "".join(source) if isinstance(source, list) else source
    match = CAPTION.match(source) if cell.get("cell_type") == "markdown" else None
    if match is None or not match["text"].strip():
        return None
    return [(int(chapter), int(figure)) for chapter, figure in NUMBER.findall(match["numbers"])]


def caption_problems(notebook: dict, chapter: int) -> list[str]:
    """What is wrong with the figure captions of ``notebook`` (chapter number ``chapter``); [] if nothing."""
    problems, figures, cells = [], 0, notebook["cells"]
    for index, cell in enumerate(cells):
        drawn = figures_drawn(cell) if cell.get("cell_type") == "code" else 0
        numbers = caption_numbers(cell)
        if numbers is not None and (index == 0 or not figures_drawn(cells[index - 1])):
            problems.append(f"cell {index}: a caption ({numbers}) with no figure directly above it")
        if not drawn:
            continue
        expected = [(chapter, figures + k) for k in range(1, drawn + 1)]
        figures += drawn
        following = caption_numbers(cells[index + 1]) if index + 1 < len(cells) else None
        named = " and ".join(f"{n}.{k}" for n, k in expected)
        if following is None:
            problems.append(f"cell {index} draws figure(s) {named} but the next cell is no caption")
        elif following != expected:
            found = ", ".join(f"{n}.{k}" for n, k in following) or "no number"
            problems.append(f"cell {index + 1}: the caption of figure(s) {named} is numbered {found}")
    return problems


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda path: path.stem)
def test_every_figure_has_a_numbered_caption_below_it(chapter):
    notebook = nbformat.read(chapter, as_version=4)
    problems = caption_problems(notebook, int(chapter.name[:2]))
    assert problems == [], f"{chapter.name}:\n" + "\n".join(problems)


def made_up_chapter(*cells: tuple[str, str | int]) -> dict:
    """A notebook of ("code", number of figures) and ("still", 1) or ("markdown", source) cells."""
    notebook = nbformat.v4.new_notebook()
    for kind, content in cells:
        if kind == "markdown":
            notebook.cells.append(nbformat.v4.new_markdown_cell(content))
            continue
        if kind == "code":
            # the first figure a diagram (SVG), any others plots (PNG)
            kinds = [{"image/svg+xml": "<svg/>"}] + [{"image/png": "iVBOR"}] * (content - 1)
            outputs = [nbformat.v4.new_output("display_data", data) for data in kinds[:content]]
        else:
            html = f'<div class="{STILL_PICTURE}"><img src="data:image/png;base64,iVBOR"></div>'
            outputs = [nbformat.v4.new_output("display_data", {"text/html": html, "text/plain": "Explorer()"})]
        notebook.cells.append(nbformat.v4.new_code_cell("draw()", outputs=outputs))
    return notebook


def test_the_caption_check_accepts_captions_numbered_in_order():
    notebook = made_up_chapter(
        ("markdown", "# Chapter 3"),
        ("code", 1),
        ("markdown", "**Figure 3.1.** A task."),
        ("code", 0),
        ("code", 2),
        ("markdown", "**Figures 3.2 and 3.3.** Two tasks."),
        ("still", 1),
        ("markdown", "**Figure 3.4.** The explorer's still picture."),
    )
    assert caption_problems(notebook, 3) == []


@pytest.mark.parametrize(
    ("cells", "problem"),
    [
        ([("code", 1), ("markdown", "The figure shows a task.")], "cell 0 draws figure(s) 3.1 but the next cell"),
        ([("code", 1)], "cell 0 draws figure(s) 3.1 but the next cell is no caption"),
        ([("still", 1), ("code", 0), ("markdown", "**Figure 3.1.** Late.")], "next cell is no caption"),
        ([("code", 1), ("markdown", "**Figure 3.2.** Skips one.")], "3.1 is numbered 3.2"),
        ([("code", 1), ("markdown", "**Figure 4.1.** Wrong chapter.")], "3.1 is numbered 4.1"),
        ([("code", 2), ("markdown", "**Figure 3.1.** One of two.")], "3.1 and 3.2 is numbered 3.1"),
        ([("code", 1), ("markdown", "**Figure 3.1.**")], "the next cell is no caption"),
        ([("markdown", "**Figure 3.1.** Nothing above.")], "cell 0: a caption ([(3, 1)]) with no figure"),
    ],
)
def test_the_caption_check_finds_a_missing_or_misnumbered_caption(cells, problem):
    problems = caption_problems(made_up_chapter(*cells), 3)
    assert any(problem in found for found in problems), problems


@cache
def notebook_cells(chapter: Path) -> list[dict]:
    return json.loads(chapter.read_text(encoding="utf-8"))["cells"]


def only_checks(source: str) -> bool:
    """Whether code ``source`` only checks claims: every statement a ``check(...)`` call or an assert.

    Loops and conditions count as their bodies; a cell that also computes or prints is not one.
    """
    try:
        body = ast.parse(source).body
    except SyntaxError:  # IPython syntax (a %magic): not a cell of checks
        return False

    def statements(block):
        for statement in block:
            if isinstance(statement, (ast.For, ast.While, ast.If, ast.With)):
                yield from statements(statement.body + getattr(statement, "orelse", []))
            else:
                yield statement

    def is_check(statement) -> bool:
        if isinstance(statement, ast.Assert):
            return True
        call = statement.value if isinstance(statement, ast.Expr) else None
        function = call.func if isinstance(call, ast.Call) else None
        return (isinstance(function, ast.Name) and function.id == "check") or (
            isinstance(function, ast.Attribute) and function.attr == "check"
        )

    found = list(statements(body))
    return bool(found) and all(is_check(statement) for statement in found)


FOLDS = {"hide-output": "shows library source", "hide-input": "only checks"}
"""The cell tags that fold part of a code cell in the book, and the cells that carry each."""


def folds_wanted(source: str) -> list[str]:
    """The fold tags (``FOLDS``) code ``source`` must carry: a ``show_source`` listing is folded
    (``hide-output``), and so is the code of a cell that only checks claims (``hide-input``)."""
    return [
        tag
        for tag, wanted in (("hide-output", "show_source(" in source), ("hide-input", only_checks(source)))
        if wanted
    ]


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda chapter: chapter.stem)
def test_cells_carry_the_tags_the_book_reads(chapter):
    """The cell tags of the course's rule: listings hide-output, checks hide-input, nbval by tags."""
    wrong = []
    for number, cell in enumerate(notebook_cells(chapter)):
        if cell["cell_type"] != "code":
            continue
        source, tags = "".join(cell["source"]), cell.get("metadata", {}).get("tags", [])
        wrong += [f"cell {number} {FOLDS[tag]}: tag it {tag}" for tag in folds_wanted(source) if tag not in tags]
        if re.search(r"#\s*NBVAL_", source, re.IGNORECASE):
            wrong.append(f"cell {number} has an nbval comment: use the tag nbval-ignore-output or nbval-skip")
    assert wrong == [], f"{chapter.name}:\n" + "\n".join(wrong)


PROSE_WORDS_AT_MOST = 3_500
"""The most words of prose a chapter may have: one idea per chapter, read in one sitting."""
WORD = re.compile(r"[A-Za-z0-9][\w'’.,%-]*")


def prose_words(notebook: dict) -> int:
    """How many words of prose ``notebook``'s Markdown cells hold.

    What counts: the text of every Markdown cell but the References cell (the one that starts
    ``## References``), without fenced code blocks (commands), HTML tags (``<details>``), and the
    targets of links (``(https://...)``). A word starts with a letter or a digit and runs on through
    letters, digits and ``'’.,%-``: "3,500", "Koch's" and "1-shot" are one word each. Code cells and
    outputs do not count; figure captions, being Markdown, do.
    """
    words = 0
    for cell in notebook["cells"]:
        source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        if cell["cell_type"] != "markdown" or source.lstrip().startswith("## References"):
            continue
        source = re.sub(r"```.*?```", " ", source, flags=re.DOTALL)
        source = re.sub(r"<[^>]+>", " ", source)
        source = re.sub(r"\(https?://[^)]*\)", " ", source)
        words += len(WORD.findall(source))
    return words


def test_prose_words_counts_words_of_markdown_without_code_tags_links_or_references():
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_markdown_cell("# Chapter 3: pairs\n\nKoch's 1-shot tasks: 3,500 words, 4.5%."),
        nbformat.v4.new_markdown_cell("Run\n\n```bash\npython -m oneshot_lib.train --minutes 60\n```\n\nthen"),
        nbformat.v4.new_markdown_cell(
            "<details><summary>Answer</summary>\n\nYes, [see](https://example.org/a).\n</details>"
        ),
        nbformat.v4.new_code_cell("print('not prose at all')"),
        nbformat.v4.new_markdown_cell("## References\n\n- Many authors (2015). *A long title*."),
    ]
    # "Chapter 3 pairs Koch's 1-shot tasks 3,500 words 4.5%." + "Run then" + "Answer Yes see"
    assert prose_words(notebook) == 9 + 2 + 3


@pytest.mark.parametrize(
    "chapter",
    CHAPTERS,
    ids=lambda chapter: chapter.stem,
)
def test_every_chapter_has_at_most_3500_words_of_prose(chapter):
    words = prose_words(json.loads(chapter.read_text(encoding="utf-8")))
    assert words <= PROSE_WORDS_AT_MOST, (
        f"{chapter.name} has {words:,} words of prose, more than {PROSE_WORDS_AT_MOST:,}: cut repetition and "
        "lab-report detail, or split the chapter"
    )


ENDING = ("Check yourself", "Summary", "Exercises", "References")


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda chapter: chapter.stem)
def test_every_chapter_ends_with_questions_summary_exercises_and_references(chapter):
    """The four closing sections, in order, each once; References in a last cell of their own (not counted as prose)."""
    markdown = [
        "".join(cell["source"]) for cell in json.loads(chapter.read_text())["cells"] if cell["cell_type"] == "markdown"
    ]
    headings = [m for source in markdown for m in re.findall(r"^## (.+?)\s*$", source, flags=re.MULTILINE)]
    assert [h for h in headings if h in ENDING] == list(ENDING), f"{chapter.name}: closing sections {headings}"
    assert headings[-len(ENDING) :] == list(ENDING), f"{chapter.name}: sections after the closing ones: {headings}"
    assert markdown[-1].lstrip().startswith("## References"), (
        f"{chapter.name}: References not in a last cell of their own"
    )
