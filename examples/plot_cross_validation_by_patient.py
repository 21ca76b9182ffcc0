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
images whose patient was also in training, and compares the ROC-AUC. To keep
the documentation build short, the network is small (48 px, 3 convolution
blocks, 5 epochs) and each splitter makes 2 folds of about 600 images.
"""

# %%
# Data
# ----
# A random subset of whole patients from the ``train`` split of the folder
# named by ``SKPNEUMO_DATA`` (by default ``../shared/data/chest_xray``,
# relative to where the script is run from).
import json
import os
from pathlib import Path

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

data = load_chest_xray(data_dir, split="train")
keep = subsample_patients(data, (150, 450), random_state=0)
paths, y, groups = data.paths[keep], data.target[keep], data.groups[keep]
_, images_per_patient = np.unique(groups, return_counts=True)
print(
    f"{len(y)} images of {images_per_patient.size} patients; "
    f"{np.sum(images_per_patient > 1)} patients have more than one image"
)

# %%
# Two splitters, same folds count and seed
# ----------------------------------------
n_splits = 2
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
seen_share = {}
for name, (cv, cv_groups) in splitters.items():
    folds = cv.split(paths, y, cv_groups)
    seen = [np.isin(groups[test], groups[train]).mean() for train, test in folds]
    seen_share[name] = float(np.mean(seen))
    print(f"{name}: {np.mean(seen):.1%} of test images have their patient in training")

# %%
# Cross-validate
# --------------
# The images are decoded once; the pipeline's loader passes arrays of its size
# through.
X = ImageLoader(image_size=48, n_jobs=2).fit_transform(paths)
pipe = make_pneumonia_pipeline(
    image_size=48,
    classifier__n_blocks=3,
    classifier__epochs=5,
    n_jobs=2,
    random_state=0,
)
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
gap = leak.mean() - grouped.mean()
spread = np.hypot(leak.std(), grouped.std())
print(
    f"image-level minus patient-grouped: {gap:+.3f} "
    f"({'within' if abs(gap) <= 2 * spread else 'beyond'} twice the folds' spread, "
    f"{2 * spread:.3f})"
)

# %%
# Only the patient-grouped figure estimates how the model does on new
# patients. How much an image-level split inflates the score depends on how
# many patients have several images and on how well the network recognises a
# patient from another X-ray, often taken days apart; a small network trained
# for a few epochs may not, and then the two splitters score alike. Two folds
# of a few hundred images each give a noisy difference: the line above
# compares it with the spread between folds, which the chart shows.
fig, ax = plt.subplots(figsize=(6, 4))
for k, values in enumerate(scores.values()):
    ax.scatter(np.full(values.size, k), values, color="tab:blue", alpha=0.6)
    ax.errorbar(k, values.mean(), yerr=values.std(), fmt="o", color="black", capsize=8)
ax.set_xticks(range(len(scores)), [name.replace(" ", "\n", 1) for name in scores])
ax.set_xlim(-0.5, len(scores) - 0.5)
ax.set_ylabel("ROC-AUC per fold")
fig.tight_layout()
plt.show()

# sphinx_gallery_start_ignore
# The headline figures as JSON, for tests/test_examples.py: only when
# SKPNEUMO_RESULTS names a folder.
if os.environ.get("SKPNEUMO_RESULTS"):
    results = Path(os.environ["SKPNEUMO_RESULTS"])
    results.mkdir(parents=True, exist_ok=True)
    figures = {
        "roc_auc": {name: values.tolist() for name, values in scores.items()},
        "seen": seen_share,
    }
    (results / "plot_cross_validation_by_patient.json").write_text(json.dumps(figures))
# sphinx_gallery_end_ignore
