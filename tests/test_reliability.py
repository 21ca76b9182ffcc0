"""Bad inputs, special files and reproducibility.

Every case either loads correctly or raises an exception whose type and message
name the offending file, sample or parameter.
"""

import pickle
import random
import re
import struct
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sklearn.utils._param_validation import InvalidParameterError

import skpneumo
from skpneumo import ImageLoader, ImageLoadError, ZoomOverSampler
from skpneumo.datasets import load_chest_xray, patient_id

# Tiny networks, so that a fit takes a second or two on a CPU. PneumoniaClassifier
# is reached as skpneumo.PneumoniaClassifier: Keras is imported on first use.
TINY_NET = dict(n_blocks=1, filters=4, epochs=1, batch_size=4)


def _noise(shape, seed=0):
    return np.random.RandomState(seed).randint(0, 256, size=shape, dtype=np.uint8)


def _save(path, image, **kwargs):
    image.save(path, **kwargs)
    return path


def _load(paths, **params):
    return ImageLoader(**{"image_size": 16, **params}).fit_transform(
        [str(p) for p in paths]
    )


def _quoted(path):
    """A pattern matching ``path`` as the messages quote it."""
    return re.escape(repr(str(path)))


def _png_header(width, height):
    """A greyscale PNG that declares ``width`` x ``height`` but holds one row."""

    def chunk(kind, data):
        crc = zlib.crc32(kind + data)
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * (width + 1)))
        + chunk(b"IEND", b"")
    )


@pytest.fixture
def images():
    """Eight 8x8 uint8 images and balanced 0/1 labels."""
    return _noise((8, 8, 8)), np.array([0, 1] * 4)


# --------------------------------------------------------------------------
# Files that must fail, naming the file


def _write_empty(path):
    path.write_bytes(b"")


def _write_truncated_jpeg(path):
    _save(path, Image.fromarray(_noise((64, 64))), format="JPEG")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _write_text(path):
    path.write_text("PatientID,Label\n1234,PNEUMONIA\n")


@pytest.mark.parametrize("n_jobs", [None, 2])
@pytest.mark.parametrize(
    "write, reason",
    [
        (_write_empty, "the file is empty"),
        (_write_truncated_jpeg, "truncated"),
        (_write_text, "cannot identify image file"),
    ],
    ids=["zero-bytes", "truncated-jpeg", "text-as-jpeg"],
)
def test_undecodable_file_is_named(tmp_path, write, reason, n_jobs):
    good = [_save(tmp_path / f"{i}.png", Image.fromarray(_noise((20, 20)))) for i in range(3)]
    bad = tmp_path / "bad.jpeg"
    write(bad)
    with pytest.raises(ImageLoadError, match=f"{_quoted(bad)}: .*{reason}") as exc_info:
        _load([good[0], good[1], bad, good[2]], n_jobs=n_jobs)
    assert exc_info.value.path == str(bad)


def test_missing_file_is_named(tmp_path):
    good = _save(tmp_path / "good.png", Image.fromarray(_noise((20, 20))))
    missing = tmp_path / "missing.jpeg"
    with pytest.raises(FileNotFoundError, match=_quoted(missing)) as exc_info:
        _load([good, missing])
    assert exc_info.value.filename == str(missing)


def test_directory_instead_of_file_is_named(tmp_path):
    folder = tmp_path / "NORMAL"
    folder.mkdir()
    with pytest.raises(IsADirectoryError, match=_quoted(folder)):
        _load([folder])


# --------------------------------------------------------------------------
# Images that must load


def test_16bit_png_is_scaled_to_8_bits(tmp_path):
    values = np.random.RandomState(0).randint(0, 65536, size=(16, 16)).astype(np.uint16)
    values[0, :3] = [0, 257 * 128, 65535]
    path = _save(tmp_path / "deep.png", Image.fromarray(values))
    assert Image.open(path).mode == "I;16"

    out = _load([path])

    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out[0, :, :, 0], np.rint(values / 257.0))
    assert out[0, 0, :3, 0].tolist() == [0, 128, 255]


@pytest.mark.parametrize("channels", [1, 3])
def test_palette_png_loads_its_colours(tmp_path, channels):
    rgb = Image.fromarray(_noise((16, 16, 3)))
    path = _save(tmp_path / "palette.png", rgb.convert("P"))
    image = Image.open(path)
    assert image.mode == "P"
    expected = image.convert("RGB" if channels == 3 else "L")

    out = _load([path], channels=channels)

    np.testing.assert_array_equal(out[0], np.asarray(expected).reshape(16, 16, channels))


@pytest.mark.parametrize("channels", [1, 3])
def test_rgba_png_drops_alpha(tmp_path, channels):
    rgb = _noise((16, 16, 3))
    alpha = _noise((16, 16, 1), seed=1)
    path = _save(tmp_path / "rgba.png", Image.fromarray(np.concatenate([rgb, alpha], axis=2)))
    assert Image.open(path).mode == "RGBA"
    expected = Image.fromarray(rgb).convert("RGB" if channels == 3 else "L")

    out = _load([path], channels=channels)

    np.testing.assert_array_equal(out[0], np.asarray(expected).reshape(16, 16, channels))


@pytest.mark.parametrize("channels", [1, 3])
def test_cmyk_jpeg_loads_its_colours(tmp_path, channels):
    colour = (200, 100, 50)
    path = _save(
        tmp_path / "cmyk.jpeg", Image.new("RGB", (16, 16), colour).convert("CMYK"), quality=95
    )
    assert Image.open(path).mode == "CMYK"
    expected = Image.new("RGB", (1, 1), colour).convert("RGB" if channels == 3 else "L")

    out = _load([path], channels=channels)

    assert out.shape == (1, 16, 16, channels)
    np.testing.assert_allclose(
        out[0].reshape(-1, channels),
        np.broadcast_to(np.asarray(expected).reshape(1, channels), (256, channels)),
        atol=3,
    )


# --------------------------------------------------------------------------
# Special files

# The transposition that ImageOps.exif_transpose undoes for each EXIF orientation.
_STORED_AS = {
    1: None,
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}


@pytest.mark.parametrize("orientation", sorted(_STORED_AS))
def test_exif_orientation_is_applied(tmp_path, orientation):
    # Upright: 128 high, 64 wide, top-left quadrant white, top-right grey, bottom
    # dark. Two adjacent corners tell all eight orientations apart.
    upright = np.full((128, 64), 30, dtype=np.uint8)
    upright[:64, :32] = 230
    upright[:64, 32:] = 130
    stored = Image.fromarray(upright)
    if _STORED_AS[orientation] is not None:
        stored = stored.transpose(_STORED_AS[orientation])
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = _save(tmp_path / "rotated.jpeg", stored, exif=exif.tobytes(), quality=95)

    # a quarter of the size: JPEG draft mode decodes at a reduced scale
    squashed = _load([path], image_size=(32, 16))[0, :, :, 0].astype(float)
    quadrants = [
        squashed[:16, :8].mean(),
        squashed[:16, 8:].mean(),
        squashed[16:, :8].mean(),
        squashed[16:, 8:].mean(),
    ]
    np.testing.assert_allclose(quadrants, [230, 130, 30, 30], atol=12)

    # kept aspect ratio: an upright image is taller than wide, so pad fills the
    # left and right sides with black, not the top and bottom
    padded = _load([path], image_size=32, resize="pad")[0, :, :, 0]
    assert padded[:, :6].max() == 0 and padded[:, -6:].max() == 0
    assert padded[:, 10:22].min() > 15


def test_decompression_bomb_is_rejected_by_max_pixels(tmp_path):
    path = tmp_path / "bomb.png"
    path.write_bytes(_png_header(10_000, 10_000))  # 10^8 pixels declared, ~10 kB on disk

    with pytest.raises(
        ImageLoadError,
        match=f"{_quoted(path)}: 10000x10000 = 100000000 pixels exceeds max_pixels=50000000",
    ):
        _load([path])  # the default limit
    with pytest.raises(ImageLoadError, match="exceeds max_pixels=1000000"):
        _load([path], max_pixels=1_000_000)


def test_max_pixels_is_set_by_the_user(tmp_path):
    path = _save(tmp_path / "small.png", Image.fromarray(_noise((16, 16))))
    with pytest.raises(ImageLoadError, match=f"{_quoted(path)}: 16x16 = 256 pixels exceeds"):
        _load([path], max_pixels=255)
    assert _load([path], max_pixels=256).shape == (1, 16, 16, 1)


@pytest.mark.parametrize("max_pixels", [50_000_000, None])
def test_pillow_limit_beyond_max_pixels_is_explained(tmp_path, max_pixels):
    path = tmp_path / "bomb.png"
    path.write_bytes(_png_header(100_000, 100_000))  # beyond Pillow's own limit
    with pytest.raises(
        ImageLoadError,
        match=f"{_quoted(path)}: .*decompression bomb.* PIL.Image.MAX_IMAGE_PIXELS.*"
        f"max_pixels={max_pixels}",
    ):
        _load([path], max_pixels=max_pixels)


@pytest.mark.parametrize("resize", ["squash", "crop", "pad"])
def test_folder_of_wildly_different_sizes(tmp_path, resize):
    sizes = [(1, 1), (1, 300), (300, 1), (2, 3), (1000, 37), (40, 400), (1500, 1200)]
    paths, values = [], []
    for i, (width, height) in enumerate(sizes):
        for suffix in ("png", "jpeg"):
            value = 60 + 20 * i
            image = Image.new("L", (width, height), value)
            paths.append(_save(tmp_path / f"{width}x{height}.{suffix}", image))
            values.append(value)

    out = _load(paths, image_size=(12, 20), resize=resize)

    assert out.shape == (len(paths), 12, 20, 1) and out.dtype == np.uint8
    for image, value in zip(out, values):
        if resize == "pad":  # the picture on black borders
            assert set(np.unique(image)) <= {0, value} and image.max() == value
        else:
            assert (image == value).all()


# --------------------------------------------------------------------------
# Bad arrays and labels


def _transform(X, y):
    return ImageLoader(image_size=8).fit_transform(X)


def _resample(X, y):
    return ZoomOverSampler(random_state=0).fit_resample(X, y)


def _fit(X, y):
    return skpneumo.PneumoniaClassifier(random_state=0, **TINY_NET).fit(X, y)


ALL_THREE = pytest.mark.parametrize(
    "call", [_transform, _resample, _fit], ids=["loader", "sampler", "classifier"]
)


@ALL_THREE
@pytest.mark.parametrize("bad_value", [np.nan, np.inf, -np.inf])
def test_non_finite_pixels_name_the_sample(images, call, bad_value):
    X, y = images
    X = X.astype(np.float32)
    X[3, 2, 5] = bad_value
    message = re.escape("NaN or infinite pixel values in sample(s) [3]")
    with pytest.raises(ValueError, match=message):
        call(X, y)


@pytest.mark.parametrize("call", [_resample, _fit], ids=["sampler", "classifier"])
def test_inconsistent_lengths(images, call):
    X, y = images
    with pytest.raises(ValueError, match=re.escape("inconsistent numbers of samples: [8, 7]")):
        call(X, y[:7])
    with pytest.raises(ValueError, match=re.escape("inconsistent numbers of samples: [7, 8]")):
        call(X[:7], y)


def test_sampler_one_class(images):
    X, _ = images
    with pytest.raises(ValueError, match="needs to have more than 1 class. Got 1 class"):
        _resample(X, np.ones(8, dtype=int))


@pytest.mark.parametrize("y", [np.ones(8, dtype=int), np.arange(8) % 3], ids=["1", "3"])
def test_classifier_needs_exactly_two_classes(images, y):
    X, _ = images
    n_classes = np.unique(y).size
    with pytest.raises(
        ValueError, match=rf"y must hold exactly two classes.*got {n_classes} class\(es\)"
    ):
        _fit(X, y)


def test_sampler_balances_three_classes(images):
    X, _ = images
    y = np.array([0, 1, 1, 2, 2, 2, 2, 2])
    X_res, y_res = _resample(X, y)
    assert np.bincount(y_res).tolist() == [5, 5, 5]
    assert X_res.shape == (15, 8, 8)


def test_sampler_takes_lists_and_one_hot_targets(images):
    # imbalanced-learn's check_samplers_list, _multiclass_ova and _2d_target,
    # which feed 2-D tabular X, on images
    X, _ = images
    y = np.array([0, 1, 1, 2, 2, 2, 2, 2])
    X_res, y_res = _resample(X, y)

    X_list, y_list = _resample(X.tolist(), y.tolist())
    assert isinstance(X_list, list) and isinstance(y_list, list)
    X_int, _ = _resample(X.astype(int), y)  # a list of ints becomes an int array
    np.testing.assert_array_equal(X_list, X_int)
    assert y_list == y_res.tolist()

    X_ova, y_ova = _resample(X, np.eye(3, dtype=int)[y])
    np.testing.assert_array_equal(X_ova, X_res)
    np.testing.assert_array_equal(y_ova, np.eye(3, dtype=int)[y_res])

    X_col, y_col = _resample(X, y[:, np.newaxis])
    np.testing.assert_array_equal(X_col, X_res)
    np.testing.assert_array_equal(y_col, y_res)


_TWO_D = re.escape(
    "X must be a batch of images of shape (n_samples, height, width) or "
    "(n_samples, height, width, channels), or image file paths passed through "
    "ImageLoader; got an array of shape (8, 64). Reshape your data: a 2-D array is "
    "not read as images"
)


@pytest.mark.parametrize(
    "call",
    [
        _resample,
        lambda X, y: ZoomOverSampler().fit(X, y),
        _fit,
        _transform,
    ],
    ids=["sampler-fit_resample", "sampler-fit", "classifier-fit", "loader"],
)
def test_flattened_images_are_rejected(images, call):
    """Non-regression test: a 2-D X was read as one 1-D signal per row.

    The sampler "zoomed" each row along its length and the classifier trained
    on images of height 1, silently, when a user passed flattened images.
    """
    X, y = images
    with pytest.raises(ValueError, match=_TWO_D):
        call(X.reshape(len(X), -1), y)


@pytest.mark.parametrize("method", ["predict", "predict_proba", "score"])
def test_classifier_rejects_flattened_images_in_prediction(images, method):
    X, y = images
    classifier = _fit(X, y)
    flat = X.reshape(len(X), -1)
    args = (flat, y) if method == "score" else (flat,)
    with pytest.raises(ValueError, match=_TWO_D):
        getattr(classifier, method)(*args)


@pytest.mark.parametrize(
    "call, X, message",
    [
        (_transform, np.zeros((0, 8, 8)), r"X holds no images \(shape \(0, 8, 8, 1\)\)"),
        (_transform, [], r"X holds no images \(an empty sequence was given\)"),
        (_transform, np.array([], dtype=str), r"X holds no images \(an empty array"),
        (_resample, np.zeros((0, 8, 8)), r"X holds no images"),
        (_fit, np.zeros((0, 8, 8)), r"X holds no images"),
    ],
    ids=["loader-array", "loader-list", "loader-paths", "sampler", "classifier"],
)
def test_empty_input(call, X, message):
    with pytest.raises(ValueError, match=message):
        call(X, np.zeros(0, dtype=int))


@ALL_THREE
@pytest.mark.parametrize("shape", [(8,), (8, 4, 4, 1, 1)], ids=["1d", "5d"])
def test_wrong_number_of_dimensions(images, call, shape):
    _, y = images
    with pytest.raises(
        ValueError,
        match=re.escape("must be a batch of images of shape (n_samples, height, width)")
        + ".*"
        + re.escape(f"got an array of shape {shape}"),
    ):
        call(np.zeros(shape), y)


@pytest.mark.parametrize(
    "X, message",
    [
        (np.stack([np.zeros((8, 8)), np.full((8, 8), 300.0)]), r"sample\(s\) \[1\] fall outside"),
        (np.stack([np.zeros((8, 8)), np.full((8, 8), -1.0)]), r"sample\(s\) \[1\] fall outside"),
        (np.zeros((2, 8, 8, 2), dtype=np.uint8), r"Cannot convert sample 0: .*got 2 channels"),
        (["a.png", np.zeros((8, 8))], r"sample 1 is array\(.*of type ndarray"),
    ],
    ids=["above-255", "negative", "two-channels", "paths-and-arrays"],
)
def test_loader_bad_arrays(X, message):
    with pytest.raises(ValueError, match=message):
        ImageLoader(image_size=8).fit_transform(X)


def test_loader_single_path_is_refused():
    with pytest.raises(ValueError, match="got the single path 'x.png'. Wrap it in a list"):
        ImageLoader().fit_transform("x.png")


# --------------------------------------------------------------------------
# Bad parameters: InvalidParameterError naming the parameter, raised by fit


@pytest.mark.parametrize(
    "params",
    [
        {"image_size": 0},
        {"image_size": -3},
        {"image_size": "224"},
        {"image_size": (16,)},
        {"image_size": (0, 16)},
        {"image_size": (16.0, 16)},
        {"image_size": True},
        {"resize": "stretch"},
        {"channels": 2},
        {"max_pixels": 0},
        {"n_jobs": "all"},
        {"memory": 3},
        {"verbose": -1},
    ],
    ids=repr,
)
def test_loader_invalid_parameter(params):
    (name,) = params
    loader = ImageLoader(**params)  # __init__ stores, fit validates
    with pytest.raises(InvalidParameterError, match=f"'{name}' parameter of ImageLoader"):
        loader.fit()


@pytest.mark.parametrize(
    "params",
    [
        {"zoom_range": (0.5, 1.2)},
        {"zoom_range": (1.3, 1.2)},
        {"zoom_range": (1.1,)},
        {"zoom_range": (1.0, 1.1, 1.2)},
        {"zoom_range": "1.2"},
        {"zoom_range": 1.2},
        {"zoom_range": (1.0, "1.2")},
        {"zoom_range": (1.0, np.inf)},
        {"zoom_range": (np.nan, 1.2)},
        {"zoom_range": (True, 1.2)},
        {"sampling_strategy": 2.0},
        {"sampling_strategy": "bogus"},
        {"random_state": "0"},
    ],
    ids=repr,
)
def test_sampler_invalid_parameter(images, params):
    (name,) = params
    sampler = ZoomOverSampler(**params)
    with pytest.raises(InvalidParameterError, match=f"'{name}' parameter of ZoomOverSampler"):
        sampler.fit_resample(*images)


@pytest.mark.parametrize(
    "params",
    [
        {"n_blocks": 0},
        {"filters": 0},
        {"dropout": 1.0},
        {"augmentation": -0.5},
        {"learning_rate": 0.0},
        {"weight_decay": -1e-4},
        {"lr_schedule": "step"},
        {"weight_averaging": "yes"},
        {"epochs": 0},
        {"batch_size": 0},
        {"class_weight": "balance"},
        {"early_stopping": 1},
        {"validation_fraction": 1.0},
        {"n_iter_no_change": 0},
        {"random_state": "0"},
        {"verbose": -1},
    ],
    ids=repr,
)
def test_classifier_invalid_parameter(images, params):
    (name,) = params
    classifier = skpneumo.PneumoniaClassifier(**params)
    with pytest.raises(
        InvalidParameterError, match=f"'{name}' parameter of PneumoniaClassifier"
    ):
        classifier.fit(*images)


def test_classifier_early_stopping_with_weight_averaging(images):
    classifier = skpneumo.PneumoniaClassifier(
        early_stopping=True, weight_averaging=True, **TINY_NET
    )
    with pytest.raises(
        ValueError,
        match="'early_stopping' and 'weight_averaging' parameters of "
        "PneumoniaClassifier cannot both be True",
    ):
        classifier.fit(*images)


# --------------------------------------------------------------------------
# load_chest_xray


def _make_tree(root, normal=("IM-0115-0001.jpeg",), pneumonia=("person1_virus_6.jpeg",)):
    """Write ``root/train/{NORMAL,PNEUMONIA}`` with tiny JPEG files of these names."""
    for class_name, names in (("NORMAL", normal), ("PNEUMONIA", pneumonia)):
        folder = root / "train" / class_name
        folder.mkdir(parents=True)
        for name in names:
            _save(folder / name, Image.new("L", (4, 4)), format="JPEG")
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
        "IM-0115", "IM-0117", "IM-0115", "person1234", "person1234", "person7"
    ]
    assert data.subtype.tolist() == ["normal"] * 3 + ["bacteria", "virus", "bacteria"]


def test_chest_xray_missing_root(tmp_path):
    with pytest.raises(FileNotFoundError, match=f"Data folder {_quoted(tmp_path / 'absent')}"):
        load_chest_xray(tmp_path / "absent")


def test_chest_xray_missing_split(tmp_path):
    root = _make_tree(tmp_path)
    with pytest.raises(
        FileNotFoundError,
        match=f"Split folder {_quoted(root / 'val')} does not exist .*\\['train'\\]",
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
        match=f"Class folder {_quoted(root / 'train' / missing)} does not exist "
        f".*'{missing.lower()}'",
    ):
        load_chest_xray(root)


@pytest.mark.parametrize("extra_file", [None, "notes.txt"])
def test_chest_xray_empty_class_folder(tmp_path, extra_file):
    root = _make_tree(tmp_path, pneumonia=())
    if extra_file:
        (root / "train" / "PNEUMONIA" / extra_file).write_text("not an image")
    folder = root / "train" / "PNEUMONIA"
    with pytest.raises(ValueError, match=f"Class folder {_quoted(folder)} holds no images"):
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
    assert [Path(p).name for p in data.paths] == ["IM-0115-0001.jpeg", "person1_virus_6.jpeg"]


def test_chest_xray_warns_about_names_without_patient(tmp_path):
    root = _make_tree(tmp_path, pneumonia=["person3_virus_1.jpeg", "scan.jpeg"])
    with pytest.warns(UserWarning, match=r"1 file name\(s\) name no patient.*scan\.jpeg"):
        data = load_chest_xray(root)
    assert data.groups.tolist()[-1] == f"file:{root / 'train' / 'PNEUMONIA' / 'scan.jpeg'}"
    assert data.subtype.tolist()[-1] == "unknown"


@pytest.mark.parametrize(
    "params, name",
    [({"split": "validation"}, "split"), ({"split": "TRAIN"}, "split"), ({"root": None}, "root")],
)
def test_chest_xray_invalid_parameter(tmp_path, params, name):
    params = {"root": _make_tree(tmp_path), **params}
    with pytest.raises(InvalidParameterError, match=f"'{name}' parameter of load_chest_xray"):
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


# --------------------------------------------------------------------------
# Reproducibility


def _global_random_state():
    return random.getstate(), pickle.dumps(np.random.get_state())


def test_sampler_same_random_state_same_output():
    X = _noise((10, 12, 12, 1))
    y = np.array([0] * 3 + [1] * 7)

    def resample(random_state):
        sampler = ZoomOverSampler(random_state=random_state)
        X_res, y_res = sampler.fit_resample(X, y)
        return X_res, y_res, sampler.sample_indices_, sampler.zoom_factors_

    first, again = resample(0), resample(0)
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(first, resample(np.random.RandomState(0))):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[3], resample(1)[3])


def _skip_unless_tensorflow():
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "tensorflow":
        pytest.skip("bit-for-bit reproducibility is promised for the TensorFlow backend")


def test_classifier_same_random_state_same_probabilities():
    _skip_unless_tensorflow()
    X = _noise((12, 16, 16, 1))
    y = np.array(["NORMAL", "PNEUMONIA"] * 6)

    def probabilities():
        classifier = skpneumo.PneumoniaClassifier(
            n_blocks=1, filters=4, epochs=2, random_state=0
        )
        return classifier.fit(X, y).predict_proba(X)

    np.testing.assert_array_equal(probabilities(), probabilities())


def test_library_calls_leave_global_generators_alone(tmp_path):
    paths = [
        _save(tmp_path / f"{i}.png", Image.fromarray(_noise((20, 20), seed=i))) for i in range(4)
    ]
    X = _noise((8, 16, 16, 1))
    y = np.array([0, 0, 1, 1, 1, 1, 1, 1])
    before = _global_random_state()

    ImageLoader(image_size=16).fit_transform([str(p) for p in paths])
    assert _global_random_state() == before, "ImageLoader.transform"
    ZoomOverSampler(random_state=0).fit_resample(X, y)
    assert _global_random_state() == before, "ZoomOverSampler.fit_resample"
    classifier = skpneumo.PneumoniaClassifier(random_state=0, **TINY_NET).fit(X, y)
    assert _global_random_state() == before, "PneumoniaClassifier.fit"
    classifier.predict_proba(X)
    assert _global_random_state() == before, "PneumoniaClassifier.predict_proba"
