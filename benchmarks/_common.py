"""What the benchmark scripts share: where things are, the data argument, timing.

The scripts are modules of the ``benchmarks`` package and run from the
repository root as ``python -m benchmarks.<kind>.<script>``, so they import
this module and each other without touching ``sys.path``.
"""

import os
import platform
import time
from pathlib import Path

#: The repository root.
ROOT = Path(__file__).resolve().parents[1]
#: The folders of the three kinds; each script writes its results beside itself.
SPEED = ROOT / "benchmarks" / "speed"
STUDIES = ROOT / "benchmarks" / "studies"
MAINT = ROOT / "benchmarks" / "maint"
#: Scratch files that git ignores (the packed training set, wheels).
WORK = ROOT / "benchmarks" / "_work"
#: The shared data folder beside the repository, unless ``SKPNEUMO_DATA`` says.
DEFAULT_DATA = Path(os.environ.get("SKPNEUMO_DATA", ROOT.parent / "shared" / "data"))


def add_data_argument(parser, default=DEFAULT_DATA, **kwargs):
    """Add the ``--data`` argument, a folder that defaults to the shared data."""
    help_ = kwargs.pop("help", f"data folder (default {default})")
    parser.add_argument("--data", type=Path, default=default, help=help_, **kwargs)


def timed(func, *args):
    """Seconds that ``func(*args)`` takes, and what it returns."""
    start = time.perf_counter()
    result = func(*args)
    return time.perf_counter() - start, result


def cpu_name():
    """The processor's model name, as ``lscpu`` gives it."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()
