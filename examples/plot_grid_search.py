"""
Grid search over the sampler and the classifier together
========================================================

Every step of the pipeline is a scikit-learn estimator, so one
:class:`~sklearn.model_selection.GridSearchCV` can tune the rebalancing step
(even replace it) and the network's hyperparameters at once, scored by ROC-AUC
on patients the candidates did not train on.

To keep the documentation build short, the networks are small (48 px, 6
epochs), the grid has four candidates, and the search scores them on one
patient-grouped split (a
:class:`~sklearn.model_selection.GroupShuffleSplit` with one split) instead of
k folds, so the table has no spread over folds; with time for it, pass
``cv=StratifiedGroupKFold(5, shuffle=True)``.
"""

# %%
# Data
# ----
# Whole patients drawn at random from the ``train`` split of the folder named
# by ``SKPNEUMO_DATA`` (by default ``../shared/data/chest_xray``, relative to
# where the script is run from).
import json
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from sklearn.model_selection import GridSearchCV, GroupShuffleSplit

from skpneumo import ImageLoader, make_pneumonia_pipeline
from skpneumo.datasets import load_chest_xray, subsample_patients

data_dir = os.environ.get("SKPNEUMO_DATA", "../shared/data/chest_xray")

data = load_chest_xray(data_dir, split="train")
keep = subsample_patients(data, (250, 550), random_state=0)
paths, y, groups = data.paths[keep], data.target[keep], data.groups[keep]
print(f"{len(y)} images of {len(np.unique(groups))} patients, {np.sum(y == 0)} NORMAL")

# %%
# Decode the images once: the pipeline's loader passes arrays of its own size
# straight through, so every fit of the search skips the JPEG decoding.
X = ImageLoader(image_size=48, n_jobs=2).fit_transform(paths)
pipe = make_pneumonia_pipeline(
    image_size=48, classifier__epochs=6, n_jobs=2, random_state=0
)

# %%
# The grid
# --------
# A list of grids: zoom oversampling (the default sampler, with its default
# zoom range, named so that the table shows it), or no sampler
# (``"passthrough"``) with class weights in the loss instead, each with a
# network of 2 or 3 convolution blocks. Parameters of any step are named
# ``<step>__<parameter>``.
param_grid = [
    {"sampler__zoom_range": [(1.05, 1.25)], "classifier__n_blocks": [2, 3]},
    {
        "sampler": ["passthrough"],
        "classifier__class_weight": ["balanced"],
        "classifier__n_blocks": [2, 3],
    },
]

# %%
# Patients never straddle the split: ``groups`` goes to ``fit``, which hands
# it to the splitter. The candidates train on 40% of the patients and are
# scored on the other 60%, which makes the scores less noisy and the fits
# quicker. ``refit=False``: this page compares the candidates; the default
# (``refit=True``) would then retrain the best one on all the images, as
# ``search.best_estimator_``.
search = GridSearchCV(
    pipe,
    param_grid,
    scoring="roc_auc",
    cv=GroupShuffleSplit(n_splits=1, train_size=0.4, random_state=0),
    refit=False,
)
search.fit(X, y, groups=groups)

# %%
# The ``cv_results_`` table
# -------------------------
# One row per candidate, best first.
results = search.cv_results_


def describe(params, sep=", "):
    """``key=value`` pairs of a candidate, without the step names."""
    return sep.join(
        f"{key.split('__')[-1]}={value!r}" for key, value in sorted(params.items())
    )


order = np.argsort(results["rank_test_score"])
print(f"{'rank':>4}  {'ROC-AUC':>7}  {'fit (s)':>7}  parameters")
for i in order:
    print(
        f"{results['rank_test_score'][i]:>4}  {results['mean_test_score'][i]:>7.3f}  "
        f"{results['mean_fit_time'][i]:>7.1f}  {describe(results['params'][i])}"
    )
print(f"best: {describe(search.best_params_)}, ROC-AUC {search.best_score_:.3f}")
scores = results["mean_test_score"]
print(f"best minus worst: {scores.max() - scores.min():.3f}")
# the mean score of the candidates that share one setting
for key in ("classifier__n_blocks", "sampler"):
    values = [str(p.get(key, "zoom oversampling")) for p in results["params"]]
    for value in sorted(set(values)):
        mean = np.mean([s for v, s in zip(values, scores, strict=True) if v == value])
        print(f"{key.split('__')[-1]}={value}: mean ROC-AUC {mean:.3f}")

# %%
# The same scores as a chart, and above it the mean score of the candidates
# that share a depth or a rebalancing: which of the two settings moves the
# score more. On one split of a few hundred patients, differences of a
# hundredth or two are within the noise of the split; a cross-validation with
# more folds (and more images) is what tells such candidates apart.
fig, ax = plt.subplots(figsize=(8, 0.6 * len(order) + 1.5))
labels = [describe(results["params"][i], sep="\n") for i in order]
ax.barh(range(len(order)), scores[order], color="tab:blue")
for k, i in enumerate(order):
    ax.text(scores[i] + 0.005, k, f"{scores[i]:.3f}", va="center", fontsize=8)
ax.set_yticks(range(len(order)), labels, fontsize=7)
ax.invert_yaxis()
ax.set_xlabel("ROC-AUC on the held-out patients")
ax.set_xlim(0.5, 1.0)
fig.tight_layout()
plt.show()

# sphinx_gallery_start_ignore
# The headline figures as JSON, for tests/test_examples.py: only when
# SKPNEUMO_RESULTS names a folder.
if os.environ.get("SKPNEUMO_RESULTS"):
    out = Path(os.environ["SKPNEUMO_RESULTS"])
    out.mkdir(parents=True, exist_ok=True)
    figures = {
        "roc_auc": {
            describe(p): float(s)
            for p, s in zip(results["params"], scores, strict=True)
        },
        "best_roc_auc": float(search.best_score_),
    }
    (out / "plot_grid_search.json").write_text(json.dumps(figures))
# sphinx_gallery_end_ignore
