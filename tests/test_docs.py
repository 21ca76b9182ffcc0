"""The documentation builds with warnings as errors, as CI's one test command runs it.

Runs ``sphinx-build -W`` in a subprocess into a temporary folder. The gallery's
examples are not executed by the build (``tests/test_examples.py`` runs them).
"""

import doctest
import importlib
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
TOOLS = {  # module: distribution
    "sphinx": "sphinx",
    "numpydoc": "numpydoc",
    "sphinx_gallery": "sphinx-gallery",
    "pydata_sphinx_theme": "pydata-sphinx-theme",
}
MISSING = [dist for module, dist in TOOLS.items() if importlib.util.find_spec(module) is None]
needs_sphinx = pytest.mark.skipif(
    bool(MISSING),
    reason=f"documentation tools not installed ({', '.join(MISSING)}); "
    "pip install -e '.[docs]' (or '.[test]')",
)

PAGES = [
    "index",
    "getting_started",
    "user_guide/index",
    "user_guide/pipeline",
    "user_guide/rebalancing",
    "user_guide/cross_validation",
    "user_guide/threshold",
    "user_guide/persistence",
    "user_guide/inspection",
    "user_guide/backends",
    "api",
    "results",
    "auto_examples/index",
    "auto_examples/plot_train_and_evaluate",
    "auto_examples/plot_heatmaps",
    "generated/skpneumo.PneumoniaClassifier",
    "generated/skpneumo.datasets.load_chest_xray",
    "generated/skpneumo.metrics.threshold_for_sensitivity",
    "generated/skpneumo.inspection.occlusion_sensitivity",
]


def _sphinx_build(source, out):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", MPLBACKEND="Agg")
    return subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
         "-d", str(out / "doctrees"), str(source), str(out / "html")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900,
    )


@needs_sphinx
def test_docs_build_with_warnings_as_errors(tmp_path):
    result = _sphinx_build(DOCS, tmp_path)
    assert result.returncode == 0, (
        f"sphinx-build -W failed:\n{result.stdout[-3000:]}\n{result.stderr[-6000:]}"
    )
    html = tmp_path / "html"
    missing = [page for page in PAGES if not (html / f"{page}.html").is_file()]
    assert not missing, f"pages not built: {missing}"
    undocumented = [
        f"{module}.{name}"
        for module in ("skpneumo", "skpneumo.datasets", "skpneumo.metrics", "skpneumo.inspection")
        for name in importlib.import_module(module).__all__
        if not name.isupper()  # constants are described in the text of docs/api.rst
        and not (html / "generated" / f"{module}.{name}.html").is_file()
    ]
    assert not undocumented, f"public names missing from docs/api.rst: {undocumented}"
    gallery = (html / "auto_examples" / "index.html").read_text(encoding="utf-8")
    assert "does not run" in gallery  # the gallery says its examples are not executed
    results = (html / "results.html").read_text(encoding="utf-8")
    for figure in ("0.884", "0.985", "0.802", "0.968", "92.8%", "94.6%"):
        assert figure in results


@needs_sphinx
@pytest.mark.parametrize("present", [True, False], ids=["report", "no-report"])
def test_markdown_report_with_and_without_its_file(tmp_path, present):
    source = tmp_path / "src"
    source.mkdir()
    (source / "conf.py").write_text(
        f"import sys\nsys.path.insert(0, {str(DOCS / '_ext')!r})\n"
        "extensions = ['markdown_report']\n"
    )
    (source / "index.rst").write_text(
        "Results\n=======\n\n.. markdown-report:: report/quality.md\n"
        "   :images: roc.png absent.png\n\n   Run the benchmark first.\n"
    )
    if present:
        (source / "report").mkdir()
        (source / "report" / "quality.md").write_text(
            "# Title\n\nCommand: `python benchmarks/quality.py`, train|val\n\n"
            "| metric | value |\n| --- | --- |\n| roc_auc | 0.9 ± 0.1 |\n"
        )
        from PIL import Image

        Image.new("L", (4, 4)).save(source / "report" / "roc.png")
    result = _sphinx_build(source, tmp_path / "out")
    assert result.returncode == 0, result.stderr[-3000:]
    page = (tmp_path / "out" / "html" / "index.html").read_text(encoding="utf-8")
    if present:
        assert "0.9 ± 0.1" in page and "<table" in page and "roc.png" in page
        assert "Run the benchmark first" not in page
    else:
        assert "Run the benchmark first" in page


@needs_sphinx
def test_markdown_conversion_doctests():
    sys.path.insert(0, str(DOCS / "_ext"))
    try:
        import markdown_report
    finally:
        sys.path.remove(str(DOCS / "_ext"))
    failures, tests = doctest.testmod(markdown_report)
    assert tests and not failures
