"""Doctest set-up: skip the examples that read the chest X-ray data when it is absent.

As scikit-learn skips the doctests of its dataset fetchers when the data cannot
be had, the examples that load ``../shared/data`` (a path relative to the
directory pytest runs from, the repository root) are skipped, not failed,
where that folder does not exist.
"""

from pathlib import Path

import pytest

_DATA_FOLDER = "../shared/data"


def pytest_collection_modifyitems(config, items):
    """Mark the doctests that read ``../shared/data`` as skipped when it is absent."""
    if Path(_DATA_FOLDER, "chest_xray").is_dir():
        return
    skip = pytest.mark.skip(
        reason=f"the chest X-ray data is not at {_DATA_FOLDER}/chest_xray "
        f"(from {Path.cwd()})"
    )
    for item in items:
        if isinstance(item, pytest.DoctestItem) and any(
            _DATA_FOLDER in example.source for example in item.dtest.examples
        ):
            item.add_marker(skip)
