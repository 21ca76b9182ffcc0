"""Shared fixtures: tiny images and X-ray folders, the real data, the docs build.

Plain helpers (``synthetic_xray``, ``TINY``, ...) are in ``_helpers.py``.
"""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from _helpers import make_kaggle_folder, noise, synthetic_xray

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
SPHINX_TOOLS = {  # module: distribution
    "sphinx": "sphinx",
    "numpydoc": "numpydoc",
    "sphinx_gallery": "sphinx-gallery",
    "pydata_sphinx_theme": "pydata-sphinx-theme",
}


#: The files that read the documentation build (``built_docs``): one worker
#: builds it once for both.
DOCS_TESTS = ("tests/test_docs.py", "tests/test_examples.py")


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """Give each pytest-xdist worker whole test files, the documentation's together.

    ``-n 2`` (``addopts`` in pyproject.toml) runs the suite in two processes.
    As with ``--dist loadfile``, a file's tests all run on one worker, so a
    module's fixtures are built once; the two files of ``DOCS_TESTS`` count
    as one, so the documentation is built once. (``--dist loadgroup`` would
    do this with marks, but pytest-xdist 3.8 cannot rename pytest 9.2's test
    ids, so its groups are silently ignored.)
    """
    from xdist.scheduler import LoadFileScheduling

    class ByFile(LoadFileScheduling):
        def _split_scope(self, nodeid):
            path = nodeid.split("::", 1)[0]
            return "docs" if path in DOCS_TESTS else path

    return ByFile(config, log)


def pytest_collection_modifyitems(config, items):
    """Collect the documentation's tests first.

    The workers take files in collection order, and the documentation build is
    the longest unit of the suite: started first, it runs beside the rest
    instead of after it.
    """
    items.sort(
        key=lambda item: Path(item.path).relative_to(ROOT).as_posix() not in DOCS_TESTS
    )


@pytest.fixture(scope="session")
def kaggle_root(tmp_path_factory):
    """A Kaggle-layout folder with 24 + 24 training and 4 + 4 validation images."""
    return make_kaggle_folder(
        tmp_path_factory.mktemp("chest_xray"), n_train=(24, 24), n_val=(4, 4)
    )


@pytest.fixture
def image_batch():
    """Twenty 16x16 greyscale uint8 images with a learnable signal, and labels."""
    rng = np.random.RandomState(0)
    y = np.array([0, 1] * 10)
    X = np.stack([synthetic_xray(label, rng, 16) for label in y])[..., np.newaxis]
    return X, y


@pytest.fixture
def images():
    """Eight 8x8 uint8 noise images and balanced 0/1 labels."""
    return noise((8, 8, 8)), np.array([0, 1] * 4)


@pytest.fixture(scope="session")
def shared_data():
    """The real chest X-ray data beside the repository (skips if absent)."""
    if not (SHARED_DATA / "chest_xray" / "train").is_dir():
        pytest.skip(f"real data not found at {SHARED_DATA}")
    return SHARED_DATA


def _run_sphinx_build(source, out, *options, env=None):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", MPLBACKEND="Agg", **(env or {}))
    command = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q"]
    command += ["-b", "html", *options, "-d", str(out / "doctrees")]
    command += [str(source), str(out / "html")]
    return subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1200
    )


@pytest.fixture(scope="session")
def sphinx_build():
    """``sphinx_build(source, out, *options, env=None)`` runs ``sphinx-build -W``.

    In a subprocess, it builds HTML from the folder ``source`` into
    ``out / "html"`` and returns the ``CompletedProcess``. Skips when the
    documentation tools are not installed.
    """
    missing = [
        dist
        for module, dist in SPHINX_TOOLS.items()
        if importlib.util.find_spec(module) is None
    ]
    if missing:
        pytest.skip(
            f"documentation tools not installed ({', '.join(missing)}); "
            "pip install -e '.[docs]' (or '.[test]')"
        )
    return _run_sphinx_build


@pytest.fixture(scope="session")
def built_docs(sphinx_build, tmp_path_factory, request):
    """The documentation, built once per session as CI builds it.

    ``sphinx-build -W`` runs every gallery example once, as a reader would run
    it, on the real X-rays beside the repository or, when they are absent, on
    the generated ``kaggle_root`` (``real_data`` says which). Each example
    writes its headline figures as JSON into ``results``
    (``SKPNEUMO_RESULTS``). Examples unchanged since an earlier build of
    ``docs/`` run again all the same (``run_stale_examples``), so that a
    change to the package is tested. ``tests/test_docs.py`` checks the site,
    ``tests/test_examples.py`` the gallery. Returns ``html`` (the built site),
    ``results``, ``real_data``, ``returncode``, ``stdout`` and ``stderr``.
    """
    data = SHARED_DATA / "chest_xray"
    real_data = (data / "train").is_dir()
    if not real_data:
        data = request.getfixturevalue("kaggle_root")
    out = tmp_path_factory.mktemp("docs")
    result = sphinx_build(
        ROOT / "docs",
        out,
        "-D",
        "sphinx_gallery_conf.run_stale_examples=1",
        env={"SKPNEUMO_DATA": str(data), "SKPNEUMO_RESULTS": str(out / "results")},
    )
    return SimpleNamespace(
        html=out / "html",
        results=out / "results",
        real_data=real_data,
        returncode=result.returncode,
        stdout=result.stdout,
        stderr=result.stderr,
    )
