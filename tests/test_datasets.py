"""load_manifest: images listed in a CSV file, with their labels and patients."""

import re
import warnings

import numpy as np
import pytest
from sklearn.utils._param_validation import InvalidParameterError

from skpneumo.datasets import load_chest_xray, load_manifest


def _images(folder, *names):
    """Empty files are enough: load_manifest lists images, it does not decode them."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_bytes(b"")
    return folder


def _quoted(path):
    return re.escape(repr(str(path)))


def test_manifest_lists_images_labels_and_patients(tmp_path):
    _images(tmp_path / "scans", "a.png", "b.png", "c.jpeg")
    elsewhere = _images(tmp_path / "elsewhere", "d.dcm")
    csv_file = tmp_path / "lists" / "site_b.csv"
    csv_file.parent.mkdir()
    csv_file.write_text(
        "\ufeffpath,label,patient,age\n"  # a spreadsheet's byte-order mark, an extra column
        "../scans/b.png,PNEUMONIA,p2,4\n"
        "../scans/a.png,normal,p1,3\n"
        "\n"
        f"{elsewhere / 'd.dcm'},1,p2,4\n"
        '"../scans/c.jpeg",0,p3,5\n'
    )
    data = load_manifest(csv_file)
    # rows keep their order; a relative path starts at the manifest's folder
    assert data.paths.tolist() == [
        str(csv_file.parent / "../scans/b.png"),
        str(csv_file.parent / "../scans/a.png"),
        str(elsewhere / "d.dcm"),
        str(csv_file.parent / "../scans/c.jpeg"),
    ]
    assert data.target.tolist() == [1, 0, 1, 0] and data.target.dtype == np.int64
    assert data.target_names.tolist() == ["NORMAL", "PNEUMONIA"]
    assert data.groups.tolist() == ["p2", "p1", "p2", "p3"]
    assert data.subtype.tolist() == ["unknown", "normal", "unknown", "normal"]
    assert "site_b.csv" in data.DESCR


def test_manifest_gives_the_fields_of_load_chest_xray(kaggle_root, tmp_path):
    folder = load_chest_xray(kaggle_root, split="val")
    csv_file = tmp_path / "val.csv"
    csv_file.write_text("path,label,patient\n" + "".join(
        f"{p},{folder.target_names[t]},{g}\n"
        for p, t, g in zip(folder.paths, folder.target, folder.groups)
    ))
    manifest = load_manifest(csv_file)
    assert set(manifest) == set(folder)
    for key in ("paths", "target", "target_names", "groups"):
        np.testing.assert_array_equal(manifest[key], folder[key])
        assert manifest[key].dtype.kind == folder[key].dtype.kind


def test_manifest_without_patients_makes_each_file_its_own_group(tmp_path):
    _images(tmp_path, "a.png", "b.png")
    csv_file = tmp_path / "m.csv"
    csv_file.write_text("path,label\na.png,NORMAL\nb.png,PNEUMONIA\n")
    with pytest.warns(UserWarning, match=r"2 image\(s\) of manifest .*m\.csv.* name no "
                      r"patient \(no patient column\), so each is its own group"):
        data = load_manifest(csv_file)
    assert data.groups.tolist() == [f"file:{tmp_path / 'a.png'}", f"file:{tmp_path / 'b.png'}"]

    csv_file.write_text("path,label,patient\na.png,NORMAL,p1\nb.png,PNEUMONIA,\n")
    with pytest.warns(UserWarning, match=r"1 image\(s\) .* name no patient, so each"):
        data = load_manifest(csv_file)
    assert data.groups.tolist() == ["p1", f"file:{tmp_path / 'b.png'}"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        csv_file.write_text("path,label,patient\na.png,NORMAL,p1\n")
        load_manifest(csv_file)  # every image has its patient: no warning


@pytest.mark.parametrize(
    "text, error, message",
    [
        ("", ValueError, "{csv} is empty: it needs a header line"),
        ("path,label\n", ValueError, "{csv} lists no images"),
        ("path,diagnosis\na.png,NORMAL\n", ValueError,
         r"{csv}, line 1: the header \['path', 'diagnosis'\] lacks the column\(s\) \['label'\]"),
        ("file,label\n", ValueError, r"line 1: .* lacks the column\(s\) \['path'\]"),
        ("path,label\na.png,NORMAL\na.png,COVID\n", ValueError,
         "{csv}, line 3: unknown label 'COVID'; use NORMAL or PNEUMONIA"),
        ("path,label\na.png,2\n", ValueError, "{csv}, line 2: unknown label '2'"),
        ("path,label\na.png\n", ValueError, "{csv}, line 2: the row of 'a.png' has no label"),
        ("path,label\n,NORMAL\n", ValueError, "{csv}, line 2: the row has no path"),
        ("path,label\na.png,NORMAL\n\nmissing.png,NORMAL\n", FileNotFoundError,
         "{csv}, line 4: image {missing} does not exist"),
        ("path,label\nsub,NORMAL\n", FileNotFoundError, "line 2: image .*sub.* is not a file"),
    ],
)
def test_manifest_errors_name_the_file_and_line(tmp_path, text, error, message):
    _images(tmp_path, "a.png")
    (tmp_path / "sub").mkdir()
    csv_file = tmp_path / "m.csv"
    csv_file.write_text(text)
    message = message.format(csv=_quoted(csv_file), missing=_quoted(tmp_path / "missing.png"))
    with pytest.raises(error, match=message):
        load_manifest(csv_file)


def test_manifest_that_does_not_exist(tmp_path):
    with pytest.raises(FileNotFoundError, match=f"Manifest {_quoted(tmp_path / 'no.csv')}"):
        load_manifest(tmp_path / "no.csv")


def test_manifest_invalid_parameter():
    with pytest.raises(InvalidParameterError, match="'csv_file' parameter of load_manifest"):
        load_manifest(None)
