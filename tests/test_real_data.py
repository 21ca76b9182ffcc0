"""Training on real chest X-rays: a small subset must already separate the classes."""

import numpy as np
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GroupShuffleSplit

from skpneumo import make_pneumonia_pipeline
from skpneumo.datasets import load_chest_xray


def test_small_real_subset_reaches_auc_090(shared_data):
    data = load_chest_xray(shared_data / "chest_xray", split="train")
    # patient-disjoint halves of the official training split
    train_idx, test_idx = next(
        GroupShuffleSplit(n_splits=1, test_size=0.5, random_state=0).split(
            data.paths, data.target, groups=data.groups
        )
    )
    rng = np.random.RandomState(0)
    train_idx = rng.choice(train_idx, 300, replace=False)
    test_idx = rng.choice(test_idx, 300, replace=False)
    assert not set(data.groups[train_idx]) & set(data.groups[test_idx])

    pipe = make_pneumonia_pipeline(
        image_size=64, classifier__epochs=8, n_jobs=2, random_state=0
    )
    pipe.fit(data.paths[train_idx], data.target[train_idx])
    proba = pipe.predict_proba(data.paths[test_idx])[:, 1]
    auc = roc_auc_score(data.target[test_idx], proba)
    print(f"real-data ROC-AUC on 300 held-out patients' images: {auc:.3f}")
    assert auc >= 0.90
