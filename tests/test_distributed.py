"""GridSearchCV over the pipeline on a Dask cluster, through joblib's dask backend.

Two worker processes on this machine stand in for a cluster: every candidate
and fold is pickled, sent to a worker process, fitted there and scored, so what
works here works on a real cluster (where the workers must have skpneumo and
the images' paths). Needs the ``distributed`` extra (``dask[distributed]``).

The searches take file paths, as users pass them: inside a Dask task joblib
sends the loader's decoding to the cluster as well (its nested backend is
Dask, not threads), which is where the scores once went wrong.
"""

import logging
from pathlib import Path

import joblib
import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV, StratifiedGroupKFold

from skpneumo import ImageLoader, make_pneumonia_pipeline
from skpneumo.datasets import load_chest_xray, subsample_patients

distributed = pytest.importorskip(
    "distributed",
    reason="dask.distributed is not installed (pip install 'skpneumo[distributed]' "
    "or 'dask[distributed]'); CI installs it through the 'test' extra",
)


@pytest.fixture(scope="module")
def client():
    """A client of a local cluster of two single-threaded worker processes."""
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
        yield client


def _search(**params):
    pipe = make_pneumonia_pipeline(classifier__epochs=1, random_state=0, **params)
    # one candidate: its two folds are two tasks, one per worker, and each
    # fit on two cores costs CI about ten seconds (serially and on the cluster)
    return GridSearchCV(
        pipe,
        {"classifier__learning_rate": [3e-3]},
        scoring="roc_auc",
        cv=StratifiedGroupKFold(n_splits=2),
        n_jobs=-1,
        error_score="raise",
        refit=False,
    )


def _fit_on_cluster(client, search, paths, y, groups):
    """Fit ``search`` through joblib's dask backend; check the fits ran there."""
    with distributed.get_task_stream(client) as tasks:
        with joblib.parallel_config(backend="dask"):
            search.fit(paths, y, groups=groups)
    fits = [t for t in tasks.data if "_fit_and_score" in str(t["key"])]
    # 1 candidate x 2 folds, possibly batched by joblib
    assert fits, "no _fit_and_score task ran on the cluster"
    return search


def _load(paths):
    return ImageLoader(image_size=16).fit_transform(paths)


@pytest.mark.slow
def test_loader_in_a_dask_task_returns_the_images(client, kaggle_root):
    # Non-regression test for the loader writing the decoded images into an
    # array of the calling process from its joblib tasks: inside a Dask task
    # joblib ran them in worker processes, and the loader returned its
    # uninitialised array (mean ROC-AUCs of a 3-fold search on 90 real images:
    # 0.34 and 0.57 on a LocalCluster, 0.87 and 0.86 serially).
    paths = load_chest_xray(kaggle_root, split="train").paths
    expected = _load(paths)
    with joblib.parallel_config(backend="dask"):
        loaded = joblib.Parallel(n_jobs=2)(
            joblib.delayed(_load)(paths) for _ in range(2)
        )
    for images in loaded:
        np.testing.assert_array_equal(images, expected)


@pytest.mark.slow
def test_loader_with_a_process_backend_returns_the_images(kaggle_root):
    # Non-regression test, as above, for a user's parallel_config(backend="loky"),
    # which overrides the loader's preference for threads.
    paths = load_chest_xray(kaggle_root, split="train").paths
    expected = _load(paths)
    with joblib.parallel_config(backend="loky"):
        images = ImageLoader(image_size=16, n_jobs=2).fit_transform(paths)
    np.testing.assert_array_equal(images, expected)


@pytest.fixture
def training_paths(request):
    """Image paths, labels and patients: ~48 real images, else 48 generated ones.

    One search, not both: each costs about a minute of CI on two cores, and
    the two loader tests above catch the loader bug without any data.
    """
    real = Path(__file__).resolve().parents[2] / "shared" / "data" / "chest_xray"
    if not (real / "train").is_dir():
        data = load_chest_xray(request.getfixturevalue("kaggle_root"), split="train")
        return data.paths, data.target, data.groups
    root = request.getfixturevalue("shared_data") / "chest_xray"
    data = load_chest_xray(root, split="train")
    keep = subsample_patients(data, (24, 24), random_state=0)
    return data.paths[keep], data.target[keep], data.groups[keep]


@pytest.mark.slow
def test_grid_search_on_a_dask_cluster_matches_serial(client, training_paths):
    # The case users run: file paths and the default network (at 32 px).
    paths, y, groups = training_paths
    serial = _search(image_size=32).set_params(n_jobs=None).fit(paths, y, groups=groups)
    search = _fit_on_cluster(client, _search(image_size=32), paths, y, groups)

    # The workers run on this machine's CPU with TensorFlow's default thread
    # pools (a LocalCluster's OMP_NUM_THREADS=1 does not reach them), so every
    # score is bit-identical to the serial one.
    for key in ("split0_test_score", "split1_test_score", "mean_test_score"):
        np.testing.assert_array_equal(search.cv_results_[key], serial.cv_results_[key])
    # equal scores of untrained networks would prove little
    assert serial.cv_results_["mean_test_score"].min() > 0.7
