"""Input checks shared by the loader, the sampler and the classifier.

skpneumo/_validation.py owns them; each test runs them through the public
estimators, and every case raises an error that names the offending sample or
shape.
"""

import re
import warnings

import numpy as np
import pytest
from _helpers import classifier_fit, loader_transform, sampler_resample

from skpneumo import ZoomOverSampler

ALL_THREE = pytest.mark.parametrize(
    "call",
    [loader_transform, sampler_resample, classifier_fit],
    ids=["loader", "sampler", "classifier"],
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


@pytest.mark.parametrize(
    "call", [sampler_resample, classifier_fit], ids=["sampler", "classifier"]
)
def test_inconsistent_lengths(images, call):
    X, y = images
    with pytest.raises(
        ValueError, match=re.escape("inconsistent numbers of samples: [8, 7]")
    ):
        call(X, y[:7])
    with pytest.raises(
        ValueError, match=re.escape("inconsistent numbers of samples: [7, 8]")
    ):
        call(X[:7], y)


_TWO_D = re.escape(
    "X must be a batch of images of shape (n_samples, height, width) or "
    "(n_samples, height, width, channels), or image file paths passed through "
    "ImageLoader; got an array of shape (8, 64). Reshape your data: a 2-D array is "
    "not read as images"
)


@pytest.mark.parametrize(
    "call",
    [
        sampler_resample,
        lambda X, y: ZoomOverSampler().fit(X, y),
        classifier_fit,
        loader_transform,
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
    classifier = classifier_fit(X, y)
    flat = X.reshape(len(X), -1)
    args = (flat, y) if method == "score" else (flat,)
    with pytest.raises(ValueError, match=_TWO_D):
        getattr(classifier, method)(*args)


@pytest.mark.parametrize(
    "call, X, message",
    [
        (
            loader_transform,
            np.zeros((0, 8, 8)),
            r"X holds no images \(shape \(0, 8, 8, 1\)\)",
        ),
        (loader_transform, [], r"X holds no images \(an empty sequence was given\)"),
        (
            loader_transform,
            np.array([], dtype=str),
            r"X holds no images \(an empty array",
        ),
        (sampler_resample, np.zeros((0, 8, 8)), r"X holds no images"),
        (classifier_fit, np.zeros((0, 8, 8)), r"X holds no images"),
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


@ALL_THREE
def test_sparse_input_is_refused_with_its_own_message(images, call):
    # not as an "object array" after np.asarray has wrapped the matrix
    import scipy.sparse as sp

    X, y = images
    table = sp.csr_matrix(X.reshape(len(X), -1).astype(float))
    with pytest.raises(TypeError, match="sparse input is not supported"):
        call(table, y)


@ALL_THREE
def test_ragged_images_name_the_sample(images, call):
    """Non-regression test: ragged images gave NumPy's "inhomogeneous
    shape" with no sample index.
    """
    X, y = images
    ragged = [*X[:5], X[5, :6], *X[6:]]
    message = re.escape(
        "X holds images of different shapes: sample 0 has shape (8, 8), sample 5 "
        "has shape (6, 8)"
    )
    with pytest.raises(ValueError, match=message):
        call(ragged, y)


def test_a_ragged_image_names_the_sample(images):
    X, y = images
    rows = [list(row) for row in X[2]]
    rows[3] = rows[3][:5]
    with pytest.raises(ValueError, match="sample 2 has rows of different lengths"):
        loader_transform([X[0], X[1], rows], y[:3])


def test_float_images_on_the_0_1_scale_are_rescaled_with_a_warning(images):
    """Non-regression test: ``X / 255.`` was read as an almost black
    image on the 0-255 scale, silently.
    """
    X, y = images
    X[0, 0, 0] = 255  # a maximum of exactly 1 after the division
    expected = loader_transform(X, y)
    with pytest.warns(UserWarning, match=r"float pixel values in \[0, 1\].*X \* 255"):
        out = loader_transform(X / 255.0, y)
    np.testing.assert_array_equal(out, expected)
    with pytest.warns(UserWarning, match=r"multiplied by 255"):
        resampled, _ = sampler_resample(X / 255.0, y)
    assert resampled.max() > 1
    # the rule's edges: nothing else is rescaled
    from skpneumo._validation import check_image_array

    for other in [
        np.zeros((2, 8, 8)),  # black on either scale
        np.full((2, 8, 8), 1.5),  # beyond 1: the 0-255 scale
        np.full((2, 8, 8), 0.5) - np.eye(8)[None],  # below 0
        np.ones((2, 8, 8), dtype=np.uint8),  # integers are never rescaled
    ]:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            np.testing.assert_array_equal(check_image_array(other)[..., 0], other)


def test_classifier_rescales_float_images_on_the_0_1_scale(images):
    X, y = images
    model = classifier_fit(X, y)
    with pytest.warns(UserWarning, match=r"float pixel values in \[0, 1\]"):
        scaled = model.predict_proba(X / 255.0)
    np.testing.assert_allclose(scaled, model.predict_proba(X), rtol=1e-5, atol=1e-6)
