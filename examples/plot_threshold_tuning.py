"""
Choose the operating point
==========================

The model outputs P(pneumonia); ``predict`` calls an image PNEUMONIA when
that probability is at least the model's threshold. A screening tool must miss
few cases, so the threshold should be chosen for a target sensitivity, then
the specificity read off, on images of patients the model did not train on,
and not the same images the threshold was chosen on. Two ways:

* :func:`skpneumo.metrics.threshold_for_sensitivity` on the probabilities;
* scikit-learn's :class:`~sklearn.model_selection.TunedThresholdClassifierCV`,
  which searches the threshold for a score: here, the best specificity among
  the thresholds that keep the target sensitivity.

The model is the one bundled with skpneumo (:func:`skpneumo.load_pretrained`,
described in the model card); nothing is trained here. Its network was
fitted on four fifths of the patients of the training split, and the fifth
held out calibrated its probabilities. Those held-out patients are the images
here: half of them choose the threshold, the other half check it. For a
network you trained yourself, use out-of-fold probabilities from
:func:`~sklearn.model_selection.cross_val_predict` with patient-grouped folds
instead, then set ``classifier__threshold``.
"""

# %%
# Data
# ----
# The patients held out of the bundled model's fit, drawn as
# ``skpneumo train --calibrate`` drew them: the first fold of a shuffled
# five-fold :class:`~sklearn.model_selection.StratifiedGroupKFold` of the
# ``train`` split with ``random_state=0`` (the model's ``provenance.json``).
# The split folder comes from ``SKPNEUMO_DATA`` (by default
# ``../shared/data/chest_xray``, relative to where the script is run from).
# Those patients are then halved, again by patient.
import json
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from sklearn.metrics import make_scorer, recall_score, roc_auc_score, roc_curve
from sklearn.model_selection import StratifiedGroupKFold, TunedThresholdClassifierCV

import skpneumo
from skpneumo.datasets import load_chest_xray
from skpneumo.metrics import binary_report, threshold_for_sensitivity

data_dir = os.environ.get("SKPNEUMO_DATA", "../shared/data/chest_xray")
TARGET = 0.95  # wanted sensitivity

model = skpneumo.load_pretrained()
data = load_chest_xray(data_dir, split="train")
folds = StratifiedGroupKFold(5, shuffle=True, random_state=0)
_, held_out = next(folds.split(data.paths, data.target, data.groups))
paths, y, groups = data.paths[held_out], data.target[held_out], data.groups[held_out]
halves = StratifiedGroupKFold(2, shuffle=True, random_state=0)
tune, check = next(halves.split(paths, y, groups))
print(
    f"{len(y)} held-out images of {len(np.unique(groups))} patients: "
    f"{len(tune)} to choose the threshold, {len(check)} to check it"
)

# %%
# The probabilities
# -----------------
# One pass of the network over the held-out images. The ranking of the images,
# and so the ROC-AUC, is the network's own: the calibration only rescales
# the probability.
proba = model.predict_proba(paths)[:, 1]
print(f"ROC-AUC on the {len(y)} held-out images: {roc_auc_score(y, proba):.3f}")

# %%
# ``threshold_for_sensitivity``
# -----------------------------
# The highest threshold whose sensitivity on the first half reaches the target.
threshold = threshold_for_sensitivity(y[tune], proba[tune], target=TARGET)

# %%
# ``TunedThresholdClassifierCV``
# ------------------------------
# It needs a score computed from hard predictions. This one is the
# specificity when the sensitivity reaches the target, and a penalty below it
# otherwise. ``cv="prefit"`` and ``refit=False`` search the threshold of the
# fitted model on the images given, without training anything.


def specificity_at_sensitivity(y_true, y_pred, target=TARGET):
    sensitivity = recall_score(y_true, y_pred)
    if sensitivity < target:
        return sensitivity - 1.0
    return recall_score(y_true, y_pred, pos_label=0)


tuned = TunedThresholdClassifierCV(
    model.estimator,  # the calibrated model, without its fixed threshold
    scoring=make_scorer(specificity_at_sensitivity),
    response_method="predict_proba",
    cv="prefit",
    refit=False,
    store_cv_results=True,
)
tuned.fit(paths[tune], y[tune])

# %%
# Checked on the other half
# -------------------------
# Sensitivity and specificity of each threshold on the patients that did not
# choose it, with 95% bootstrap intervals over images; the bundled model's own
# threshold for comparison.
choices = {
    "bundled model": float(model.threshold),
    "threshold_for_sensitivity": float(threshold),
    "TunedThresholdClassifierCV": float(tuned.best_threshold_),
}
checked = {}
for name, t in choices.items():
    r = binary_report(y[check], proba[check], threshold=t)
    checked[name] = r
    print(
        f"{name:>27}: threshold {t:.3f}, "
        + ", ".join(
            f"{key} {r[key]:.3f} [{r['ci'][key][0]:.3f}, {r['ci'][key][1]:.3f}]"
            for key in ("sensitivity", "specificity")
        )
    )

# %%
# The chosen threshold travels with the model: ``model.set_params(threshold=...)``
# here, or ``skpneumo tune``, which also records where it came from.
model.set_params(threshold=threshold)
print(f"PNEUMONIA when P >= {model.threshold:.3f}")

# %%
# Sensitivity and specificity along the threshold on the first half, with the
# three thresholds, and the objective ``TunedThresholdClassifierCV``
# maximised.
fpr, tpr, thresholds = roc_curve(y[tune], proba[tune])
fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
inside = np.isfinite(thresholds)
axes[0].plot(thresholds[inside], tpr[inside], label="sensitivity")
axes[0].plot(thresholds[inside], 1 - fpr[inside], label="specificity")
styles = {
    "bundled model": ("grey", "-."),
    "threshold_for_sensitivity": ("black", "--"),
    "TunedThresholdClassifierCV": ("tab:red", ":"),
}
for name, t in choices.items():
    color, linestyle = styles[name]
    axes[0].axvline(t, color=color, linestyle=linestyle, label=name)
axes[0].axhline(TARGET, color="grey", linewidth=0.8)
axes[0].set_xlabel("threshold on P(pneumonia)")
axes[0].set_title(f"the {len(tune)} images that choose the threshold")
axes[0].legend(fontsize=8)
axes[1].plot(tuned.cv_results_["thresholds"], tuned.cv_results_["scores"])
axes[1].axvline(tuned.best_threshold_, color="tab:red", linestyle=":")
axes[1].set_xlabel("threshold on P(pneumonia)")
axes[1].set_ylabel("specificity if sensitivity >= target, else penalty")
axes[1].set_title("TunedThresholdClassifierCV objective")
fig.tight_layout()
plt.show()

# sphinx_gallery_start_ignore
# The headline figures as JSON, for tests/test_examples.py: only when
# SKPNEUMO_RESULTS names a folder.
if os.environ.get("SKPNEUMO_RESULTS"):
    results = Path(os.environ["SKPNEUMO_RESULTS"])
    results.mkdir(parents=True, exist_ok=True)
    figures = {"roc_auc": float(roc_auc_score(y, proba)), "target": TARGET}
    for name, r in checked.items():
        figures[name] = {
            "threshold": choices[name],
            "sensitivity": float(r["sensitivity"]),
            "specificity": float(r["specificity"]),
        }
    (results / "plot_threshold_tuning.json").write_text(json.dumps(figures))
# sphinx_gallery_end_ignore
