"""load_chest_xray: the Kaggle "Chest X-Ray Images (Pneumonia)" folder layout."""

import os
import re
import warnings
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch
from sklearn.utils._param_validation import StrOptions, validate_params

from .._dicom import is_dicom

CLASS_NAMES = ("NORMAL", "PNEUMONIA")
SPLITS = ("train", "val", "test")
# DICOM (.dcm, and .dicom as in VinDr-CXR) needs the optional pydicom to decode
IMAGE_SUFFIXES = {
    ".jpeg",
    ".jpg",
    ".png",
    ".bmp",
    ".tif",
    ".tiff",
    ".gif",
    ".webp",
    ".dcm",
    ".dicom",
}


def is_image_file(path):
    """Whether ``path`` is a file to read as an image.

    By its extension (:data:`IMAGE_SUFFIXES`), or, for a file without one of
    them, by the ``DICM`` marker of DICOM Part 10: DICOM files often have no
    extension.
    """
    path = Path(path)
    if not path.is_file():
        return False
    return path.suffix.lower() in IMAGE_SUFFIXES or is_dicom(str(path))


def describe_skipped(entries):
    """``N entries ...: [...]``: what a folder search skipped, and why."""
    folders = [e for e in entries if Path(e).is_dir()]
    files = [e for e in entries if e not in folders]
    parts = []
    if folders:
        parts.append(f"{len(folders)} folder(s)")
    if files:
        parts.append(
            f"{len(files)} file(s) with neither an image extension "
            f"({', '.join(sorted(IMAGE_SUFFIXES))}) nor the DICOM marker"
        )
    listed = f"{entries[:10]}{' ...' if len(entries) > 10 else ''}"
    return f"{' and '.join(parts)}: {listed}"


_PERSON = re.compile(r"^person(\d+)_(bacteria|virus)_", re.IGNORECASE)
_NORMAL = re.compile(r"^(?:NORMAL\d*-)?IM-(\d+)-", re.IGNORECASE)

DESCR = """\
Chest X-ray images (pneumonia)
------------------------------

Paediatric chest X-rays (anterior-posterior) from Guangzhou Women and Children's
Medical Center, labelled NORMAL or PNEUMONIA (bacterial or viral), in the folder
layout of the Kaggle data set "Chest X-Ray Images (Pneumonia)":
``<root>/{train,val,test}/{NORMAL,PNEUMONIA}/*.jpeg``.

Official split sizes (NORMAL + PNEUMONIA): train 1,341 + 3,875, val 8 + 8,
test 234 + 390. Several images can come from one patient: ``groups`` holds the
patient parsed from each file name, so that cross-validation can keep a
patient's images on one side (use ``StratifiedGroupKFold``).

Source: Kermany, Zhang and Goldbaum (2018), Mendeley Data v2,
doi:10.17632/rscbjbr9sj.2, licence CC BY 4.0. Kermany et al., Cell
172(5):1122-1131, 2018.
"""


def patient_id(filename):
    """Return the patient of a Kaggle chest X-ray file name, or None.

    ``person1234_bacteria_3191.jpeg`` is patient ``"person1234"``;
    ``IM-0115-0001.jpeg`` and ``NORMAL2-IM-0115-0001.jpeg`` are both patient
    ``"IM-0115"`` (kept together, the conservative choice for grouping).

    Parameters
    ----------
    filename : str or os.PathLike
        A file name or path.

    Returns
    -------
    str or None
        The patient, or None if the name follows neither pattern.

    Examples
    --------
    >>> from skpneumo.datasets import patient_id
    >>> patient_id("person1234_virus_2095.jpeg"), patient_id("NORMAL2-IM-1427-0001.jpeg")
    ('person1234', 'IM-1427')
    """
    name = os.path.basename(os.fspath(filename))
    match = _PERSON.match(name)
    if match:
        return f"person{int(match.group(1))}"
    match = _NORMAL.match(name)
    if match:
        return f"IM-{match.group(1)}"
    return None


def _own_group_where_none(paths, groups, what, *, stacklevel):
    """Give each path whose patient is unknown (None) a group of its own, and warn.

    ``what`` completes the warning's "N ..." (the loaders say why the patient is
    unknown); ``stacklevel`` goes to ``warnings.warn`` as is (1 is this function).
    """
    unknown = [p for p, g in zip(paths, groups, strict=True) if g is None]
    if unknown:
        warnings.warn(
            f"{len(unknown)} {what}, so each is its own group in `groups` (grouped "
            f"cross-validation cannot keep their patients together): "
            f"{unknown[:5]}{' ...' if len(unknown) > 5 else ''}",
            UserWarning,
            stacklevel=stacklevel,
        )
    return [
        g if g is not None else f"file:{p}" for p, g in zip(paths, groups, strict=True)
    ]


def _subtype(label, filename):
    if label == 0:
        return "normal"
    match = _PERSON.match(os.path.basename(filename))
    return match.group(2).lower() if match else "unknown"


@validate_params(
    {"root": [str, os.PathLike], "split": [StrOptions(set(SPLITS))]},
    prefer_skip_nested_validation=True,
)
def load_chest_xray(root, split="train"):
    """List the images of one split of a Kaggle-layout chest X-ray folder.

    Only file paths are collected; decode them with :class:`~skpneumo.ImageLoader`
    (or the pipeline, which starts with one).

    Parameters
    ----------
    root : str or os.PathLike
        Folder holding ``train``, ``val`` and/or ``test``, each with ``NORMAL``
        and ``PNEUMONIA`` sub-folders.
    split : {"train", "val", "test"}, default="train"
        Which split to list.

    Returns
    -------
    data : sklearn.utils.Bunch
        With the fields:

        paths : ndarray of shape (n_samples,) of str
            Image files, sorted, NORMAL first.
        target : ndarray of shape (n_samples,) of int
            0 for NORMAL, 1 for PNEUMONIA.
        target_names : ndarray of shape (2,)
            ``["NORMAL", "PNEUMONIA"]``.
        groups : ndarray of shape (n_samples,) of str
            Patient of each image, for grouped cross-validation. A file whose
            name follows no known pattern is its own group (and a warning says
            how many there are).
        subtype : ndarray of shape (n_samples,) of str
            ``"normal"``, ``"bacteria"``, ``"virus"`` or ``"unknown"``.
        DESCR : str
            Description of the data set.

    Raises
    ------
    InvalidParameterError
        If ``split`` is unknown or ``root`` is not a path.
    FileNotFoundError
        If ``root``, the split or a class folder does not exist.
    ValueError
        If a class folder holds no images.

    Warns
    -----
    UserWarning
        Naming every entry that is not used, with how many and why: entries
        other than NORMAL and PNEUMONIA, and, in those class folders,
        sub-folders and files with neither an image extension nor the DICOM
        marker (such as ``.DS_Store``). A file without an image extension
        that carries the ``DICM`` marker of DICOM Part 10 is used: DICOM
        files often have no extension.

    Examples
    --------
    >>> from skpneumo.datasets import load_chest_xray
    >>> data = load_chest_xray("../shared/data/chest_xray", split="val")
    >>> data.paths.shape, data.target.tolist().count(1), data.target_names.tolist()
    ((16,), 8, ['NORMAL', 'PNEUMONIA'])
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(
            f"Data folder {str(root)!r} does not exist or is not a folder."
        )
    split_dir = root / split
    if not split_dir.is_dir():
        present = sorted(p.name for p in root.iterdir() if p.is_dir())
        raise FileNotFoundError(
            f"Split folder {str(split_dir)!r} does not exist (folders in {str(root)!r}: "
            f"{present})."
        )
    ignored = sorted(str(p) for p in split_dir.iterdir() if p.name not in CLASS_NAMES)
    for class_name in CLASS_NAMES:
        if not (split_dir / class_name).is_dir():
            present = sorted(p.name for p in split_dir.iterdir() if p.is_dir())
            raise FileNotFoundError(
                f"Class folder {str(split_dir / class_name)!r} does not exist "
                f"(folders in {str(split_dir)!r}: {present})."
            )
    paths, target, unused = [], [], []
    for label, class_name in enumerate(CLASS_NAMES):
        class_dir = split_dir / class_name
        files = []
        for entry in sorted(class_dir.iterdir()):
            if is_image_file(entry):
                files.append(str(entry))
            else:
                unused.append(str(entry))
        if not files:
            raise ValueError(f"Class folder {str(class_dir)!r} holds no images.")
        paths += files
        target += [label] * len(files)
    if ignored or unused:
        entries = ignored + unused
        warnings.warn(
            f"load_chest_xray ignores {len(entries)} entr{'y' if len(entries) == 1 else 'ies'} "
            f"of {str(split_dir)!r} that are not images of NORMAL or PNEUMONIA"
            + (
                f" (entries of {str(split_dir)!r} other than NORMAL and PNEUMONIA: "
                f"{ignored[:10]}{' ...' if len(ignored) > 10 else ''})"
                if ignored
                else ""
            )
            + (f"; in the class folders, {describe_skipped(unused)}" if unused else ""),
            UserWarning,
            stacklevel=3,  # past validate_params' wrapper
        )
    groups = _own_group_where_none(
        paths,
        [patient_id(p) for p in paths],
        "file name(s) name no patient",
        stacklevel=4,  # past this function and validate_params' wrapper
    )
    subtype = [_subtype(t, p) for t, p in zip(target, paths, strict=True)]
    return _dataset(paths, target, groups, subtype, DESCR)


def _dataset(paths, target, groups, subtype, descr):
    """The Bunch that both dataset loaders return (see ``load_chest_xray``)."""
    return Bunch(
        paths=np.asarray(paths, dtype=str),
        target=np.asarray(target, dtype=np.int64),
        target_names=np.asarray(CLASS_NAMES),
        groups=np.asarray(groups, dtype=str),
        subtype=np.asarray(subtype, dtype=str),
        DESCR=descr,
    )
