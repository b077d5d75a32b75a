"""Build the course as a static HTML book, from the chapters' committed outputs (nothing is run).

    python -m book                 # from the repository's root: writes build/book/index.html
    python -m book OUTPUT_DIR      # anywhere else

Sphinx reads its sources from one folder, so the start page, the README it quotes and every
``chapters/*.ipynb`` are first copied (with their times, so a rebuild redoes only what changed)
into a staging folder beside the output, ``OUTPUT_DIR-src``, which also keeps Sphinx's cache.
The chapters' copies leave out the widgets' saved state: no widget runs in the book, where each
explorer shows its still picture. The configuration is ``book/conf.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path

BOOK = Path(__file__).resolve().parent
ROOT = BOOK.parent


def stage(source: Path) -> list[Path]:
    """Copy the start page, README.md and every chapter into ``source``; return the chapters copied."""
    (source / "chapters").mkdir(parents=True, exist_ok=True)
    shutil.copy2(BOOK / "index.md", source / "index.md")
    shutil.copy2(ROOT / "README.md", source / "README.md")
    chapters = sorted((ROOT / "chapters").glob("*.ipynb"))
    if not chapters:
        raise SystemExit(f"no chapters found in {ROOT / 'chapters'}")
    for stale in (source / "chapters").glob("*.ipynb"):
        if not (ROOT / "chapters" / stale.name).exists():
            stale.unlink()
    for chapter in chapters:
        target, times = source / "chapters" / chapter.name, chapter.stat()
        if not target.exists() or target.stat().st_mtime_ns != times.st_mtime_ns:
            notebook = read_notebook(chapter)
            notebook.get("metadata", {}).pop("widgets", None)
            target.write_text(json.dumps(notebook, ensure_ascii=False), encoding="utf-8")
            os.utime(target, ns=(times.st_atime_ns, times.st_mtime_ns))
    return chapters


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
