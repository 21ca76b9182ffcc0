"""The documentation builds with warnings as errors, as CI's one test command runs it.

``sphinx-build -W`` runs once per session in a subprocess, into a temporary
folder (the ``built_docs`` fixture of conftest.py). The build also runs the
gallery's examples; ``tests/test_examples.py`` checks their pages.
"""

import doctest
import importlib
import os
import re
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"

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
    "user_guide/robustness",
    "api",
    "results",
    "model_card",
    "auto_examples/index",
    "auto_examples/plot_train_and_evaluate",
    "auto_examples/plot_heatmaps",
    "generated/skpneumo.PneumoniaClassifier",
    "generated/skpneumo.datasets.load_chest_xray",
    "generated/skpneumo.metrics.threshold_for_sensitivity",
    "generated/skpneumo.inspection.occlusion_sensitivity",
]


@pytest.mark.slow
def test_docs_build_with_warnings_as_errors(built_docs):
    assert built_docs.returncode == 0, (
        f"sphinx-build -W failed:\n{built_docs.stdout[-3000:]}\n"
        f"{built_docs.stderr[-6000:]}"
    )
    html = built_docs.html
    missing = [page for page in PAGES if not (html / f"{page}.html").is_file()]
    assert not missing, f"pages not built: {missing}"
    undocumented = [
        f"{module}.{name}"
        for module in (
            "skpneumo",
            "skpneumo.datasets",
            "skpneumo.metrics",
            "skpneumo.inspection",
        )
        for name in importlib.import_module(module).__all__
        if not name.isupper()  # constants are described in the text of docs/api.rst
        and not (html / "generated" / f"{module}.{name}.html").is_file()
    ]
    assert not undocumented, f"public names missing from docs/api.rst: {undocumented}"
    gallery = (html / "auto_examples" / "index.html").read_text(encoding="utf-8")
    # the gallery names its two settings; its figures are real ones, with no
    # quick mode left to disclaim them
    assert "SKPNEUMO_DATA" in gallery and "SKPNEUMO_RESULTS" in gallery
    assert "quick mode" not in gallery and "SKPNEUMO_QUICK" not in gallery
    results = (html / "results.html").read_text(encoding="utf-8")
    for figure in ("0.884", "0.985", "0.802", "0.968", "92.8%", "94.6%"):
        assert figure in results
    _check_theme_layout(html)


def _markdown_report_site(tmp_path):
    """A Sphinx source folder whose only extension is markdown_report."""
    source = tmp_path / "src"
    source.mkdir()
    (source / "conf.py").write_text(
        f"import sys\nsys.path.insert(0, {str(DOCS / '_ext')!r})\n"
        "extensions = ['markdown_report']\n"
    )
    return source


def _check_theme_layout(html):
    # no page shows pydata-sphinx-theme's "Section Navigation" with nothing in
    # it (a page with no pages under it needs html_sidebars in docs/conf.py)
    empty = [
        str(page.relative_to(html))
        for page in sorted(html.rglob("*.html"))
        for nav in re.findall(
            r"Section Navigation</p>(.*?)</nav>", page.read_text("utf-8"), re.S
        )
        if "<li" not in nav
    ]
    assert not empty, f"empty Section Navigation on {empty}"
    # the stylesheet that wraps long code lines is there and linked
    assert (html / "_static" / "custom.css").is_file()
    assert "_static/custom.css" in (html / "index.html").read_text("utf-8")


@pytest.mark.slow
def test_docs_build_without_running_the_examples(sphinx_build, tmp_path):
    # the documented switch (conf.py, CONTRIBUTING.md) passes -W: sphinx warned
    # that the string "0" was not the bool of conf.py's plot_gallery
    result = sphinx_build(DOCS, tmp_path, "-D", "plot_gallery=0")
    assert result.returncode == 0, result.stderr[-3000:]
    html = tmp_path / "html"
    robustness = (html / "user_guide" / "robustness.html").read_text("utf-8")
    assert "Shift benchmark" in robustness  # the report, not its fallback
    card = (html / "model_card.html").read_text("utf-8")
    assert '<section id="model-details">' in card and "rubric" not in card
    _check_theme_layout(html)


@pytest.mark.slow
@pytest.mark.parametrize("present", [True, False], ids=["report", "no-report"])
def test_markdown_report_with_and_without_its_file(sphinx_build, tmp_path, present):
    source = _markdown_report_site(tmp_path)
    (source / "index.rst").write_text(
        "Results\n=======\n\n.. markdown-report:: report/quality.md\n"
        "   :images: roc.png absent.png\n\n   Run the benchmark first.\n"
    )
    if present:
        (source / "report").mkdir()
        (source / "report" / "quality.md").write_text(
            "# Title\n\nCommand: `python -m benchmarks.studies.quality`, train|val\n\n"
            "| metric | value |\n| --- | --- |\n| roc_auc | 0.9 ± 0.1 |\n"
        )
        from PIL import Image

        Image.new("L", (4, 4)).save(source / "report" / "roc.png")
    result = sphinx_build(source, tmp_path / "out")
    page = (tmp_path / "out" / "html" / "index.html").read_text(encoding="utf-8")
    if present:
        assert result.returncode == 0, result.stderr[-3000:]
        assert "0.9 ± 0.1" in page and "<table" in page and "roc.png" in page
        assert "Run the benchmark first" not in page
    else:
        # A missing report is a warning, so -W fails the build; it names the
        # path as written, where it was looked for, and the directive's line.
        assert result.returncode != 0
        warning = result.stderr
        assert "WARNING: markdown-report: report/quality.md not found" in warning
        assert str((source / "report" / "quality.md").resolve()) in warning
        assert f"{source / 'index.rst'}:4" in warning
        # --keep-going still writes the page, with the directive's fallback
        assert "Run the benchmark first" in page


@pytest.mark.slow
def test_markdown_report_sections(sphinx_build, tmp_path):
    # :sections: (the model card): headings are the page's sections, in its
    # table of contents, and the card's own title is a plain paragraph
    source = _markdown_report_site(tmp_path)
    (source / "index.rst").write_text(
        "Model card\n==========\n\n.. markdown-report:: card.md\n   :sections:\n"
    )
    (source / "card.md").write_text(
        '# Model card: the model "default"\n\n## Model details\n\nText.\n\n'
        "### Figures\n\n| a | b |\n| --- | --- |\n| 1 | 2 |\n\n## Intended use\n\nMore.\n"
    )
    result = sphinx_build(source, tmp_path / "out")
    assert result.returncode == 0, result.stderr[-3000:]
    page = (tmp_path / "out" / "html" / "index.html").read_text(encoding="utf-8")
    assert "rubric" not in page
    assert "<p>Model card: the model “default”</p>" in page
    for level, section in (("h2", "model-details"), ("h3", "figures")):
        assert f'<section id="{section}">\n<{level}>' in page
        assert f'href="#{section}"' in page  # in the page's table of contents


def _import_ext(name):
    sys.path.insert(0, str(DOCS / "_ext"))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(DOCS / "_ext"))


@pytest.mark.parametrize(
    "value, expected",
    [
        ("../shared/data/chest_xray", "/work/shared/data/chest_xray"),
        ("data", "/work/repo/data"),
        ("/abs/data", "/abs/data"),
        ("~/data", str(Path("~/data").expanduser())),
    ],
)
def test_relative_skpneumo_data_is_resolved_against_the_build_start(value, expected):
    # the examples run from examples/, so docs/conf.py passes them an absolute path
    build_env = _import_ext("build_env")
    environ = {"SKPNEUMO_DATA": value}
    assert (
        build_env.absolute_env_path("SKPNEUMO_DATA", "/work/repo", environ) == expected
    )
    assert environ["SKPNEUMO_DATA"] == expected
    assert Path(expected).is_absolute()


@pytest.mark.parametrize("environ", [{}, {"SKPNEUMO_DATA": ""}])
def test_unset_skpneumo_data_is_left_alone(environ):
    before = dict(environ)
    assert (
        _import_ext("build_env").absolute_env_path("SKPNEUMO_DATA", "/x", environ)
        is None
    )
    assert environ == before


def test_conf_py_resolves_skpneumo_data_where_the_build_started(tmp_path, monkeypatch):
    # Sphinx evaluates conf.py from docs/ and calls its setup() back in the
    # directory the build started from: the resolution must happen in setup()
    pytest.importorskip("sphinx")
    namespace = {"__file__": str(DOCS / "conf.py")}
    # conf.py sets variables and sys.path: give it copies, not the session's
    monkeypatch.setattr(os, "environ", dict(os.environ, SKPNEUMO_DATA="rel/chest_xray"))
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.chdir(DOCS)
    exec(compile((DOCS / "conf.py").read_bytes(), DOCS / "conf.py", "exec"), namespace)
    assert os.environ["SKPNEUMO_DATA"] == "rel/chest_xray"
    monkeypatch.chdir(tmp_path)
    namespace["setup"](SimpleNamespace(connect=lambda *args: None))
    assert os.environ["SKPNEUMO_DATA"] == str(tmp_path / "rel" / "chest_xray")


def test_markdown_conversion_doctests():
    pytest.importorskip("sphinx")
    for name in ("markdown_report", "build_env"):
        failures, tests = doctest.testmod(_import_ext(name))
        assert tests and not failures, name


def test_bootstrap_counts_in_the_text_are_the_code_defaults():
    # getting started quotes `skpneumo evaluate`'s count and the model card's,
    # which the card's script writes into MODEL_CARD.md
    from benchmarks.maint import model_card
    from skpneumo._cli import build_parser

    evaluate = build_parser().parse_args(["evaluate", "data", "-r", "r"]).n_bootstraps
    text = " ".join((DOCS / "getting_started.rst").read_text().split())
    assert f"come from {evaluate} bootstrap resamples" in text
    assert f"use {model_card.N_BOOTSTRAPS} resamples" in text
    card = " ".join((ROOT / "MODEL_CARD.md").read_text().split())
    assert re.search(r"\((\d+) resamples, seed 0", card)[1] == str(
        model_card.N_BOOTSTRAPS
    )
    assert f"`skpneumo evaluate` draws {evaluate} by default" in card


# The operating point's numbers, which only docs/user_guide/threshold.rst may
# give, and only through the substitutions of docs/_ext/operating_point.py:
# the bundled model's calibrated threshold (and a stale value of it) anywhere,
# and the pipeline's raw 0.2 (or f693afc's 0.29) where a threshold is meant.
_OPERATING_POINT_EXACT = re.compile(r"(?<![\d.])0\.(?:549|480|0839)")
_RAW_THRESHOLD = re.compile(r"(?<![\d.])0\.29?(?![\d])")


def _quoted_operating_points(text):
    """The operating-point numbers that ``text`` types by hand, with context.

    ``0.549``, ``0.480`` and ``0.0839`` count anywhere; ``0.2`` and ``0.29`` count when
    the 50 characters before them name a threshold, or they follow "at"
    (as in "specificity at 0.2"), so that a dropout of 0.2 or a specificity of
    0.29 does not.
    """
    text = " ".join(text.split())  # a number wrapped onto the next line
    found = [m for m in _OPERATING_POINT_EXACT.finditer(text)]
    for m in _RAW_THRESHOLD.finditer(text):
        before = text[max(0, m.start() - 50) : m.start()].lower()
        if "threshold" in before or before.endswith(" at "):
            found.append(m)
    return [text[max(0, m.start() - 40) : m.end() + 10] for m in found]


@pytest.mark.parametrize(
    "text, quoted",
    [
        ("the bundled model's threshold is 0.480 on", True),
        ("calibrated P >= 0.48021 (FixedThresholdClassifier)", True),
        ("a stale 0.0839", True),
        ("pool first, blur, threshold\n0.29; the section", True),
        ("``threshold=0.2`` on the raw P", True),
        ("(0.79 / 0.77 specificity at 0.2)", True),
        ("pipe.set_params(classifier__dropout=0.2)", False),
        ("the share of pixels above 0.2, 0.509 for", False),
        ("zoomed-out views lost much (black border 0.52 / 0.29).", False),
        ("a threshold of 0.25 or 0.218", False),
        ("threshold |default_threshold| on the raw P", False),
    ],
)
def test_operating_point_check_catches_what_it_should(text, quoted):
    assert bool(_quoted_operating_points(text)) is quoted


def test_no_page_types_the_operating_point_by_hand():
    # docs/user_guide/threshold.rst owns the operating point; every hand-written
    # page (and README.md) links to it instead of quoting its numbers, so that a
    # new threshold or a recalibrated bundled model cannot leave a page stale
    sources = [
        path
        for path in sorted(DOCS.rglob("*.rst"))
        if not {"_build", "generated", "auto_examples"} & set(path.parts)
    ] + [ROOT / "README.md"]
    quoted = {
        str(path.relative_to(ROOT)): found
        for path in sources
        if (found := _quoted_operating_points(path.read_text(encoding="utf-8")))
    }
    assert not quoted, f"operating-point numbers typed by hand: {quoted}"
    owner = (DOCS / "user_guide" / "threshold.rst").read_text(encoding="utf-8")
    for name in (
        "default_threshold",
        "bundled_threshold",
        "bundled_raw_threshold",
        "bare_threshold",
        "target_sensitivity",
    ):
        assert f"|{name}|" in owner, name


def test_operating_point_substitutions_come_from_the_code_and_files():
    pytest.importorskip("sphinx")
    import json

    from skpneumo._decision import DEFAULT_THRESHOLD
    from skpneumo._pretrained import pretrained_path
    from skpneumo.metrics import TARGET_SENSITIVITY

    operating_point = _import_ext("operating_point")
    values = operating_point.substitutions()
    calibration = json.loads((pretrained_path() / "provenance.json").read_text())[
        "calibration"
    ]
    assert values["default_threshold"] == f"{DEFAULT_THRESHOLD:g}"
    assert values["target_sensitivity"] == f"{TARGET_SENSITIVITY:g}"
    assert values["bare_threshold"] == "0.5"
    assert values["bundled_raw_threshold"] == f"{calibration['raw_threshold']:g}"
    assert float(values["bundled_threshold"]) == pytest.approx(
        calibration["threshold"], abs=5e-4
    )
    assert operating_point.MISSING not in values.values()
    epilog = operating_point.epilog(values)
    assert f".. |default_threshold| replace:: {DEFAULT_THRESHOLD:g}" in epilog.split(
        "\n"
    )
