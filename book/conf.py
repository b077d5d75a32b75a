"""Sphinx configuration of the course as a static book. Build it with ``python -m book``.

MyST-NB reads the chapters with their committed outputs and never runs them. Explorer widgets
cannot run in a static page: their widget view is dropped, so the still picture each explorer
puts beside it (an HTML output) shows instead. Math is turned into MathML when the book is
built, so the pages need no script from elsewhere and read offline.
"""

from __future__ import annotations

from docutils import nodes
from latex2mathml.converter import convert

project = "oneshot"
author = "the oneshot authors"
copyright = "the oneshot authors; Omniglot (c) Brenden Lake"
html_title = "oneshot: one-shot learning on Omniglot"

extensions = ["myst_nb"]
root_doc = "index"
exclude_patterns = [".doctrees", "**/.ipynb_checkpoints", "README.md"]  # README.md: quoted by index.md

# The chapters' outputs are the committed ones.
nb_execution_mode = "off"
# Widgets need a kernel: render the explorers' HTML still picture instead, and load no widget script.
nb_mime_priority_overrides = [
    ("html", "application/vnd.jupyter.widget-view+json", None),
    ("dirhtml", "application/vnd.jupyter.widget-view+json", None),
]
nb_ipywidgets_js = {}
# Markdown outputs (tables, say) as JupyterLab shows them: GitHub-flavoured.
nb_render_markdown_format = "gfm"
myst_enable_extensions = ["dollarmath"]
myst_heading_anchors = 3

html_theme = "furo"
html_copy_source = False
html_show_sourcelink = False
html_math_renderer = "mathml"


def _visit_math(self, node: nodes.Element) -> None:
    self.body.append(convert(node.astext(), display="inline"))
    raise nodes.SkipNode


def _visit_displaymath(self, node: nodes.Element) -> None:
    self.body.append(f'<div class="math">{convert(node.astext(), display="block")}</div>')
    raise nodes.SkipNode


def setup(app) -> None:
    app.add_html_math_renderer("mathml", (_visit_math, None), (_visit_displaymath, None))
