"""
Choose the operating point
==========================

The network outputs P(pneumonia); ``predict`` calls an image PNEUMONIA when
that probability is at least the classifier's ``threshold``.
:func:`~skpneumo.make_pneumonia_pipeline` sets it to the operating point
chosen for its default network (96 px, its default epochs and augmentation);
a network trained any other way has probabilities of its own and needs its
own threshold. A screening tool must miss few cases, so the threshold should
be chosen for a target sensitivity, then the specificity read off, on
predictions for patients the model did not train on. Two ways:

* :func:`skpneumo.metrics.threshold_for_sensitivity` on out-of-fold
  probabilities from :func:`~sklearn.model_selection.cross_val_predict`, then
  ``classifier__threshold``;
* scikit-learn's :class:`~sklearn.model_selection.TunedThresholdClassifierCV`,
  which cross-validates the threshold itself for a score: here, the best
  specificity among the thresholds that keep the target sensitivity.

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
# relative to where the script is run from), decoded once, and fixed
# patient-grouped folds shared by both methods.
import os

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

data_dir = os.environ.get("SKPNEUMO_DATA", "../shared/data/chest_xray")
quick = os.environ.get("SKPNEUMO_QUICK") == "1"
TARGET = 0.95  # wanted sensitivity

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
pipe = make_pneumonia_pipeline(**settings, n_jobs=2, random_state=0)
cv = StratifiedGroupKFold(n_splits=2 if quick else 3, shuffle=True, random_state=0)
splits = list(cv.split(X, y, groups))

# %%
# Out-of-fold probabilities and ``threshold_for_sensitivity``
# -----------------------------------------------------------
# Each image's probability comes from the model that did not see its patient.
# The chosen threshold is the highest one whose sensitivity on these
# predictions reaches the target; the pipeline's default threshold is shown
# for comparison.
oof = cross_val_predict(pipe, X, y, cv=splits, method="predict_proba")[:, 1]
threshold = threshold_for_sensitivity(y, oof, target=TARGET)
default = pipe.named_steps["classifier"].threshold
for t in (default, threshold):
    r = binary_report(y, oof, threshold=t, n_bootstraps=0)
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
final_threshold = final.named_steps["classifier"].threshold
print(f"final pipeline: PNEUMONIA when P >= {final_threshold:.3f}")

# %%
# Sensitivity and specificity along the threshold, with both choices and the
# pipeline's default.
fpr, tpr, thresholds = roc_curve(y, oof)
fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
inside = np.isfinite(thresholds)
axes[0].plot(thresholds[inside], tpr[inside], label="sensitivity (out-of-fold)")
axes[0].plot(thresholds[inside], 1 - fpr[inside], label="specificity (out-of-fold)")
axes[0].axvline(
    threshold, color="black", linestyle="--", label="threshold_for_sensitivity"
)
axes[0].axvline(
    tuned.best_threshold_,
    color="tab:red",
    linestyle=":",
    label="TunedThresholdClassifierCV",
)
axes[0].axvline(default, color="grey", linestyle="-.", label="pipeline default")
axes[0].axhline(TARGET, color="grey", linewidth=0.8)
axes[0].set_xlabel("threshold on P(pneumonia)")
axes[0].legend(fontsize=8)
axes[1].plot(tuned.cv_results_["thresholds"], tuned.cv_results_["scores"])
axes[1].axvline(tuned.best_threshold_, color="tab:red", linestyle=":")
axes[1].set_xlabel("threshold on P(pneumonia)")
axes[1].set_ylabel("specificity if sensitivity >= target, else penalty")
axes[1].set_title("TunedThresholdClassifierCV objective")
fig.tight_layout()
plt.show()
