"""Input checks shared by the loader, the sampler and the classifier.

skpneumo/_validation.py owns them; each test runs them through the public
estimators, and every case raises an error that names the offending sample or
shape.
"""

import re

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
