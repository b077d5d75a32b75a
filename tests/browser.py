"""Headless Chromium for the browser tests (the book's pages, the live course), through Playwright.

Playwright's Python package drives the Chromium the machine has (Debian's ``chromium``, say), or
the one ``python -m playwright install chromium`` fetched. Where there is none, the tests are
skipped with a message that says how to install one; on CI (``CI`` set) they fail instead, since
``.ci/run`` installs Chromium first.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = ROOT / "build" / "screenshots"

INSTALL_HINT = (
    "no Chromium to open pages in. Install one to run the browser tests: `sudo apt-get install chromium` "
    "(Debian, Ubuntu) or `python -m playwright install chromium`, then run pytest again"
)

# Quiet and offline: no sandbox as root (CI), no GPU, no background traffic, no first-run pages.
CHROMIUM_ARGS = [
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def _skip_or_fail(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"CI must run the browser tests, but {reason}")
    pytest.skip(reason)


def chromium_path() -> str | None:
    """The machine's Chromium or Chrome, or None (then Playwright's own is tried)."""
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


@contextlib.contextmanager
def chromium() -> Iterator:
    """A headless Chromium (a Playwright Browser), closed on exit; skips (fails on CI) without one."""
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError:
        _skip_or_fail('Playwright is not installed: pip install -e ".[dev]"')
    args = [*CHROMIUM_ARGS, *(["--no-sandbox"] if hasattr(os, "geteuid") and os.geteuid() == 0 else [])]
    path = chromium_path()
    with sync_playwright() as playwright:
        try:
            browser = playwright.chromium.launch(executable_path=path, args=args)
        except Error as error:
            if path is not None:
                raise
            _skip_or_fail(f"{INSTALL_HINT} ({str(error).splitlines()[0]})")
        try:
            yield browser
        finally:
            browser.close()


class PageProblems:
    """What went wrong while a page loaded: console errors, uncaught exceptions, failed requests."""

    def __init__(self, page):
        self.problems: list[str] = []
        page.on("console", lambda message: message.type == "error" and self.problems.append(message.text))
        page.on("pageerror", lambda error: self.problems.append(f"uncaught: {error}"))
        page.on("requestfailed", lambda request: self.problems.append(f"failed: {request.url} {request.failure}"))

    def take(self) -> list[str]:
        problems, self.problems = self.problems, []
        return problems


def screenshot_pages(paths: list[Path], output: Path, width: int = 1280, height: int = 900) -> list[Path]:
    """Whole-page screenshots of local HTML ``paths`` at ``width`` x ``height``, into folder ``output``."""
    output.mkdir(parents=True, exist_ok=True)
    shots = []
    with chromium() as browser:
        page = browser.new_page(viewport={"width": width, "height": height})
        for path in paths:
            page.goto(path.resolve().as_uri(), wait_until="load")
            shots.append(output / f"{path.stem}_{width}.png")
            page.screenshot(path=shots[-1], full_page=True)
    return shots


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(
        prog="python tests/browser.py",
        description="Screenshot pages of the built book as a reader sees them, e.g. "
        "python tests/browser.py build/book/chapters/*.html --width 390",
    )
    parser.add_argument("pages", nargs="+", type=Path, help="HTML files of the book (python -m book builds them)")
    parser.add_argument("--width", type=int, default=1280, help="viewport width in CSS pixels (default: 1280)")
    parser.add_argument("--output", type=Path, default=SCREENSHOTS, help="folder (default: build/screenshots)")
    arguments = parser.parse_args()
    missing = [str(path) for path in arguments.pages if not path.is_file()]
    if missing:
        parser.error(f"no such page: {', '.join(missing)}; build the book first with python -m book")
    for shot in screenshot_pages(arguments.pages, arguments.output, arguments.width):
        print(shot)
