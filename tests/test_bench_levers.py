"""benchmarks/speed/bench_levers.py, the training-speed levers, on a tiny generated data set.

The benchmark itself runs for about ten minutes; this runs two of its levers
once on 48 images, so that the command the benchmarks' README gives keeps
working and its report keeps its shape.
"""

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MODULE = "benchmarks.speed.bench_levers"


@pytest.mark.slow
def test_two_levers_run_side_by_side(tmp_path, kaggle_root):
    raw = tmp_path / "levers.json"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            MODULE,
            str(kaggle_root),
            "--images",
            "48",
            "--rounds",
            "1",
            "--levers",
            "new default: 96 px,strided first convolution",
            "--json",
            str(raw),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert any(
        line.startswith("| new default: 96 px | ") and "| 1.00x |" in line
        for line in lines
    )
    assert any(line.startswith("| strided first convolution | ") for line in lines)
    runs = json.loads(raw.read_text())
    for lever in ("new default: 96 px", "strided first convolution"):
        (run,) = runs[lever]
        # on 48 images the two timed fits differ by noise, so only the shape
        # of the record is checked, not the sign of the difference
        for key in ("wall", "cpu", "faults", "images_per_s", "images_per_cpu_s"):
            assert math.isfinite(run[key]), key


def test_an_unknown_lever_is_named():
    result = subprocess.run(
        [sys.executable, "-m", MODULE, "--levers", "turbo"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 2
    assert "unknown lever(s) ['turbo']" in result.stderr
