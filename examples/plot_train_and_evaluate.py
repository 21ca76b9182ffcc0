"""
Train and evaluate a pneumonia classifier
=========================================

Fits the pipeline of :func:`skpneumo.make_pneumonia_pipeline` (load,
rebalance with zoomed NORMAL copies, train the CNN) on about a thousand images
of whole patients of the ``train`` split, and evaluates it on a quarter of
the split's patients, none of which it trained on: accuracy, precision, recall (sensitivity),
specificity, F1 and ROC-AUC with bootstrap intervals, the ROC curve, the
normalised confusion matrix and the accuracy/loss curves.

To keep the documentation build to a few minutes on a CPU, the network is
smaller than the default one (48 px instead of 96, 3 convolution blocks
instead of 4, 6 epochs instead of 20): it trains in well under a minute. The
official test split is not part of the data beside the repository, and the
16 images of its ``val`` split are too few to measure anything, so the
evaluation images are the training split's other patients.
"""

# %%
# Data
# ----
# :func:`~skpneumo.datasets.load_chest_xray` lists the files of a split, with
# their labels (0 NORMAL, 1 PNEUMONIA) and patients. The folder comes from the
# ``SKPNEUMO_DATA`` environment variable (by default
# ``../shared/data/chest_xray``, relative to where the script is run from).
# A quarter of the patients, the first fold of a shuffled
# :class:`~sklearn.model_selection.StratifiedGroupKFold`, are kept for the
# evaluation; :func:`~skpneumo.datasets.subsample_patients` draws whole
# patients of the others at random until each class has its number of images,
# so no patient is on both sides.
import json
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from sklearn.model_selection import StratifiedGroupKFold
from sklearn.utils import Bunch

from skpneumo import make_pneumonia_pipeline
from skpneumo.datasets import load_chest_xray, subsample_patients
from skpneumo.metrics import (
    binary_report,
    plot_confusion_matrix,
    plot_history,
    plot_roc_curve,
)

data_dir = Path(os.environ.get("SKPNEUMO_DATA", "../shared/data/chest_xray"))

data = load_chest_xray(data_dir, split="train")
folds = StratifiedGroupKFold(4, shuffle=True, random_state=0)
others, test_idx = next(folds.split(data.paths, data.target, data.groups))
drawn = subsample_patients(
    Bunch(target=data.target[others], groups=data.groups[others]),
    (300, 700),
    random_state=0,
)
fit_idx = others[drawn]
for name, idx in (("training on", fit_idx), ("evaluating on", test_idx)):
    print(
        f"{name} {len(idx)} images ({np.sum(data.target[idx] == 0)} NORMAL) "
        f"of {len(np.unique(data.groups[idx]))} patients"
    )

# %%
# Fit
# ---
# The sampler adds zoomed copies of NORMAL images until the classes are
# balanced; the network rescales, standardises and augments the uint8 images
# itself. The factory's default ``threshold`` (0.29) is the operating point
# chosen for its default network; this smaller one has probabilities of its
# own and gets 0.5, the neutral point of a network trained on balanced classes
# (the threshold-tuning example shows how to choose one for a target
# sensitivity).
pipe = make_pneumonia_pipeline(
    image_size=48,
    threshold=0.5,
    classifier__n_blocks=3,
    classifier__epochs=6,
    n_jobs=2,
    random_state=0,
)
pipe.fit(data.paths[fit_idx], data.target[fit_idx])

# %%
# Report
# ------
# ``predict`` calls an image PNEUMONIA when P(pneumonia) reaches the
# classifier's ``threshold``; ROC-AUC scores the probabilities and needs no
# threshold. :func:`~skpneumo.metrics.binary_report` takes the labels of ``predict`` and
# the probabilities, and adds bootstrap intervals over images.
y_test = data.target[test_idx]
proba = pipe.predict_proba(data.paths[test_idx])[:, 1]
pred = pipe.predict(data.paths[test_idx])
threshold = pipe.named_steps["classifier"].threshold
report = binary_report(y_test, proba, threshold=threshold, y_pred=pred)
print(f"threshold {threshold}")
for key in ("accuracy", "precision", "sensitivity", "specificity", "f1", "roc_auc"):
    low, high = report["ci"][key]
    print(f"{key:>12}: {report[key]:.3f}  [{low:.3f}, {high:.3f}]")

# %%
# ROC curve, normalised confusion matrix and the training accuracy and loss
# per epoch (the classifier keeps validation images aside only with
# ``classifier__early_stopping=True``, so there are no validation curves). In
# the confusion matrix the
# NORMAL row's diagonal cell is the specificity and the PNEUMONIA row's the
# sensitivity.
fig, axes = plt.subplots(2, 2, figsize=(10, 9))
plot_roc_curve(y_test, proba, ax=axes[0, 0])
axes[0, 0].set_title(f"ROC curve, {len(y_test)} images of unseen patients")
plot_confusion_matrix(y_test, pred, ax=axes[0, 1])
axes[0, 1].set_title(f"predict, threshold {threshold}")
plot_history(pipe.named_steps["classifier"].history_, axes=axes[1])
fig.tight_layout()
plt.show()

# sphinx_gallery_start_ignore
# The headline figures as JSON, for tests/test_examples.py: only when
# SKPNEUMO_RESULTS names a folder.
if os.environ.get("SKPNEUMO_RESULTS"):
    results = Path(os.environ["SKPNEUMO_RESULTS"])
    results.mkdir(parents=True, exist_ok=True)
    figures = {key: float(report[key]) for key in ("roc_auc", "sensitivity")}
    figures |= {"specificity": float(report["specificity"]), "n_test": len(y_test)}
    (results / "plot_train_and_evaluate.json").write_text(json.dumps(figures))
# sphinx_gallery_end_ignore
