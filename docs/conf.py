"""Sphinx configuration of the skpneumo documentation.

Build with warnings as errors, from the repository root::

    sphinx-build -W -b html docs docs/_build/html

The gallery's examples are not executed here (``plot_gallery`` is False):
they train networks, and ``tests/test_examples.py`` runs them instead.
"""

import os
import re
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import skpneumo  # noqa: E402

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(DOCS / "_ext"))

project = "skpneumo"
author = "the skpneumo developers"
copyright = "the skpneumo developers; data: Kermany, Zhang and Goldbaum (2018), CC BY 4.0"
version = release = skpneumo.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "markdown_report",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "_ext", "_templates"]
root_doc = "index"
default_role = "literal"

# API pages: one generated page per public name (docs/generated/, not tracked)
autosummary_generate = True
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "within_subsection_order": "gallery_order.ExampleOrder",
    # The examples train networks on real X-rays: building the site must not
    # run them. tests/test_examples.py runs each in its quick mode instead.
    "plot_gallery": False,
    "download_all_examples": False,
    "write_computation_times": False,
    "remove_config_comments": True,
}

html_theme = "pydata_sphinx_theme"
html_title = f"skpneumo {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
}
html_show_sourcelink = False


def _skip_sklearn_plumbing(app, what, name, obj, skip, options):
    """Leave out scikit-learn's metadata-routing methods (set_fit_request, ...).

    scikit-learn adds them to every estimator class; their docstrings refer to
    pages of scikit-learn's own documentation.
    """
    if name == "get_metadata_routing" or re.fullmatch(r"set_\w+_request", name):
        return True
    return None


def setup(app):
    app.connect("autodoc-skip-member", _skip_sklearn_plumbing)
