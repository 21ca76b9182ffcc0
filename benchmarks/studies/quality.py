"""Patient-grouped cross-validation of the default pipeline on the training split.

Usage::

    python -m benchmarks.studies.quality [DATA_DIR] [--folds 3] [--out benchmarks/studies]

Fits ``make_pneumonia_pipeline()`` with its defaults on each training part of a
``StratifiedGroupKFold`` over the official training split (patients never
cross folds) and reports, as mean +- sample SD (ddof=1) over folds, ROC-AUC, accuracy,
sensitivity and specificity:

* at 0.5, the threshold of a bare ``PneumoniaClassifier``, and
* at an operating threshold chosen on held-out patients, as the default
  threshold of ``make_pneumonia_pipeline`` was (with ``benchmarks/studies/robustness.py``):
  the highest threshold whose sensitivity on the *other* folds' out-of-fold
  predictions is at least ``TARGET_SENSITIVITY`` (so the threshold applied to a
  fold never saw that fold).

Labels come from the classifier's own rule (``skpneumo._decision``), applied
to the out-of-fold probabilities by ``binary_report`` and for the confusion
matrix.

Because the official test split has more NORMAL images (37.5%) than training
(25.7%), it also reports the accuracy that each fold's sensitivity and
specificity would give at the test split's prevalence. Writes
``quality.md``, ``quality_roc.png``, ``quality_confusion.png`` and
``quality_history.png`` into ``--out`` and prints the wall time.
"""

import argparse
import json
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from sklearn.metrics import ConfusionMatrixDisplay, RocCurveDisplay, roc_auc_score
from sklearn.model_selection import StratifiedGroupKFold

from skpneumo import ImageLoader, make_pneumonia_pipeline
from skpneumo._decision import labels_at_threshold
from skpneumo.datasets import load_chest_xray
from skpneumo.metrics import (
    TARGET_SENSITIVITY,
    binary_report,
    threshold_for_sensitivity,
)

TEST_NORMAL_SHARE = 0.375


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data_dir", nargs="?", default="../shared/data/chest_xray")
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--out", default=str(Path(__file__).parent))
    parser.add_argument(
        "--limit", type=int, default=None, help="use this many images (smoke runs)"
    )
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    start = time.perf_counter()
    data = load_chest_xray(args.data_dir, split="train")
    paths, y, groups = data.paths, data.target, data.groups
    if args.limit:
        keep = np.random.RandomState(0).choice(len(paths), args.limit, replace=False)
        paths, y, groups = paths[keep], y[keep], groups[keep]

    pipe = make_pneumonia_pipeline(random_state=0, n_jobs=2)
    size = pipe.get_params()["loader__image_size"]
    # decode once; the pipeline's loader passes arrays of the right size through
    X = ImageLoader(image_size=size, n_jobs=2).fit_transform(paths)

    cv = StratifiedGroupKFold(n_splits=args.folds, shuffle=True, random_state=0)
    oof = np.full(len(y), np.nan)
    fold_of = np.full(len(y), -1)
    histories, fit_times = [], []
    for k, (train, test) in enumerate(cv.split(X, y, groups)):
        assert not set(groups[train]) & set(groups[test])
        t0 = time.perf_counter()
        model = make_pneumonia_pipeline(random_state=0, n_jobs=2).fit(
            X[train], y[train]
        )
        fit_times.append(time.perf_counter() - t0)
        oof[test] = model.predict_proba(X[test])[:, 1]
        fold_of[test] = k
        histories.append(model.named_steps["classifier"].history_)
        print(
            f"fold {k}: {len(train)} train / {len(test)} test images, fit {fit_times[-1]:.0f} s, "
            f"AUC {roc_auc_score(y[test], oof[test]):.4f}",
            flush=True,
        )

    rows = {"0.5": [], "chosen": []}
    thresholds = []
    for k in range(args.folds):
        here, others = fold_of == k, fold_of != k
        threshold = threshold_for_sensitivity(
            y[others], oof[others], TARGET_SENSITIVITY
        )
        thresholds.append(threshold)
        rows["0.5"].append(
            binary_report(y[here], oof[here], threshold=0.5, n_bootstraps=0)
        )
        rows["chosen"].append(
            binary_report(y[here], oof[here], threshold=threshold, n_bootstraps=0)
        )
    pooled_threshold = threshold_for_sensitivity(y, oof, TARGET_SENSITIVITY)

    def summary(reports, key):
        values = np.array([r[key] for r in reports])
        # the sample SD over folds (ddof=1), as the model card gives it
        return f"{values.mean():.3f} ± {values.std(ddof=1):.3f}"

    for reports in rows.values():
        for r in reports:
            r["accuracy_at_test_prevalence"] = (1 - TEST_NORMAL_SHARE) * r[
                "sensitivity"
            ] + TEST_NORMAL_SHARE * r["specificity"]
    keys = [
        "roc_auc",
        "accuracy",
        "sensitivity",
        "specificity",
        "precision",
        "f1",
        "accuracy_at_test_prevalence",
    ]
    wall = time.perf_counter() - start
    lines = [
        "# Default pipeline: patient-grouped cross-validation on the training split",
        "",
        f"Command: `python -m benchmarks.studies.quality {args.data_dir} --folds {args.folds}`"
        + (f" --limit {args.limit}" if args.limit else ""),
        "",
        f"{len(y)} images of {len(set(groups))} patients, {args.folds}-fold "
        "StratifiedGroupKFold (no patient in two folds). Pipeline: "
        f"`{pipe.get_params()['classifier']!r}` after `{pipe.get_params()['sampler']!r}` "
        f"at {size} px.",
        "",
        "Each cell: mean ± sample SD (ddof=1) over the folds.",
        "",
        "| metric | threshold 0.5 | operating threshold (chosen on the other folds) |",
        "| --- | --- | --- |",
    ]
    for key in keys:
        lines.append(
            f"| {key} | {summary(rows['0.5'], key)} | {summary(rows['chosen'], key)} |"
        )
    lines += [
        "",
        f"Operating thresholds per fold (sensitivity >= {TARGET_SENSITIVITY} on the other "
        f"folds): {', '.join(f'{t:.3f}' for t in thresholds)}; on all out-of-fold "
        f"predictions: {pooled_threshold:.3f}.",
        "",
        f"`accuracy_at_test_prevalence` = {1 - TEST_NORMAL_SHARE:.3f} x sensitivity + "
        f"{TEST_NORMAL_SHARE:.3f} x specificity: the accuracy these rates would give on a "
        "split with the official test split's share of NORMAL images.",
        "",
        f"Fit time per fold: {', '.join(f'{t:.0f} s' for t in fit_times)}. "
        f"Wall time of the whole benchmark: {wall:.0f} s.",
        "",
        "Plots: `quality_roc.png` (out-of-fold ROC), `quality_confusion.png` (normalised, "
        "at the operating threshold), `quality_history.png` (training curves per fold).",
    ]
    (out / "quality.md").write_text("\n".join(lines) + "\n")
    (out / "quality.json").write_text(
        json.dumps(
            {
                "folds": rows,
                "thresholds": thresholds,
                "pooled_threshold": pooled_threshold,
                "fit_seconds": fit_times,
                "wall_seconds": wall,
            },
            indent=2,
            default=float,
        )
    )

    fig, ax = plt.subplots(figsize=(5, 5))
    for k in range(args.folds):
        here = fold_of == k
        RocCurveDisplay.from_predictions(y[here], oof[here], ax=ax, name=f"fold {k}")
    fig.savefig(out / "quality_roc.png", dpi=100, bbox_inches="tight")
    fig, ax = plt.subplots(figsize=(5, 4.5))
    ConfusionMatrixDisplay.from_predictions(
        y,
        labels_at_threshold(oof, pooled_threshold),
        display_labels=data.target_names,
        normalize="true",
        values_format=".3f",
        ax=ax,
    )
    ax.set_title(f"out-of-fold, threshold {pooled_threshold:.3f}")
    fig.savefig(out / "quality_confusion.png", dpi=100, bbox_inches="tight")
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for k, history in enumerate(histories):
        axes[0].plot(history["accuracy"], label=f"fold {k}")
        axes[1].plot(history["loss"], label=f"fold {k}")
    axes[0].set_title("training accuracy")
    axes[1].set_title("training loss")
    for a in axes:
        a.set_xlabel("epoch")
        a.legend()
    fig.savefig(out / "quality_history.png", dpi=100, bbox_inches="tight")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
