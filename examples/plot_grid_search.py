"""
Grid search over the sampler and the classifier together
========================================================

Every step of the pipeline is a scikit-learn estimator, so one
:class:`~sklearn.model_selection.GridSearchCV` can tune the rebalancing step
(even replace it) and the network's hyperparameters at once, scored by ROC-AUC
and cross-validated by patient with
:class:`~sklearn.model_selection.StratifiedGroupKFold`.

The figures on this page come from the documentation build's quick mode
(``SKPNEUMO_QUICK=1``): a tiny network trained for 1 epoch on a few dozen
images at 32 px, two candidates and 2 folds, a smoke test rather than a
result. Run the script without it for about 1,500 training images of whole
patients at 64 px, six candidates and 3 folds.
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
from sklearn.model_selection import GridSearchCV, StratifiedGroupKFold

from skpneumo import ImageLoader, make_pneumonia_pipeline
from skpneumo.datasets import load_chest_xray, subsample_patients

data_dir = os.environ.get("SKPNEUMO_DATA", "../shared/data/chest_xray")
quick = os.environ.get("SKPNEUMO_QUICK") == "1"

data = load_chest_xray(data_dir, split="train")
keep = subsample_patients(data, (16, 32) if quick else (400, 1100), random_state=0)
paths, y, groups = data.paths[keep], data.target[keep], data.groups[keep]
print(f"{len(y)} images of {len(np.unique(groups))} patients, {np.sum(y == 0)} NORMAL")

# %%
# Decode the images once: the pipeline's loader passes arrays of its own size
# straight through, so every fit of the search skips the JPEG decoding.
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

# %%
# The grid
# --------
# A list of grids: zoom oversampling with two zoom ranges, or no sampler
# (``"passthrough"``) with class weights in the loss instead, each with two
# learning rates. Parameters of any step are named ``<step>__<parameter>``.
if quick:
    param_grid = [
        {"sampler__zoom_range": [(1.05, 1.25)]},
        {"sampler": ["passthrough"], "classifier__class_weight": ["balanced"]},
    ]
else:
    param_grid = [
        {
            "sampler__zoom_range": [(1.05, 1.25), (1.1, 1.5)],
            "classifier__learning_rate": [1e-3, 3e-3],
        },
        {
            "sampler": ["passthrough"],
            "classifier__class_weight": ["balanced"],
            "classifier__learning_rate": [1e-3, 3e-3],
        },
    ]

# %%
# Patients never straddle folds: ``groups`` goes to ``fit``, which hands it to
# the splitter.
search = GridSearchCV(
    pipe,
    param_grid,
    scoring="roc_auc",
    cv=StratifiedGroupKFold(n_splits=2 if quick else 3, shuffle=True, random_state=0),
)
search.fit(X, y, groups=groups)

# %%
# The ``cv_results_`` table
# -------------------------
# One row per candidate, best first.
results = search.cv_results_


def describe(params, sep=", "):
    """``key=value`` pairs of a candidate; a sampler object by its class name."""
    return sep.join(
        f"{key}={type(value).__name__}"
        if hasattr(value, "fit_resample")
        else f"{key}={value!r}"
        for key, value in sorted(params.items())
    )


order = np.argsort(results["rank_test_score"])
print(f"{'rank':>4}  {'ROC-AUC':>15}  {'fit (s)':>7}  parameters")
for i in order:
    print(
        f"{results['rank_test_score'][i]:>4}  "
        f"{results['mean_test_score'][i]:.3f} ± {results['std_test_score'][i]:.3f}  "
        f"{results['mean_fit_time'][i]:>7.1f}  {describe(results['params'][i])}"
    )
print(f"best: {describe(search.best_params_)}, ROC-AUC {search.best_score_:.3f}")

# %%
# The same scores as a chart, with the spread over folds.
fig, ax = plt.subplots(figsize=(8, 0.6 * len(order) + 1.5))
labels = [describe(results["params"][i], sep="\n") for i in order]
ax.barh(
    range(len(order)),
    results["mean_test_score"][order],
    xerr=results["std_test_score"][order],
    color="tab:blue",
)
ax.set_yticks(range(len(order)), labels, fontsize=7)
ax.invert_yaxis()
ax.set_xlabel("ROC-AUC, patient-grouped CV")
ax.set_xlim(0.0, 1.0)
fig.tight_layout()
plt.show()
