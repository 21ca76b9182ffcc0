"""
Cross-validate by patient, not by image
=======================================

Several X-rays of the data set come from one patient, often taken days apart.
An image-level split such as :class:`~sklearn.model_selection.StratifiedKFold`
puts some of a patient's images in training and others in the test fold, so
the network is tested partly on people it has already seen: the score is
optimistic. :class:`~sklearn.model_selection.StratifiedGroupKFold` with
``groups`` (the patient of each image, from
:func:`~skpneumo.datasets.load_chest_xray`) keeps every patient on one side.

This example runs the same pipeline under both splitters, counts the test
images whose patient was also in training, and compares the ROC-AUC.

The figures on this page come from the documentation build's quick mode
(``SKPNEUMO_QUICK=1``): a tiny network trained for 1 epoch on a few dozen
images at 32 px, with 2 folds, a smoke test rather than a result. Run the
script without it for about 1,500 training images of whole patients at 64 px
and 5 folds.
"""

# %%
# Data
# ----
# A random subset of whole patients from the ``train`` split of the folder
# named by ``SKPNEUMO_DATA`` (by default ``../shared/data/chest_xray``,
# relative to where the script is run from).
import os

import matplotlib.pyplot as plt
import numpy as np
from sklearn.model_selection import (
    StratifiedGroupKFold,
    StratifiedKFold,
    cross_val_score,
)

from skpneumo import ImageLoader, make_pneumonia_pipeline
from skpneumo.datasets import load_chest_xray, subsample_patients

data_dir = os.environ.get("SKPNEUMO_DATA", "../shared/data/chest_xray")
quick = os.environ.get("SKPNEUMO_QUICK") == "1"

data = load_chest_xray(data_dir, split="train")
keep = subsample_patients(data, (16, 32) if quick else (400, 1100), random_state=0)
paths, y, groups = data.paths[keep], data.target[keep], data.groups[keep]
_, images_per_patient = np.unique(groups, return_counts=True)
print(
    f"{len(y)} images of {images_per_patient.size} patients; "
    f"{np.sum(images_per_patient > 1)} patients have more than one image"
)

# %%
# Two splitters, same folds count and seed
# ----------------------------------------
n_splits = 2 if quick else 5
# each splitter with the groups it gets: none for the image-level one
splitters = {
    "image-level StratifiedKFold": (
        StratifiedKFold(n_splits, shuffle=True, random_state=0),
        None,
    ),
    "patient-grouped StratifiedGroupKFold": (
        StratifiedGroupKFold(n_splits, shuffle=True, random_state=0),
        groups,
    ),
}
for name, (cv, cv_groups) in splitters.items():
    folds = cv.split(paths, y, cv_groups)
    seen = [np.isin(groups[test], groups[train]).mean() for train, test in folds]
    print(f"{name}: {np.mean(seen):.1%} of test images have their patient in training")

# %%
# Cross-validate
# --------------
# The images are decoded once; the pipeline's loader passes arrays of its size
# through.
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
scores = {
    name: cross_val_score(pipe, X, y, groups=cv_groups, cv=cv, scoring="roc_auc")
    for name, (cv, cv_groups) in splitters.items()
}
for name, values in scores.items():
    print(
        f"{name}: ROC-AUC {values.mean():.3f} ± {values.std():.3f} "
        f"over {n_splits} folds"
    )
leak, grouped = scores.values()
print(f"image-level minus patient-grouped: {leak.mean() - grouped.mean():+.3f}")

# %%
# Only the patient-grouped figure estimates how the model does on new
# patients. The gap depends on how many patients have several images and on
# how well the network can recognise a patient; on a few dozen images it is
# mostly noise.
fig, ax = plt.subplots(figsize=(6, 4))
for k, values in enumerate(scores.values()):
    ax.scatter(np.full(values.size, k), values, color="tab:blue", alpha=0.6)
    ax.errorbar(k, values.mean(), yerr=values.std(), fmt="o", color="black", capsize=8)
ax.set_xticks(range(len(scores)), [name.replace(" ", "\n", 1) for name in scores])
ax.set_xlim(-0.5, len(scores) - 0.5)
ax.set_ylabel("ROC-AUC per fold")
fig.tight_layout()
plt.show()
