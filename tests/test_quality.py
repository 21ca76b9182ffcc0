"""The input-quality check (skpneumo/_quality.py): check_xray_quality, and
ImageLoader's ``quality`` parameter.

Every case is a generated image written to ``tmp_path``: a picture with the
layout of a frontal chest X-ray passes, and each kind of image that cannot be
one is flagged, with its reason.
"""

import pickle
import warnings

import numpy as np
import pytest
from _helpers import quoted, synthetic_frontal_xray
from PIL import Image
from sklearn.utils._param_validation import InvalidParameterError

from skpneumo import (
    ImageLoader,
    ImageQualityError,
    ImageQualityWarning,
    check_xray_quality,
)


def _xray():
    return synthetic_frontal_xray(np.random.default_rng(0))


def _bad_images():
    """Each kind of image that cannot be a frontal chest X-ray, and its reason."""
    xray = _xray()
    rng = np.random.default_rng(1)
    return {
        "1x1": (np.full((1, 1), 128, np.uint8), "tiny image (1x1 px"),
        "black": (np.zeros((256, 224), np.uint8), "no contrast"),
        "white": (np.full((256, 224), 255, np.uint8), "too few grey levels (1)"),
        "grey": (np.full((256, 224), 128, np.uint8), "no contrast"),
        "colour noise": (
            rng.integers(0, 256, (256, 224, 3), dtype=np.uint8),
            "colour content",
        ),
        "tinted": (
            np.stack([xray, xray // 2, xray // 4], axis=2),
            "colour content",
        ),
        "inverted": (255 - xray, "inverted grey scale"),
        "rotated clockwise": (np.rot90(xray, -1), "rotated or not a frontal view"),
        "rotated counter-clockwise": (np.rot90(xray), "rotated or not a frontal view"),
        "4 grey levels": (xray // 64 * 85, "too few grey levels (4)"),
        "low contrast": (
            (120 + xray.astype(float) * 20 / 255).astype(np.uint8),
            "no contrast",
        ),
        "thumbnail": (
            np.asarray(Image.fromarray(xray).resize((40, 48))),
            "tiny image (40x48 px",
        ),
        "strip": (
            np.tile(xray[100:170], (1, 3)),
            "implausible aspect ratio (672x70 px",
        ),
    }


def _save(folder, name, array):
    path = folder / f"{name.replace(' ', '_')}.png"
    Image.fromarray(array).save(path)
    return path


def test_a_frontal_layout_passes(tmp_path):
    path = _save(tmp_path, "xray", _xray())
    table = check_xray_quality([path])
    assert table.flagged.tolist() == [False]
    assert table.reasons.tolist() == [""]
    assert (table.width[0], table.height[0]) == (224, 256)
    assert table.orientation[0] > 0 and table.border[0] < 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ImageLoader(image_size=16).fit_transform([path])


@pytest.mark.parametrize("kind", list(_bad_images()))
def test_each_kind_of_bad_image_is_flagged(tmp_path, kind):
    """Non-regression test: blank, colour, inverted and rotated images
    got confident probabilities and no signal at all.
    """
    array, reason = _bad_images()[kind]
    path = _save(tmp_path, kind, array)
    table = check_xray_quality([path])
    assert table.flagged.tolist() == [True]
    assert reason in table.reasons[0]
    # an array gives the same flags as its file
    channels = array if array.ndim == 3 else array[:, :, None]
    assert check_xray_quality(channels[None]).reasons[0] == table.reasons[0]


def test_a_colour_jpeg_is_measured_in_colour(tmp_path):
    """The loader decodes a JPEG straight to grey; the check needs its colour."""
    array, _ = _bad_images()["tinted"]
    path = tmp_path / "tinted.jpeg"
    Image.fromarray(array).save(path, quality=95)
    assert "colour content" in check_xray_quality([path]).reasons[0]
    grey = tmp_path / "grey.jpeg"
    Image.fromarray(_xray()).convert("RGB").save(grey, quality=95)
    assert check_xray_quality([grey]).flagged.tolist() == [False]


def test_the_size_is_the_one_decoded_not_the_output(tmp_path):
    """A tiny file is flagged although the loader enlarges it."""
    array, _ = _bad_images()["thumbnail"]
    path = _save(tmp_path, "thumbnail", array)
    with pytest.warns(ImageQualityWarning, match=r"tiny image \(40x48 px"):
        ImageLoader(image_size=224).fit_transform([path])


def test_exif_rotation_is_applied_before_the_check(tmp_path):
    """A film photographed sideways but marked so by EXIF is upright: no flag."""
    path = tmp_path / "sideways.jpeg"
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 clockwise to display
    Image.fromarray(np.rot90(_xray())).save(path, exif=exif, quality=95)
    table = check_xray_quality([path])
    assert table.flagged.tolist() == [False]
    assert (table.width[0], table.height[0]) == (224, 256)


def test_loader_warns_naming_each_file_and_still_loads(tmp_path):
    good = _save(tmp_path, "good", _xray())
    black = _save(tmp_path, "black", np.zeros((256, 224), np.uint8))
    inverted = _save(tmp_path, "inverted", 255 - _xray())
    paths = [good, black, inverted]
    with pytest.warns(ImageQualityWarning, match="2 of 3 image") as record:
        out = ImageLoader(image_size=16).fit_transform(paths)
    assert len(record) == 1  # one warning per call, not one per image
    message = str(record[0].message)
    assert f"{black} (too few grey levels" in message
    assert f"{inverted} (inverted grey scale" in message
    assert str(good) not in message
    assert issubclass(ImageQualityWarning, UserWarning)
    # nothing is dropped: the same images as without the check
    ignored = ImageLoader(image_size=16, quality="ignore").fit_transform(paths)
    np.testing.assert_array_equal(out, ignored)


def test_loader_raise_refuses_and_lists_every_flagged_file(tmp_path):
    paths = [
        _save(tmp_path, name, array)
        for name, (array, _) in _bad_images().items()
        if name in ("grey", "inverted")
    ]
    with pytest.raises(ImageQualityError, match="quality='raise' refuses") as info:
        ImageLoader(image_size=16, quality="raise").fit_transform(paths)
    assert all(str(p) in str(info.value) for p in paths)
    assert isinstance(info.value, ValueError)


def test_loader_ignore_skips_the_check(tmp_path):
    path = _save(tmp_path, "black", np.zeros((256, 224), np.uint8))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ImageLoader(image_size=16, quality="ignore").fit_transform([path])


def test_loader_does_not_check_arrays():
    """Arrays are crops, augmented copies or test data: only files are checked
    by the loader (check_xray_quality takes arrays).
    """
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ImageLoader(image_size=16).fit_transform(np.zeros((2, 20, 20), np.uint8))


def test_loader_quality_is_validated():
    with pytest.raises(
        InvalidParameterError, match="'quality' parameter of ImageLoader"
    ):
        ImageLoader(quality="strict").fit()


def test_quality_parameter_survives_clone_and_pickle():
    from sklearn.base import clone

    loader = ImageLoader(quality="raise")
    assert clone(loader).get_params()["quality"] == "raise"
    assert pickle.loads(pickle.dumps(loader)).quality == "raise"


def test_table_has_one_row_per_image_in_order(tmp_path):
    bad = _bad_images()
    names = ["grey", "1x1", "inverted"]
    paths = [_save(tmp_path, "xray", _xray())] + [
        _save(tmp_path, n, bad[n][0]) for n in names
    ]
    table = check_xray_quality(paths)
    assert table.flagged.tolist() == [False, True, True, True]
    for name, reason in zip(names, table.reasons[1:], strict=True):
        assert bad[name][1] in reason
    for column in ("width", "height", "colour", "grey_levels", "contrast"):
        assert table[column].shape == (4,)
    assert table.width.tolist() == [224, 224, 1, 224]


def test_check_names_a_file_that_cannot_be_decoded(tmp_path):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a png")
    with pytest.raises(ValueError, match=quoted(broken)):
        check_xray_quality([broken])


def test_real_validation_images_pass(shared_data):
    table = check_xray_quality(
        sorted((shared_data / "chest_xray" / "val").rglob("*.jpeg"))
    )
    assert table.flagged.sum() == 0
    assert table.flagged.size == 16
