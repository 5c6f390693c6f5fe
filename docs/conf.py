"""Sphinx configuration of the skalm documentation (``sphinx-build -W docs docs/_build/html``)."""

import os
import sys

sys.path.insert(0, os.path.abspath(".."))

import skalm  # noqa: E402

project = "skalm"
author = "skalm developers"
copyright = "2024-2026, skalm developers"
release = skalm.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "matplotlib.sphinxext.plot_directive",
]

# API pages are generated from the docstrings (numpydoc format).
autosummary_generate = True
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

# The figure in the user guide is computed at build time (a short fit, a few seconds).
plot_include_source = True
plot_html_show_source_link = False
plot_html_show_formats = False
plot_formats = [("png", 90)]
plot_rcparams = {"figure.figsize": (7.5, 3.2)}

templates_path = ["_templates"]
exclude_patterns = ["_build"]
default_role = "literal"

html_theme = "pydata_sphinx_theme"
html_title = f"skalm {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
}
html_static_path = []
