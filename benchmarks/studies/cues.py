"""Simple image statistics that tell NORMAL from PNEUMONIA in the training split.

Usage (from the repository root)::

    python -m benchmarks.studies.cues [DATA_DIR] [--image-size 96]

Each statistic is scored on its own as a classifier (ROC-AUC, folded so that
0.5 means no information). A statistic of the framing (how much of the frame
the body fills, the grey level of the border) that separates the classes is a
shortcut a network can learn in place of the lungs; statistics of the lungs
themselves (the centre) may carry real signal, since opacities brighten them.
"""

import argparse

import numpy as np
from sklearn.metrics import roc_auc_score

from skpneumo import ImageLoader
from skpneumo.datasets import load_chest_xray


def statistics(X):
    """Per-image statistics of ``X`` (n, h, w) on the 0-1 scale, by name."""
    h, w = X.shape[1:]
    bh, bw = max(1, h // 10), max(1, w // 10)
    # each border pixel once (four strips would count the corners twice)
    border = np.ones((h, w), dtype=bool)
    border[bh : h - bh, bw : w - bw] = False
    centre = X[:, h // 4 : h - h // 4, w // 4 : w - w // 4]
    return {
        "mean grey level": X.mean(axis=(1, 2)),
        "share of the frame above 0.2 (the body)": (X > 0.2).mean(axis=(1, 2)),
        "mean of the outer 10% (the border)": X[:, border].mean(axis=1),
        "mean of the centre half (the lungs)": centre.mean(axis=(1, 2)),
        "standard deviation (contrast)": X.std(axis=(1, 2)),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data_dir", nargs="?", default="../shared/data/chest_xray")
    parser.add_argument("--image-size", type=int, default=96)
    args = parser.parse_args()
    data = load_chest_xray(args.data_dir, split="train")
    X = ImageLoader(image_size=args.image_size, n_jobs=2).fit_transform(data.paths)
    X = X[..., 0].astype(np.float32) / 255.0
    print(f"{len(X)} training images at {args.image_size} px")
    print("| statistic | ROC-AUC | higher in |")
    print("| --- | ---: | --- |")
    for name, values in statistics(X).items():
        auc = roc_auc_score(data.target, values)
        side = "PNEUMONIA" if auc >= 0.5 else "NORMAL"
        print(f"| {name} | {max(auc, 1 - auc):.3f} | {side} |")


if __name__ == "__main__":
    main()
