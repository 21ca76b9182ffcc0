"""
Compare ways of rebalancing the classes
=======================================

About three training images in four show pneumonia. Left alone, a network
leans towards PNEUMONIA: high sensitivity, low specificity. This example
compares four answers under the same patient-grouped cross-validation,
reporting ROC-AUC, and the sensitivity and specificity of ``predict`` at the
pipeline's own threshold (``classifier__threshold``):

* **zoom oversampling** (the default): :class:`~skpneumo.ZoomOverSampler`
  adds randomly zoomed-in copies of NORMAL images;
* **random oversampling**: imbalanced-learn's
  :class:`~imblearn.over_sampling.RandomOverSampler` repeats NORMAL images as
  they are;
* **class weights**: no sampler (``sampler="passthrough"``), NORMAL images
  weigh more in the loss (``classifier__class_weight="balanced"``);
* **none**: ``sampler="passthrough"`` and no weights.

The figures on this page come from the documentation build's quick mode
(``SKPNEUMO_QUICK=1``): a tiny network trained for 1 epoch on a few dozen
images at 32 px, with 2 folds, a smoke test rather than a result. Run the
script without it for about 1,500 training images of whole patients at 64 px
and 3 folds.
"""

# %%
# Data
# ----
# A random subset of whole patients from the ``train`` split of the folder
# named by ``SKPNEUMO_DATA`` (by default ``../shared/data/chest_xray``,
# relative to where the script is run from), decoded once.
import os

import matplotlib.pyplot as plt
import numpy as np
from imblearn import FunctionSampler
from imblearn.over_sampling import RandomOverSampler
from sklearn.metrics import make_scorer, recall_score
from sklearn.model_selection import StratifiedGroupKFold, cross_validate

from skpneumo import ImageLoader, make_pneumonia_pipeline
from skpneumo.datasets import load_chest_xray, subsample_patients

data_dir = os.environ.get("SKPNEUMO_DATA", "../shared/data/chest_xray")
quick = os.environ.get("SKPNEUMO_QUICK") == "1"

data = load_chest_xray(data_dir, split="train")
keep = subsample_patients(data, (16, 32) if quick else (400, 1100), random_state=0)
paths, y, groups = data.paths[keep], data.target[keep], data.groups[keep]
settings = {"image_size": 64, "classifier__epochs": 8}
if quick:
    settings = {
        "image_size": 32,
        "classifier__n_blocks": 1,
        "classifier__filters": 4,
        "classifier__epochs": 1,
    }
X = ImageLoader(image_size=settings["image_size"], n_jobs=2).fit_transform(paths)
print(
    f"{len(y)} images of {len(np.unique(groups))} patients, "
    f"{np.mean(y == 0):.0%} NORMAL"
)

# %%
# Random oversampling of images
# -----------------------------
# ``RandomOverSampler`` validates ``X`` as a 2-D table, so it cannot take the
# loader's 4-D image batch directly. It only has to choose which rows to
# repeat, though: run it on a column of row numbers and index the images with
# its ``sample_indices_``, inside a
# :class:`~imblearn.FunctionSampler` so that it stays a pipeline step.


def random_oversample(X, y, random_state=None):
    sampler = RandomOverSampler(random_state=random_state)
    sampler.fit_resample(np.arange(len(y)).reshape(-1, 1), y)
    return X[sampler.sample_indices_], y[sampler.sample_indices_]


strategies = {
    "zoom oversampling": {},
    "random oversampling": {
        "sampler": FunctionSampler(
            func=random_oversample, validate=False, kw_args={"random_state": 0}
        )
    },
    "class weights": {
        "sampler": "passthrough",
        "classifier__class_weight": "balanced",
    },
    "none": {"sampler": "passthrough"},
}

# %%
# The same folds for all
# ----------------------
# One splitter with a fixed seed gives every strategy the same patient-grouped
# folds; sensitivity is the recall of PNEUMONIA (1), specificity the recall
# of NORMAL (0). Both recall scorers score the labels of ``predict``, so they
# are read at the classifier's ``threshold``: the default of
# :func:`~skpneumo.make_pneumonia_pipeline`, chosen for its default network.
# ROC-AUC scores the probabilities and needs no threshold.
cv = StratifiedGroupKFold(n_splits=2 if quick else 3, shuffle=True, random_state=0)
scoring = {
    "sensitivity": "recall",
    "specificity": make_scorer(recall_score, pos_label=0),
    "roc_auc": "roc_auc",
}
results = {}
for name, params in strategies.items():
    pipe = make_pneumonia_pipeline(**settings, n_jobs=2, random_state=0)
    pipe.set_params(**params)
    scores = cross_validate(pipe, X, y, groups=groups, cv=cv, scoring=scoring)
    results[name] = {metric: scores[f"test_{metric}"] for metric in scoring}

print(f"{'strategy':<20}" + "".join(f"{metric:>16}" for metric in scoring))
for name, scores in results.items():
    print(
        f"{name:<20}"
        + "".join(f"{v.mean():>9.3f} ± {v.std():.3f}" for v in scores.values())
    )

# %%
# Sensitivity and specificity move against each other with the threshold, and
# the default threshold was not chosen for these smaller networks: compare
# strategies on ROC-AUC first, then choose the operating point of the winner
# (see the threshold-tuning example).
threshold = pipe.named_steps["classifier"].threshold
fig, ax = plt.subplots(figsize=(9, 4))
width = 0.8 / len(results)
for k, (name, scores) in enumerate(results.items()):
    means = [v.mean() for v in scores.values()]
    stds = [v.std() for v in scores.values()]
    ax.bar(np.arange(len(scoring)) + k * width, means, width, yerr=stds, label=name)
centres = np.arange(len(scoring)) + width * (len(results) - 1) / 2
ax.set_xticks(centres, list(scoring))
ax.set_ylim(0, 1.05)
ax.legend(loc="lower right", fontsize=8)
ax.set_title(f"patient-grouped cross-validation, predict at threshold {threshold}")
fig.tight_layout()
plt.show()
