"""
Choose the operating point
==========================

The network outputs P(pneumonia); ``predict`` calls an image PNEUMONIA when
that probability is at least the classifier's ``threshold`` (0.5 by default).
A screening tool must miss few cases, so the threshold should be chosen for a
target sensitivity, then the specificity read off, on predictions for patients
the model did not train on. Two ways:

* :func:`skpneumo.metrics.threshold_for_sensitivity` on out-of-fold
  probabilities from :func:`~sklearn.model_selection.cross_val_predict`, then
  ``classifier__threshold``;
* scikit-learn's :class:`~sklearn.model_selection.TunedThresholdClassifierCV`,
  which cross-validates the threshold itself for a score: here, the best
  specificity among the thresholds that keep the target sensitivity.

Usage: ``python examples/plot_threshold_tuning.py [DATA_DIR [OUT_DIR]]``
(defaults: ``../shared/data/chest_xray`` and ``example_output``). By default it
uses about 1,500 training images of whole patients at 64 px; with
``SKPNEUMO_QUICK=1`` a few dozen at 32 px, a tiny network without
augmentation, 1 epoch and 2 folds: a smoke test, not a result.
"""

# %%
import os
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from sklearn.metrics import make_scorer, recall_score, roc_curve
from sklearn.model_selection import (
    StratifiedGroupKFold,
    TunedThresholdClassifierCV,
    cross_val_predict,
)

from skpneumo import ImageLoader, make_pneumonia_pipeline
from skpneumo.datasets import load_chest_xray, subsample_patients
from skpneumo.metrics import binary_report, threshold_for_sensitivity

data_dir = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/chest_xray")
out_dir = Path(sys.argv[2] if len(sys.argv) > 2 else "example_output")
out_dir.mkdir(parents=True, exist_ok=True)
quick = os.environ.get("SKPNEUMO_QUICK") == "1"
TARGET = 0.95  # wanted sensitivity


data = load_chest_xray(data_dir, split="train")
keep = subsample_patients(data, (16, 32) if quick else (400, 1100), random_state=0)
paths, y, groups = data.paths[keep], data.target[keep], data.groups[keep]
settings = (
    dict(image_size=32, n_blocks=1, filters=4, epochs=1, augmentation=0.0)
    if quick
    else dict(image_size=64, epochs=8)
)
X = ImageLoader(image_size=settings["image_size"], n_jobs=2).fit_transform(paths)
pipe = make_pneumonia_pipeline(**settings, n_jobs=2, random_state=0)
# fixed patient-grouped folds, shared by both methods
splits = list(
    StratifiedGroupKFold(n_splits=2 if quick else 3, shuffle=True, random_state=0).split(
        X, y, groups
    )
)

# %%
# Out-of-fold probabilities and ``threshold_for_sensitivity``
# -----------------------------------------------------------
# Each image's probability comes from the model that did not see its patient.
# The chosen threshold is the highest one whose sensitivity on these
# predictions reaches the target.
oof = cross_val_predict(pipe, X, y, cv=splits, method="predict_proba")[:, 1]
threshold = threshold_for_sensitivity(y, oof, target=TARGET)
for t in (0.5, threshold):
    r = binary_report(y, oof, threshold=t)
    print(
        f"threshold {t:.3f}: sensitivity {r['sensitivity']:.3f}, "
        f"specificity {r['specificity']:.3f}, accuracy {r['accuracy']:.3f}"
    )

# %%
# ``TunedThresholdClassifierCV``
# ------------------------------
# It needs a score computed from hard predictions. This one is the
# specificity when the sensitivity reaches the target, and a penalty below it
# otherwise. The precomputed ``splits`` keep the folds patient-grouped
# (``TunedThresholdClassifierCV`` forwards ``groups`` only with metadata
# routing enabled).


def specificity_at_sensitivity(y_true, y_pred, target=TARGET):
    sensitivity = recall_score(y_true, y_pred)
    if sensitivity < target:
        return sensitivity - 1.0
    return recall_score(y_true, y_pred, pos_label=0)


tuned = TunedThresholdClassifierCV(
    pipe,
    scoring=make_scorer(specificity_at_sensitivity),
    response_method="predict_proba",
    cv=splits,
    store_cv_results=True,
)
tuned.fit(X, y)
print(
    f"TunedThresholdClassifierCV: threshold {tuned.best_threshold_:.3f}, "
    f"cross-validated score {tuned.best_score_:.3f}"
)

# %%
# Either way, the threshold travels with the model as the classifier's
# parameter: the refitted pipeline inside ``tuned`` gets the out-of-fold
# choice here, and ``save_model`` / ``skpneumo train`` keep it.
final = tuned.estimator_.set_params(classifier__threshold=threshold)
print(f"final pipeline: PNEUMONIA when P >= {final.named_steps['classifier'].threshold:.3f}")

# %%
# Sensitivity and specificity along the threshold, with both choices.
fpr, tpr, thresholds = roc_curve(y, oof)
fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
inside = np.isfinite(thresholds)
axes[0].plot(thresholds[inside], tpr[inside], label="sensitivity (out-of-fold)")
axes[0].plot(thresholds[inside], 1 - fpr[inside], label="specificity (out-of-fold)")
axes[0].axvline(threshold, color="black", linestyle="--", label="threshold_for_sensitivity")
axes[0].axvline(
    tuned.best_threshold_, color="tab:red", linestyle=":", label="TunedThresholdClassifierCV"
)
axes[0].axhline(TARGET, color="grey", linewidth=0.8)
axes[0].set_xlabel("threshold on P(pneumonia)")
axes[0].legend(fontsize=8)
axes[1].plot(tuned.cv_results_["thresholds"], tuned.cv_results_["scores"])
axes[1].axvline(tuned.best_threshold_, color="tab:red", linestyle=":")
axes[1].set_xlabel("threshold on P(pneumonia)")
axes[1].set_ylabel("specificity if sensitivity >= target, else penalty")
axes[1].set_title("TunedThresholdClassifierCV objective")
fig.tight_layout()
fig.savefig(out_dir / "threshold_tuning.png", dpi=100)
print(f"figure written to {out_dir / 'threshold_tuning.png'}")
