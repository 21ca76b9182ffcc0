"""Property-based tests of the image loader and the zoom sampler (hypothesis)."""

import tempfile
from collections import Counter
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from skpneumo import ImageLoader, ZoomOverSampler

SETTINGS = settings(max_examples=25, deadline=None)


# --------------------------------------------------------------------------
# ImageLoader: any valid image of any mode and size comes out with the asked
# shape and dtype, and a flat image keeps its grey level (or colour).


def _flat_image(mode, size, rng):
    """A one-colour Pillow image of ``mode``, and that colour as 8-bit RGB."""
    if mode == "I;16":
        value = int(rng.randint(0, 65536))
        image = Image.fromarray(np.full(size[::-1], value, dtype=np.uint16))
        grey = round(value / 257)
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


@SETTINGS
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
        out = ImageLoader(image_size=image_size, resize=resize, channels=channels).fit_transform(
            [path]
        )

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


# --------------------------------------------------------------------------
# ZoomOverSampler


@st.composite
def imbalanced_images(draw):
    """Images whose values identify their sample, labels, and a sampling strategy.

    Sample ``i`` holds values in ``[10 * i, 10 * i + 5]``: zooming interpolates
    between a sample's own pixels, so every generated image tells its source.
    """
    n_classes = draw(st.sampled_from([2, 3]))
    counts = draw(st.lists(st.integers(1, 8), min_size=n_classes, max_size=n_classes))
    names = draw(st.sampled_from([[0, 1, 2], ["NORMAL", "PNEUMONIA", "COVID"]]))
    y = np.repeat(np.array(names[:n_classes]), counts)
    y = y[np.random.RandomState(draw(st.integers(0, 1000))).permutation(y.size)]

    dtype = draw(st.sampled_from([np.uint8, np.uint16, np.int16, np.float32, np.float64]))
    shape = (
        y.size,
        draw(st.integers(1, 12)),
        draw(st.integers(1, 12)),
        *draw(st.sampled_from([(), (1,), (3,), (4,)])),
    )
    rng = np.random.RandomState(draw(st.integers(0, 1000)))
    offsets = 10 * np.arange(y.size).reshape(-1, *[1] * (len(shape) - 1))
    X = (offsets + rng.randint(0, 6, size=shape)).astype(dtype)

    n_min, n_max = min(counts), max(counts)
    # a float (binary only) must ask for at least one new image, or imbalanced-learn
    # refuses it
    float_ok = n_classes == 2 and n_min < n_max
    kind = draw(st.sampled_from(["auto", "float", "dict"] if float_ok else ["auto", "dict"]))
    if kind == "auto":
        strategy = "auto"
    elif kind == "float":  # the wanted minority / majority ratio
        low = (n_min + 1) / n_max
        strategy = low + (1 - low) * draw(st.floats(0, 1))
    else:
        strategy = {
            name: count + draw(st.integers(0, 6))
            for name, count in zip(names, counts)
            if draw(st.booleans())
        }
    low = draw(st.floats(1, 2))
    zoom_range = (low, low + draw(st.floats(0, 1)))
    return X, y, strategy, zoom_range


@SETTINGS
@given(data=imbalanced_images(), random_state=st.integers(0, 2**32 - 1))
def test_sampler_output_matches_sample_indices(data, random_state):
    X, y, strategy, zoom_range = data
    n = y.size
    sampler = ZoomOverSampler(
        sampling_strategy=strategy, zoom_range=zoom_range, random_state=random_state
    )
    X_res, y_res = sampler.fit_resample(X, y)
    indices = sampler.sample_indices_

    assert X_res.dtype == X.dtype and X_res.shape[1:] == X.shape[1:]
    assert X_res.shape[0] == y_res.shape[0] == indices.shape[0]
    # every original sample is still there, first and unchanged
    np.testing.assert_array_equal(X_res[:n], X)
    np.testing.assert_array_equal(y_res[:n], y)
    np.testing.assert_array_equal(indices[:n], np.arange(n))
    assert (sampler.zoom_factors_[:n] == 1).all()
    # every generated image comes from a source of its class, zoomed in range
    np.testing.assert_array_equal(y_res[n:], y[indices[n:]])
    zooms = sampler.zoom_factors_[n:]
    assert ((zooms >= zoom_range[0]) & (zooms <= zoom_range[1])).all()
    for image, source in zip(X_res[n:], indices[n:]):
        assert 10 * source <= image.min() and image.max() <= 10 * source + 5


@SETTINGS
@given(data=imbalanced_images())
def test_sampler_class_counts_follow_sampling_strategy(data):
    X, y, strategy, zoom_range = data
    before = Counter(y.tolist())
    _, y_res = ZoomOverSampler(sampling_strategy=strategy, random_state=0).fit_resample(X, y)
    after = Counter(y_res.tolist())

    if strategy == "auto":
        expected = dict.fromkeys(before, max(before.values()))
    elif isinstance(strategy, dict):
        expected = {**before, **strategy}
    else:
        (minority, n_min), (majority, n_maj) = sorted(before.items(), key=lambda kv: kv[1])
        target = strategy * n_maj
        assert target - 1 - 1e-9 < after[minority] <= target + 1e-9
        expected = {minority: after[minority], majority: n_maj}
    assert dict(after) == expected
