"""PneumoniaClassifier as scikit-learn users rely on it."""

import os
import pickle
import subprocess
import sys
import textwrap
import tracemalloc

import keras
import numpy as np
import pytest
from _helpers import TINY, network_passes
from sklearn.base import clone
from sklearn.metrics import get_scorer, log_loss
from sklearn.utils._param_validation import InvalidParameterError

from skpneumo import PneumoniaClassifier, ZoomOverSampler


def test_predict_proba_classes_and_history(image_batch):
    X, y = image_batch
    labels = np.where(y == 1, "PNEUMONIA", "NORMAL")
    clf = PneumoniaClassifier(**dict(TINY, epochs=2)).fit(X, labels)
    assert clf.classes_.tolist() == ["NORMAL", "PNEUMONIA"]
    proba = clf.predict_proba(X)
    assert proba.shape == (len(X), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-6)
    assert set(clf.predict(X)) <= {"NORMAL", "PNEUMONIA"}
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[proba.argmax(axis=1)])
    assert set(clf.history_) == {"loss", "auc", "accuracy"}
    assert all(len(v) == 2 for v in clf.history_.values())
    assert clf.n_iter_ == 2
    score = get_scorer("roc_auc")(clf, X, labels)
    assert np.isfinite(score)


def test_integer_labels_and_uint8_input_kept(image_batch):
    X, y = image_batch
    clf = PneumoniaClassifier(**TINY).fit(X, y)
    assert clf.classes_.tolist() == [0, 1]
    assert clf.X_dtype_ == np.uint8
    assert clf.X_shape_ == X.shape


def test_same_seed_same_probabilities_and_clone(image_batch):
    X, y = image_batch
    first = PneumoniaClassifier(**TINY).fit(X, y)
    second = clone(first).fit(X, y)
    np.testing.assert_array_equal(first.predict_proba(X), second.predict_proba(X))
    assert not hasattr(clone(first), "model_")


def test_pickle_round_trip(image_batch):
    X, y = image_batch
    clf = PneumoniaClassifier(**TINY).fit(X, y)
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))
    assert restored.get_params() == clf.get_params()


def test_set_params_round_trip():
    clf = PneumoniaClassifier()
    params = clf.get_params()
    assert "learning_rate" in params and "model" not in params and "loss" not in params
    clf.set_params(learning_rate=3e-4, n_blocks=2)
    assert clf.get_params()["learning_rate"] == 3e-4
    assert clone(clf).get_params() == clf.get_params()
    with pytest.raises(ValueError, match="Invalid parameter 'fit'"):
        clf.set_params(fit__epochs=3)


def test_no_partial_fit():
    assert not hasattr(PneumoniaClassifier(), "partial_fit")


def test_early_stopping_restores_best(image_batch):
    X, y = image_batch
    X = np.concatenate([X, X])
    y = np.concatenate([y, y])
    # a large constant step, so that the held-out loss gets worse within 6 epochs
    params = dict(TINY, epochs=6, learning_rate=0.1, lr_schedule="constant")
    clf = PneumoniaClassifier(
        early_stopping=True, validation_fraction=0.25, n_iter_no_change=1, **params
    ).fit(X, y)
    val_loss = clf.history_["val_loss"]
    assert len(val_loss) == clf.n_iter_
    best = int(np.argmin(val_loss))
    # it stopped after a worse epoch, so the last weights are not the best ones
    assert clf.n_iter_ < 6 and best < clf.n_iter_ - 1
    assert val_loss[-1] > val_loss[best] * (1 + 1e-4)

    # the kept network scores the hold-out as the best epoch did, not the last
    # (the epochs' scores are the network's on the images as given: one view)
    clf.set_params(test_time_views=(1.0,))
    _, held_out = clf._split_validation(y)
    kept_loss = log_loss(y[held_out], clf.predict_proba(X[held_out]))
    np.testing.assert_allclose(kept_loss, val_loss[best], rtol=1e-5)


def _trainable_weights(classifier):
    return np.concatenate(
        [np.ravel(v.numpy()) for v in classifier.model_.trainable_variables]
    )


def test_weight_averaging_predicts_with_the_average(image_batch):
    X, y = image_batch
    params = dict(TINY, epochs=2, batch_size=4)  # 10 gradient steps
    raw = _trainable_weights(PneumoniaClassifier(**params).fit(X, y))
    averaged = PneumoniaClassifier(weight_averaging=True, **params).fit(X, y)
    # same seed, same gradient steps: only the averaging tells the two apart
    start = _trainable_weights(
        PneumoniaClassifier(**dict(params, learning_rate=1e-12)).fit(X, y)
    )
    kept = _trainable_weights(averaged)
    assert not np.allclose(kept, raw)
    # an average with momentum 0.99 over 10 steps lags far behind the raw weights
    assert np.linalg.norm(kept - start) < 0.5 * np.linalg.norm(raw - start)
    assert np.all(np.isfinite(averaged.predict_proba(X)))


def test_predict_rejects_other_image_shape(image_batch):
    X, y = image_batch
    clf = PneumoniaClassifier(**TINY).fit(X, y)
    with pytest.raises(ValueError, match=r"fitted on images of shape \(16, 16, 1\)"):
        clf.predict(X[:, :8, :8])


_SEEDED_THEN_UNSEEDED = textwrap.dedent(
    """
    import os

    import keras
    import numpy as np
    from skpneumo import PneumoniaClassifier

    X = np.random.RandomState(0).randint(0, 256, size=(8, 16, 16, 1)).astype(np.uint8)
    y = np.arange(8) % 2
    params = dict(n_blocks=1, filters=4, epochs=1)
    PneumoniaClassifier(random_state=0, **params).fit(X, y)
    assert "TF_DETERMINISTIC_OPS" not in os.environ, "TF_DETERMINISTIC_OPS left set"
    if keras.config.backend() == "tensorflow":
        from tensorflow.python.framework.config import is_op_determinism_enabled

        assert not is_op_determinism_enabled(), "TensorFlow op determinism left on"
    proba = PneumoniaClassifier(**params).fit(X, y).predict_proba(X)
    assert np.isfinite(proba).all()
    """
)


def test_seeded_fit_leaves_unseeded_fits_working():
    """A seeded fit must not leave global switches (e.g. TF op determinism) on.

    Non-regression test: scikeras' seeding context set TF_DETERMINISTIC_OPS,
    and when TensorFlow was first asked about op determinism inside it, read
    determinism as already on and never switched it off; the unseeded fits
    that followed in the process then raised. TensorFlow caches that first
    answer, so the check runs in a fresh interpreter.
    """
    env = {k: v for k, v in os.environ.items() if k != "TF_DETERMINISTIC_OPS"}
    result = subprocess.run(
        [sys.executable, "-c", _SEEDED_THEN_UNSEEDED],
        env=dict(env, TF_CPP_MIN_LOG_LEVEL="3"),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-4000:]


def test_single_image_gives_one_row(image_batch):
    X, y = image_batch
    clf = PneumoniaClassifier(**TINY).fit(X, y)
    assert clf.predict_proba(X[:1]).shape == (1, 2)
    assert clf.predict(X[:1]).shape == (1,)


def test_threshold_sets_the_operating_point(image_batch):
    X, y = image_batch
    clf = PneumoniaClassifier(**TINY).fit(X, y)
    p = clf.predict_proba(X)[:, 1]
    for threshold in (0.0, np.median(p), 1.0):
        clf.set_params(threshold=threshold)
        np.testing.assert_array_equal(clf.predict(X), (p >= threshold).astype(int))


def test_predict_is_the_rule_applied_to_predict_proba(image_batch):
    """``predict`` and ``_labels_from_proba`` (the one decision rule, which the
    heatmaps ask too) give ``classes_[1]`` where P(``classes_[1]``) is at least
    the threshold: an image whose probability equals the threshold included.
    """
    X, y = image_batch
    names = np.array(["NORMAL", "PNEUMONIA"])
    clf = PneumoniaClassifier(**TINY).fit(X, names[y])
    proba = clf.predict_proba(X)
    thresholds = np.unique(proba[:, 1])  # each one an image's own probability
    assert thresholds.size > 2
    for threshold in thresholds:
        clf.set_params(threshold=threshold)
        expected = names[(proba[:, 1] >= threshold).astype(int)]
        np.testing.assert_array_equal(clf.predict(X), expected)
        np.testing.assert_array_equal(clf._labels_from_proba(proba), expected)


_BATCH_INVARIANCE = textwrap.dedent(
    """
    import numpy as np
    from skpneumo import PneumoniaClassifier

    rng = np.random.RandomState(0)
    X = rng.randint(0, 256, size=(45, 24, 24, 1)).astype(np.uint8)
    y = np.arange(45) % 2
    clf = PneumoniaClassifier(
        n_blocks=2, filters=8, epochs=1, batch_size=16, random_state=0
    ).fit(X, y)
    proba = clf.predict_proba(X)
    for _ in range(3):
        order = rng.permutation(len(X))
        np.testing.assert_array_equal(clf.predict_proba(X[order]), proba[order])
    alone = np.vstack([clf.predict_proba(X[i : i + 1]) for i in range(len(X))])
    np.testing.assert_array_equal(alone, proba)
    """
)


@pytest.mark.parametrize("onednn", ["1", "0"], ids=["onednn", "eigen"])
def test_probability_ignores_batch_mates_and_order(onednn):
    """Non-regression test for check_methods_sample_order_invariance on AMD EPYC.

    TensorFlow runs oneDNN kernels on CPUs with AVX-512 VNNI and Eigen kernels
    on others (older AMD EPYCs among them); Eigen rounded an image's result by
    its position in a short last batch, 1 float32 ulp off. Predicting in
    batches of one fixed shape removes that on both, so both kernel families
    are forced here, whatever the CPU running the suite.
    """
    env = dict(os.environ, TF_ENABLE_ONEDNN_OPTS=onednn, TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run(
        [sys.executable, "-c", _BATCH_INVARIANCE],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-4000:]


def test_decision_function_is_log_odds_from_the_threshold(image_batch):
    X, y = image_batch
    clf = PneumoniaClassifier(threshold=0.3, **TINY).fit(X, y)
    proba = clf.predict_proba(X)[:, 1].astype(np.float64)
    scores = clf.decision_function(X)
    assert scores.shape == (len(X),) and np.all(np.isfinite(scores))
    np.testing.assert_allclose(
        scores, np.log(proba / (1 - proba)) - np.log(0.3 / 0.7), rtol=1e-6, atol=1e-9
    )
    # non-negative exactly where predict says classes_[1]
    np.testing.assert_array_equal(clf.predict(X) == clf.classes_[1], scores >= 0)
    # probability calibration fits its sigmoid to this score, not to predict_proba
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.frozen import FrozenEstimator

    calibrated = CalibratedClassifierCV(FrozenEstimator(clf), method="sigmoid").fit(
        X, y
    )
    (sigmoid,) = calibrated.calibrated_classifiers_[0].calibrators
    expected = 1 / (1 + np.exp(sigmoid.a_ * scores + sigmoid.b_))
    np.testing.assert_allclose(calibrated.predict_proba(X)[:, 1], expected, rtol=1e-6)


# --------------------------------------------------------------------------
# Bad targets and parameters: errors that name them, raised by fit


@pytest.mark.parametrize("y", [np.ones(8, dtype=int), np.arange(8) % 3], ids=["1", "3"])
def test_classifier_needs_exactly_two_classes(images, y):
    X, _ = images
    n_classes = np.unique(y).size
    with pytest.raises(
        ValueError,
        match=rf"y must hold exactly two classes.*got {n_classes} class\(es\)",
    ):
        PneumoniaClassifier(**TINY).fit(X, y)


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
        {"test_time_views": "wide"},
        {"test_time_views": ()},
        {"test_time_views": (1.0, 2.0)},
        {"test_time_views": (0.9, None)},
    ],
    ids=repr,
)
def test_classifier_invalid_parameter(images, params):
    (name,) = params
    classifier = PneumoniaClassifier(**params)
    with pytest.raises(
        InvalidParameterError, match=f"'{name}' parameter of PneumoniaClassifier"
    ):
        classifier.fit(*images)


def test_classifier_early_stopping_with_weight_averaging(images):
    classifier = PneumoniaClassifier(early_stopping=True, weight_averaging=True, **TINY)
    with pytest.raises(
        ValueError,
        match="'early_stopping' and 'weight_averaging' parameters of "
        "PneumoniaClassifier cannot both be True",
    ):
        classifier.fit(*images)


# --------------------------------------------------------------------------
# Memory: no float32 copy of the training set is made outside the network


def test_fit_makes_no_float_copy_of_the_images():
    rng = np.random.RandomState(0)
    X = rng.randint(0, 256, size=(600, 48, 48, 1), dtype=np.uint8)
    y = np.r_[np.zeros(200, int), np.ones(400, int)]
    X_res, y_res = ZoomOverSampler(random_state=0).fit_resample(X, y)
    assert X_res.dtype == np.uint8
    clf = PneumoniaClassifier(**TINY)
    warm = np.r_[0:8, 300:308]
    clf.fit(X_res[warm], y_res[warm])  # build and trace once, outside the measurement
    tracemalloc.start()
    try:
        clf.fit(X_res, y_res)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    float_copy = X_res.size * 4
    # NumPy's allocations are traced. Keras' batching makes a couple of uint8
    # copies (about 2-3x X_res.nbytes at peak); a float32 copy of the set would
    # alone reach float_copy = 4x.
    assert peak < float_copy, (peak, float_copy)


def _normalisation_gaps(clf, X):
    """For each BatchNormalization layer, how far its held statistics are from X's.

    The largest gap of the mean (in standard deviations) and of the variance
    (as a ratio) between what the layer normalises with in ``predict`` and the
    statistics of its actual inputs on ``X`` in ``predict``.
    """
    import keras

    gaps = []
    for layer in clf.model_.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            probe = keras.Model(clf.model_.inputs, layer.input)
            values = keras.ops.convert_to_numpy(probe.predict(X, verbose=0))
            values = values.astype(np.float64).reshape(-1, values.shape[-1])
            mean = keras.ops.convert_to_numpy(layer.moving_mean)
            variance = keras.ops.convert_to_numpy(layer.moving_variance)
            gaps.append(
                (
                    np.max(np.abs(values.mean(axis=0) - mean) / values.std(axis=0)),
                    np.max(np.abs(values.var(axis=0) / variance - 1)),
                )
            )
    return gaps


def test_normalisation_predicts_with_the_statistics_of_clean_images(image_batch):
    """Non-regression test for statistics learnt on augmented batches.

    The moving averages of batch normalisation come from the augmented
    training batches; predicting clean images with them shifted every
    activation and called most healthy test images PNEUMONIA. After ``fit``
    each layer must hold the statistics its inputs have in ``predict`` on
    the training images, as ``"training"`` (the old behaviour) does not.
    """
    X, y = image_batch
    params = dict(n_blocks=2, filters=4, epochs=2, batch_size=8, random_state=0)
    clean = PneumoniaClassifier(**params).fit(X, y)
    for mean_gap, variance_gap in _normalisation_gaps(clean, X):
        assert mean_gap < 1e-4
        assert variance_gap < 1e-4
    moving = PneumoniaClassifier(**params, bn_statistics="training").fit(X, y)
    assert max(gap for pair in _normalisation_gaps(moving, X) for gap in pair) > 0.05
    # the weights are the same; only the statistics differ
    for a, b in zip(
        clean.model_.trainable_weights, moving.model_.trainable_weights, strict=True
    ):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_validation_data_is_scored_every_epoch_without_changing_the_fit(
    image_batch,
):
    X, y = image_batch
    params = dict(n_blocks=1, filters=4, epochs=3, batch_size=8, random_state=0)
    plain = PneumoniaClassifier(**params).fit(X[:14], y[:14])
    scored = PneumoniaClassifier(**params).fit(
        X[:14], y[:14], validation_data=(X[14:], y[14:])
    )
    for key in ("val_loss", "val_auc", "val_accuracy"):
        assert len(scored.history_[key]) == 3
        assert key not in plain.history_
    np.testing.assert_array_equal(scored.predict_proba(X), plain.predict_proba(X))
    # the held-out scores of the last epoch are those of the fitted model, on
    # the images as given (one field of view)
    proba = scored.set_params(test_time_views=(1.0,)).predict_proba(X[14:])[:, 1]
    assert scored.history_["val_loss"][-1] == pytest.approx(
        log_loss(y[14:], proba, labels=[0, 1]), rel=1e-4
    )


@pytest.mark.parametrize(
    "validation_data, message",
    [
        ("images", "must be a pair"),
        ((np.zeros((2, 8, 8, 1), np.uint8), [0, 1]), "shape"),
        ((np.zeros((2, 16, 16, 1), np.uint8), [0, 7]), "not among the training"),
    ],
)
def test_validation_data_is_checked(image_batch, validation_data, message):
    X, y = image_batch
    with pytest.raises(ValueError, match=message):
        PneumoniaClassifier(**TINY).fit(X, y, validation_data=validation_data)
    with pytest.raises(ValueError, match="early_stopping"):
        PneumoniaClassifier(**TINY, early_stopping=True).fit(
            X, y, validation_data=(X, y)
        )


def test_test_time_views_average_the_log_odds_of_each_view(image_batch):
    """P is the sigmoid of the mean log-odds of the views, each scored alone."""
    X, y = image_batch
    clf = PneumoniaClassifier(**TINY, test_time_views=(1.0,)).fit(X, y)
    alone = {}
    for view in (0.8, 1.0, 1.2):
        clf.set_params(test_time_views=(view,))
        alone[view] = clf.predict_proba(X)[:, 1].astype(np.float64)
    # a view other than 1 sees another picture
    assert np.abs(alone[0.8] - alone[1.0]).max() > 1e-4
    assert np.abs(alone[1.2] - alone[1.0]).max() > 1e-4
    clf.set_params(test_time_views=[0.8, 1.0, 1.2])
    mean_log_odds = np.mean([np.log(p / (1 - p)) for p in alone.values()], axis=0)
    np.testing.assert_allclose(
        clf.predict_proba(X)[:, 1], 1 / (1 + np.exp(-mean_log_odds)), atol=1e-5
    )
    # the same view twice is the view once: an average, not a sum
    clf.set_params(test_time_views=(1.0, 1.0))
    np.testing.assert_allclose(clf.predict_proba(X)[:, 1], alone[1.0], atol=1e-6)


def test_a_view_is_a_centred_crop_or_a_reflected_widening():
    from skpneumo._classifier import _reframe

    image = np.zeros((1, 20, 20, 1), dtype=np.uint8)
    image[:, 5:15, 5:15] = 200  # a bright square, half the side, in the centre
    # half the field of view: the square fills the picture
    closer = np.asarray(_reframe(image, 0.5))
    assert closer.shape == image.shape and closer.dtype == np.float32
    np.testing.assert_allclose(closer, 200, atol=1e-3)
    # a wider view by reflection: the square shrinks and stays centred
    wider = np.asarray(_reframe(image, 1.4))[0, ..., 0]
    bright = wider > 100
    assert 0 < bright.sum() < (image[0, ..., 0] > 100).sum()
    np.testing.assert_array_equal(bright, bright[::-1, ::-1])
    # a view too close to 1 for the size changes nothing
    assert _reframe(image, 1.01) is image


@pytest.mark.parametrize("view", [0.5, 0.8, 0.9])
def test_a_closer_view_is_enlarged_as_the_antialiased_filter_would(view):
    """A crop is only enlarged, which antialiasing leaves as it is: skipping it is free."""
    from skpneumo._classifier import _reframe

    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(2, 30, 24, 1), dtype=np.uint8)
    h, w = images.shape[1:3]
    kh, kw = round(h * (1 - view) / 2), round(w * (1 - view) / 2)
    antialiased = keras.ops.image.resize(
        images[:, kh : h - kh, kw : w - kw].astype(np.float32),
        (h, w),
        interpolation="bilinear",
        antialias=True,
    )
    np.testing.assert_allclose(
        np.asarray(_reframe(images, view)),
        keras.ops.convert_to_numpy(antialiased),
        atol=1e-3,
    )


def test_within_scoring_once_proba_and_labels_take_one_pass(image_batch, monkeypatch):
    """predict_proba then a wrapper's predict on the same images: one network pass."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.frozen import FrozenEstimator
    from sklearn.model_selection import FixedThresholdClassifier

    from skpneumo._predict import scoring_once

    X, y = image_batch
    clf = PneumoniaClassifier(**TINY).fit(X, y)
    fixed = FixedThresholdClassifier(FrozenEstimator(clf), threshold=0.4).fit(X, y)
    passes = network_passes(monkeypatch)
    expected = fixed.predict_proba(X), fixed.predict(X)
    assert len(passes) == 2  # no memory outside the block
    passes.clear()
    with scoring_once():
        proba, labels = fixed.predict_proba(X), fixed.predict(X)
        assert clf.predict(X.copy()).tolist() == labels.tolist()
        assert len(passes) == 1
        # a subset in another order, as a calibration fold is: no pass
        fold = np.arange(len(X))[::-1][:14]
        np.testing.assert_array_equal(clf.predict_proba(X[fold]), expected[0][fold])
        calibrated = CalibratedClassifierCV(FrozenEstimator(clf)).fit(X[fold], y[fold])
        assert len(passes) == 1
        changed = X.copy()
        changed[3, 5, 5] = 255 - changed[3, 5, 5]  # one pixel of one image
        fixed.predict_proba(np.concatenate([changed, changed[3:4]]))
        assert passes[1] == (1, *X.shape[1:])  # that image alone, scored once
        calibrated.predict_proba(X)
        assert len(passes) == 2
        views = clf.test_time_views
        clf.set_params(test_time_views=(0.9, 1.0))  # another score of the same images
        clf.predict_proba(X)
        assert len(passes) == 3
        clf.set_params(test_time_views=views)
    np.testing.assert_array_equal(proba, expected[0])
    np.testing.assert_array_equal(labels, expected[1])
    fixed.predict(X)
    assert len(passes) == 4


def test_within_scoring_once_a_refitted_classifier_is_scored_anew(image_batch):
    """A refit builds another network: what was scored before is stale."""
    from skpneumo._predict import scoring_once

    X, y = image_batch
    clf = PneumoniaClassifier(**TINY).fit(X, y)
    with scoring_once():
        before = clf.predict_proba(X)
        clf.set_params(random_state=1).fit(X, y)
        after = clf.predict_proba(X)
    assert np.abs(after - before).max() > 1e-6
    np.testing.assert_array_equal(after, clf.predict_proba(X))
