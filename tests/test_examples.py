"""The gallery: every example runs in the documentation build and shows its figures.

The examples are not run here a second time: the documentation build (the
``built_docs`` fixture of conftest.py, shared with ``tests/test_docs.py``)
runs each once, in quick mode (``SKPNEUMO_QUICK=1``), on the real X-rays beside
the repository (a generated Kaggle-layout folder when they are absent), and
these tests read its pages. The quick mode trains a tiny network on a few
dozen images of whole patients.
"""

import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("plot_*.py"))
EXPECTED = {
    "plot_train_and_evaluate",
    "plot_grid_search",
    "plot_cross_validation_by_patient",
    "plot_compare_rebalancing",
    "plot_threshold_tuning",
    "plot_heatmaps",
}
parametrize_examples = pytest.mark.parametrize(
    "script", EXAMPLES, ids=[script.stem for script in EXAMPLES]
)


def test_the_gallery_is_complete():
    assert EXPECTED <= {script.stem for script in EXAMPLES}


@parametrize_examples
def test_example_reads_as_a_gallery_script(script):
    """Cells and prose; data and quick mode from the two documented settings."""
    source = script.read_text(encoding="utf-8")
    assert source.count("\n# %%\n") >= 3, "expected `# %%` cells with prose"
    assert 'os.environ.get("SKPNEUMO_DATA", "../shared/data/chest_xray")' in source
    # every example that trains has a quick mode; one that only loads the
    # bundled model needs none
    if "load_pretrained()" not in source:
        assert 'os.environ.get("SKPNEUMO_QUICK") == "1"' in source
    assert "plt.show()" in source
    for plumbing in ("sys.argv", "savefig", "argparse"):
        assert plumbing not in source, f"{script.name} still uses {plumbing}"


@pytest.mark.slow
@parametrize_examples
def test_example_runs_and_shows_its_figures(script, built_docs):
    # sphinx-gallery's warning, then the build's summary, hold the traceback
    failure = built_docs.stderr.find(f"{script.name} unexpectedly failed to execute")
    assert failure < 0, built_docs.stderr[failure : failure + 4000]
    page = built_docs.html / "auto_examples" / f"{script.stem}.html"
    assert page.is_file(), f"{page} was not built"
    figures = re.findall(
        rf'src="\.\./_images/(sphx_glr_{re.escape(script.stem)}_\d+\.png)"',
        page.read_text(encoding="utf-8"),
    )
    assert figures, f"the page of {script.name} shows no figure"
    for name in figures:
        with Image.open(built_docs.html / "_images" / name) as image:
            pixels = np.asarray(image.convert("L"))
        # a drawn figure: full size, and more than a blank canvas
        assert min(pixels.shape) >= 200, (name, pixels.shape)
        assert np.unique(pixels).size > 16, f"{name} looks blank"
