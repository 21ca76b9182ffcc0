"""ImageLoader (skpneumo/_loader.py) and the decoding of image files (_image.py).

Every bad file or array raises an exception whose type and message name the
offending file, sample or parameter. DICOM files are tested in test_dicom.py and
the decoding cache (``memory``) in test_cache.py.
"""

import pickle
import struct
import sys
import tempfile
import zlib
from pathlib import Path

import numpy as np
import pytest
from _helpers import HYPOTHESIS_SETTINGS, noise, quoted, save_image
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image
from sklearn.utils._param_validation import InvalidParameterError

from skpneumo import ImageLoader, ImageLoadError


def _load(paths, **params):
    return ImageLoader(**{"image_size": 16, **params}).fit_transform(
        [str(p) for p in paths]
    )


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


# --------------------------------------------------------------------------
# Files that must fail, naming the file


def _write_empty(path):
    path.write_bytes(b"")


def _write_truncated_jpeg(path):
    save_image(path, Image.fromarray(noise((64, 64))), format="JPEG")
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
    good = [
        save_image(tmp_path / f"{i}.png", Image.fromarray(noise((20, 20))))
        for i in range(3)
    ]
    bad = tmp_path / "bad.jpeg"
    write(bad)
    with pytest.raises(ImageLoadError, match=f"{quoted(bad)}: .*{reason}") as exc_info:
        _load([good[0], good[1], bad, good[2]], n_jobs=n_jobs)
    assert exc_info.value.path == str(bad)


@pytest.mark.parametrize("n_jobs", [None, 2])
def test_every_undecodable_file_is_named_at_once(tmp_path, n_jobs):
    """Non-regression test: a folder with several bad images stopped at
    the first one.
    """
    good = save_image(tmp_path / "good.png", Image.fromarray(noise((20, 20))))
    empty, text = tmp_path / "empty.jpeg", tmp_path / "text.png"
    _write_empty(empty)
    _write_text(text)
    # far apart, so that with _CHUNK files per chunk they fall in two chunks
    paths = [empty, *[good] * 40, text, good]
    with pytest.raises(ImageLoadError, match="Cannot load 2 images: ") as exc_info:
        _load(paths, n_jobs=n_jobs)
    error = exc_info.value
    message = str(error)
    assert f"{str(empty)!r}: the file is empty (0 bytes)" in message
    assert f"{str(text)!r}: cannot identify image file" in message
    assert [e.path for e in error.errors] == [str(empty), str(text)]
    assert error.path == str(empty)  # the first, as for one file


def test_load_errors_survive_pickling(tmp_path):
    """Process backends of joblib send the error back pickled."""
    one = ImageLoadError(tmp_path / "a.png", "broken")
    both = ImageLoadError.from_errors([one, ImageLoadError(tmp_path / "b.png", "bad")])
    for error in (one, both):
        again = pickle.loads(pickle.dumps(error))
        assert str(again) == str(error)
        assert [e.path for e in again.errors] == [e.path for e in error.errors]
    assert pickle.loads(pickle.dumps(one)).errors[0].reason == "broken"


def test_missing_file_is_named(tmp_path):
    good = save_image(tmp_path / "good.png", Image.fromarray(noise((20, 20))))
    missing = tmp_path / "missing.jpeg"
    with pytest.raises(FileNotFoundError, match=quoted(missing)) as exc_info:
        _load([good, missing])
    assert exc_info.value.filename == str(missing)


def test_directory_instead_of_file_is_named(tmp_path):
    folder = tmp_path / "NORMAL"
    folder.mkdir()
    with pytest.raises(IsADirectoryError, match=quoted(folder)):
        _load([folder])


# --------------------------------------------------------------------------
# Images that must load


def test_16bit_png_is_scaled_to_8_bits(tmp_path):
    values = np.random.RandomState(0).randint(0, 65536, size=(16, 16)).astype(np.uint16)
    values[0, :3] = [0, 257 * 128, 65535]
    path = save_image(tmp_path / "deep.png", Image.fromarray(values))
    assert Image.open(path).mode == "I;16"

    out = _load([path])

    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out[0, :, :, 0], np.rint(values / 257.0))
    assert out[0, 0, :3, 0].tolist() == [0, 128, 255]


@pytest.mark.parametrize("suffix", ["tiff", "png"])
def test_12bit_values_in_16bit_file_keep_their_grey_levels(tmp_path, suffix):
    """Non-regression test: 12-bit values stored in a 16-bit file were
    scaled by the full 16-bit range, which left them 16 grey levels.

    The rule: 16-bit values are scaled from the bit depth that holds their
    maximum, here 12 bits (0-4095).
    """
    values = np.linspace(0, 4095, 64 * 64).reshape(64, 64).astype(np.uint16)
    path = save_image(tmp_path / f"deep.{suffix}", Image.fromarray(values))
    assert Image.open(path).mode.startswith("I;16")

    out = ImageLoader(image_size=64).fit_transform([path])

    np.testing.assert_array_equal(
        out[0, :, :, 0], np.rint(values * (255 / 4095)).astype(np.uint8)
    )
    assert np.unique(out).size == 256


def test_16bit_values_within_8_bits_pass_unchanged(tmp_path):
    values = np.arange(256, dtype=np.uint16).reshape(16, 16)
    path = save_image(tmp_path / "low.png", Image.fromarray(values))
    np.testing.assert_array_equal(_load([path])[0, :, :, 0], values)


@pytest.mark.parametrize("channels", [1, 3])
def test_palette_png_loads_its_colours(tmp_path, channels):
    rgb = Image.fromarray(noise((16, 16, 3)))
    path = save_image(tmp_path / "palette.png", rgb.convert("P"))
    image = Image.open(path)
    assert image.mode == "P"
    expected = image.convert("RGB" if channels == 3 else "L")

    out = _load([path], channels=channels)

    np.testing.assert_array_equal(
        out[0], np.asarray(expected).reshape(16, 16, channels)
    )


@pytest.mark.parametrize("channels", [1, 3])
def test_rgba_png_drops_alpha(tmp_path, channels):
    rgb = noise((16, 16, 3))
    alpha = noise((16, 16, 1), seed=1)
    path = save_image(
        tmp_path / "rgba.png", Image.fromarray(np.concatenate([rgb, alpha], axis=2))
    )
    assert Image.open(path).mode == "RGBA"
    expected = Image.fromarray(rgb).convert("RGB" if channels == 3 else "L")

    out = _load([path], channels=channels)

    np.testing.assert_array_equal(
        out[0], np.asarray(expected).reshape(16, 16, channels)
    )


@pytest.mark.parametrize("channels", [1, 3])
def test_cmyk_jpeg_loads_its_colours(tmp_path, channels):
    colour = (200, 100, 50)
    path = save_image(
        tmp_path / "cmyk.jpeg",
        Image.new("RGB", (16, 16), colour).convert("CMYK"),
        quality=95,
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
    path = save_image(
        tmp_path / "rotated.jpeg", stored, exif=exif.tobytes(), quality=95
    )

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
    # 10^8 pixels declared, ~10 kB on disk
    path.write_bytes(_png_header(10_000, 10_000))

    message = "10000x10000 = 100000000 pixels exceeds max_pixels=50000000"
    with pytest.raises(ImageLoadError, match=f"{quoted(path)}: {message}"):
        _load([path])  # the default limit
    with pytest.raises(ImageLoadError, match="exceeds max_pixels=1000000"):
        _load([path], max_pixels=1_000_000)


def test_max_pixels_is_set_by_the_user(tmp_path):
    path = save_image(tmp_path / "small.png", Image.fromarray(noise((16, 16))))
    with pytest.raises(
        ImageLoadError, match=f"{quoted(path)}: 16x16 = 256 pixels exceeds"
    ):
        _load([path], max_pixels=255)
    assert _load([path], max_pixels=256).shape == (1, 16, 16, 1)


@pytest.mark.parametrize("max_pixels", [50_000_000, None])
def test_pillow_limit_beyond_max_pixels_is_explained(tmp_path, max_pixels):
    path = tmp_path / "bomb.png"
    path.write_bytes(_png_header(100_000, 100_000))  # beyond Pillow's own limit
    with pytest.raises(
        ImageLoadError,
        match=f"{quoted(path)}: .*decompression bomb.* PIL.Image.MAX_IMAGE_PIXELS.*"
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
            paths.append(save_image(tmp_path / f"{width}x{height}.{suffix}", image))
            values.append(value)

    out = _load(paths, image_size=(12, 20), resize=resize)

    assert out.shape == (len(paths), 12, 20, 1) and out.dtype == np.uint8
    for image, value in zip(out, values, strict=True):
        if resize == "pad":  # the picture on black borders
            assert set(np.unique(image)) <= {0, value} and image.max() == value
        else:
            assert (image == value).all()


# --------------------------------------------------------------------------
# Bad arrays and parameters (fit validates, as in scikit-learn)
# Input checks shared with the sampler and the classifier: test_validation.py


@pytest.mark.parametrize(
    "X, message",
    [
        (
            np.stack([np.zeros((8, 8)), np.full((8, 8), 300.0)]),
            r"sample\(s\) \[1\] fall outside",
        ),
        (
            np.stack([np.zeros((8, 8)), np.full((8, 8), -1.0)]),
            r"sample\(s\) \[1\] fall outside",
        ),
        (
            np.zeros((2, 8, 8, 2), dtype=np.uint8),
            r"Cannot convert sample 0: .*got 2 channels",
        ),
        (["a.png", np.zeros((8, 8))], r"sample 1 is array\(.*of type ndarray"),
    ],
    ids=["above-255", "negative", "two-channels", "paths-and-arrays"],
)
def test_loader_bad_arrays(X, message):
    with pytest.raises(ValueError, match=message):
        ImageLoader(image_size=8).fit_transform(X)


def test_loader_single_path_is_refused():
    with pytest.raises(
        ValueError, match=r"got the single path 'x\.png'\. Wrap it in a list"
    ):
        ImageLoader().fit_transform("x.png")


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
    with pytest.raises(
        InvalidParameterError, match=f"'{name}' parameter of ImageLoader"
    ):
        loader.fit()


# --------------------------------------------------------------------------
# Properties (hypothesis): any valid image of any mode and size comes out with
# the asked shape and dtype, and a flat image keeps its grey level (or colour).


def _flat_image(mode, size, rng):
    """A one-colour Pillow image of ``mode``, and that colour as 8-bit RGB."""
    if mode == "I;16":
        value = int(rng.randint(0, 65536))
        image = Image.fromarray(np.full(size[::-1], value, dtype=np.uint16))
        # scaled from the bit depth that holds the value (at least 8)
        grey = round(value * 255 / (2 ** max(8, value.bit_length()) - 1))
        return image, (grey, grey, grey)
    rgba = tuple(int(v) for v in rng.randint(0, 256, size=4))
    if mode == "L":
        return Image.new("L", size, rgba[0]), (rgba[0],) * 3
    if mode == "P":
        palette = rng.randint(0, 256, size=768).astype(np.uint8)
        image = Image.new("P", size, rgba[0])
        image.putpalette(palette.tobytes())
        return image, tuple(int(v) for v in palette[3 * rgba[0] : 3 * rgba[0] + 3])
    # RGB and RGBA: alpha is dropped, the stored colour is kept
    return Image.new(mode, size, rgba[: len(mode)]), rgba[:3]


@st.composite
def image_files(draw):
    mode = draw(st.sampled_from(["L", "RGB", "RGBA", "P", "I;16"]))
    suffix = draw(st.sampled_from(["png", "jpeg"] if mode in ("L", "RGB") else ["png"]))
    size = (draw(st.integers(1, 64)), draw(st.integers(1, 64)))  # (width, height)
    seed = draw(st.integers(0, 2**32 - 1))
    return mode, suffix, size, seed


@HYPOTHESIS_SETTINGS
@given(
    image=image_files(),
    image_size=st.tuples(st.integers(1, 24), st.integers(1, 24)),
    resize=st.sampled_from(["squash", "crop", "pad"]),
    channels=st.sampled_from([1, 3]),
)
def test_loader_output_shape_dtype_and_level(image, image_size, resize, channels):
    mode, suffix, size, seed = image
    pil, rgb = _flat_image(mode, size, np.random.RandomState(seed))
    if channels == 3:
        expected = np.array(rgb)
    else:
        expected = np.array(Image.new("RGB", (1, 1), rgb).convert("L")).reshape(1)
    # JPEG stores colour as subsampled YCbCr, and its draft mode reads the Y
    # plane directly as grey: a flat colour comes back within a few levels
    tolerance = 3 if suffix == "jpeg" else 0

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"image.{suffix}"
        pil.save(path)
        out = ImageLoader(
            image_size=image_size, resize=resize, channels=channels
        ).fit_transform([path])

    assert out.shape == (1, *image_size, channels)
    assert out.dtype == np.uint8
    pixels = out.reshape(-1, channels).astype(int)
    matches = (np.abs(pixels - expected) <= tolerance).all(axis=1)
    if resize == "pad":
        # the picture, centred on black borders (one side may round to nothing)
        assert matches.any()
        assert (matches | (pixels == 0).all(axis=1)).all()
    else:
        assert matches.all()


def test_progress_is_a_bar_on_a_terminal_and_lines_elsewhere(monkeypatch, capsys):
    # Non-regression test for the bar's carriage returns turning a log file or
    # a CI log into one very long line.
    from skpneumo._loader import _Progress

    progress = _Progress(1000)
    for done in range(32, 1000, 32):
        progress.update(done)
    progress.update(1000)
    progress.close()
    err = capsys.readouterr().err
    assert "\r" not in err
    lines = err.splitlines()
    assert 10 <= len(lines) <= 11, lines  # about one a tenth, and the end
    assert lines[-1] == "Loading images: 1000/1000 (100%)"

    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    progress = _Progress(64)
    progress.update(32)
    progress.update(64)
    progress.close()
    err = capsys.readouterr().err
    assert err.count("\r") == 2 and err.endswith("] 64/64\n")


def test_loader_verbose_reports_progress_once_per_tenth(tmp_path, capsys):
    paths = []
    for i in range(40):
        path = tmp_path / f"{i}.png"
        save_image(path, Image.fromarray(noise((8, 8), seed=i)))
        paths.append(path)
    ImageLoader(image_size=8, verbose=1).transform(paths)
    lines = capsys.readouterr().err.splitlines()
    assert lines == ["Loading images: 32/40 (80%)", "Loading images: 40/40 (100%)"]
