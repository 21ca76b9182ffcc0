"""
Evaluate the bundled model, and what its calibration does
=========================================================

:func:`skpneumo.load_pretrained` returns the model that ships with skpneumo
(described in the model card): the default pipeline of
:func:`~skpneumo.make_pneumonia_pipeline`, fitted on four fifths of the
patients of the training split, with its probabilities calibrated (sigmoid)
on the fifth held out. Nothing is trained here: this example scores it on
those held-out patients, the only images of the training split its network
never saw, with the ROC curve, the confusion matrix at the model's threshold
and the calibration curves of the network's own probability and of the
calibrated one.

The official test split is not part of the data beside the repository, and
the 16 images of its ``val`` split are too few to measure anything.
"""

# %%
# Data
# ----
# The held-out patients, drawn as ``skpneumo train --calibrate`` drew them:
# the first fold of a shuffled five-fold
# :class:`~sklearn.model_selection.StratifiedGroupKFold` of the ``train``
# split with ``random_state=0`` (the model's ``provenance.json``), from the
# folder named by ``SKPNEUMO_DATA`` (by default ``../shared/data/chest_xray``,
# relative to where the script is run from).
import json
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from sklearn.model_selection import StratifiedGroupKFold

import skpneumo
from skpneumo.datasets import load_chest_xray
from skpneumo.metrics import (
    binary_report,
    plot_calibration_curve,
    plot_confusion_matrix,
    plot_roc_curve,
)

data_dir = os.environ.get("SKPNEUMO_DATA", "../shared/data/chest_xray")

model = skpneumo.load_pretrained()
data = load_chest_xray(data_dir, split="train")
folds = StratifiedGroupKFold(5, shuffle=True, random_state=0)
_, held_out = next(folds.split(data.paths, data.target, data.groups))
paths, y = data.paths[held_out], data.target[held_out]
print(
    f"{len(y)} images ({np.sum(y == 0)} NORMAL) of "
    f"{len(np.unique(data.groups[held_out]))} patients"
)

# %%
# The model and the network inside it
# -----------------------------------
# The model is a :class:`~sklearn.model_selection.FixedThresholdClassifier`
# around a :class:`~sklearn.calibration.CalibratedClassifierCV` of the frozen
# pipeline. The pipeline's loader decodes the images once; the loader of the
# model passes arrays of its size through.
pipeline = model.estimator.estimator.estimator
images = pipeline.named_steps["loader"].transform(paths)
proba = model.predict_proba(images)[:, 1]
pred = model.predict(images)
raw = pipeline.predict_proba(images)[:, 1]

# %%
# Report
# ------
# :func:`~skpneumo.metrics.binary_report` at the model's threshold, with 95%
# bootstrap intervals over images. The network never saw these patients;
# the calibration's two parameters were fitted on them, so the ``ece``
# (expected calibration error) of the calibrated probability is in-sample,
# while its ROC-AUC, which calibration does not change, is not.
report = binary_report(y, proba, threshold=model.threshold, y_pred=pred)
raw_report = binary_report(
    y, raw, threshold=pipeline.named_steps["classifier"].threshold
)
print(f"threshold {model.threshold:.3f} on the calibrated probability")
for key in ("accuracy", "sensitivity", "specificity", "roc_auc", "ece"):
    low, high = report["ci"][key]
    print(f"{key:>12}: {report[key]:.3f}  [{low:.3f}, {high:.3f}]")
print(f"network's own probability: ece {raw_report['ece']:.3f}")

# %%
# The ROC curve; the confusion matrix of ``predict`` (the NORMAL row's
# diagonal cell is the specificity, the PNEUMONIA row's the sensitivity); and
# the calibration curves. The network trained on classes the sampler
# balanced, while three quarters of these images show pneumonia, so its own
# probability is pulled towards NORMAL: its curve runs above the diagonal
# (the ``ece`` printed above measures how far). The calibrated curve is the
# one to read a probability from, keeping in mind that it was fitted on these
# images.
fig, axes = plt.subplots(1, 3, figsize=(15, 4.8))
plot_roc_curve(y, proba, ax=axes[0])
axes[0].set_title(f"ROC curve, {len(y)} held-out images")
plot_confusion_matrix(y, pred, ax=axes[1])
axes[1].set_title(f"predict, threshold {model.threshold:.3f}")
plot_calibration_curve(y, raw, ax=axes[2], name="network's probability")
plot_calibration_curve(y, proba, ax=axes[2], name="calibrated (in-sample)")
axes[2].set_title("calibration")
fig.tight_layout()
plt.show()

# sphinx_gallery_start_ignore
# The headline figures as JSON, for tests/test_examples.py: only when
# SKPNEUMO_RESULTS names a folder.
if os.environ.get("SKPNEUMO_RESULTS"):
    results = Path(os.environ["SKPNEUMO_RESULTS"])
    results.mkdir(parents=True, exist_ok=True)
    figures = {
        key: float(report[key])
        for key in ("roc_auc", "sensitivity", "specificity", "accuracy", "ece")
    }
    figures |= {"raw_ece": float(raw_report["ece"]), "n_images": len(y)}
    (results / "plot_evaluate_pretrained.json").write_text(json.dumps(figures))
# sphinx_gallery_end_ignore
