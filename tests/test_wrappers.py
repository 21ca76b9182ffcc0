"""The registry of scikit-learn's post-fit wrappers (skpneumo._wrappers)."""

import numpy as np
import pytest
from sklearn.calibration import CalibratedClassifierCV
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import (
    FixedThresholdClassifier,
    GridSearchCV,
    TunedThresholdClassifierCV,
)
from sklearn.pipeline import Pipeline

from skpneumo import _decision, _wrappers


@pytest.fixture(scope="module")
def data():
    rng = np.random.RandomState(0)
    y = np.arange(60) % 2
    return rng.normal(size=(60, 3)) + y[:, np.newaxis], y


@pytest.fixture(scope="module")
def pipe(data):
    return Pipeline([("classifier", LogisticRegression())]).fit(*data)


def test_every_wrapper_has_a_class_and_every_class_an_entry():
    assert set(_wrappers.WRAPPERS) == set(_wrappers._wrapper_classes())
    for name, wrapper in _wrappers.WRAPPERS.items():
        assert wrapper.inner, name
        assert callable(wrapper.describe) and callable(wrapper.rebuild), name
    # only FrozenEstimator predicts as the estimator inside it does
    assert [n for n, w in _wrappers.WRAPPERS.items() if w.rule is None] == [
        "FrozenEstimator"
    ]


def test_split_peel_and_inner_pipeline_walk_the_same_wrappers(data, pipe):
    calibrated = CalibratedClassifierCV(FrozenEstimator(pipe)).fit(*data)
    model = FixedThresholdClassifier(
        calibrated, threshold=0.3, response_method="predict_proba"
    ).fit(*data)
    entries, inner = _wrappers.split(model)
    assert [e["class"] for e in entries] == [
        "FixedThresholdClassifier",
        "CalibratedClassifierCV",
        "FrozenEstimator",
    ]
    assert inner is pipe
    assert _wrappers.inner_pipeline(model) is pipe
    peeled, outermost = _wrappers.peel(model)
    assert outermost is model
    assert isinstance(peeled, Pipeline)
    assert _decision.decision_rule(model)[0] == 0.3


def test_peel_steps_through_a_search_and_tuned_threshold(data):
    search = GridSearchCV(
        Pipeline([("classifier", LogisticRegression())]), {"classifier__C": [1.0]}, cv=2
    )
    tuned = TunedThresholdClassifierCV(search, cv=2).fit(*data)
    peeled, outermost = _wrappers.peel(tuned)
    assert outermost is tuned
    assert isinstance(peeled, Pipeline)
    assert _decision.decision_rule(tuned)[1].endswith("(TunedThresholdClassifierCV)")


def test_a_subclass_is_not_a_known_wrapper(pipe):
    class Custom(FixedThresholdClassifier):
        pass

    assert _wrappers.known(FixedThresholdClassifier(pipe)) is not None
    assert _wrappers.known(Custom(pipe)) is None
    with pytest.raises(ValueError, match="is no pipeline"):
        _wrappers.inner_pipeline(Custom(pipe))
    with pytest.raises(ValueError, match="No decision rule known for a Custom"):
        _decision.decision_rule(Custom(pipe))


def test_peel_refuses_an_unfitted_wrapper():
    with pytest.raises(TypeError, match="unfitted TunedThresholdClassifierCV"):
        _wrappers.peel(TunedThresholdClassifierCV(LogisticRegression()))
