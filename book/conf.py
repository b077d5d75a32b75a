"""Sphinx configuration of the course as a static book. Build it with ``python -m book``.

MyST-NB reads the chapters with their committed outputs and never runs them. Explorer widgets
cannot run in a static page: their widget view is dropped, so the still picture each explorer
puts beside it (an HTML output) shows instead. Math is turned into MathML when the book is
built, so the pages need no script from elsewhere and read offline. ``static/oneshot.css``
fits code and tables to the column and sets the boxes the staging adds (see ``__main__.py``).
"""

from __future__ import annotations

from importlib.util import find_spec
from pathlib import Path

from docutils import nodes
from latex2mathml.converter import convert

project = "oneshot"
author = "the oneshot authors"
copyright = "the oneshot authors; Omniglot (c) Brenden Lake"
html_title = "oneshot: one-shot learning on Omniglot"

extensions = ["myst_nb"]
root_doc = "index"
# README.md is quoted by index.md and chapter_table.md included by it; notebooks/ holds the
# chapters as committed, for download.
exclude_patterns = [".doctrees", "**/.ipynb_checkpoints", "README.md", "chapter_table.md", "notebooks"]

# The chapters' outputs are the committed ones.
nb_execution_mode = "off"
# A cell's printed lines read as one block: consecutive stream outputs (a training log printed
# line by line, say) are merged into one box, as JupyterLab shows them.
nb_merge_streams = True
# Widgets need a kernel: render the explorers' HTML still picture instead, and load no widget script.
nb_mime_priority_overrides = [
    ("html", "application/vnd.jupyter.widget-view+json", None),
    ("dirhtml", "application/vnd.jupyter.widget-view+json", None),
]
nb_ipywidgets_js = {}
# Markdown outputs (tables, say) as JupyterLab shows them: GitHub-flavoured.
nb_render_markdown_format = "gfm"
# linkify: the References' bare URLs become links; only URLs with a scheme (https://...), so a
# file name such as train.py or README.md in the text is never taken for a web address.
myst_enable_extensions = ["dollarmath", "linkify"]
myst_linkify_fuzzy_links = False
myst_heading_anchors = 3

html_theme = "furo"
html_copy_source = False
html_show_sourcelink = False
html_math_renderer = "mathml"
# A math font for MathML (see static/oneshot.css): DejaVu Serif, which matplotlib ships, carries the
# OpenType MATH table that Chromium needs to stretch a square root's sign and draw its bar.
MATH_FONT = Path(find_spec("matplotlib").origin).parent / "mpl-data" / "fonts" / "ttf" / "DejaVuSerif.ttf"
html_static_path = ["static", str(MATH_FONT)]
html_css_files = ["oneshot.css"]


def _visit_math(self, node: nodes.Element) -> None:
    self.body.append(convert(node.astext(), display="inline"))
    raise nodes.SkipNode


def _visit_displaymath(self, node: nodes.Element) -> None:
    self.body.append(f'<div class="math">{convert(node.astext(), display="block")}</div>')
    raise nodes.SkipNode


def setup(app) -> None:
    app.add_html_math_renderer("mathml", (_visit_math, None), (_visit_displaymath, None))
