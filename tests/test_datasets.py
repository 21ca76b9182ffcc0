"""The datasets (skpneumo/datasets): folders, manifests and patients.

load_chest_xray lists a Kaggle-layout folder, load_manifest the images of a CSV
file, each with its label and patient (patient_id).
"""

import warnings
from pathlib import Path

import numpy as np
import pytest
from _helpers import quoted, save_image
from PIL import Image
from sklearn.utils._param_validation import InvalidParameterError

from skpneumo.datasets import load_chest_xray, load_manifest, patient_id

# --------------------------------------------------------------------------
# load_manifest


def _images(folder, *names):
    """Empty files are enough: load_manifest lists images, it does not decode them."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_bytes(b"")
    return folder


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
    csv_file.write_text(
        "path,label,patient\n"
        + "".join(
            f"{p},{folder.target_names[t]},{g}\n"
            for p, t, g in zip(folder.paths, folder.target, folder.groups, strict=True)
        )
    )
    manifest = load_manifest(csv_file)
    assert set(manifest) == set(folder)
    for key in ("paths", "target", "target_names", "groups"):
        np.testing.assert_array_equal(manifest[key], folder[key])
        assert manifest[key].dtype.kind == folder[key].dtype.kind


def test_manifest_without_patients_makes_each_file_its_own_group(tmp_path):
    _images(tmp_path, "a.png", "b.png")
    csv_file = tmp_path / "m.csv"
    csv_file.write_text("path,label\na.png,NORMAL\nb.png,PNEUMONIA\n")
    with pytest.warns(
        UserWarning,
        match=r"2 image\(s\) of manifest .*m\.csv.* name no "
        r"patient \(no patient column\), so each is its own group",
    ):
        data = load_manifest(csv_file)
    assert data.groups.tolist() == [
        f"file:{tmp_path / 'a.png'}",
        f"file:{tmp_path / 'b.png'}",
    ]

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
        (
            "path,diagnosis\na.png,NORMAL\n",
            ValueError,
            r"{csv}, line 1: the header \['path', 'diagnosis'\] lacks the column\(s\) \['label'\]",
        ),
        ("file,label\n", ValueError, r"line 1: .* lacks the column\(s\) \['path'\]"),
        (
            "path,label\na.png,NORMAL\na.png,COVID\n",
            ValueError,
            "{csv}, line 3: unknown label 'COVID'; use NORMAL or PNEUMONIA",
        ),
        ("path,label\na.png,2\n", ValueError, "{csv}, line 2: unknown label '2'"),
        (
            "path,label\na.png\n",
            ValueError,
            "{csv}, line 2: the row of 'a.png' has no label",
        ),
        ("path,label\n,NORMAL\n", ValueError, "{csv}, line 2: the row has no path"),
        (
            "path,label\na.png,NORMAL\n\nmissing.png,NORMAL\n",
            FileNotFoundError,
            "{csv}, line 4: image {missing} does not exist",
        ),
        (
            "path,label\nsub,NORMAL\n",
            FileNotFoundError,
            "line 2: image .*sub.* is not a file",
        ),
    ],
)
def test_manifest_errors_name_the_file_and_line(tmp_path, text, error, message):
    _images(tmp_path, "a.png")
    (tmp_path / "sub").mkdir()
    csv_file = tmp_path / "m.csv"
    csv_file.write_text(text)
    message = message.format(
        csv=quoted(csv_file), missing=quoted(tmp_path / "missing.png")
    )
    with pytest.raises(error, match=message):
        load_manifest(csv_file)


@pytest.mark.parametrize(
    "rows, message",
    [
        (
            "a.png,NORMAL\nb.png,NORMAL\n./a.png,normal\n",
            "line 4: image .*a.png.* is already listed on line 2, and this row "
            "lists it again",
        ),
        (
            "a.png,NORMAL\nsub/../a.png,PNEUMONIA\n",
            "line 3: image .*a.png.* is already listed on line 2, and this row gives "
            "it the label PNEUMONIA where line 2 gives NORMAL",
        ),
    ],
)
def test_manifest_refuses_an_image_listed_twice(tmp_path, rows, message):
    """Non-regression test: a repeated row was counted twice."""
    _images(tmp_path, "a.png", "b.png")
    (tmp_path / "sub").mkdir()
    csv_file = tmp_path / "m.csv"
    csv_file.write_text("path,label\n" + rows)
    with pytest.raises(ValueError, match=f"{quoted(csv_file)}, {message}"):
        load_manifest(csv_file)


@pytest.mark.parametrize(
    "encoding, hint", [("utf-16", "byte-order mark of UTF-16"), ("latin-1", "")]
)
def test_manifest_not_utf8_names_the_file(tmp_path, encoding, hint):
    """Non-regression test: a UTF-16 manifest gave a bare codec error."""
    _images(tmp_path, "é.png")
    csv_file = tmp_path / "m.csv"
    csv_file.write_text("path,label\né.png,NORMAL\n", encoding=encoding)
    with pytest.raises(
        ValueError, match=f"Manifest {quoted(csv_file)} is not UTF-8"
    ) as info:
        load_manifest(csv_file)
    assert hint in str(info.value)
    assert "save it as UTF-8" in str(info.value)


def test_manifest_that_does_not_exist(tmp_path):
    with pytest.raises(
        FileNotFoundError, match=f"Manifest {quoted(tmp_path / 'no.csv')}"
    ):
        load_manifest(tmp_path / "no.csv")


def test_manifest_invalid_parameter():
    with pytest.raises(
        InvalidParameterError, match="'csv_file' parameter of load_manifest"
    ):
        load_manifest(None)


# --------------------------------------------------------------------------
# load_chest_xray and patient_id


def _make_tree(
    root, normal=("IM-0115-0001.jpeg",), pneumonia=("person1_virus_6.jpeg",)
):
    """Write ``root/train/{NORMAL,PNEUMONIA}`` with tiny JPEG files of these names."""
    for class_name, names in (("NORMAL", normal), ("PNEUMONIA", pneumonia)):
        folder = root / "train" / class_name
        folder.mkdir(parents=True)
        for name in names:
            save_image(folder / name, Image.new("L", (4, 4)), format="JPEG")
    return root


def test_chest_xray_lists_images_and_patients(tmp_path):
    root = _make_tree(
        tmp_path,
        normal=["IM-0115-0001.jpeg", "NORMAL2-IM-0115-0002.jpeg", "IM-0117-0001.JPEG"],
        pneumonia=[
            "person1234_bacteria_3191.jpeg",
            "person1234_virus_2095.jpeg",
            "person7_bacteria_29.png",
        ],
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing is ignored here
        data = load_chest_xray(root)
    assert [Path(p).name for p in data.paths] == [
        "IM-0115-0001.jpeg",
        "IM-0117-0001.JPEG",
        "NORMAL2-IM-0115-0002.jpeg",
        "person1234_bacteria_3191.jpeg",
        "person1234_virus_2095.jpeg",
        "person7_bacteria_29.png",
    ]
    assert data.target.tolist() == [0, 0, 0, 1, 1, 1]
    assert data.groups.tolist() == [
        "IM-0115",
        "IM-0117",
        "IM-0115",
        "person1234",
        "person1234",
        "person7",
    ]
    assert data.subtype.tolist() == ["normal"] * 3 + ["bacteria", "virus", "bacteria"]


def test_chest_xray_missing_root(tmp_path):
    with pytest.raises(
        FileNotFoundError, match=f"Data folder {quoted(tmp_path / 'absent')}"
    ):
        load_chest_xray(tmp_path / "absent")


def test_chest_xray_missing_split(tmp_path):
    root = _make_tree(tmp_path)
    with pytest.raises(
        FileNotFoundError,
        match=f"Split folder {quoted(root / 'val')} does not exist .*\\['train'\\]",
    ):
        load_chest_xray(root, split="val")


@pytest.mark.parametrize("missing", ["NORMAL", "PNEUMONIA"])
def test_chest_xray_missing_class_folder(tmp_path, missing):
    root = _make_tree(tmp_path)
    for entry in (root / "train" / missing).iterdir():
        entry.unlink()
    (root / "train" / missing).rmdir()
    (root / "train" / missing.lower()).mkdir()  # a typo: the wrong case
    with pytest.raises(
        FileNotFoundError,
        match=f"Class folder {quoted(root / 'train' / missing)} does not exist "
        f".*'{missing.lower()}'",
    ):
        load_chest_xray(root)


@pytest.mark.parametrize("extra_file", [None, "notes.txt"])
def test_chest_xray_empty_class_folder(tmp_path, extra_file):
    root = _make_tree(tmp_path, pneumonia=())
    if extra_file:
        (root / "train" / "PNEUMONIA" / extra_file).write_text("not an image")
    folder = root / "train" / "PNEUMONIA"
    with pytest.raises(
        ValueError, match=f"Class folder {quoted(folder)} holds no images"
    ):
        load_chest_xray(root)


def test_chest_xray_warns_about_unused_entries(tmp_path):
    root = _make_tree(tmp_path)
    (root / "train" / "COVID").mkdir()
    (root / "train" / ".DS_Store").write_bytes(b"\0")
    (root / "train" / "PNEUMONIA" / "notes.txt").write_text("not an image")
    (root / "train" / "NORMAL" / "old").mkdir()

    with pytest.warns(UserWarning, match="ignores 4 entries") as record:
        data = load_chest_xray(root)

    message = str(record[0].message)
    for entry in ["COVID", ".DS_Store", "PNEUMONIA/notes.txt", "NORMAL/old"]:
        assert str(root / "train" / entry) in message
    assert record[0].filename == __file__  # points at the caller
    assert [Path(p).name for p in data.paths] == [
        "IM-0115-0001.jpeg",
        "person1_virus_6.jpeg",
    ]


def test_chest_xray_uses_extensionless_dicom_and_says_why_files_are_skipped(
    tmp_path,
):
    """Non-regression test: extension-less files (DICOM files often
    have none) were skipped without saying why.
    """
    root = _make_tree(tmp_path)
    dicom = root / "train" / "PNEUMONIA" / "person2_virus_7"
    dicom.write_bytes(b"\0" * 128 + b"DICM" + b"\0" * 16)  # the Part 10 marker
    (root / "train" / "NORMAL" / "IM-0116-0001").write_bytes(b"\0" * 200)
    (root / "train" / "NORMAL" / "notes.txt").write_text("not an image")

    with pytest.warns(UserWarning, match="ignores 2 entries") as record:
        data = load_chest_xray(root)

    assert str(dicom) in data.paths.tolist()
    message = str(record[0].message)
    assert (
        "2 file(s) with neither an image extension (.bmp, .dcm, .dicom, .gif, "
        ".jpeg, .jpg, .png, .tif, .tiff, .webp) nor the DICOM marker"
    ) in message
    assert "IM-0116-0001" in message and "notes.txt" in message


def test_chest_xray_warns_about_names_without_patient(tmp_path):
    root = _make_tree(tmp_path, pneumonia=["person3_virus_1.jpeg", "scan.jpeg"])
    with pytest.warns(
        UserWarning, match=r"1 file name\(s\) name no patient.*scan\.jpeg"
    ):
        data = load_chest_xray(root)
    assert (
        data.groups.tolist()[-1] == f"file:{root / 'train' / 'PNEUMONIA' / 'scan.jpeg'}"
    )
    assert data.subtype.tolist()[-1] == "unknown"


@pytest.mark.parametrize(
    "params, name",
    [
        ({"split": "validation"}, "split"),
        ({"split": "TRAIN"}, "split"),
        ({"root": None}, "root"),
    ],
)
def test_chest_xray_invalid_parameter(tmp_path, params, name):
    params = {"root": _make_tree(tmp_path), **params}
    with pytest.raises(
        InvalidParameterError, match=f"'{name}' parameter of load_chest_xray"
    ):
        load_chest_xray(**params)


@pytest.mark.parametrize(
    "filename, patient",
    [
        ("person1234_bacteria_3191.jpeg", "person1234"),
        ("person1234_virus_2095.jpeg", "person1234"),
        ("IM-0115-0001.jpeg", "IM-0115"),
        ("NORMAL2-IM-0115-0001.jpeg", "IM-0115"),
        ("/data/train/NORMAL/NORMAL2-IM-1427-0001.jpeg", "IM-1427"),
        (Path("chest_xray") / "person7_virus_12.jpeg", "person7"),
        ("scan.jpeg", None),
        ("IM-0115.jpeg", None),
    ],
)
def test_patient_id(filename, patient):
    assert patient_id(filename) == patient


def test_every_real_file_name_names_its_patient(shared_data):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no unknown patients, no ignored entries
        data = load_chest_xray(shared_data / "chest_xray", split="train")
    assert np.bincount(data.target).tolist() == [1341, 3875]
    assert not any(g.startswith("file:") for g in data.groups)
    assert set(data.subtype) == {"normal", "bacteria", "virus"}
