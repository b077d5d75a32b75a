"""The live course in a browser: JupyterLab runs chapter 1's task explorer and chapter 12's drawing pad.

One JupyterLab serves copies of both chapters (outputs cleared) on 127.0.0.1, on a free port, behind a
token. Headless Chromium opens it and runs the cells the widget needs. Chapter 1: it checks that the
answer is hidden at first, presses "new task" and checks that the figure changes, then ticks "show
answer" and checks that the answer shows, and unticks it and checks that it is gone again. Chapter
10 (the pad starting empty): it draws three symbols on the canvas with the mouse, adding each, draws
a stray stroke and undoes it, draws one symbol again, classifies, and checks the model's pick and
that the scores are shown. The server is always shut down. Needs Chromium (see tests/browser.py) and
the Omniglot data (see the README's Data section).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import nbformat
import numpy as np
import pytest
from browser import ROOT, SCREENSHOTS, chromium
from matplotlib.colors import to_rgb
from PIL import Image

from oneshot_lib.viz import style

pytestmark = pytest.mark.browser

CHAPTER = ROOT / "chapters" / "01_problem_definition.ipynb"
PAD_CHAPTER = ROOT / "chapters" / "12_your_own_drawings.ipynb"
EXPLORER_CALL = "widgets.task_explorer("
# JupyterLab settings for a quiet, predictable page: every cell in the DOM, no autosave, no news.
LAB_SETTINGS = {
    "notebook-extension/tracker": {"windowingMode": "none"},
    "docmanager-extension/plugin": {"autosave": False},
    "apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False, "doNotDisturbMode": True},
}
SERVER_START_SECONDS = 60
CELL_SECONDS = 120


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def cells_to_run(notebook) -> list[int]:
    """Indices of the cells the task explorer needs: set-up (SEED), the splits (train), and its own."""
    sources = [cell.source if cell.cell_type == "code" else "" for cell in notebook.cells]

    def first(test, what: str) -> int:
        for index, source in enumerate(sources):
            if test(source):
                return index
        raise AssertionError(f"{CHAPTER.name} has no cell that {what}: update this test with the chapter")

    return [
        first(lambda source: re.search(r"^SEED\s*=", source, re.M), "sets SEED"),
        first(lambda source: re.search(r"^train, validation\s*=", source, re.M), "makes the train split"),
        first(lambda source: EXPLORER_CALL in source, f"calls {EXPLORER_CALL}...)"),
    ]


def cleared_copy(chapter, folder, edit=None):
    """The chapter, outputs and widget state cleared (``edit`` applied to each code cell's source), written
    into ``folder``; returns the notebook."""
    notebook = nbformat.read(chapter, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
            if edit is not None:
                cell.source = edit(cell.source)
    notebook.metadata.pop("widgets", None)
    nbformat.write(notebook, folder / chapter.name)
    return notebook


@contextlib.contextmanager
def jupyter_lab(home):
    """(base URL, token) of a JupyterLab serving ``home/notebooks`` on 127.0.0.1; shut down on exit."""
    notebooks = home / "notebooks"
    for name, values in LAB_SETTINGS.items():
        path = home / "settings" / "@jupyterlab" / f"{name}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    port, token = free_port(), secrets.token_hex(16)
    env = {
        **os.environ,
        "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        "JUPYTER_CONFIG_DIR": str(home / "config"),
        "JUPYTER_DATA_DIR": str(home / "data"),  # no user kernel spec: the kernel is this Python's
        # The kernel imports oneshot_lib from this checkout, installed or not.
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    command = [
        sys.executable, "-m", "jupyterlab", "--no-browser",
        "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={notebooks}",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate", "--LabApp.news_url=",
        "--LabApp.extension_manager=readonly", "--ServerApp.terminals_enabled=False",
        *(["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []),  # CI runs as root
    ]  # fmt: skip
    log = (home / "server.log").open("wb")
    server = subprocess.Popen(command, env=env, cwd=notebooks, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVER_START_SECONDS
        while True:
            if server.poll() is not None:
                raise AssertionError(f"jupyter lab exited ({server.returncode}):\n{(home / 'server.log').read_text()}")
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=5):
                    break
            except (urllib.error.URLError, ConnectionError):
                if time.monotonic() > deadline:
                    raise AssertionError(f"jupyter lab did not answer in {SERVER_START_SECONDS} s") from None
                try:  # wait a little for the port, or for the server to exit
                    server.wait(timeout=0.2)
                except subprocess.TimeoutExpired:
                    pass
        yield base, token
    finally:
        try:  # shuts the kernels down too
            request = urllib.request.Request(f"{base}/api/shutdown", method="POST")
            request.add_header("Authorization", f"token {token}")
            urllib.request.urlopen(request, timeout=10).close()
            server.wait(timeout=30)
        except Exception:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        log.close()


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """(base URL, token, {chapter file name: notebook}) of one JupyterLab, stopped after.

    It serves cleared copies of chapter 1 and of chapter 12, whose pad starts empty: one server
    for both tests, as a learner would have one open.
    """
    home = tmp_path_factory.mktemp("lab")
    (home / "notebooks").mkdir()
    pad_notebook = cleared_copy(
        PAD_CHAPTER,
        home / "notebooks",
        edit=lambda source: re.sub(r"^EXAMPLE = True", "EXAMPLE = False", source, flags=re.M),
    )
    assert any("EXAMPLE = False" in cell.source for cell in pad_notebook.cells), "the pad's cell has no EXAMPLE switch"
    notebooks = {CHAPTER.name: cleared_copy(CHAPTER, home / "notebooks"), PAD_CHAPTER.name: pad_notebook}
    with jupyter_lab(home) as (base, token):
        yield base, token, notebooks


@contextlib.contextmanager
def live_page(browser, failure_screenshot: str):
    """A new 1400x1000 page; on an error, a screenshot named ``failure_screenshot`` goes to SCREENSHOTS."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(60_000)
    try:
        yield page
    except Exception:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=SCREENSHOTS / failure_screenshot)
        raise
    finally:
        page.close()


ANSWER_RGB = np.array([round(255 * channel) for channel in to_rgb(style.ANSWER_COLOR)])


def answer_pixels(png: bytes) -> int:
    """How many pixels of a screenshot are (nearly) the answer's green."""
    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    return int((np.abs(pixels - ANSWER_RGB).max(axis=-1) < 24).sum())


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium, asked for before JupyterLab starts, so that without one nothing starts."""
    with chromium() as browser:
        yield browser


def test_task_explorer_runs_live_and_hides_the_answer(browser, lab):
    base, token, notebooks = lab
    with live_page(browser, "live_failure.png") as page:
        use_the_explorer(page, f"{base}/lab/tree/{CHAPTER.name}?token={token}", notebooks[CHAPTER.name])


def run_cells(page, url: str, notebook, to_run: list[int]):
    """Open the notebook at ``url`` and run the cells ``to_run`` in order, each without an error; returns the cells."""
    from playwright.sync_api import expect

    page.goto(url)
    cells = page.locator(".jp-NotebookPanel .jp-Notebook .jp-Cell")
    # On a busy machine the notebook and its kernel take a while: wait for them as for a cell.
    expect(cells).to_have_count(len(notebook.cells), timeout=CELL_SECONDS * 1000)
    # Keys pressed before the kernel is ready are lost: wait for it.
    idle = page.locator(".jp-StatusBar-Widget").get_by_text(re.compile(r"\| Idle$"))
    expect(idle).to_be_visible(timeout=CELL_SECONDS * 1000)
    for count, index in enumerate(to_run, start=1):
        cell = cells.nth(index)
        cell.locator(".jp-InputArea-editor").click()
        page.keyboard.press("Control+Enter")  # run this cell, stay on it
        expect(cell.locator(".jp-InputPrompt")).to_have_text(f"[{count}]:", timeout=CELL_SECONDS * 1000)
        expect(cell.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")).to_have_count(0)
    return cells


def use_the_explorer(page, url: str, notebook) -> None:
    """Run the explorer's cells in JupyterLab at ``url``, then use it as a reader would."""
    from playwright.sync_api import expect

    to_run = cells_to_run(notebook)
    explorer = run_cells(page, url, notebook, to_run).nth(to_run[-1]).locator(".jp-OutputArea-output")
    figure, status = explorer.locator(".oneshot-figure"), explorer.locator(".oneshot-status")
    expect(status).to_have_text("a task from 'background/train', across alphabets")
    figure.scroll_into_view_if_needed()

    def drawn() -> tuple[str, bytes]:
        """The figure's source, once it has loaded, and what it looks like."""
        page.wait_for_function("image => image.complete && image.naturalWidth > 0", arg=figure.element_handle())
        return figure.get_attribute("src"), figure.screenshot()

    # Shown at the size it was drawn for (half its pixels), not stretched; no broken image on screen.
    shown, drawn_width = figure.evaluate("image => [image.getBoundingClientRect().width, image.naturalWidth]")
    assert shown == pytest.approx(drawn_width / 2, abs=1), f"figure drawn {drawn_width} px wide, shown {shown} px"
    for image in explorer.locator("img:visible").element_handles():
        assert image.evaluate("image => image.naturalWidth") > 0, "a broken image is on screen"
    for button in explorer.locator("button").element_handles():
        text, needed, width = button.evaluate("button => [button.textContent, button.scrollWidth, button.clientWidth]")
        assert needed <= width, f"the label {text!r} is cut: it needs {needed} px, its button is {width} px"

    first_src, first = drawn()
    assert answer_pixels(first) == 0, "before the reader asks, nothing is framed in green"
    assert not re.search(r"\b(right|wrong|answer framed)\b", explorer.inner_text())
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    explorer.screenshot(path=SCREENSHOTS / "live_task_explorer_answer_hidden.png")

    explorer.get_by_role("button", name="new task").click()
    expect(explorer.locator("input[type='number']")).to_have_value("1")  # the seed
    expect(figure).not_to_have_attribute("src", first_src)
    second_src, second = drawn()
    assert second != first, "a new task draws a new figure"

    explorer.get_by_role("button", name="within one alphabet").click()
    expect(status).to_have_text("a task from 'background/train', within one alphabet")
    expect(figure).not_to_have_attribute("src", second_src)
    third_src, _ = drawn()

    explorer.get_by_role("checkbox", name="show answer").check()
    expect(figure).not_to_have_attribute("src", third_src)
    shown_src, shown = drawn()
    assert answer_pixels(shown) > 0, "with the answer shown, it is framed in green"
    explorer.screenshot(path=SCREENSHOTS / "live_task_explorer.png")

    explorer.get_by_role("checkbox", name="show answer").uncheck()
    expect(figure).not_to_have_attribute("src", shown_src)
    _, hidden = drawn()
    assert answer_pixels(hidden) == 0, "with the answer hidden again, nothing is framed in green"
    assert not re.search(r"\b(right|wrong|answer framed)\b", explorer.inner_text())


# ------------------------------------------------------------------ chapter 12's drawing pad, drawn on with the mouse

#: Symbols drawn with the mouse, strokes of (x, y) points in the pad's pixels: a zigzag, a ring, a fork.
SYMBOLS = {
    "A": [[(60, 90), (110, 190), (150, 90), (190, 190), (230, 90)]],
    "B": [[(140 + 70 * np.cos(t), 140 + 70 * np.sin(t)) for t in np.linspace(0, 2 * np.pi, 25)]],
    "C": [[(140, 235), (140, 125)], [(140, 125), (85, 55)], [(140, 125), (195, 55)]],
}
#: The zigzag drawn again, smaller, lower and with one more turn.
QUERY = [[(95, 140), (113, 196), (136, 138), (157, 201), (178, 141), (197, 194), (214, 146)]]
PRESS_MS = 30_000  # a press runs the model or redraws a figure in the kernel: slow on a busy machine
PICK_RGB = np.array([round(255 * channel) for channel in to_rgb(style.PICK_COLOR)])


def pad_cells(notebook) -> list[int]:
    """Indices of the cells the pad needs: set-up (SEED), the example strokes, and the pad's own."""
    sources = [cell.source if cell.cell_type == "code" else "" for cell in notebook.cells]
    wanted = [r"^SEED\s*=", r"^EXAMPLE_SYMBOLS\s*=", r"drawing_pad\.drawing_pad\("]
    found = [next((i for i, source in enumerate(sources) if re.search(w, source, re.M)), None) for w in wanted]
    assert None not in found, f"{PAD_CHAPTER.name} lacks a cell matching one of {wanted}: update this test with it"
    return found


def draw_with_mouse(page, canvas, strokes) -> None:
    """Press, drag through each stroke's points and release, as a hand on a mouse would."""
    box = canvas.bounding_box()
    for stroke in strokes:
        page.mouse.move(box["x"] + stroke[0][0], box["y"] + stroke[0][1])
        page.mouse.down()
        for x, y in stroke[1:]:
            page.mouse.move(box["x"] + x, box["y"] + y, steps=4)
        page.mouse.up()


def pick_pixels(png: bytes) -> int:
    """How many pixels of a screenshot are (nearly) the pick's blue."""
    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    return int((np.abs(pixels - PICK_RGB).max(axis=-1) < 24).sum())


def test_the_drawing_pad_names_a_symbol_drawn_with_the_mouse(browser, lab):
    base, token, notebooks = lab
    with live_page(browser, "live_pad_failure.png") as page:
        # A workspace of its own, or JupyterLab would reopen chapter 1 beside it.
        url = f"{base}/lab/workspaces/pad/tree/{PAD_CHAPTER.name}?token={token}"
        draw_symbols_and_a_query(page, url, notebooks[PAD_CHAPTER.name])


def draw_symbols_and_a_query(page, url: str, notebook) -> None:
    """Run the pad's cells, draw three symbols and a query with the mouse, classify, read the verdict."""
    from playwright.sync_api import expect

    to_run = pad_cells(notebook)
    pad = run_cells(page, url, notebook, to_run).nth(to_run[-1]).locator(".jp-OutputArea-output")
    canvas, status, figure = (
        pad.locator("canvas.oneshot-pad"),
        pad.locator(".oneshot-pad-status"),
        pad.locator(".oneshot-pad-figure"),
    )
    expect(status).to_have_text(re.compile(r"^Draw a symbol on the pad"), timeout=PRESS_MS)
    canvas.scroll_into_view_if_needed()
    for count, (name, strokes) in enumerate(SYMBOLS.items(), start=1):
        draw_with_mouse(page, canvas, strokes)
        pad.get_by_role("button", name="add as a new symbol").click()
        expect(status).to_have_text(re.compile(rf"^Added symbol {name}; {count} so far"), timeout=PRESS_MS)
    draw_with_mouse(page, canvas, [[(20, 20), (40, 30)]])  # a slip of the hand...
    pad.get_by_role("button", name="undo stroke").click()  # ...taken back
    draw_with_mouse(page, canvas, QUERY)
    symbols_only = figure.get_attribute("src")
    pad.get_by_role("button", name="classify the drawing").click()
    expect(status).to_have_text(re.compile(r"^prototypical picks A; runner-up [BC]\.$"), timeout=PRESS_MS)
    # The verdict is written before the figure of the scores replaces that of the symbols alone.
    expect(figure).not_to_have_attribute("src", symbols_only, timeout=PRESS_MS)
    figure.scroll_into_view_if_needed()
    page.wait_for_function("image => image.complete && image.naturalWidth > 0", arg=figure.element_handle())
    shown = figure.screenshot()
    # The scores are shown: the pick's bar and frame in blue, and a bar for each other symbol in grey.
    assert pick_pixels(shown) > 500, "the pick's bar is not on screen"
    grey = np.asarray(Image.open(io.BytesIO(shown)).convert("RGB")).astype(int)
    assert int((np.abs(grey - 153).max(axis=-1) < 6).sum()) > 500, "the other symbols' bars are not on screen"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    pad.screenshot(path=SCREENSHOTS / "live_drawing_pad.png")
