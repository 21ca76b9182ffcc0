"""Sphinx configuration of the skpneumo documentation.

Build with warnings as errors, from the repository root::

    sphinx-build -W -b html docs docs/_build/html

The build runs the gallery's examples (``examples/plot_*.py``) as a reader
runs them and shows their outputs and figures: the evaluation, threshold and
heatmap examples use the bundled model, the training ones small networks
sized to train in under a minute each (the whole build takes about five
minutes on two CPU cores). They read the X-rays from ``SKPNEUMO_DATA``,
set here to ``../shared/data/chest_xray`` beside the repository unless
already set: sphinx-gallery runs each example from ``examples/``, so the
examples' own relative default would not find it. A relative
``SKPNEUMO_DATA`` is taken relative to the directory the build was started
from and made absolute before the examples run (``_ext/build_env.py``). Without the data, point
``SKPNEUMO_DATA`` at any Kaggle-layout folder, or build the pages without
running the examples: ``sphinx-build -D plot_gallery=0 ...``.
sphinx-gallery re-runs only the examples changed since the last build (by
MD5); ``-D sphinx_gallery_conf.run_stale_examples=1`` runs them all, as
``tests/test_docs.py`` does.
"""

import os
import re
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import skpneumo

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(DOCS / "_ext"))

import build_env  # noqa: E402

# The examples' data (see examples/GALLERY_HEADER.rst): beside the repository.
os.environ.setdefault("SKPNEUMO_DATA", str(ROOT.parent / "shared/data/chest_xray"))

project = "skpneumo"
author = "the skpneumo developers"
copyright = (
    "the skpneumo developers; data: Kermany, Zhang and Goldbaum (2018), CC BY 4.0"
)
version = release = skpneumo.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "markdown_report",
    # |default_threshold|, |bundled_threshold|, ...: the operating point's
    # numbers, read from the code and the measured files (user_guide/threshold)
    "operating_point",
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

# numpydoc validates every docstring that autodoc renders (the pages of
# docs/api.rst: classes, their own public methods, functions) and reports each
# finding as a warning, which -W turns into a failed build. The codes are listed
# by ``python -c "import numpydoc.validate as v; print(v.ERROR_MSGS)"``.
# numpydoc >= 1.6 has no ``numpydoc_validate`` switch: a non-empty set of
# checks turns validation on. All checks, except those that follow, as
# scikit-learn's own sklearn/tests/test_docstrings.py does:
numpydoc_validation_checks = {
    "all",
    # "The first line of the Returns section should contain only the type":
    # scikit-learn's convention names the returned value (``self : object``,
    # ``proba : ndarray of shape ...``) so that the text can refer to it.
    "RT02",
    # No extended summary / See Also / Examples section: scikit-learn asks for
    # them on classes and functions, not on methods (fit, predict, ...).
    # numpydoc cannot scope a check to some objects, and the classes have
    # them; a one-line function (patient_id) needs no extended summary.
    "ES01",
    "SA01",
    "EX01",
}
# Docstrings not validated at all (regular expressions on the full name):
numpydoc_validation_exclude = {
    # A stub that hides scikeras' partial_fit (hasattr is False); it keeps
    # scikeras' signature but cannot be called, so it documents no parameters.
    r"^skpneumo\.PneumoniaClassifier\.partial_fit$",
}
# The inherited methods of the third-party bases (scikeras' KerasClassifier,
# imbalanced-learn's BaseOverSampler) need no entry above: the class pages
# (docs/_templates/autosummary/class.rst) render ``:members:`` without
# ``:inherited-members:``, so only the methods defined here are validated.

sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "within_subsection_order": "gallery_order.ExampleOrder",
    # Run every example and collect its matplotlib
    # figures; a failing example fails the build. A string, as in
    # sphinx-gallery's own default: ``-D plot_gallery=0`` gives a string, and
    # Sphinx warns (an error under -W) when an override's type is not the
    # default's.
    "plot_gallery": "True",
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
# Pages without pages of their own under them: pydata-sphinx-theme would show
# an empty "Section Navigation" box as their primary sidebar. tests/test_docs.py
# checks that no built page has one, so a new page of that kind must join here.
html_sidebars = {"getting_started": [], "results": [], "model_card": []}
html_static_path = ["_static"]
# wrapped code lines (docs/_static/custom.css)
html_css_files = ["custom.css"]


def _skip_sklearn_plumbing(app, what, name, obj, skip, options):
    """Leave out scikit-learn's metadata-routing methods (set_fit_request, ...).

    scikit-learn adds them to every estimator class; their docstrings refer to
    pages of scikit-learn's own documentation.
    """
    if name == "get_metadata_routing" or re.fullmatch(r"set_\w+_request", name):
        return True
    return None


def setup(app):
    """Make SKPNEUMO_DATA and SKPNEUMO_RESULTS absolute; hide metadata-routing methods.

    Sphinx runs ``setup`` from the directory the build was started from (it
    evaluates the rest of this file from ``docs/``), and before
    sphinx-gallery runs the examples from ``examples/``.
    """
    build_env.absolute_env_path("SKPNEUMO_DATA", os.getcwd())
    build_env.absolute_env_path("SKPNEUMO_RESULTS", os.getcwd())
    app.connect("autodoc-skip-member", _skip_sklearn_plumbing)
