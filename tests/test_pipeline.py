"""The pipeline and the issue's user snippet, run as written on tiny data."""

import numpy as np
import pytest
from imblearn.pipeline import Pipeline

from skpneumo import (
    ImageLoader,
    PneumoniaClassifier,
    ZoomOverSampler,
    make_pneumonia_pipeline,
)


def test_pipeline_steps():
    pipe = make_pneumonia_pipeline(image_size=32, classifier__epochs=3, random_state=0)
    assert isinstance(pipe, Pipeline)
    names = [name for name, _ in pipe.steps]
    assert names == ["loader", "sampler", "classifier"]
    assert isinstance(pipe.named_steps["loader"], ImageLoader)
    assert isinstance(pipe.named_steps["sampler"], ZoomOverSampler)
    assert isinstance(pipe.named_steps["classifier"], PneumoniaClassifier)
    assert pipe.get_params()["classifier__epochs"] == 3
    assert pipe.get_params()["loader__image_size"] == 32


def test_one_owner_of_the_default_operating_point():
    """The factory sets the default network's threshold, from one constant that
    its docstring documents; the bare classifier keeps scikit-learn's 0.5, where
    ``predict`` is the class of highest probability.
    """
    from skpneumo._decision import DEFAULT_THRESHOLD

    pipe = make_pneumonia_pipeline()
    assert pipe.named_steps["classifier"].threshold == DEFAULT_THRESHOLD
    assert f"threshold : float, default={DEFAULT_THRESHOLD}\n" in (
        make_pneumonia_pipeline.__doc__
    )
    assert PneumoniaClassifier().threshold == 0.5
    assert "threshold : float, default=0.5\n" in PneumoniaClassifier.__doc__


@pytest.mark.slow
def test_user_snippet_runs(kaggle_root):
    # A user's reported snippet, verbatim but for the data folder and tiny network sizes.
    from sklearn.model_selection import GridSearchCV, StratifiedGroupKFold

    from skpneumo import (  # noqa: F401
        ImageLoader,
        PneumoniaClassifier,
        ZoomOverSampler,
        make_pneumonia_pipeline,
    )
    from skpneumo.datasets import load_chest_xray

    train = load_chest_xray(kaggle_root, split="train")
    pipe = make_pneumonia_pipeline(
        image_size=16,
        classifier__epochs=3,
        classifier__n_blocks=2,
        classifier__filters=4,
        random_state=0,
    )
    search = GridSearchCV(
        pipe,
        {"classifier__learning_rate": [1e-3, 3e-4]},
        scoring="roc_auc",
        cv=StratifiedGroupKFold(n_splits=3),
    )
    search.fit(train.paths, train.target, groups=train.groups)
    proba = search.predict_proba(load_chest_xray(kaggle_root, split="val").paths)

    assert proba.shape == (8, 2)
    # the stock scikeras wrapper scores roc_auc as NaN in every fold
    scores = search.cv_results_["mean_test_score"]
    assert np.all(np.isfinite(scores)), scores
    # the chosen candidate is the best scored one, and the refitted network
    # was trained with its learning rate
    best = int(np.argmax(scores))
    assert search.best_index_ == best
    assert search.best_params_ == search.cv_results_["params"][best]
    learning_rate = search.best_params_["classifier__learning_rate"]
    classifier = search.best_estimator_.named_steps["classifier"]
    schedule = classifier.model_.optimizer.get_config()["learning_rate"]
    assert schedule["config"]["initial_learning_rate"] == pytest.approx(learning_rate)


def test_grid_search_over_sampler_and_classifier(kaggle_root):
    from sklearn.model_selection import GridSearchCV, StratifiedGroupKFold

    from skpneumo.datasets import load_chest_xray

    train = load_chest_xray(kaggle_root, split="train")
    # drop some NORMAL images so that the sampler has work to do
    keep = np.r_[
        np.flatnonzero(train.target == 0)[:12], np.flatnonzero(train.target == 1)
    ]
    pipe = make_pneumonia_pipeline(
        image_size=16,
        classifier__epochs=2,
        classifier__n_blocks=1,
        classifier__filters=4,
        random_state=0,
    )
    search = GridSearchCV(
        pipe,
        {"sampler__zoom_range": [(1.0, 1.1), (1.1, 1.3)], "classifier__dropout": [0.0]},
        scoring="roc_auc",
        cv=StratifiedGroupKFold(n_splits=2),
    )
    search.fit(train.paths[keep], train.target[keep], groups=train.groups[keep])
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    sampler = search.best_estimator_.named_steps["sampler"]
    assert np.bincount(train.target[keep][sampler.sample_indices_]).tolist() == [24, 24]
