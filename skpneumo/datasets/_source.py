"""Where the commands' images come from: a data set's location, or files and folders.

:func:`load_data` reads a Kaggle-layout folder or a CSV manifest, whichever a
path names; :func:`subset` takes some of its images; :func:`image_files`
lists the images of files and folders given on a command line.
"""

import warnings

import numpy as np
from sklearn.utils import Bunch

from ._chest_xray import describe_skipped, is_image_file, load_chest_xray
from ._manifest import load_manifest


def load_data(location, split, *, need_groups=True):
    """The images and labels at ``location``, and a name for them.

    A path ending in ``.csv`` is a manifest (:func:`~skpneumo.datasets.load_manifest`),
    anything else a Kaggle-layout folder, of which ``split`` is read. Without
    ``need_groups``, the warning that images name no patient is silenced:
    patients only matter to a grouped split.

    Returns
    -------
    data : sklearn.utils.Bunch
        As the loader returns it.
    source : str
        What the images are, for messages.
    """
    with warnings.catch_warnings():
        if not need_groups:
            # patients only matter to a grouped split; elsewhere the warning is noise
            warnings.filterwarnings(
                "ignore", message=r".*name no patient", category=UserWarning
            )
        if location.suffix.lower() == ".csv":
            return load_manifest(location), f"the manifest {location}"
        return load_chest_xray(location, split=split), str(location / split)


def subset(data, rows):
    """The images ``rows`` of a dataset Bunch: every per-image field indexed."""
    n = len(data.target)
    return Bunch(
        **{
            key: value[rows]
            if isinstance(value, np.ndarray) and value.shape[:1] == (n,)
            else value
            for key, value in data.items()
        }
    )


def image_files(inputs, *, say=print):
    """The image files of ``inputs``: files as given, folders searched recursively.

    A folder's files are those :func:`~skpneumo.datasets._chest_xray.is_image_file`
    accepts; ``say`` is told how many others were skipped, and why.

    Raises
    ------
    FileNotFoundError
        If an input does not exist, or a folder holds no images.
    """
    files = []
    for item in inputs:
        if item.is_dir():
            found, skipped = [], []
            for path in sorted(p for p in item.rglob("*") if p.is_file()):
                (found if is_image_file(path) else skipped).append(path)
            if skipped:
                say(
                    f"skipped in {str(item)!r}: {describe_skipped(list(map(str, skipped)))}"
                )
            if not found:
                raise FileNotFoundError(f"Folder {str(item)!r} holds no images.")
            files += found
        elif item.exists():
            files.append(item)
        else:
            raise FileNotFoundError(f"No such image or folder: {str(item)!r}")
    return files
