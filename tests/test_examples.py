"""Every gallery example runs in its quick mode (SKPNEUMO_QUICK=1).

Each script runs in a subprocess, as a user would run it, on the real X-rays
beside the repository (a generated Kaggle-layout folder when they are absent),
with the Agg backend and its figures written to a temporary folder. The quick
mode trains a tiny network on a few dozen images of whole patients.
"""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("plot_*.py"))
REAL_DATA = ROOT.parent / "shared" / "data" / "chest_xray"
EXPECTED = {
    "plot_train_and_evaluate",
    "plot_grid_search",
    "plot_cross_validation_by_patient",
    "plot_compare_rebalancing",
    "plot_threshold_tuning",
    "plot_heatmaps",
}


@pytest.fixture(scope="module")
def data_root(request):
    if (REAL_DATA / "train").is_dir():
        return REAL_DATA
    return request.getfixturevalue("kaggle_root")


def test_the_gallery_is_complete():
    assert EXPECTED <= {script.stem for script in EXAMPLES}


@pytest.mark.parametrize("script", EXAMPLES, ids=[script.stem for script in EXAMPLES])
def test_example_runs_in_quick_mode(script, data_root, tmp_path):
    out = tmp_path / "out"
    env = dict(os.environ, SKPNEUMO_QUICK="1", MPLBACKEND="Agg", TF_CPP_MIN_LOG_LEVEL="3")
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, str(script), str(data_root), str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )
    seconds = time.perf_counter() - start
    print(f"{script.name}: {seconds:.1f} s")
    assert result.returncode == 0, (
        f"{script.name} failed after {seconds:.0f} s:\n{result.stdout[-3000:]}\n"
        f"{result.stderr[-5000:]}"
    )
    assert list(out.glob("*.png")), f"{script.name} wrote no figure into {out}"
