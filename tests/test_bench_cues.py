"""benchmarks/studies/cues.py: image statistics scored as classifiers of the two classes."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from benchmarks.studies.cues import statistics

ROOT = Path(__file__).resolve().parents[1]
MODULE = "benchmarks.studies.cues"


def test_statistics_measure_body_border_and_centre():
    X = np.zeros((2, 20, 20), dtype=np.float32)
    X[0, :, :10] = 1.0  # left half white
    X[1, 5:15, 5:15] = 0.5  # a grey square in the centre, black border
    stats = statistics(X)
    np.testing.assert_allclose(
        stats["share of the frame above 0.2 (the body)"], [0.5, 0.25]
    )
    np.testing.assert_allclose(stats["mean of the outer 10% (the border)"][1], 0.0)
    np.testing.assert_allclose(stats["mean of the centre half (the lungs)"], [0.5, 0.5])
    np.testing.assert_allclose(stats["mean grey level"], [0.5, 0.125])


@pytest.mark.slow
def test_the_report_scores_each_statistic(kaggle_root):
    result = subprocess.run(
        [sys.executable, "-m", MODULE, str(kaggle_root), "--image-size", "32"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    rows = [
        line
        for line in result.stdout.splitlines()
        if line.startswith("| ") and "---" not in line
    ]
    assert rows[0].startswith("| statistic |")
    assert len(rows) == 6
    for row in rows[1:]:
        auc = float(row.split("|")[2])
        assert 0.5 <= auc <= 1.0, row
