"""load_manifest: images listed in a CSV file, for data that is not in the Kaggle layout."""

import codecs
import csv
import os
from pathlib import Path

from sklearn.utils._param_validation import validate_params

from ._chest_xray import CLASS_NAMES, _dataset, _own_group_where_none

REQUIRED_COLUMNS = ("path", "label")
#: The spellings of a label, upper-cased, and the class they stand for.
_LABELS = {"NORMAL": 0, "PNEUMONIA": 1, "0": 0, "1": 1}

DESCR = """\
Chest X-rays listed in a manifest
---------------------------------

Images listed in the CSV file {csv}, one per row with its label (NORMAL or
PNEUMONIA){patients}.
"""


@validate_params({"csv_file": [str, os.PathLike]}, prefer_skip_nested_validation=True)
def load_manifest(csv_file):
    r"""List the images of a CSV manifest, as :func:`load_chest_xray` lists a folder.

    For X-rays that are not in the Kaggle folder layout: a CSV file (UTF-8,
    comma-separated) whose header names the columns ``path``, ``label`` and,
    optionally, ``patient``::

        path,label,patient
        scans/0001.png,PNEUMONIA,p17
        scans/0002.png,NORMAL,p18
        /data/other/0003.dcm,1,p17

    Other columns are ignored, and so are blank lines. Rows keep their order.
    Each image is listed once: a repeated path is an error, since it would
    count twice in training and in the metrics (and two rows that give it
    different labels contradict each other).

    Parameters
    ----------
    csv_file : str or os.PathLike
        The manifest. A relative ``path`` is relative to the folder that holds
        it, so a manifest can be moved with its images.

    Returns
    -------
    data : sklearn.utils.Bunch
        With the fields of :func:`load_chest_xray`:

        paths : ndarray of shape (n_samples,) of str
            Image files, in the manifest's order.
        target : ndarray of shape (n_samples,) of int
            0 for NORMAL, 1 for PNEUMONIA. A ``label`` is ``NORMAL`` or
            ``PNEUMONIA`` (in any case) or ``0`` or ``1``.
        target_names : ndarray of shape (2,)
            ``["NORMAL", "PNEUMONIA"]``.
        groups : ndarray of shape (n_samples,) of str
            The ``patient`` column, for grouped cross-validation. An image
            without one (no such column, or an empty cell) is its own group,
            and a warning says how many there are.
        subtype : ndarray of shape (n_samples,) of str
            ``"normal"`` for NORMAL, else ``"unknown"`` (a manifest does not
            say bacterial or viral).
        DESCR : str
            Description of the data set.

    Raises
    ------
    FileNotFoundError
        If the manifest, or an image it lists, does not exist (the message
        names the manifest and the line).
    ValueError
        If the manifest is not UTF-8, is empty, lacks the ``path`` or
        ``label`` column, a row has a missing field or an unknown label, or
        two rows list the same image, with the same label or conflicting ones
        (the message names the manifest and the lines).

    Warns
    -----
    UserWarning
        If some images have no patient: each is then its own group.

    See Also
    --------
    load_chest_xray : The Kaggle folder layout.

    Examples
    --------
    A manifest of the validation split, which :func:`load_chest_xray` lists
    the same way:

    >>> import pathlib, tempfile
    >>> from skpneumo.datasets import load_chest_xray, load_manifest
    >>> val = load_chest_xray("../shared/data/chest_xray", split="val")
    >>> rows = [f"{pathlib.Path(p).resolve()},{val.target_names[t]},{g}"
    ...         for p, t, g in zip(val.paths, val.target, val.groups)]
    >>> csv_file = pathlib.Path(tempfile.mkdtemp()) / "val.csv"
    >>> _ = csv_file.write_text("path,label,patient\n" + "\n".join(rows) + "\n")
    >>> data = load_manifest(csv_file)
    >>> data.paths.shape, data.target.tolist() == val.target.tolist()
    ((16,), True)
    >>> data.groups.tolist() == val.groups.tolist()
    True
    """
    csv_file = Path(csv_file)
    if not csv_file.is_file():
        raise FileNotFoundError(
            f"Manifest {str(csv_file)!r} does not exist or is not a file."
        )
    try:
        return _read_manifest(csv_file)
    except UnicodeDecodeError as exc:
        raise ValueError(
            f"Manifest {str(csv_file)!r} is not UTF-8 text ({_encoding_hint(csv_file)}"
            f"{exc.reason} at byte {exc.start}); save it as UTF-8 (a spreadsheet's "
            '"CSV UTF-8" export).'
        ) from exc


def _encoding_hint(csv_file):
    """Name the encoding a byte-order mark gives away, for the error message."""
    with open(csv_file, "rb") as f:
        start = f.read(4)
    for mark, name in (
        (codecs.BOM_UTF32_LE, "UTF-32"),
        (codecs.BOM_UTF32_BE, "UTF-32"),
        (codecs.BOM_UTF16_LE, "UTF-16"),
        (codecs.BOM_UTF16_BE, "UTF-16"),
    ):
        if start.startswith(mark):
            return f"it starts with the byte-order mark of {name}; "
    return ""


def _read_manifest(csv_file):
    """load_manifest once the file is known to exist."""
    base = csv_file.parent
    paths, target, patients = [], [], []
    seen = {}  # normalised image path -> (line, label) of the row that listed it
    # utf-8-sig: a spreadsheet's "CSV UTF-8" export starts with a byte-order mark
    with open(csv_file, newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None:
            raise ValueError(
                f"Manifest {str(csv_file)!r} is empty: it needs a header "
                f"line naming the columns path,label[,patient]."
            )
        columns = [name.strip().lower() for name in header]
        missing = [name for name in REQUIRED_COLUMNS if name not in columns]
        if missing:
            raise ValueError(
                f"{str(csv_file)!r}, line {reader.line_num}: the header {header} lacks the "
                f"column(s) {missing}; a manifest has the columns path,label[,patient]."
            )
        where = {
            name: columns.index(name)
            for name in (*REQUIRED_COLUMNS, "patient")
            if name in columns
        }
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            line = f"{str(csv_file)!r}, line {reader.line_num}"
            cells = {
                name: row[i].strip() if i < len(row) else ""
                for name, i in where.items()
            }
            if not cells["path"]:
                raise ValueError(f"{line}: the row has no path.")
            if not cells["label"]:
                raise ValueError(f"{line}: the row of {cells['path']!r} has no label.")
            if cells["label"].upper() not in _LABELS:
                raise ValueError(
                    f"{line}: unknown label {cells['label']!r}; use NORMAL or PNEUMONIA "
                    "(or 0 or 1)."
                )
            image = base / cells["path"]  # an absolute path stays itself
            if not image.is_file():
                raise FileNotFoundError(
                    f"{line}: image {str(image)!r} does not exist or is not a file."
                )
            label = _LABELS[cells["label"].upper()]
            key = os.path.normcase(os.path.abspath(image))
            if key in seen:
                first_line, first_label = seen[key]
                kind = (
                    "lists it again"
                    if first_label == label
                    else f"gives it the label {CLASS_NAMES[label]} where line "
                    f"{first_line} gives {CLASS_NAMES[first_label]}"
                )
                raise ValueError(
                    f"{line}: image {str(image)!r} is already listed on line "
                    f"{first_line}, and this row {kind}; list each image once "
                    "(a repeated image would count twice in training and metrics)."
                )
            seen[key] = (reader.line_num, label)
            paths.append(str(image))
            target.append(label)
            patients.append(cells.get("patient") or None)
    if not paths:
        raise ValueError(f"Manifest {str(csv_file)!r} lists no images (only a header).")
    reason = (
        "name no patient"
        if "patient" in where
        else "name no patient (no patient column)"
    )
    groups = _own_group_where_none(
        paths,
        patients,
        f"image(s) of manifest {str(csv_file)!r} {reason}",
        stacklevel=4,  # past this function and validate_params' wrapper
    )
    return _dataset(
        paths,
        target,
        groups,
        ["normal" if t == 0 else "unknown" for t in target],
        DESCR.format(
            csv=csv_file, patients=", and its patient" if "patient" in where else ""
        ),
    )
