"""
Train and evaluate a pneumonia classifier
=========================================

Fits the default pipeline (:func:`skpneumo.make_pneumonia_pipeline`: load,
rebalance with zoomed NORMAL copies, train the CNN) on the ``train`` split of a
Kaggle-layout folder and reports, on its ``test`` split (``val`` where there is
no ``test``), the figures the original project reported: accuracy, precision,
recall (sensitivity), specificity, F1 and ROC-AUC, with the ROC curve, the
normalised confusion matrix and the accuracy/loss curves.

Usage: ``python examples/plot_train_and_evaluate.py [DATA_DIR [OUT_DIR]]``
(defaults: ``../shared/data/chest_xray`` and ``example_output``). With
``SKPNEUMO_QUICK=1`` it trains a tiny network on a few dozen images of whole
patients, at 32 px, for 2 epochs: a smoke test, not a result.
"""

# %%
# Data
# ----
# :func:`~skpneumo.datasets.load_chest_xray` lists the files of a split, with
# their labels (0 NORMAL, 1 PNEUMONIA) and patients. The quick mode keeps a
# few whole patients of each class.
import os
import sys
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

data_dir = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/chest_xray")
out_dir = Path(sys.argv[2] if len(sys.argv) > 2 else "example_output")
out_dir.mkdir(parents=True, exist_ok=True)
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
# balanced; the network rescales and augments the uint8 images itself.
settings = (
    dict(image_size=32, n_blocks=2, filters=8, epochs=2)
    if quick
    else dict(image_size=128, verbose=2)
)
pipe = make_pneumonia_pipeline(**settings, n_jobs=2, random_state=0)
pipe.fit(train.paths, train.target)

# %%
# Report
# ------
# :func:`~skpneumo.metrics.binary_report` gives the figures at the
# classifier's operating threshold (``classifier__threshold``, 0.5 here; see
# the threshold-tuning example to choose it).
proba = pipe.predict_proba(evaluation.paths)[:, 1]
threshold = pipe.named_steps["classifier"].threshold
report = binary_report(evaluation.target, proba, threshold=threshold)
for key in ("accuracy", "precision", "sensitivity", "specificity", "f1", "roc_auc"):
    print(f"{key:>12}: {report[key]:.3f}")

# %%
# ROC curve, normalised confusion matrix and the training curves. In the
# confusion matrix the NORMAL row's diagonal cell is the specificity and the
# PNEUMONIA row's the sensitivity.
fig, axes = plt.subplots(2, 2, figsize=(10, 9))
plot_roc_curve(evaluation.target, proba, ax=axes[0, 0])
axes[0, 0].set_title(f"ROC curve, {split} split")
plot_confusion_matrix(evaluation.target, (proba >= threshold).astype(int), ax=axes[0, 1])
axes[0, 1].set_title(f"threshold {threshold:.2f}")
plot_history(pipe.named_steps["classifier"].history_, axes=axes[1])
fig.tight_layout()
fig.savefig(out_dir / "train_and_evaluate.png", dpi=100)
print(f"figure written to {out_dir / 'train_and_evaluate.png'}")
