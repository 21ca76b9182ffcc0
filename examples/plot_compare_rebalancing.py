"""
Compare ways of rebalancing the classes
=======================================

About three training images in four show pneumonia. Left alone, a network
leans towards PNEUMONIA: high sensitivity, low specificity. This example
trains the same network four ways on the same patients and scores each on the
same other patients (a fifth of the training split's), reporting ROC-AUC,
and the sensitivity and specificity of ``predict`` at one threshold:

* **zoom oversampling** (the default): :class:`~skpneumo.ZoomOverSampler`
  adds randomly zoomed-in copies of NORMAL images;
* **random oversampling**: imbalanced-learn's
  :class:`~imblearn.over_sampling.RandomOverSampler` repeats NORMAL images as
  they are;
* **class weights**: no sampler (``sampler="passthrough"``), NORMAL images
  weigh more in the loss (``classifier__class_weight="balanced"``);
* **none**: ``sampler="passthrough"`` and no weights.

To keep the documentation build short, the network is small (48 px, 3
convolution blocks, 6 epochs), each strategy trains once on about 300 images,
and the comparison is one split rather than a cross-validation; the
bootstrap intervals over the evaluation images say how much of a difference
is noise of the evaluation (not of the training run, which one seed fixes).
"""

# %%
# Data
# ----
# A fifth of the patients of the ``train`` split of the folder named by
# ``SKPNEUMO_DATA`` (by default ``../shared/data/chest_xray``, relative to
# where the script is run from), the first fold of a shuffled
# :class:`~sklearn.model_selection.StratifiedGroupKFold`, for evaluation, and
# whole patients drawn at random from the others for training, all decoded
# once.
import json
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from imblearn import FunctionSampler
from imblearn.over_sampling import RandomOverSampler
from sklearn.model_selection import StratifiedGroupKFold
from sklearn.utils import Bunch

from skpneumo import ImageLoader, make_pneumonia_pipeline
from skpneumo.datasets import load_chest_xray, subsample_patients
from skpneumo.metrics import binary_report

data_dir = os.environ.get("SKPNEUMO_DATA", "../shared/data/chest_xray")

data = load_chest_xray(data_dir, split="train")
folds = StratifiedGroupKFold(5, shuffle=True, random_state=0)
others, test_idx = next(folds.split(data.paths, data.target, data.groups))
drawn = subsample_patients(
    Bunch(target=data.target[others], groups=data.groups[others]),
    (100, 200),
    random_state=0,
)
fit_idx = others[drawn]
loader = ImageLoader(image_size=48, n_jobs=2)
X, y = loader.fit_transform(data.paths[fit_idx]), data.target[fit_idx]
X_test, y_test = loader.transform(data.paths[test_idx]), data.target[test_idx]
print(
    f"training on {len(y)} images ({np.mean(y == 0):.0%} NORMAL), "
    f"evaluating on {len(y_test)} images of other patients "
    f"({np.mean(y_test == 0):.0%} NORMAL)"
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
# Train and score
# ---------------
# Sensitivity is the recall of PNEUMONIA (1), specificity the recall of
# NORMAL (0), both of ``predict`` at ``threshold=0.5`` (the factory's default,
# 0.29, is the operating point of its default network, not of this small one).
# ROC-AUC scores the probabilities and needs no threshold.
metrics = ("roc_auc", "sensitivity", "specificity")
reports = {}
for name, params in strategies.items():
    pipe = make_pneumonia_pipeline(
        image_size=48,
        threshold=0.5,
        classifier__n_blocks=3,
        classifier__epochs=6,
        n_jobs=2,
        random_state=0,
    )
    pipe.set_params(**params)
    pipe.fit(X, y)
    proba = pipe.predict_proba(X_test)[:, 1]
    reports[name] = binary_report(
        y_test, proba, threshold=0.5, y_pred=pipe.predict(X_test)
    )

print(f"{'strategy':<20}" + "".join(f"{metric:>22}" for metric in metrics))
for name, r in reports.items():
    print(
        f"{name:<20}"
        + "".join(
            f"{r[m]:>8.3f} [{r['ci'][m][0]:.3f}, {r['ci'][m][1]:.3f}]" for m in metrics
        )
    )
lows, highs = zip(*(r["ci"]["roc_auc"] for r in reports.values()), strict=True)
print(
    "the four ROC-AUC intervals "
    + ("share a common range" if max(lows) <= min(highs) else "do not all overlap")
)
for m in ("sensitivity", "specificity"):
    best = max(reports, key=lambda name: reports[name][m])
    worst = min(reports, key=lambda name: reports[name][m])
    print(f"{m}: highest with {best!r}, lowest with {worst!r}")

# %%
# The bars are the figures above, the whiskers their 95% bootstrap intervals.
# ROC-AUC measures how well a strategy ranks the images; the sensitivity and
# specificity at one threshold also depend on where its probabilities fall,
# which rebalancing moves most: without it, the network's probabilities lean
# to PNEUMONIA. Compare strategies on ROC-AUC first, then choose the operating
# point of the winner (see the threshold-tuning example).
fig, ax = plt.subplots(figsize=(10, 4))
width = 0.8 / len(reports)
for k, (name, r) in enumerate(reports.items()):
    means = np.array([r[m] for m in metrics])
    ci = np.array([r["ci"][m] for m in metrics]).T
    ax.bar(
        np.arange(len(metrics)) + k * width,
        means,
        width,
        yerr=np.abs(ci - means),
        label=name,
    )
centres = np.arange(len(metrics)) + width * (len(reports) - 1) / 2
ax.set_xticks(centres, list(metrics))
ax.set_ylim(0, 1.05)
ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
ax.set_title(f"{len(y_test)} images of unseen patients, predict at threshold 0.5")
fig.tight_layout()
plt.show()

# sphinx_gallery_start_ignore
# The headline figures as JSON, for tests/test_examples.py: only when
# SKPNEUMO_RESULTS names a folder.
if os.environ.get("SKPNEUMO_RESULTS"):
    results = Path(os.environ["SKPNEUMO_RESULTS"])
    results.mkdir(parents=True, exist_ok=True)
    figures = {name: {m: float(r[m]) for m in metrics} for name, r in reports.items()}
    (results / "plot_compare_rebalancing.json").write_text(json.dumps(figures))
# sphinx_gallery_end_ignore
