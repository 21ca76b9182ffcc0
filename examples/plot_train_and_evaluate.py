"""
Train and evaluate a pneumonia classifier
=========================================

Fits the default pipeline (:func:`skpneumo.make_pneumonia_pipeline`: load,
rebalance with zoomed NORMAL copies, train the CNN) on the ``train`` split of a
Kaggle-layout folder and reports, on its ``test`` split (``val`` where there is
no ``test``), the figures the original project reported: accuracy, precision,
recall (sensitivity), specificity, F1 and ROC-AUC, with the ROC curve, the
normalised confusion matrix and the accuracy/loss curves.

The figures on this page come from the documentation build's quick mode
(``SKPNEUMO_QUICK=1``): a tiny network trained for 2 epochs on a few dozen
images at 32 px, a smoke test rather than a result. Run the script without it
to train the default network on the whole training split.
"""

# %%
# Data
# ----
# :func:`~skpneumo.datasets.load_chest_xray` lists the files of a split, with
# their labels (0 NORMAL, 1 PNEUMONIA) and patients. The folder comes from the
# ``SKPNEUMO_DATA`` environment variable (by default
# ``../shared/data/chest_xray``, relative to where the script is run from).
# The quick mode keeps a few whole patients of each class.
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from skpneumo import make_pneumonia_pipeline
from skpneumo.datasets import load_chest_xray, subsample_patients
from skpneumo.metrics import (
    binary_report,
    plot_confusion_matrix,
    plot_history,
    plot_roc_curve,
)

data_dir = Path(os.environ.get("SKPNEUMO_DATA", "../shared/data/chest_xray"))
quick = os.environ.get("SKPNEUMO_QUICK") == "1"

train = load_chest_xray(data_dir, split="train")
split = "test" if (data_dir / "test").is_dir() else "val"
evaluation = load_chest_xray(data_dir, split=split)
if quick:
    keep = subsample_patients(train, (16, 32), random_state=0)
    train.paths, train.target = train.paths[keep], train.target[keep]
print(
    f"training on {len(train.paths)} images ({np.sum(train.target == 0)} NORMAL), "
    f"evaluating on the {len(evaluation.paths)} images of {split!r}"
)

# %%
# Fit
# ---
# The sampler adds zoomed copies of NORMAL images until the classes are
# balanced; the network rescales, standardises and augments the uint8 images
# itself. The full run uses the factory's defaults.
settings = {"verbose": 2}
if quick:
    settings = {
        "image_size": 32,
        "classifier__n_blocks": 2,
        "classifier__filters": 8,
        "classifier__epochs": 2,
    }
pipe = make_pneumonia_pipeline(**settings, n_jobs=2, random_state=0)
pipe.fit(train.paths, train.target)

# %%
# Report
# ------
# ``predict`` calls an image PNEUMONIA when P(pneumonia) reaches the
# classifier's ``threshold``, which :func:`~skpneumo.make_pneumonia_pipeline`
# sets to the operating point chosen for its default network (see the
# threshold-tuning example to choose one for another network).
# :func:`~skpneumo.metrics.binary_report` takes those labels and the
# probabilities, and adds bootstrap intervals.
proba = pipe.predict_proba(evaluation.paths)[:, 1]
pred = pipe.predict(evaluation.paths)
threshold = pipe.named_steps["classifier"].threshold
report = binary_report(evaluation.target, proba, threshold=threshold, y_pred=pred)
print(f"threshold {threshold}")
for key in ("accuracy", "precision", "sensitivity", "specificity", "f1", "roc_auc"):
    low, high = report["ci"][key]
    print(f"{key:>12}: {report[key]:.3f}  [{low:.3f}, {high:.3f}]")

# %%
# ROC curve, normalised confusion matrix and the training curves. In the
# confusion matrix the NORMAL row's diagonal cell is the specificity and the
# PNEUMONIA row's the sensitivity.
fig, axes = plt.subplots(2, 2, figsize=(10, 9))
plot_roc_curve(evaluation.target, proba, ax=axes[0, 0])
axes[0, 0].set_title(f"ROC curve, {split} split")
plot_confusion_matrix(evaluation.target, pred, ax=axes[0, 1])
axes[0, 1].set_title(f"predict, threshold {threshold}")
plot_history(pipe.named_steps["classifier"].history_, axes=axes[1])
fig.tight_layout()
plt.show()
