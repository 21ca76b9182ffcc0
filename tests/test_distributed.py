"""GridSearchCV over the pipeline on a Dask cluster, through joblib's dask backend.

Two worker processes on this machine stand in for a cluster: every candidate
and fold is pickled, sent to a worker process, fitted there and scored, so what
works here works on a real cluster (where the workers must have skpneumo and
the images' paths). Needs the ``distributed`` extra (``dask[distributed]``).
"""

import logging
import pickle
import sys

import joblib
import numpy as np
import pytest
from conftest import synthetic_xray
from sklearn.model_selection import GridSearchCV, StratifiedGroupKFold

from skpneumo import make_pneumonia_pipeline

distributed = pytest.importorskip(
    "distributed",
    reason="dask.distributed is not installed (pip install 'skpneumo[distributed]' "
    "or 'dask[distributed]'); CI installs it through the 'test' extra",
)


def _search():
    pipe = make_pneumonia_pipeline(
        image_size=16, epochs=1, n_blocks=1, filters=4, batch_size=8, random_state=0
    )
    return GridSearchCV(
        pipe,
        {"classifier__learning_rate": [1e-3, 3e-3]},
        scoring="roc_auc",
        cv=StratifiedGroupKFold(n_splits=2),
        n_jobs=-1,
        error_score="raise",
    )


def _skpneumo_fitted_here():
    return "skpneumo._classifier" in sys.modules


def test_grid_search_on_a_dask_cluster_matches_serial():
    rng = np.random.RandomState(0)
    y = np.array([0, 1] * 16)
    X = np.stack([synthetic_xray(label, rng, 16) for label in y])
    groups = np.repeat(np.arange(16), 2)

    serial = _search().set_params(n_jobs=None).fit(X, y, groups=groups)

    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            silence_logs=logging.WARNING,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        # nothing of skpneumo's network is loaded in the workers yet
        assert not any(client.run(_skpneumo_fitted_here).values())
        with joblib.parallel_config(backend="dask"):
            search = _search().fit(X, y, groups=groups)
        # the fits ran in the worker processes
        assert any(client.run(_skpneumo_fitted_here).values())

    np.testing.assert_array_equal(
        search.cv_results_["mean_test_score"], serial.cv_results_["mean_test_score"]
    )
    np.testing.assert_array_equal(
        search.cv_results_["split0_test_score"], serial.cv_results_["split0_test_score"]
    )
    assert search.best_params_ == serial.best_params_
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    # the refitted pipeline pickles like any other
    again = pickle.loads(pickle.dumps(search.best_estimator_))
    np.testing.assert_array_equal(again.predict_proba(X), search.predict_proba(X))
