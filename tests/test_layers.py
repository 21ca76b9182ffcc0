"""The augmentation and standardisation layers of skpneumo/_layers.py and build_cnn."""

import keras
import numpy as np
import pytest
from _helpers import routed

from skpneumo import PneumoniaClassifier, build_cnn, load_model, save_model
from skpneumo._layers import (
    RandomAffine,
    RandomBlur,
    RandomBorder,
    RandomGamma,
    Smoothing,
    Standardization,
)

AUGMENTATION_LAYERS = ["view", "brightness", "contrast", "gamma"]
# every invariance option on (explicitly, whatever the defaults), a tiny network
AUGMENTED = dict(
    augmentation=1.0,
    intensity_augmentation=1.0,
    border_augmentation=1.0,
    blur_augmentation=1.0,
    standardize=True,
    n_blocks=1,
    filters=4,
)


@pytest.fixture
def images():
    """Eight 32x32 images on the 0-1 scale with structure (a gradient and a disc)."""
    rng = np.random.RandomState(0)
    yy, xx = np.mgrid[:32, :32] / 31.0
    disc = ((yy - 0.4) ** 2 + (xx - 0.6) ** 2 < 0.05).astype(float)
    base = 0.2 + 0.4 * xx + 0.3 * disc
    batch = base + rng.uniform(-0.05, 0.05, size=(8, 32, 32))
    return np.clip(batch, 0, 1).astype("float32")[..., np.newaxis]


@pytest.fixture
def augmented_network():
    return build_cnn((32, 32, 1), **AUGMENTED, seed=0)


@pytest.mark.parametrize("name", AUGMENTATION_LAYERS)
def test_each_augmentation_changes_images_in_training_only(
    augmented_network, images, name
):
    layer = augmented_network.get_layer(name)
    trained = keras.ops.convert_to_numpy(layer(images, training=True))
    assert trained.shape == images.shape
    # most images move by more than rounding in training ...
    moved = np.abs(trained - images).max(axis=(1, 2, 3)) > 1e-3
    assert moved.sum() >= 6, f"{name} left {8 - moved.sum()} of 8 images unchanged"
    # ... and none does outside it (in a model's predict, training is False)
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(layer(images, training=False)), images
    )


def test_geometric_augmentation_changes_the_aspect_ratio(augmented_network):
    """Height and width zoom independently: a square becomes rectangles."""
    square = np.zeros((64, 48, 48, 1), dtype="float32")
    square[:, 16:32, 16:32] = 1.0
    zoomed = keras.ops.convert_to_numpy(
        augmented_network.get_layer("view")(square, training=True)
    )[..., 0]
    rows = (zoomed[:, :, 24] > 0.5).sum(axis=1)  # the square's height, centre column
    cols = (zoomed[:, 24, :] > 0.5).sum(axis=1)  # its width, centre row
    aspect = rows / np.maximum(cols, 1)
    assert aspect.min() < 0.85 and aspect.max() > 1.15, aspect


def _square(n_images, size, side):
    """``n_images`` black images with a white centred square of ``side`` pixels."""
    images = np.zeros((n_images, size, size, 1), dtype="float32")
    start = (size - side) // 2
    images[:, start : start + side, start : start + side] = 1.0
    return images


def _extent(images, axis):
    """Height (axis 1) or width (axis 2) of the white area through the centre."""
    centre = images.shape[1] // 2
    line = images[:, :, centre, 0] if axis == 1 else images[:, centre, :, 0]
    return (line > 0.5).sum(axis=1)


def test_random_affine_without_changes_is_the_identity(images):
    out = RandomAffine(seed=0)(images, training=True)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(out), images, atol=1e-6)


def test_random_affine_draws_the_zoom_range_of_random_zoom():
    """Height and width change independently, each by a factor in [0.7, 1.3]."""
    square = _square(400, 64, 24)
    out = keras.ops.convert_to_numpy(
        RandomAffine(zoom=0.3, seed=0)(square, training=True)
    )
    heights, widths = _extent(out, 1), _extent(out, 2)
    # a field of view 1.3 times as high shows the square 24 / 1.3 = 18.5 high
    for extent in (heights, widths):
        assert extent.min() >= 24 / 1.3 - 1.5 and extent.max() <= 24 / 0.7 + 1.5
        assert extent.min() < 20 and extent.max() > 32
    assert abs(np.corrcoef(heights, widths)[0, 1]) < 0.2


def test_random_affine_scale_zooms_in_about_the_centre():
    square = _square(50, 64, 16)
    out = keras.ops.convert_to_numpy(
        RandomAffine(scale=(0.5, 0.8), seed=0)(square, training=True)
    )
    heights, widths = _extent(out, 1), _extent(out, 2)
    # one factor for both axes: the square stays square, and grows
    assert np.abs(heights - widths).max() <= 1
    assert heights.min() >= 16 / 0.8 - 1.5 and heights.max() <= 16 / 0.5 + 1.5
    assert heights.max() - heights.min() >= 6
    # about the centre: the centre pixel stays inside the square
    assert (out[:, 32, 32, 0] > 0.5).all()


def test_crop_augmentation_zooms_in_without_the_other_warps():
    layer = build_cnn(
        (64, 64, 1),
        augmentation=0.0,
        crop_augmentation=1.0,
        n_blocks=1,
        filters=4,
        seed=0,
    ).get_layer("view")
    square = _square(100, 64, 16)
    out = keras.ops.convert_to_numpy(layer(square, training=True))
    heights, widths = _extent(out, 1), _extent(out, 2)
    # a field of view 0.75 to 1 times as large: the square grows up to 16 / 0.75,
    # keeps its aspect and never shrinks
    assert np.abs(heights - widths).max() <= 1
    assert heights.min() >= 15 and heights.max() <= 16 / 0.75 + 1.5
    assert heights.max() >= 19
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(layer(square, training=False)), square
    )


def test_random_affine_shifts_and_rotates_within_its_bounds():
    square = _square(200, 64, 16)
    shifted = keras.ops.convert_to_numpy(
        RandomAffine(shift=0.1, seed=0)(square, training=True)
    )[..., 0]
    centres = np.array([np.argwhere(image > 0.5).mean(axis=0) for image in shifted])
    moves = centres - 31.5
    assert np.abs(moves).max() <= 0.1 * 64 + 1 and np.abs(moves).max() > 3
    bar = np.zeros((200, 64, 64, 1), dtype="float32")
    bar[:, 31:33, 8:56] = 1.0  # a horizontal bar through the centre
    turned = keras.ops.convert_to_numpy(
        RandomAffine(rotation=0.05, seed=0)(bar, training=True)
    )[..., 0]
    # the bar's end rises or falls by 24 * tan(angle), angle up to 18 degrees
    rises = np.array(
        [np.argwhere(image[:, 50:54] > 0.5)[:, 0].mean() - 31.5 for image in turned]
    )
    assert np.abs(rises).max() <= 24 * np.tan(2 * np.pi * 0.05) + 1.5
    assert np.abs(rises).max() > 4 and (rises > 1).any() and (rises < -1).any()


@pytest.mark.parametrize(
    "kwargs, message",
    [(dict(zoom=1.0), "zoom must"), (dict(scale=(0.9, 0.8)), "scale must")],
)
def test_random_affine_rejects_bad_ranges(kwargs, message):
    with pytest.raises(ValueError, match=message):
        RandomAffine(**kwargs)


def test_pool_first_computes_the_same_network_in_predict(images):
    """Max pooling commutes with batch normalisation (positive scale) and ReLU."""
    after = build_cnn((32, 32, 1), n_blocks=3, filters=4, pool_first=False, seed=0)
    first = build_cnn((32, 32, 1), n_blocks=3, filters=4, pool_first=True, seed=0)
    rng = np.random.RandomState(0)
    weights = [w + rng.uniform(0.1, 0.5, w.shape) for w in after.get_weights()]
    after.set_weights(weights)  # positive scales and non-trivial statistics
    first.set_weights(weights)
    np.testing.assert_allclose(
        first.predict(images, verbose=0), after.predict(images, verbose=0), rtol=1e-4
    )
    # ... with normalisation and ReLU on a quarter of the pixels
    assert first.get_layer("block0_bn").output.shape[1:3] == (16, 16)
    assert after.get_layer("block0_bn").output.shape[1:3] == (32, 32)


def test_augmented_classifier_predicts_deterministically(image_batch):
    X, y = image_batch
    clf = PneumoniaClassifier(
        **AUGMENTED, epochs=1, random_state=0, test_time_views=(1.0,)
    ).fit(X, y)
    first = clf.predict_proba(X)
    np.testing.assert_array_equal(clf.predict_proba(X), first)
    # the same weights in a network without the augmentation layers agree on
    # the images as given (one field of view): the augmentation layers are
    # the identity in predict
    plain = build_cnn(
        X.shape[1:],
        n_blocks=1,
        filters=4,
        augmentation=0.0,
        intensity_augmentation=0.0,
        blur_augmentation=0.0,
        smoothing=clf.smoothing,
        seed=0,
    )
    assert not {"view", "brightness", "blur", "border"} & {
        layer.name for layer in plain.layers
    }
    plain.set_weights(clf.model_.get_weights())
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(plain.predict(X, verbose=0))[:, 0],
        first[:, 1],
        rtol=1e-5,
        atol=1e-6,
    )


def test_random_gamma_keeps_black_and_white(images):
    layer = RandomGamma(0.5, seed=0)
    extremes = np.zeros((4, 8, 8, 1), dtype="float32")
    extremes[:, :4] = 1.0
    out = keras.ops.convert_to_numpy(layer(extremes, training=True))
    np.testing.assert_allclose(out, extremes, atol=1e-6)
    mid = keras.ops.convert_to_numpy(
        layer(np.full((64, 2, 2, 1), 0.5, "float32"), training=True)
    )
    # gammas from 1/1.5 to 1.5 map 0.5 into [0.5**1.5, 0.5**(1/1.5)]
    assert mid.min() >= 0.5**1.5 - 1e-6 and mid.max() <= 0.5 ** (1 / 1.5) + 1e-6
    assert mid.max() - mid.min() > 0.1


def test_random_border_blacks_out_a_frame_of_some_images_in_training_only():
    layer = build_cnn(
        (40, 50, 1), border_augmentation=1.0, n_blocks=1, filters=4, seed=0
    ).get_layer("border")
    white = np.ones((200, 40, 50, 1), dtype="float32")
    out = keras.ops.convert_to_numpy(layer(white, training=True))[..., 0]
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(layer(white, training=False)), white
    )
    framed = (out == 0).any(axis=(1, 2))
    # about half the images get a border (rate 0.5), the others pass unchanged
    assert 0.35 < framed.mean() < 0.65, framed.mean()
    np.testing.assert_array_equal(out[~framed], 1.0)
    for image in out[framed]:
        rows, cols = np.nonzero(image)
        top, bottom = rows.min(), 39 - rows.max()
        left, right = cols.min(), 49 - cols.max()
        # black outside one rectangle, untouched inside it ...
        inside = image[top : 40 - bottom, left : 50 - right]
        np.testing.assert_array_equal(inside, 1.0)
        assert (image == 0).sum() == image.size - inside.size
        # ... whose margins are at most 15% of the height or width
        assert max(top, bottom) <= 0.15 * 40 + 1 and max(left, right) <= 0.15 * 50 + 1
    # the four margins are drawn independently
    tops = [np.nonzero(image)[0].min() for image in out[framed]]
    lefts = [np.nonzero(image)[1].min() for image in out[framed]]
    assert len(set(tops)) > 3 and len(set(lefts)) > 3


def test_random_border_is_off_at_zero():
    white = np.ones((4, 8, 8, 1), dtype="float32")
    for layer in (RandomBorder(0.0, seed=0), RandomBorder(0.3, rate=0.0, seed=0)):
        np.testing.assert_array_equal(
            keras.ops.convert_to_numpy(layer(white, training=True)), white
        )
    assert "border" not in [
        layer.name for layer in build_cnn((8, 8, 1), n_blocks=1, filters=4).layers
    ]


def test_random_blur_blurs_some_images_by_up_to_sigma_in_training_only():
    layer = build_cnn(
        (33, 33, 1), blur_augmentation=1.0, n_blocks=1, filters=4, seed=0
    ).get_layer("blur")
    dots = np.zeros((200, 33, 33, 1), dtype="float32")
    dots[:, 16, 16] = 1.0
    out = keras.ops.convert_to_numpy(layer(dots, training=True))[..., 0]
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(layer(dots, training=False)), dots
    )
    blurred = np.abs(out - dots[..., 0]).max(axis=(1, 2)) > 1e-6
    # about half the images are blurred (rate 0.5), the others pass unchanged
    assert 0.35 < blurred.mean() < 0.65, blurred.mean()
    np.testing.assert_array_equal(out[~blurred], dots[~blurred, ..., 0])
    # a blur keeps the dot's total and spreads it by at most 1.5 pixels
    np.testing.assert_allclose(out.sum(axis=(1, 2)), 1.0, rtol=1e-4)
    offsets = np.arange(33) - 16
    spread = np.sqrt((out[blurred].sum(axis=1) * offsets**2).sum(axis=1))
    assert spread.max() <= 1.5 + 1e-3 and spread.min() < 0.5
    assert spread.max() - spread.min() > 0.8  # by random amounts
    flat = np.full((8, 12, 12, 1), 0.4, dtype="float32")  # nothing to blur
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(
            RandomBlur(1.5, rate=1.0, seed=0)(flat, training=True)
        ),
        flat,
        rtol=1e-5,
    )


@pytest.mark.parametrize("shape", [(1, 1), (2, 3), (5, 4)])
def test_random_blur_works_on_images_smaller_than_its_kernel(shape):
    """Reflection needs fewer taps than pixels: the kernel is cut to fit."""
    rng = np.random.RandomState(0)
    images = rng.uniform(size=(6, *shape, 2)).astype("float32")
    out = keras.ops.convert_to_numpy(
        RandomBlur(1.5, rate=1.0, seed=0)(images, training=True)
    )
    assert out.shape == images.shape and np.isfinite(out).all()
    # a blur is a weighted mean of each channel's pixels
    assert (out.min(axis=(1, 2)) >= images.min(axis=(1, 2)) - 1e-6).all()
    assert (out.max(axis=(1, 2)) <= images.max(axis=(1, 2)) + 1e-6).all()


def test_random_blur_is_off_at_zero(images):
    for layer in (RandomBlur(0.0, seed=0), RandomBlur(1.5, rate=0.0, seed=0)):
        np.testing.assert_array_equal(
            keras.ops.convert_to_numpy(layer(images, training=True)), images
        )
    assert "blur" not in [
        layer.name
        for layer in build_cnn(
            (8, 8, 1), n_blocks=1, filters=4, blur_augmentation=0.0
        ).layers
    ]


def test_standardization_removes_linear_exposure_changes(images):
    layer = Standardization()
    reference = keras.ops.convert_to_numpy(layer(images))
    np.testing.assert_allclose(reference.mean(axis=(1, 2, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(reference.std(axis=(1, 2, 3)), 1, rtol=1e-4)
    exposed = 0.6 * images + 0.25  # another exposure and contrast
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(layer(exposed)), reference, atol=1e-4
    )
    flat = keras.ops.convert_to_numpy(layer(np.full((2, 4, 4, 1), 0.3, "float32")))
    np.testing.assert_array_equal(flat, 0)


@pytest.mark.parametrize("size", [31, 32])
def test_strided_stem_keeps_the_feature_map_size(size):
    def feature_shape(stem_stride):
        model = build_cnn(
            (size, size, 1), n_blocks=2, filters=4, stem_stride=stem_stride
        )
        return model.get_layer("block1_pool").output.shape

    assert feature_shape(2) == feature_shape(1)


def test_augmented_model_saves_and_loads(tmp_path, image_batch):
    """The custom layers are registered: a saved model loads under safe_mode."""
    from skpneumo import make_pneumonia_pipeline

    X, y = image_batch
    pipe = make_pneumonia_pipeline(
        **routed(dict(AUGMENTED, epochs=1, stem_stride=2)),
        image_size=16,
        random_state=0,
    ).fit(X, y)
    save_model(pipe, tmp_path / "model")
    loaded = load_model(tmp_path / "model")
    np.testing.assert_array_equal(loaded.predict_proba(X), pipe.predict_proba(X))
    params = loaded.named_steps["classifier"].get_params()
    assert params["intensity_augmentation"] == 1.0
    assert params["border_augmentation"] == 1.0
    assert params["blur_augmentation"] == 1.0


def test_smoothing_removes_detail_finer_than_sigma_in_predict_too(images):
    """Non-regression test for answers that depend on how a file was decoded.

    Two decodings of one file (JPEG draft or full, another resize filter)
    differ in detail a pixel wide; after the network's fixed smoothing, a
    checkerboard of one grey level keeps under a tenth of its amplitude,
    while the picture's own structure (a gradient and a disc) is kept.
    """
    yy, xx = np.mgrid[:32, :32]
    checker = np.where((yy + xx) % 2 == 0, 1.0, -1.0).astype("float32") / 255.0
    noisy = images + checker[np.newaxis, :, :, np.newaxis]
    layer = Smoothing(0.8)
    difference = keras.ops.convert_to_numpy(layer(noisy) - layer(images))
    assert np.abs(difference).max() < 0.1 / 255.0
    kept = keras.ops.convert_to_numpy(layer(images))
    assert np.corrcoef(kept.ravel(), images.ravel())[0, 1] > 0.9
    # the same in training and in prediction, and off at zero
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(layer(images, training=True)), kept
    )
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(Smoothing(0.0)(images)), images
    )


def test_the_default_network_smooths_and_zero_leaves_the_layer_out(image_batch):
    X, y = image_batch
    clf = PneumoniaClassifier(n_blocks=1, filters=4, epochs=1, random_state=0)
    clf.fit(X, y)
    assert clf.model_.get_layer("smoothing").sigma == 0.8
    plain = PneumoniaClassifier(
        n_blocks=1, filters=4, epochs=1, random_state=0, smoothing=0.0
    ).fit(X, y)
    assert "smoothing" not in [layer.name for layer in plain.model_.layers]
