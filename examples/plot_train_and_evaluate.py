"""
Train and evaluate a pneumonia classifier
=========================================

Fits the default pipeline on the ``train`` split of a Kaggle-layout folder and
reports, on its ``val`` split (or ``test`` if present), the figures the original
project reported: accuracy, precision, recall (sensitivity), specificity, F1 and
ROC-AUC, with the ROC curve, the normalised confusion matrix and the
accuracy/loss curves.

Usage: ``python examples/plot_train_and_evaluate.py DATA_DIR [OUT_DIR]``.
Set ``SKPNEUMO_QUICK=1`` for a quick run (few images, small size, few epochs).
"""

# %%
import os
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.metrics import (  # noqa: E402
    ConfusionMatrixDisplay,
    RocCurveDisplay,
    accuracy_score,
    f1_score,
    precision_score,
    recall_score,
    roc_auc_score,
)

from skpneumo import make_pneumonia_pipeline  # noqa: E402
from skpneumo.datasets import load_chest_xray  # noqa: E402

data_dir = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/chest_xray")
out_dir = Path(sys.argv[2] if len(sys.argv) > 2 else "example_output")
out_dir.mkdir(parents=True, exist_ok=True)
quick = os.environ.get("SKPNEUMO_QUICK") == "1"

train = load_chest_xray(data_dir, split="train")
split = "test" if (data_dir / "test").is_dir() else "val"
evaluation = load_chest_xray(data_dir, split=split)
if quick:
    rng = np.random.RandomState(0)
    keep = rng.choice(len(train.paths), min(200, len(train.paths)), replace=False)
    train.paths, train.target = train.paths[keep], train.target[keep]

# %%
# Fit the default pipeline: load, rebalance with zoomed NORMAL copies, train the CNN.
pipe = make_pneumonia_pipeline(
    image_size=64 if quick else 128,
    epochs=3 if quick else 15,
    n_jobs=2,
    random_state=0,
    verbose=0 if quick else 2,
)
pipe.fit(train.paths, train.target)

# %%
# Report on the held-out split.
proba = pipe.predict_proba(evaluation.paths)[:, 1]
pred = pipe.predict(evaluation.paths)
y = evaluation.target
report = {
    "accuracy": accuracy_score(y, pred),
    "precision": precision_score(y, pred, zero_division=0),
    "recall (sensitivity)": recall_score(y, pred),
    "specificity": recall_score(y, pred, pos_label=0),
    "F1": f1_score(y, pred),
    "ROC-AUC": roc_auc_score(y, proba),
}
for name, value in report.items():
    print(f"{name:>22}: {value:.3f}")

# %%
# ROC curve, normalised confusion matrix and the training curves.
fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
RocCurveDisplay.from_predictions(y, proba, ax=axes[0], name="PneumoniaClassifier")
ConfusionMatrixDisplay.from_predictions(
    y, pred, display_labels=evaluation.target_names, normalize="true", ax=axes[1],
    values_format=".2f", colorbar=False,
)
history = pipe.named_steps["classifier"].history_
axes[2].plot(history["accuracy"], label="accuracy")
axes[2].plot(history["loss"], label="loss")
axes[2].set_xlabel("epoch")
axes[2].legend()
axes[2].set_title("training curves")
fig.tight_layout()
fig.savefig(out_dir / "train_and_evaluate.png", dpi=100)
print(f"figures written to {out_dir / 'train_and_evaluate.png'}")
