"""ZoomOverSampler (skpneumo/_sampler.py).

imbalanced-learn's common checks run in test_common.py, and the input checks
shared with the loader and the classifier in test_validation.py.
"""

from collections import Counter

import numpy as np
import pytest
from _helpers import HYPOTHESIS_SETTINGS, noise, sampler_resample
from hypothesis import given
from hypothesis import strategies as st
from sklearn.utils._param_validation import InvalidParameterError

from skpneumo import ZoomOverSampler

# --------------------------------------------------------------------------
# Classes and targets


def test_sampler_one_class(images):
    X, _ = images
    with pytest.raises(
        ValueError, match=r"needs to have more than 1 class\. Got 1 class"
    ):
        sampler_resample(X, np.ones(8, dtype=int))


def test_sampler_balances_three_classes(images):
    X, _ = images
    y = np.array([0, 1, 1, 2, 2, 2, 2, 2])
    X_res, y_res = sampler_resample(X, y)
    assert np.bincount(y_res).tolist() == [5, 5, 5]
    assert X_res.shape == (15, 8, 8)


def test_sampler_takes_lists_and_one_hot_targets(images):
    # imbalanced-learn's check_samplers_list, _multiclass_ova and _2d_target,
    # which feed 2-D tabular X, on images
    X, _ = images
    y = np.array([0, 1, 1, 2, 2, 2, 2, 2])
    X_res, y_res = sampler_resample(X, y)

    X_list, y_list = sampler_resample(X.tolist(), y.tolist())
    assert isinstance(X_list, list) and isinstance(y_list, list)
    X_int, _ = sampler_resample(X.astype(int), y)  # a list of ints becomes an int array
    np.testing.assert_array_equal(X_list, X_int)
    assert y_list == y_res.tolist()

    X_ova, y_ova = sampler_resample(X, np.eye(3, dtype=int)[y])
    np.testing.assert_array_equal(X_ova, X_res)
    np.testing.assert_array_equal(y_ova, np.eye(3, dtype=int)[y_res])

    X_col, y_col = sampler_resample(X, y[:, np.newaxis])
    np.testing.assert_array_equal(X_col, X_res)
    np.testing.assert_array_equal(y_col, y_res)


# --------------------------------------------------------------------------
# Bad parameters: InvalidParameterError naming the parameter, raised by fit


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
    with pytest.raises(
        InvalidParameterError, match=f"'{name}' parameter of ZoomOverSampler"
    ):
        sampler.fit_resample(*images)


# --------------------------------------------------------------------------
# Reproducibility


def test_sampler_same_random_state_same_output():
    X = noise((10, 12, 12, 1))
    y = np.array([0] * 3 + [1] * 7)

    def resample(random_state):
        sampler = ZoomOverSampler(random_state=random_state)
        X_res, y_res = sampler.fit_resample(X, y)
        return X_res, y_res, sampler.sample_indices_, sampler.zoom_factors_

    first, again = resample(0), resample(0)
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(first, resample(np.random.RandomState(0)), strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[3], resample(1)[3])


# --------------------------------------------------------------------------
# Properties (hypothesis)


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

    dtype = draw(
        st.sampled_from([np.uint8, np.uint16, np.int16, np.float32, np.float64])
    )
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
    kind = draw(
        st.sampled_from(["auto", "float", "dict"] if float_ok else ["auto", "dict"])
    )
    if kind == "auto":
        strategy = "auto"
    elif kind == "float":  # the wanted minority / majority ratio
        low = (n_min + 1) / n_max
        strategy = low + (1 - low) * draw(st.floats(0, 1))
    else:
        strategy = {
            name: count + draw(st.integers(0, 6))
            for name, count in zip(names, counts, strict=False)  # names may be longer
            if draw(st.booleans())
        }
    low = draw(st.floats(1, 2))
    zoom_range = (low, low + draw(st.floats(0, 1)))
    return X, y, strategy, zoom_range


@HYPOTHESIS_SETTINGS
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
    for image, source in zip(X_res[n:], indices[n:], strict=True):
        assert 10 * source <= image.min() and image.max() <= 10 * source + 5


@HYPOTHESIS_SETTINGS
@given(data=imbalanced_images())
def test_sampler_class_counts_follow_sampling_strategy(data):
    X, y, strategy, _ = data
    before = Counter(y.tolist())
    sampler = ZoomOverSampler(sampling_strategy=strategy, random_state=0)
    _, y_res = sampler.fit_resample(X, y)
    after = Counter(y_res.tolist())

    if strategy == "auto":
        expected = dict.fromkeys(before, max(before.values()))
    elif isinstance(strategy, dict):
        expected = {**before, **strategy}
    else:
        (minority, _), (majority, n_maj) = sorted(before.items(), key=lambda kv: kv[1])
        target = strategy * n_maj
        assert target - 1 - 1e-9 < after[minority] <= target + 1e-9
        expected = {minority: after[minority], majority: n_maj}
    assert dict(after) == expected
